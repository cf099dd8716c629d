package spf

import (
	"net/netip"
	"slices"
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
	off, msg, _ := scanMacroString(s, expText)
	return off, msg
}

// scanMacroString is checkMacroString, and also reports whether s ends
// with a macro-expand (what domain-end allows instead of a toplabel). It
// reads s once: a hostile record can hold 64 KB of macros.
func scanMacroString(s string, expText bool) (off int, msg string, endsWithExpand bool) {
	last := -1 // where the last macro-expand ends
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if (c < 0x21 || c > 0x7e) && !(expText && c == ' ') {
				return i, "invalid character " + quoteRunes(s[i:i+1]), false
			}
			continue
		}
		if i+1 >= len(s) {
			return i, `"%" at the end`, false
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			last = i + 1
			continue
		case '{':
		default:
			return i, "invalid macro " + quoteRunes(s[i:i+2]), false
		}
		// Macros are short: a loop beats IndexByte's setup.
		end := 2
		for i+end < len(s) && s[i+end] != '}' {
			end++
		}
		if i+end == len(s) {
			return i, "unterminated macro", false
		}
		if _, _, _, _, msg := parseMacro(s[i+2:i+end], expText); msg != "" {
			return i, msg + " in " + quoteRunes(s[i:i+end+1]), false
		}
		i += end
		last = i + 1
	}
	return 0, "", last == len(s)
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
	sender string // s: the <sender>, local-part "@" domain; "" until senderValue builds it
	local  string // l: local-part of <sender>
	// nonASCIILocal: local holds non-ASCII characters, so that a term
	// using l or s matches nothing (RFC 8616 section 4).
	nonASCIILocal bool
	senderDomain  string // o: domain of <sender>
	domain        string // d: the current <domain>
	ip            netip.Addr
	helo          string                              // h: HELO/EHLO domain
	receiver      string                              // r: the receiver's domain name
	now           func() time.Time                    // Checker.Now; nil for time.Now
	validated     interface{ validatedName() string } // p
}

// matchesNothing reports whether a term with the domain-spec spec matches
// nothing and sends no query because it uses the local part of a sender
// whose local part holds non-ASCII characters: the l or s macro, in
// either case (RFC 8616 section 4).
func (e *macroEnv) matchesNothing(spec string) bool {
	return e.nonASCIILocal && (hasMacro(spec, 'l') || hasMacro(spec, 's'))
}

// DomainWindow is how many bytes at the right end of a domain-spec's
// expansion [macroEnv.expand] keeps. Truncation to 253 bytes (RFC 7208
// section 7.3) keeps the labels that lie within the last 254 bytes of the
// expansion (253 and the dot before them), and one more byte is a
// trailing dot, so truncateDomain gives the same valid name from the
// window as from the whole expansion. Only a name that is not valid
// anyway (a last label of more than 253 bytes) can differ: it is cut to
// the window.
const domainWindow = 512

// explanationCap is the most bytes of an explanation (exp= or the
// default), before and after it is made printable: Outcome.Explanation
// carries client and DNS text into SMTP replies and logs.
const explanationCap = 1024

// expand appends to dst the last domainWindow bytes (all of them, if
// fewer) of the expansion of s, a macro-string that checkMacroString
// accepted: what truncateDomain needs of a domain-spec. It works from the
// right end of s and stops when the window is full, so its work is
// O(len(s) + domainWindow), whatever the lengths of the macro values
// (a sender's local part may have thousands of bytes, and a record tens
// of thousands of macros).
func (e *macroEnv) expand(dst []byte, s string) []byte {
	start := len(dst)
	dst = slices.Grow(dst, domainWindow)[:start+domainWindow]
	w := window{b: dst[start:], n: domainWindow}
	for j := len(s); j > 0 && !w.full(); {
		c := s[j-1]
		switch {
		case c == '}':
			if k := macroStart(s, j-1); k >= 0 {
				e.prependMacro(&w, s[k+2:j-1])
				j = k
				continue
			}
		case c == '%': // the second "%" of "%%": j is where a token starts
			w.prepend('%')
			j -= 2
			continue
		case (c == '_' || c == '-') && oddPercents(s, j-1):
			if c == '_' {
				w.prepend(' ')
			} else {
				w.prepend('0')
				w.prepend('2')
				w.prepend('%')
			}
			j -= 2
			continue
		}
		w.prepend(c)
		j--
	}
	n := copy(dst[start:], dst[start+w.n:])
	return dst[:start+n]
}

// appendDefaultExplanation appends to dst what expandText appends for
// DefaultExplanation, "%{o} does not designate %{c} as permitted
// sender", without reading the macro string: it is the explanation of
// most fails (FuzzDefaultExplanation compares the two).
func (e *macroEnv) appendDefaultExplanation(dst []byte, max int) []byte {
	start := len(dst)
	dst = append(dst, e.senderDomain[:min(len(e.senderDomain), max)]...)
	dst = append(dst, " does not designate "...)
	dst = e.ip.AppendTo(dst)
	dst = append(dst, " as permitted sender"...)
	return dst[:min(len(dst), start+max)]
}

