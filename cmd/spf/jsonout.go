package main

import (
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// writeJSON writes v to w as one line of JSON in ASCII (see asciiJSON):
// how check, message and why print --json.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(asciiJSON(b), '\n'))
	return err
}

// asciiJSON returns JSON text with DEL and every non-ASCII rune escaped
// as \uXXXX (surrogate pairs beyond the BMP), so that JSON holding text
// from a message, DNS or SMTP logs brings no C1 control (U+009B is CSI
// to many terminals), bidirectional or other invisible character to a
// terminal. encoding/json already escapes the C0 controls.
func asciiJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf && r != 0x7f:
			out = append(out, byte(r))
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, "\\u%04x\\u%04x", r1, r2)
		default:
			out = fmt.Appendf(out, "\\u%04x", r)
		}
	}
	return out
}
