package spf

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// This file keeps the macro expansion of the first release, which built
// the whole expansion before truncating it, as the reference that the
// bounded expansion of macro.go is compared with (TestExpandBounded,
// FuzzExpand). It is simple and obviously right, and its cost grows with
// the product of the record's and the sender's lengths.

// refExpand appends the whole expansion of s, a macro-string that checkMacroString
// accepted, to dst.
func (e *macroEnv) refExpand(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case '%':
			dst = append(dst, '%')
			continue
		case '_':
			dst = append(dst, ' ')
			continue
		case '-':
			dst = append(dst, "%20"...)
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		m := s[i+1 : i+end]
		i += end
		letter, keep, reverse, delims, msg := parseMacro(m, true)
		if msg != "" {
			continue // not reached for checked strings
		}
		start := len(dst)
		dst = e.refAppendValue(dst, letter)
		if keep > 0 || reverse || delims != "" {
			dst = refTransform(dst, start, keep, reverse, delims)
		}
		if isUpper(m[0]) {
			dst = refURLEscape(dst, start)
		}
	}
	return dst
}

func (e *macroEnv) refAppendValue(dst []byte, letter byte) []byte {
	switch letter {
	case 's':
		return append(dst, e.sender...)
	case 'l':
		return append(dst, e.local...)
	case 'o':
		return append(dst, e.senderDomain...)
	case 'd':
		return append(dst, e.domain...)
	case 'i':
		return appendDotted(dst, e.ip)
	case 'c':
		return e.ip.AppendTo(dst)
	case 'p':
		return append(dst, e.validated.validatedName()...)
	case 'v':
		if e.ip.Is4() {
			return append(dst, "in-addr"...)
		}
		return append(dst, "ip6"...)
	case 'h':
		return append(dst, e.helo...)
	case 'r':
		return append(dst, e.receiver...)
	case 't':
		return strconv.AppendInt(dst, e.now().Unix(), 10)
	}
	return dst
}

// refTransform applies the transformers to dst[start:]: split on delims
// ("." when none), reverse when asked, keep the right-most keep parts
// (all when 0), and join with "." (RFC 7208 section 7.3).
func refTransform(dst []byte, start, keep int, reverse bool, delims string) []byte {
	if delims == "" {
		delims = "."
	}
	value := string(dst[start:])
	var partsBuf [48]string
	parts := partsBuf[:0]
	for {
		i := strings.IndexAny(value, delims)
		if i < 0 {
			parts = append(parts, value)
			break
		}
		parts = append(parts, value[:i])
		value = value[i+1:]
	}
	if reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	dst = dst[:start]
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = append(dst, p...)
	}
	return dst
}

