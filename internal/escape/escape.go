// Package escape holds the one escaper of each output that text from an
// SMTP client or from DNS reaches: a header field value (RFC 7208 section
// 9.1 and RFC 8601), a header field comment, the text of an SMTP reply,
// and a terminal. Every function returns text safe for its output whatever
// its input holds, and cuts long input to a stated limit.
package escape

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s as printable ASCII (0x20 to 0x7e): each white-space
// control character (HT, LF, VT, FF, CR) becomes a space, and each other
// control character, non-ASCII rune and invalid UTF-8 byte becomes "?".
// Text over limit bytes (limit at least 3) is cut to limit bytes ending
// in "...".
func Printable(s string, limit int) string {
	clean := len(s) <= limit
	for i := 0; clean && i < len(s); i++ {
		clean = s[i] >= 0x20 && s[i] < 0x7f
	}
	if clean {
		return s
	}
	b := make([]byte, 0, min(len(s), limit+3))
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r':
			b = append(b, ' ')
		default:
			b = append(b, '?')
		}
		if len(b) > limit {
			b = append(b[:limit-3], "..."...)
			break
		}
	}
	return string(b)
}

// HeaderValue returns s as the value of a Received-SPF key=value pair
// (RFC 7208 section 9.1): [Printable] with limit, then a dot-atom where it
// is one and a quoted-string, with "\" and `"` escaped, otherwise.
func HeaderValue(s string, limit int) string {
	s = Printable(s, limit)
	if IsDotAtom(s) {
		return s
	}
	return string(appendQuoted(make([]byte, 0, len(s)+8), s))
}

// HeaderQuoted is [HeaderValue] that always writes a quoted-string, for a
// value that is to be written raw only when it is a name.
func HeaderQuoted(s string, limit int) string {
	return string(appendQuoted(make([]byte, 0, len(s)+8), Printable(s, limit)))
}

// AuthResValue returns s as an RFC 8601 value (section 2.2): an RFC 2045
// token or a quoted-string, which readers that split at ";" and white
// space read whole. It is [Printable] with limit, with white space, ";",
// "(", ")", "\" and `"` replaced by "?", since common readers do not
// unquote; it is quoted unless it is a token.
func AuthResValue(s string, limit int) string {
	s = Printable(s, limit)
	if isToken(s) {
		return s // a token holds none of the characters replaced below
	}
	b := []byte(s)
	for i, c := range b {
		switch c {
		case ' ', ';', '(', ')', '\\', '"':
			b[i] = '?'
		}
	}
	if isToken(string(b)) {
		return string(b)
	}
	return string(appendQuoted(make([]byte, 0, len(b)+2), string(b)))
}

// AuthResQuoted is [AuthResValue] that always writes a quoted-string, for
// a value that is to be written raw only when it is a name.
func AuthResQuoted(s string, limit int) string {
	v := AuthResValue(s, limit)
	if v != "" && v[0] == '"' {
		return v
	}
	return `"` + v + `"`
}

// Comment returns s as text for a header field comment (RFC 5322 section
// 3.2.2): [Printable] with limit, with every character a naive reader of
// a comment could take for structure ("(", ")", "\", `"`, ";" and "=")
// replaced by "?".
func Comment(s string, limit int) string {
	s = Printable(s, limit)
	if !strings.ContainsAny(s, "()\\\";=") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		switch c {
		case '(', ')', '\\', '"', ';', '=':
			b[i] = '?'
		}
	}
	return string(b)
}

// Reply returns s as the text of an SMTP reply (RFC 5321 section 4.2):
// [Printable] with limit, its runs of white space (line breaks included)
// made single spaces, with no space at either end.
func Reply(s string, limit int) string {
	return strings.Join(strings.Fields(Printable(s, limit)), " ")
}

// Terminal returns s for a terminal: printable runes, non-ASCII letters
// included, are kept; every other rune (C0 and C1 controls, ESC, DEL,
// line breaks, bidirectional and other format characters) is written as
// a Go escape such as \x1b, \n or \u202e, and each invalid UTF-8 byte as
// \xNN. A backslash is kept, so that text already quoted with
// [strconv.Quote] passes unchanged and Terminal(Terminal(s)) ==
// Terminal(s); a literal "\x1b" in s therefore looks like an escaped ESC,
// which is harmless.
func Terminal(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[s[i]>>4], "0123456789abcdef"[s[i]&15])
		case unicode.IsPrint(r):
			b = append(b, s[i:i+n]...)
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\n', '\u202e'
			b = append(b, q[1:len(q)-1]...)
		}
		i += n
	}
	return string(b)
}

// IsDotAtom reports whether s is a dot-atom-text (RFC 5322 section
// 3.2.3): runs of atext joined by single dots.
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			if s[i-1] == '.' {
				return false
			}
		} else if !IsAtext(s[i]) {
			return false
		}
	}
	return true
}

// IsAtext reports whether c is an atext character (RFC 5322 section 3.2.3).
func IsAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isToken reports whether s is an RFC 2045 token: one or more ASCII
// characters other than space, controls and tspecials.
func isToken(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// appendQuoted appends s, printable ASCII, as a quoted-string (RFC 5322
// section 3.2.4), with "\" and `"` escaped.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}
