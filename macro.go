package spf

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// checkMacroString checks s against macro-string (RFC 7208 section 7.1):
// literals are visible ASCII other than "%", and a "%" starts "%%", "%_",
// "%-" or "%{" macro-letter transformers *delimiter "}". The letters c, r
// and t, and spaces, are allowed only where expText is true (sections 6.2
// and 7.2: explain-string = *( macro-string / SP )); a zero
// DIGIT transformer is invalid (section 7.3). On error it returns where in
// s the problem is and what it is.
func checkMacroString(s string, expText bool) (int, string) {
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

// parseMacro parses the inside of "%{...}": macro-letter, transformers
// (*DIGIT ["r"]) and delimiters. keep is 0 when no digits are given.
func parseMacro(m string, expText bool) (letter byte, keep int, reverse bool, delims string, msg string) {
	if m == "" {
		return 0, 0, false, "", "missing macro letter"
	}
	letter = lower(m[0])
	switch letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if !expText {
			return 0, 0, false, "", "macro letter " + quoteRunes(m[:1]) + " is allowed only in explanations"
		}
	default:
		return 0, 0, false, "", "invalid macro letter " + quoteRunes(m[:1])
	}
	i := 1
	for i < len(m) && isDigit(m[i]) {
		if keep < 1000 {
			keep = keep*10 + int(m[i]-'0')
		}
		i++
	}
	if i > 1 && keep == 0 {
		return 0, 0, false, "", "zero macro transformer"
	}
	if i < len(m) && (m[i] == 'r' || m[i] == 'R') {
		reverse = true
		i++
	}
	delims = m[i:]
	for j := 0; j < len(delims); j++ {
		switch delims[j] {
		case '.', '-', '+', ',', '/', '_', '=':
		default:
			return 0, 0, false, "", "invalid macro delimiter " + quoteRunes(delims[j:j+1])
		}
	}
	return letter, keep, reverse, delims, ""
}

// A macroEnv holds what macros expand to (RFC 7208 section 7.3).
type macroEnv struct {
	sender string // s: the <sender>, local-part "@" domain
	local  string // l: local-part of <sender>
	// nonASCIILocal: local holds non-ASCII characters, so that a term
	// using l or s matches nothing (RFC 8616 section 4).
	nonASCIILocal bool
	senderDomain  string // o: domain of <sender>
	domain        string // d: the current <domain>
	ip            netip.Addr
	helo          string // h: HELO/EHLO domain
	receiver      string // r: the receiver's domain name
	now           func() time.Time
	validated     interface{ validatedName() string } // p
}

// matchesNothing reports whether a term with the domain-spec spec matches
// nothing and sends no query because it uses the local part of a sender
// whose local part holds non-ASCII characters: the l or s macro, in
// either case (RFC 8616 section 4).
func (e *macroEnv) matchesNothing(spec string) bool {
	return e.nonASCIILocal && (hasMacro(spec, 'l') || hasMacro(spec, 's'))
}

// expand appends the expansion of s, a macro-string that checkMacroString
// accepted, to dst.
func (e *macroEnv) expand(dst []byte, s string) []byte {
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
		dst = e.appendValue(dst, letter)
		if keep > 0 || reverse || delims != "" {
			dst = transform(dst, start, keep, reverse, delims)
		}
		if isUpper(m[0]) {
			dst = urlEscape(dst, start)
		}
	}
	return dst
}

func (e *macroEnv) appendValue(dst []byte, letter byte) []byte {
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

// appendDotted appends ip in the form of the "i" macro: dotted quad for
// IPv4, dot-separated nibbles for IPv6 (RFC 7208 section 7.3), in upper
// case as in the RFC's example (section 7.4) and the openspf suite.
func appendDotted(dst []byte, ip netip.Addr) []byte {
	if ip.Is4() {
		return ip.AppendTo(dst)
	}
	const hex = "0123456789ABCDEF"
	for i, b := range ip.As16() {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = append(dst, hex[b>>4], '.', hex[b&0xf])
	}
	return dst
}

// transform applies the transformers to dst[start:]: split on delims
// ("." when none), reverse when asked, keep the right-most keep parts
// (all when 0), and join with "." (RFC 7208 section 7.3).
func transform(dst []byte, start, keep int, reverse bool, delims string) []byte {
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

// urlEscape escapes dst[start:] in place of itself: every byte outside
// RFC 3986's unreserved set becomes %XX (RFC 7208 section 7.3).
func urlEscape(dst []byte, start int) []byte {
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

func isUnreserved(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// truncateDomain shortens an expanded domain name to at most 253
// characters by removing labels from the left (RFC 7208 section 7.3), and
// drops a trailing dot.
func truncateDomain(name string) string {
	name = strings.TrimSuffix(name, ".")
	for len(name) > 253 {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return name
		}
		name = name[i+1:]
	}
	return name
}
