package spf

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name   string
		record string
		want   []Term
	}{
		{"empty", "v=spf1", nil},
		{"trailing spaces", "v=spf1 -all  ", []Term{{Kind: KindAll, Qualifier: QualifierFail}}},
		{"upper case", "V=SPF1 ?ALL", []Term{{Kind: KindAll, Qualifier: QualifierNeutral}}},
		{"a with dual cidr", "v=spf1 a:example.com/24//64", []Term{
			{Kind: KindA, Qualifier: QualifierPass, Domain: "example.com", CIDR4: 24, CIDR6: 64}}},
		{"a with ip6 cidr only", "v=spf1 a//0", []Term{{Kind: KindA, Qualifier: QualifierPass, CIDR4: 32, CIDR6: 0}}},
		{"mx plain", "v=spf1 ~mx", []Term{{Kind: KindMX, Qualifier: QualifierSoftFail, CIDR4: 32, CIDR6: 128}}},
		{"ip4 and ip6", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip6:::1", []Term{
			{Kind: KindIP4, Qualifier: QualifierPass, Network: p("192.0.2.0/24")},
			{Kind: KindIP6, Qualifier: QualifierPass, Network: p("2001:db8::/32")},
			{Kind: KindIP6, Qualifier: QualifierPass, Network: p("::1/128")}}},
		{"ip6 with embedded ip4", "v=spf1 ip6:::ffff:1.2.3.4/120", []Term{
			{Kind: KindIP6, Qualifier: QualifierPass, Network: p("::ffff:1.2.3.4/120")}}},
		{"macros", "v=spf1 exists:%{i}._ip.%{h}._ehlo.%{d} include:%{ir}.%{v}._spf.%{d2}", []Term{
			{Kind: KindExists, Qualifier: QualifierPass, Domain: "%{i}._ip.%{h}._ehlo.%{d}"},
			{Kind: KindInclude, Qualifier: QualifierPass, Domain: "%{ir}.%{v}._spf.%{d2}"}}},
		{"modifiers", "v=spf1 redirect=_spf.example.com exp=exp.%{d} foo-bar.baz=%{l}x", []Term{
			{Kind: KindRedirect, Domain: "_spf.example.com"},
			{Kind: KindExp, Domain: "exp.%{d}"},
			{Kind: KindUnknownModifier}}},
		{"ptr", "v=spf1 ptr ptr:example.org", []Term{
			{Kind: KindPTR, Qualifier: QualifierPass},
			{Kind: KindPTR, Qualifier: QualifierPass, Domain: "example.org"}}},
		{"trailing dot domain", "v=spf1 a:example.com.", []Term{
			{Kind: KindA, Qualifier: QualifierPass, Domain: "example.com.", CIDR4: 32, CIDR6: 128}}},
		{"hyphenated numeric toplabel", "v=spf1 a:abc.123-foo", []Term{
			{Kind: KindA, Qualifier: QualifierPass, Domain: "abc.123-foo", CIDR4: 32, CIDR6: 128}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.record)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.record, err)
			}
			opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Term{}, "Text", "Offset"), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })}
			if diff := cmp.Diff(tt.want, r.Terms, opts...); diff != "" {
				t.Errorf("Parse(%q) terms (-want +got):\n%s", tt.record, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		record string
		term   string // the term the error names
		offset int
	}{
		{"v=spf2 -all", "", 0},
		{"v=spf1mx", "", 0},
		{"v=spf1 -all foo", "foo", 12},
		{"v=spf1 a:museum", "a:museum", 7},
		{"v=spf1 a:111.222.33.44", "a:111.222.33.44", 7},
		{"v=spf1 a:abc.-foo", "a:abc.-foo", 7},
		{"v=spf1 a:", "a:", 7},
		{"v=spf1 a/33", "a/33", 7},
		{"v=spf1 a//129", "a//129", 7},
		{"v=spf1 a/024", "a/024", 7},
		{"v=spf1 a/", "a/", 7},
		{"v=spf1 ip4:1.2.3.4/032", "ip4:1.2.3.4/032", 7},
		{"v=spf1 ip4:1.2.3", "ip4:1.2.3", 7},
		{"v=spf1 ip4:01.2.3.4", "ip4:01.2.3.4", 7},
		{"v=spf1 ip4:::1", "ip4:::1", 7},
		{"v=spf1 ip6:1.2.3.4", "ip6:1.2.3.4", 7},
		{"v=spf1 ip6:fe80::1%eth0", "ip6:fe80::1%eth0", 7},
		{"v=spf1 ip6:::1/129", "ip6:::1/129", 7},
		{"v=spf1 ip4", "ip4", 7},
		{"v=spf1 include:", "include:", 7},
		{"v=spf1 include:example.com/24", "include:example.com/24", 7},
		{"v=spf1 exists:example.com/24", "exists:example.com/24", 7},
		{"v=spf1 ptr/24", "ptr/24", 7},
		{"v=spf1 all:foo", "all:foo", 7},
		{"v=spf1 -", "-", 7},
		{"v=spf1 redirect=a.com redirect=b.com", "redirect=b.com", 22},
		{"v=spf1 exp=a.com exp=b.com", "exp=b.com", 17},
		{"v=spf1 exists:%{x}.example.com", "exists:%{x}.example.com", 7},
		{"v=spf1 exists:%{l}%{z}.example.com", "exists:%{l}%{z}.example.com", 7},
		{"v=spf1 exists:%{l}.example.com%", "exists:%{l}.example.com%", 7},
		{"v=spf1 exists:%{d0}.example.com", "exists:%{d0}.example.com", 7},
		{"v=spf1 exists:%{c}.example.com", "exists:%{c}.example.com", 7},
		{"v=spf1 exists:%{d", "exists:%{d", 7},
		{"v=spf1 exists:%{d;}.example.com", "exists:%{d;}.example.com", 7},
		{"v=spf1 -all foo=%z", "foo=%z", 12},
		{"v=spf1 a:ex\xc3\xa9.com", "a:ex\xc3\xa9.com", 7},
		{"v=spf1 a:ctrl.example.com\rptr", "a:ctrl.example.com\rptr", 7},
		{"v=spf1 \x96all", "\x96all", 7},
	}
	for _, tt := range tests {
		t.Run(tt.record, func(t *testing.T) {
			_, err := Parse(tt.record)
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error = %v, want ErrSyntax", tt.record, err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", tt.record, err)
			}
			if se.Term != tt.term || se.Offset != tt.offset || se.Record != tt.record {
				t.Errorf("Parse(%q) = term %q at %d of %q, want term %q at %d", tt.record, se.Term, se.Offset, se.Record, tt.term, tt.offset)
			}
		})
	}
}