// refURLEscape escapes dst[start:] in place of itself: every byte outside
// RFC 3986's unreserved set becomes %XX (RFC 7208 section 7.3).
func refURLEscape(dst []byte, start int) []byte {
	n := 0
	for _, c := range dst[start:] {
		if !isUnreserved(c) {
			n++
		}
	}
	if n == 0 {
		return dst
	}
	value := string(dst[start:])
	dst = dst[:start]
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(value); i++ {
		c := value[i]
		if isUnreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return dst
}

// checkBounded compares the bounded expansions of s (expand for a
// domain-spec, expandText for an explanation) with the whole expansion of
// refExpand, and checks their sizes.
func checkBounded(t *testing.T, e *macroEnv, s string) {
	t.Helper()
	full := string(e.refExpand(nil, s))
	win := string(e.expand(nil, s))
	if len(win) > domainWindow {
		t.Fatalf("expand(%.80q) kept %d bytes, more than the window", s, len(win))
	}
	want := strings.ToLower(truncateDomain(full))
	got := strings.ToLower(truncateDomain(win))
	switch {
	case len(full) <= domainWindow && win != full:
		t.Fatalf("expand(%.80q) = %.80q, want %.80q", s, win, full)
	case validQueryName(want) && got != want:
		t.Fatalf("domain of %.80q with local part %.40q: %q, want %q", s, e.local, got, want)
	case !validQueryName(want) && validQueryName(got):
		t.Fatalf("domain of %.80q with local part %.40q: %q, want the invalid %.80q", s, e.local, got, want)
	}
	text := string(e.expandText(nil, s, explanationCap))
	if wantText := full[:min(len(full), explanationCap)]; text != wantText {
		t.Fatalf("expandText(%.80q) with local part %.40q = %.80q, want %.80q", s, e.local, text, wantText)
	}
}

// TestExpandBounded compares the bounded expansions with the whole one
// for macro-strings built from every kind of token, with senders short,
// long, dotted, made of delimiters only, and 8-bit.
func TestExpandBounded(t *testing.T) {
	tokens := []string{
		"%{s}", "%{l}", "%{o}", "%{d}", "%{i}", "%{p}", "%{v}", "%{h}", "%{c}", "%{r}", "%{t}",
		"%{s2r}", "%{l1-}", "%{L1R-}", "%{S}", "%{lr-}", "%{l2-.}", "%{dr}", "%{d2}", "%{ir}", "%{I}",
		"%{l3r-+,/_=}", "%{s99}", "%{l0000001r}", "%{o1r}", "%{lr}",
		".", "..", "x", "example.com", "%%", "%_", "%-", "}", "{", "%%{s}", "a-b_c", "-", "_",
		strings.Repeat("a", 70), ".c1.hostile.example",
	}
	locals := []string{
		"strong-bad", "a.b-c.d", "----", "...", "x-", ".a.", "j\xc3\xb6rg", "a+b,c/d_e=f",
		strings.Repeat("x", 2000), strings.Repeat("x-", 300), strings.Repeat("ab.", 200), strings.Repeat("-", 1000) + "z",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, ip := range []string{"192.0.2.3", "2001:db8::cb01"} {
		for _, local := range locals {
			e := testEnv(ip)
			e.local = local
			e.sender = local + "@email.example.com"
			for range 300 {
				var b strings.Builder
				for range r.IntN(40) + 1 {
					b.WriteString(tokens[r.IntN(len(tokens))])
				}
				s := b.String()
				if _, msg := checkMacroString(s, true); msg != "" {
					t.Fatalf("test case %q: %s", s, msg)
				}
				checkBounded(t, e, s)
			}
		}
	}
}

// refCheckMacroString is checkMacroString as it was before it read the
// string once (scanMacroString), kept to compare with.
func refCheckMacroString(s string, expText bool) (int, string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if (c < 0x21 || c > 0x7e) && !(expText && c == ' ') {
				return i, "invalid character " + quoteRunes(s[i:i+1])
			}
			continue
		}
		if i+1 >= len(s) {
			return i, `"%" at the end`
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return i, "invalid macro " + quoteRunes(s[i:i+2])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return i, "unterminated macro"
		}
		if _, _, _, _, msg := parseMacro(s[i+2:i+end], expText); msg != "" {
			return i, msg + " in " + quoteRunes(s[i:i+end+1])
		}
		i += end
	}
	return 0, ""
}

// refEndsWithMacroExpand reports whether a valid macro-string ends with
// a macro-expand: "%{...}", "%%", "%_" or "%-", as the parser found it
// before scanMacroString.
func refEndsWithMacroExpand(s string) bool {
	last := -1
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		if s[i+1] == '{' {
			i += strings.IndexByte(s[i:], '}')
		} else {
			i++
		}
		last = i + 1
	}
	return last == len(s)
}

// FuzzScanMacroString compares scanMacroString with the two scans it
// replaces: the same offset and message, and, for a valid string, the
// same answer on its end.
func FuzzScanMacroString(f *testing.F) {
	for _, s := range []string{"%{s}", "a.%{d2r-}.example", "%{s}%{s}", "x%%", "%_%-", "%{", "%{}", "%{x}", "%", "a b", "%{c}", "%{ir}.%{v}._spf.%{d2}", "%{s}}"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, expText bool) {
		off, msg, ends := scanMacroString(s, expText)
		wantOff, wantMsg := refCheckMacroString(s, expText)
		if off != wantOff || msg != wantMsg {
			t.Fatalf("scanMacroString(%q, %v) = %d, %q; want %d, %q", s, expText, off, msg, wantOff, wantMsg)
		}
		if msg == "" && ends != refEndsWithMacroExpand(s) {
			t.Fatalf("scanMacroString(%q, %v) ends with a macro-expand: %v, want %v", s, expText, ends, !ends)
		}
	})
}