// expandText appends to dst the expansion of s, a macro-string that
// checkMacroString accepted, cut after max bytes: the explanation of
// RFC 7208 section 6.2. Its work is O(len(s) + max + the longest macro
// value).
func (e *macroEnv) expandText(dst []byte, s string, max int) []byte {
	limit := len(dst) + max
	for i := 0; i < len(s) && len(dst) < limit; i++ {
		c := s[i]
		if c != '%' {
			// The text up to the next macro, at once.
			j := strings.IndexByte(s[i:], '%')
			if j < 0 {
				j = len(s) - i
			}
			j = min(j, limit-len(dst))
			dst = append(dst, s[i:i+j]...)
			i += j - 1
			continue
		}
		if i+1 >= len(s) {
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
		if end < 0 {
			break // not reached for checked strings
		}
		m := s[i+1 : i+end]
		i += end
		tr, letter, ok := parseTransformers(m)
		if !ok {
			continue // not reached for checked strings
		}
		var scratch [64]byte
		if b, computed := e.computedValue(letter, scratch[:0]); computed {
			dst = appendTransformed(dst, b, &tr, limit)
		} else {
			dst = appendTransformed(dst, e.value(letter), &tr, limit)
		}
	}
	if len(dst) > limit {
		dst = dst[:limit]
	}
	return dst
}

// prependMacro prepends to w the right end of the expansion of the macro
// whose inside ("s2r", between "%{" and "}") is m.
func (e *macroEnv) prependMacro(w *window, m string) {
	tr, letter, ok := parseTransformers(m)
	if !ok {
		return // not reached for checked strings
	}
	var scratch [64]byte
	if b, computed := e.computedValue(letter, scratch[:0]); computed {
		prependTransformed(w, b, &tr)
	} else {
		prependTransformed(w, e.value(letter), &tr)
	}
}

// value returns the value of a macro letter held as a string (section
// 7.3); computedValue gives the others.
func (e *macroEnv) value(letter byte) string {
	switch letter {
	case 's':
		return e.senderValue()
	case 'l':
		return e.local
	case 'o':
		return e.senderDomain
	case 'd':
		return e.domain
	case 'p':
		return e.validated.validatedName()
	case 'v':
		if e.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return e.helo
	case 'r':
		return e.receiver
	}
	return ""
}

// senderValue returns %{s}, local-part "@" domain, built the first time
// it is asked for where newEvaluation did not have it as a string.
func (e *macroEnv) senderValue() string {
	if e.sender == "" {
		e.sender = e.local + "@" + e.senderDomain
	}
	return e.sender
}

// computedValue appends to dst the value of the macro letters i, c and t,
// which are computed from the client's address or the time; computed is
// false for the other letters.
func (e *macroEnv) computedValue(letter byte, dst []byte) (b []byte, computed bool) {
	switch letter {
	case 'i':
		return appendDotted(dst, e.ip), true
	case 'c':
		return e.ip.AppendTo(dst), true
	case 't':
		now := time.Now
		if e.now != nil {
			now = e.now
		}
		return strconv.AppendInt(dst, now().Unix(), 10), true
	}
	return nil, false
}

// transformers are what a macro does to its value (RFC 7208 section
// 7.3): with on, split it on the delimiters, reverse the parts if
// reverse, keep the right-most keep of them (all if 0) and join them
// with "."; then, if escape (an upper-case macro letter), URL-escape it.
type transformers struct {
	on      bool
	reverse bool
	escape  bool
	keep    int
	delims  byteSet
}

// parseTransformers parses the inside of "%{...}".
func parseTransformers(m string) (tr transformers, letter byte, ok bool) {
	letter, keep, reverse, delims, msg := parseMacro(m, true)
	if msg != "" {
		return tr, 0, false
	}
	tr = transformers{
		on:      keep > 0 || reverse || delims != "",
		reverse: reverse,
		escape:  isUpper(m[0]),
		keep:    keep,
	}
	if delims == "" {
		delims = "."
	}
	for i := 0; i < len(delims); i++ {
		tr.delims.add(delims[i])
	}
	return tr, letter, true
}

// A byteSet is a set of ASCII bytes.
type byteSet [2]uint64

func (s *byteSet) add(c byte) {
	if c < 128 {
		s[c>>6] |= 1 << (c & 63)
	}
}

func (s *byteSet) has(c byte) bool {
	return c < 128 && s[c>>6]&(1<<(c&63)) != 0
}

// A window collects the right end of an output written from right to
// left: b[n:] holds the bytes so far, and bytes that do not fit are
// dropped.
type window struct {
	b []byte
	n int
}

func (w *window) full() bool { return w.n == 0 }

func (w *window) prepend(c byte) {
	if w.n > 0 {
		w.n--
		w.b[w.n] = c
	}
}

// prependByte prepends c, URL-escaped if escape and c is not unreserved
// (RFC 3986).
func (w *window) prependByte(c byte, escape bool) {
	if escape && !isUnreserved(c) {
		const hex = "0123456789ABCDEF"
		w.prepend(hex[c&0xf])
		w.prepend(hex[c>>4])
		w.prepend('%')
		return
	}
	w.prepend(c)
}

// prependTransformed prepends to w the right end of v after tr, from
// right to left, until w is full. Its work is what it writes, plus at
// most one part of v scanned but not written, plus one.
func prependTransformed[T ~string | ~[]byte](w *window, v T, tr *transformers) {
	if !tr.on {
		for i := len(v) - 1; i >= 0 && !w.full(); i-- {
			w.prependByte(v[i], tr.escape)
		}
		return
	}
	if !tr.reverse {
		// The output ends with the last part of v, and holds the last
		// keep parts: walk v from its end.
		done := 0 // parts written
		for i := len(v) - 1; i >= 0 && !w.full(); i-- {
			c := v[i]
			if tr.delims.has(c) {
				done++
				if done == tr.keep {
					return
				}
				c = '.'
			}
			w.prependByte(c, tr.escape)
		}
		return
	}
	// Reversed, the output ends with the first part of v, preceded by the
	// second, and holds the first keep parts: walk v from its start.
	start := 0
	for part := 0; start <= len(v) && !w.full(); part++ {
		if part > 0 && part == tr.keep {
			return
		}
		end := start
		for end < len(v) && !tr.delims.has(v[end]) {
			end++
		}
		if part > 0 {
			w.prependByte('.', tr.escape)
		}
		for i := end - 1; i >= start && !w.full(); i-- {
			w.prependByte(v[i], tr.escape)
		}
		start = end + 1
	}
}

// appendByte appends c, URL-escaped if escape and c is not unreserved.
func appendByte(dst []byte, c byte, escape bool) []byte {
	if escape && !isUnreserved(c) {
		const hex = "0123456789ABCDEF"
		return append(dst, '%', hex[c>>4], hex[c&0xf])
	}
	return append(dst, c)
}

// appendTransformed appends to dst the left end of v after tr, until dst
// holds limit bytes or more. Its work is what it writes, plus at most the
// length of v, plus one.
func appendTransformed[T ~string | ~[]byte](dst []byte, v T, tr *transformers, limit int) []byte {
	if !tr.on {
		for i := 0; i < len(v) && len(dst) < limit; i++ {
			dst = appendByte(dst, v[i], tr.escape)
		}
		return dst
	}
	if !tr.reverse {
		// The output starts with part n-keep of v's n parts (or the
		// first): find it from the end, then write to the end.
		start := 0
		if tr.keep > 0 {
			done := 0
			for i := len(v) - 1; i >= 0; i-- {
				if tr.delims.has(v[i]) {
					if done++; done == tr.keep {
						start = i + 1
						break
					}
				}
			}
		}
		for i := start; i < len(v) && len(dst) < limit; i++ {
			c := v[i]
			if tr.delims.has(c) {
				c = '.'
			}
			dst = appendByte(dst, c, tr.escape)
		}
		return dst
	}
	// Reversed, the output starts with part min(keep, n)-1 of v (the last
	// part if keep is 0) and goes on with the parts before it, down to the
	// first.
	start := 0
	if tr.keep == 0 {
		for i := len(v) - 1; i >= 0; i-- {
			if tr.delims.has(v[i]) {
				start = i + 1
				break
			}
		}
	} else {
		for i, n := 0, 1; i < len(v) && n < tr.keep; i++ {
			if tr.delims.has(v[i]) {
				start, n = i+1, n+1
			}
		}
	}
	end := start
	for end < len(v) && !tr.delims.has(v[end]) {
		end++
	}
	for len(dst) < limit {
		for i := start; i < end && len(dst) < limit; i++ {
			dst = appendByte(dst, v[i], tr.escape)
		}
		if start == 0 {
			break
		}
		dst = appendByte(dst, '.', tr.escape)
		end = start - 1
		start = end
		for start > 0 && !tr.delims.has(v[start-1]) {
			start--
		}
	}
	return dst
}

// oddPercents reports whether an odd number of "%" come right before
// s[i]: then s[i-1] starts an escape ("%_", "%-", "%{") in a checked
// macro-string, since a run of "%" starts where a token starts.
func oddPercents(s string, i int) bool {
	n := 0
	for ; i > 0 && s[i-1] == '%'; i-- {
		n++
	}
	return n%2 == 1
}

// macroStart returns where the macro "%{...}" that ends with the "}" at
// s[end] starts, or -1 when that "}" is a literal. The inside of a macro
// holds no "%", "{" or "}".
func macroStart(s string, end int) int {
	i := end - 1
	for i >= 0 && s[i] != '{' && s[i] != '}' && s[i] != '%' {
		i--
	}
	if i >= 1 && s[i] == '{' && s[i-1] == '%' && oddPercents(s, i) {
		return i - 1
	}
	return -1
}

// printableExplanation makes b, an expanded explanation, printable
// US-ASCII in place (RFC 7208 section 6.2 requires US-ASCII; control
// characters would forge lines in a reply or a log): every byte outside
// " " to "~" becomes "?". It also cuts b to explanationCap bytes.
func printableExplanation(b []byte) []byte {
	if len(b) > explanationCap {
		b = b[:explanationCap]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return b
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