func TestRecordString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v=spf1", "v=spf1"},
		{"V=SPF1  +MX   -ALL ", "v=spf1 mx -all"},
		{"v=spf1 a/32//128 a:x.example/24 mx//64", "v=spf1 a a:x.example/24 mx//64"},
		{"v=spf1 ip4:192.0.2.1/32 ip4:192.0.2.5/24 ip6:2001:DB8::1", "v=spf1 ip4:192.0.2.1 ip4:192.0.2.5/24 ip6:2001:db8::1"},
		{"v=spf1 ?include:_spf.example.com ~all Redirect=x.example EXP=e.example x=y", "v=spf1 ?include:_spf.example.com ~all redirect=x.example exp=e.example x=y"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTermText(t *testing.T) {
	const rec = "v=spf1  -a:example.com/24  redirect=x.example"
	r, err := Parse(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, term := range r.Terms {
		if rec[term.Offset:int(term.Offset)+len(term.Text)] != term.Text {
			t.Errorf("term %q: Offset %d does not point at it", term.Text, term.Offset)
		}
	}
	if d, ok := r.Redirect(); !ok || d != "x.example" {
		t.Errorf("Redirect() = %q, %v", d, ok)
	}
	if _, ok := r.Exp(); ok {
		t.Error("Exp() reports a modifier the record lacks")
	}
}

func TestTermNameValue(t *testing.T) {
	r, err := Parse("v=spf1 foo-bar.baz=%{l}=x a:example.com")
	if err != nil {
		t.Fatal(err)
	}
	type nv struct{ Name, Value string }
	var got []nv
	for i := range r.Terms {
		got = append(got, nv{r.Terms[i].Name(), r.Terms[i].Value()})
	}
	want := []nv{{"foo-bar.baz", "%{l}=x"}, {"", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Name and Value (-want +got):\n%s", diff)
	}
}

// BenchmarkParseTerms parses the records of testdata/bench.zone into a
// reused buffer, as an evaluation does with a Response it sees once (the
// "spf-go-fresh" checks of bench/).
func BenchmarkParseTerms(b *testing.B) {
	for _, r := range []struct{ name, text string }{
		{"ip4", "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip4:203.0.113.0/24 ip4:100.64.0.0/16 ip4:100.65.0.0/16 -all"},
		{"mx-include", "v=spf1 mx include:_spf.example.org -all"},
		{"ip4-include", "v=spf1 ip4:198.51.100.0/24 include:_spf2.example.org ~all"},
		{"ip4-ip6", "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all"},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]Term, 0, 16)
			for b.Loop() {
				var err error
				if buf, err = parseTerms(r.text, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
