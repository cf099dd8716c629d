package spf

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestEvaluationReset checks that reset leaves nothing of an earlier
// check in an evaluation: every field of its state and macro environment,
// first set to something else, is what a new evaluation gets. reset
// stores pointers only where they change, field by field, and a field
// added later must be reset too.
func TestEvaluationReset(t *testing.T) {
	c := &Checker{Resolver: ResolverFunc(nil), MaxLookups: 7, DefaultExplanation: "see %{d}", Now: time.Now}
	ip := netip.MustParseAddr("192.0.2.1")
	args := func(e *evaluation) { e.reset(c, ip, "mail.example.org", "a@example.org", "a", "example.org") }
	want := new(evaluation)
	args(want)
	got := new(evaluation)
	args(got)
	scribble(t, reflect.ValueOf(&got.evalState).Elem())
	scribble(t, reflect.ValueOf(&got.env).Elem())
	args(got)
	compareFields(t, "evalState", reflect.ValueOf(want.evalState), reflect.ValueOf(got.evalState))
	if got.env.validated != got {
		t.Errorf("env.validated = %v, want the evaluation itself", got.env.validated)
	}
	got.env.validated, want.env.validated = nil, nil
	compareFields(t, "env", reflect.ValueOf(want.env), reflect.ValueOf(got.env))
}

// scribble sets every field of the struct v to a value that is not its
// zero value.
func scribble(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem() // unexported too
		switch f.Kind() {
		case reflect.Struct:
			if f.Type() == reflect.TypeOf(time.Time{}) {
				f.Set(reflect.ValueOf(time.Now()))
			} else if f.Type() == reflect.TypeOf(netip.Addr{}) {
				f.Set(reflect.ValueOf(netip.MustParseAddr("2001:db8::1")))
			} else {
				scribble(t, f)
			}
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + 12345)
		case reflect.Uint8:
			f.SetUint(f.Uint() + 7)
		case reflect.String:
			f.SetString(f.String() + "-old")
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Func:
			f.Set(reflect.MakeFunc(f.Type(), func([]reflect.Value) []reflect.Value { panic("old") }))
		case reflect.Interface:
			switch {
			case reflect.TypeOf(ResolverFunc(nil)).Implements(f.Type()):
				f.Set(reflect.ValueOf(ResolverFunc(nil)))
			case reflect.TypeOf(new(Cache)).Implements(f.Type()):
				f.Set(reflect.ValueOf(new(Cache)))
			case reflect.TypeOf(new(limitCtx)).Implements(f.Type()):
				f.Set(reflect.ValueOf(new(limitCtx)))
			default:
				f.Set(reflect.ValueOf(new(evaluation)))
			}
		default:
			t.Fatalf("scribble: field %s of kind %s", v.Type().Field(i).Name, f.Kind())
		}
	}
}

// compareFields reports the fields of the structs want and got that
// differ; funcs are compared by their code pointer, interfaces by their
// dynamic type and nil-ness.
func compareFields(t *testing.T, name string, want, got reflect.Value) {
	t.Helper()
	for i := range want.NumField() {
		w, g := want.Field(i), got.Field(i)
		field := name + "." + want.Type().Field(i).Name
		switch w.Kind() {
		case reflect.Struct:
			if w.Type() == reflect.TypeOf(time.Time{}) || w.Type() == reflect.TypeOf(netip.Addr{}) {
				if !w.Equal(g) {
					t.Errorf("%s = %v, want %v", field, g, w)
				}
				continue
			}
			compareFields(t, field, w, g)
		case reflect.Func:
			if w.IsNil() != g.IsNil() || !w.IsNil() && w.Pointer() != g.Pointer() {
				t.Errorf("%s is not reset", field)
			}
		case reflect.Interface:
			if w.IsNil() != g.IsNil() || !w.IsNil() && w.Elem().Type() != g.Elem().Type() {
				t.Errorf("%s = %v, want %v", field, g, w)
			}
		case reflect.Pointer:
			if w.IsNil() != g.IsNil() {
				t.Errorf("%s is not reset", field)
			}
		case reflect.Slice:
			if w.IsNil() != g.IsNil() || w.Len() != g.Len() {
				t.Errorf("%s is not reset", field)
			}
		default:
			if !w.Equal(g) {
				t.Errorf("%s = %v, want %v", field, g, w)
			}
		}
	}
}

// TestIsASCII compares isASCII, which reads 8 bytes at a time, with a
// byte-by-byte test: every length up to 24, with one non-ASCII byte of
// each kind at every position.
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 24; n++ {
		s := []byte(strings.Repeat("a", n))
		if !isASCII(string(s)) {
			t.Errorf("isASCII(%q) = false", s)
		}
		for i := range s {
			for _, c := range []byte{0x80, 0xc3, 0xff} {
				s[i] = c
				if isASCII(string(s)) {
					t.Errorf("isASCII(%q) = true", s)
				}
			}
			s[i] = 0x7f // ASCII
			if !isASCII(string(s)) {
				t.Errorf("isASCII(%q) = false", s)
			}
			s[i] = 'a'
		}
	}
}

// TestSenderOK compares senderOK, which reads 8 bytes at a time, with a
// byte-by-byte test of the same rule: every byte value at every position
// of local parts and domains of several lengths.
func TestSenderOK(t *testing.T) {
	ref := func(s string) bool {
		at := strings.LastIndexByte(s, '@')
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < 0x20 || c == 0x7f || i > at && (c == ' ' || c == '<' || c == '>') {
				return false
			}
		}
		return true
	}
	for _, local := range []string{"", "a", "alice", "first.last+tag", "x\\u00e9y.z"} {
		for _, dom := range []string{"", "b.c", "example.org", "mail.sub.example.co.uk"} {
			base := []byte(local + "@" + dom)
			for pos := range base {
				for c := 0; c < 256; c++ {
					b := append([]byte(nil), base...)
					b[pos] = byte(c)
					if got, want := senderOK(string(b)), ref(string(b)); got != want {
						t.Fatalf("senderOK(%q) = %v, want %v", b, got, want)
					}
				}
			}
		}
	}
}
