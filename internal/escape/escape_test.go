package escape

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var hostile = []string{
	"", "plain text", "example.com", "a\r\nX-Injected: yes", "x;dkim=pass(c)header.d=paypal.com",
	"\x00\x1b[31mred\x1b[0m\x7f", "ü\xff\xfe", `"\"; (c) \`, "\u202eevil\u0085", strings.Repeat("a;", 5000),
}

func seed(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
}

// readQuoted reads a quoted-string (RFC 5322 section 3.2.4) that is the
// whole of s, strictly: qtext and quoted-pairs of printable ASCII.
func readQuoted(t *testing.T, s string) string {
	t.Helper()
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		t.Fatalf("%q is not a quoted-string", s)
	}
	var b strings.Builder
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '\\':
			if i+1 == len(in) || in[i+1] < 0x20 || in[i+1] >= 0x7f {
				t.Fatalf("bad quoted-pair in %q", s)
			}
			i++
			b.WriteByte(in[i])
		case c == '"' || c < 0x20 || c >= 0x7f:
			t.Fatalf("byte %#x unescaped in %q", c, s)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func checkPrintable(t *testing.T, s string, limit int) {
	t.Helper()
	if len(s) > limit {
		t.Fatalf("%d bytes, over %d", len(s), limit)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			t.Fatalf("byte %#x in %q", s[i], s)
		}
	}
}

func FuzzHeaderValue(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		v := HeaderValue(s, 256)
		got := v
		if !IsDotAtom(v) {
			got = readQuoted(t, v)
		}
		if want := Printable(s, 256); got != want {
			t.Fatalf("HeaderValue(%q) = %q reads back as %q, want %q", s, v, got, want)
		}
		checkPrintable(t, got, 256)
	})
}

func FuzzAuthResValue(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		v := AuthResValue(s, 256)
		got := v
		if isToken(v) {
			if s == "" {
				t.Fatal("empty input gave a token")
			}
		} else {
			got = readQuoted(t, v)
		}
		checkPrintable(t, got, 256)
		if strings.ContainsAny(got, " ;()\\\"") {
			t.Fatalf("AuthResValue(%q) = %q holds a special character", s, v)
		}
	})
}

func FuzzComment(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		c := Comment(s, 256)
		checkPrintable(t, c, 256)
		if strings.ContainsAny(c, "()\\\";=") {
			t.Fatalf("Comment(%q) = %q holds a special character", s, c)
		}
	})
}

func FuzzReply(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		r := Reply(s, 400)
		checkPrintable(t, r, 400)
		if strings.Contains(r, "  ") || strings.TrimSpace(r) != r {
			t.Fatalf("Reply(%q) = %q has stray spaces", s, r)
		}
	})
}

func FuzzTerminal(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		e := Terminal(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Terminal(%q) = %q is not UTF-8", s, e)
		}
		for _, r := range e {
			if !unicode.IsPrint(r) {
				t.Fatalf("Terminal(%q) = %q holds %U", s, e, r)
			}
		}
		if Terminal(e) != e {
			t.Fatalf("Terminal(%q) = %q is not a fixed point", s, e)
		}
		if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 && e != s {
			t.Fatalf("Terminal(%q) = %q changed printable text", s, e)
		}
	})
}

func TestEscapers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"printable", Printable("a\r\nb\tc\x00ü", 100), "a  b c??"},
		{"printable cut", Printable("abcdefghij", 7), "abcd..."},
		{"printable cut runes", Printable("é\x00\x00\x00é\x00\x00", 6), "???..."},
		{"header dot-atom", HeaderValue("example.com", 100), "example.com"},
		{"header quoted", HeaderValue(`a "b"; c`, 100), `"a \"b\"; c"`},
		{"authres token", AuthResValue("[192.0.2.1]", 100), `"[192.0.2.1]"`},
		{"authres injection", AuthResValue("x;dkim=pass(c)header.d=paypal.com", 100), `"x?dkim=pass?c?header.d=paypal.com"`},
		{"authres plain", AuthResValue("abc", 100), "abc"},
		{"authres quoted", AuthResQuoted("a{b}", 100), `"a{b}"`},
		{"authres quoted special", AuthResQuoted("a;b", 100), `"a?b"`},
		{"header quoted", HeaderQuoted("a=b", 100), `"a=b"`},
		{"comment", Comment("a (b) c=d; \"e\\", 100), "a ?b? c?d? ?e?"},
		{"reply", Reply(" a\r\n\tb  c ", 100), "a b c"},
		{"terminal escape", Terminal("a\x1b[31mb\n\x7f\xff"), `a\x1b[31mb\n\x7f\xff`},
		{"terminal unicode", Terminal("bücher \u202e"), `bücher \u202e`},
		{"terminal backslash", Terminal(`a\b`), `a\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
