package dnstext

import "testing"

func TestUnescape(t *testing.T) {
	tests := []struct{ in, text, name string }{
		{"example.com.", "example.com.", "example.com"},
		{"example.com", "example.com", "example.com"},
		{".", ".", ""},
		{`caf\195\169`, "caf\xc3\xa9", "caf\xc3\xa9"},
		{`a\"b\\c`, `a"b\c`, `a"b\c`},
		{`with\032space.example.`, "with space.example.", "with space.example"},
		{`dot\.inside.`, "dot.inside.", "dot.inside"},
		{`big\999`, "big999", "big999"},
		{`trailing\`, `trailing\`, `trailing\`},
	}
	for _, tt := range tests {
		if got := Unescape(tt.in); got != tt.text {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if got := Name(tt.in); got != tt.name {
			t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.name)
		}
	}
}
