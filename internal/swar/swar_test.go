package swar

import (
	"strings"
	"testing"
)

// TestTests compares each test with its byte-by-byte meaning: every byte
// value at every position of a word otherwise filled with bytes that
// pass no test, or with bytes whose high bit is set (which must not
// borrow or carry into their neighbours).
func TestTests(t *testing.T) {
	tests := []struct {
		name string
		mask func(uint64) uint64
		pass func(byte) bool
	}{
		{"NonASCII", NonASCII, func(c byte) bool { return c >= 0x80 }},
		{"Below(0x21)", func(w uint64) uint64 { return Below(w, 0x21) }, func(c byte) bool { return c < 0x21 }},
		{"Below(128)", func(w uint64) uint64 { return Below(w, 128) }, func(c byte) bool { return c < 128 }},
		{"Equal('%')", func(w uint64) uint64 { return Equal(w, '%') }, func(c byte) bool { return c == '%' }},
		{"Equal(0x7f)", func(w uint64) uint64 { return Equal(w, 0x7f) }, func(c byte) bool { return c == 0x7f }},
		{"Equal(0)", func(w uint64) uint64 { return Equal(w, 0) }, func(c byte) bool { return c == 0 }},
		{"Upper", Upper, func(c byte) bool { return 'A' <= c && c <= 'Z' }},
	}
	for _, tt := range tests {
		for _, fill := range []byte{'a', 0xff, 0x80, 0xc1} {
			for pos := 0; pos < 8; pos++ {
				for c := 0; c < 256; c++ {
					b := []byte(strings.Repeat(string([]byte{fill}), 8))
					b[pos] = byte(c)
					want := false
					for _, x := range b {
						want = want || tt.pass(x)
					}
					if got := tt.mask(Load(string(b))) != 0; got != want {
						t.Fatalf("%s(%q) = %v, want %v", tt.name, b, got, want)
					}
				}
			}
		}
	}
}

func TestLoad(t *testing.T) {
	if got, want := Load("abcdefghij"), uint64(0x6867666564636261); got != want {
		t.Errorf("Load = %#x, want %#x", got, want)
	}
}
