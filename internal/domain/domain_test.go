package domain

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		valid    bool
		raw      bool
	}{
		{"Example.COM.", "example.com", true, true},
		{"bücher.example", "xn--bcher-kva.example", true, true},
		{"_spf.example.com", "_spf.example.com", true, true},
		{"x;dkim=pass(c)header.d=paypal.com", "x;dkim=pass(c)header.d=paypal.com", true, false},
		{"a b.example", "a b.example", false, false},
		{"com", "com", false, false},
		{"[192.0.2.1]", "[192.0.2.1]", false, false},
		{"192.0.2.1", "192.0.2.1", false, false},
		{"a..example", "a..example", false, false},
		{strings.Repeat("a", 64) + ".example", strings.Repeat("a", 64) + ".example", false, false},
		{strings.Repeat("a.", 127) + "com", strings.Repeat("a.", 127) + "com", false, false},
		{"x\r\n.example", "x\r\n.example", false, false},
		{"", "", false, false},
		{"a.-com", "a.-com", false, false},
		{"a.1-2", "a.1-2", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Normalize(tt.in)
			if got != tt.want || ok != tt.valid {
				t.Errorf("Normalize(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.valid)
			}
			if r := Raw(got); r != tt.raw {
				t.Errorf("Raw(%q) = %v, want %v", got, r, tt.raw)
			}
		})
	}
}

func TestRawText(t *testing.T) {
	for s, want := range map[string]bool{
		"localhost": true, "a_b-c.d": true, "": false, "a=b": false, "a b": false, "ü": false, "x;y": false,
	} {
		if got := RawText(s); got != want {
			t.Errorf("RawText(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzRaw checks that a name Raw accepts holds nothing but letters,
// digits, "-", "_" and dots, and is Valid.
func FuzzRaw(f *testing.F) {
	for _, s := range []string{"example.com", "x;dkim=pass(c)header.d=paypal.com", "a_b.c-d.e", "bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := Normalize(s)
		if !Raw(n) {
			return
		}
		if !ok || !Valid(n) {
			t.Fatalf("Raw(%q) but not valid", n)
		}
		if strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
			t.Fatalf("Raw(%q) with other characters", n)
		}
	})
}

func TestQueryable(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name string
		want bool
	}{
		{"example.com", true},
		{"localhost", true},
		{"caf\xc3\xa9.example;x", true}, // any byte: expanded macros hold client text
		{"", false},
		{"a..b", false},
		{".a", false},
		{"a.", false},
		{label63 + ".x", true},
		{label63 + "a.x", false},
		{strings.Repeat("a.", 126) + "a", true},   // 253 bytes
		{strings.Repeat("a.", 126) + "ab", false}, // 254 bytes
	}
	for _, tt := range tests {
		if got := Queryable(tt.name); got != tt.want {
			t.Errorf("Queryable(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"MiXeD.Example.", "mixed.example."},
		{"CAF\xc3\x89.EXAMPLE", "caf\xc3\x89.example"}, // ASCII only (RFC 4343)
		{"", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(10, func() { Fold("already.lower") }); n != 0 {
		t.Errorf("Fold of a lower-case name allocates %v times", n)
	}
}

// TestNormalizeOnePass checks the one-pass Normalize and FoldQueryable
// against the composition of the checks they stand for.
func TestNormalizeOnePass(t *testing.T) {
	names := []string{
		"", ".", "..", "a", "a.", "a.b", "a.b.", "a..b", ".a.b", "example.com", "EXAMPLE.com",
		"mail.Example.ORG.", "x.123", "x.1-2", "x.-a", "a b.com", "a\x7f.com", "a\x00.com",
		"bücher.example", "xn--bcher-kva.example", "_spf.example.org", "%{d}.x",
		strings.Repeat("a", 63) + ".com", strings.Repeat("a", 64) + ".com",
		strings.Repeat("a.", 126) + "com", strings.Repeat("a.", 127) + "com",
		strings.Repeat("A.", 126) + "com",
	}
	for _, name := range names {
		got, gotOK := Normalize(name)
		want, wantOK := normalize(strings.TrimSuffix(name, "."))
		if got != want || gotOK != wantOK {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", name, got, gotOK, want, wantOK)
		}
		got, gotOK = FoldQueryable(name)
		want = Fold(name)
		if wantOK = Queryable(want); got != want || gotOK != wantOK {
			t.Errorf("FoldQueryable(%q) = %q, %v; want %q, %v", name, got, gotOK, want, wantOK)
		}
	}
}
