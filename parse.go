package spf

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/swar"
)

// A Kind names the mechanism or modifier of a [Term]
// (RFC 7208 sections 5 and 6).
type Kind uint8

// The kinds of term. The mechanisms come first, then the modifiers.
const (
	KindAll             Kind = iota + 1 // all (section 5.1)
	KindInclude                         // include:<domain> (section 5.2)
	KindA                               // a[:<domain>][<dual-cidr>] (section 5.3)
	KindMX                              // mx[:<domain>][<dual-cidr>] (section 5.4)
	KindPTR                             // ptr[:<domain>] (section 5.5)
	KindIP4                             // ip4:<network>[/<len>] (section 5.6)
	KindIP6                             // ip6:<network>[/<len>] (section 5.6)
	KindExists                          // exists:<domain> (section 5.7)
	KindRedirect                        // redirect=<domain> (section 6.1)
	KindExp                             // exp=<domain> (section 6.2)
	KindUnknownModifier                 // any other modifier, name=value (section 6)
)

var kindNames = [...]string{
	KindAll:             "all",
	KindInclude:         "include",
	KindA:               "a",
	KindMX:              "mx",
	KindPTR:             "ptr",
	KindIP4:             "ip4",
	KindIP6:             "ip6",
	KindExists:          "exists",
	KindRedirect:        "redirect",
	KindExp:             "exp",
	KindUnknownModifier: "unknown-modifier",
}

// String returns the mechanism or modifier name as written in records,
// such as "include", or "unknown-modifier" for KindUnknownModifier.
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsMechanism reports whether k is a mechanism rather than a modifier.
func (k Kind) IsMechanism() bool { return k >= KindAll && k <= KindExists }

// QueriesDNS reports whether a term of kind k counts against the limit of
// DNS-querying terms (RFC 7208 section 4.6.4): include, a, mx, ptr,
// exists and redirect.
func (k Kind) QueriesDNS() bool {
	switch k {
	case KindInclude, KindA, KindMX, KindPTR, KindExists, KindRedirect:
		return true
	}
	return false
}

// A Qualifier is the prefix of a mechanism that says what its match
// means (RFC 7208 section 4.6.2).
type Qualifier byte

// The qualifiers. A mechanism written without one has QualifierPass.
const (
	QualifierPass     Qualifier = '+'
	QualifierFail     Qualifier = '-'
	QualifierSoftFail Qualifier = '~'
	QualifierNeutral  Qualifier = '?'
)

// Result returns the result a match of a mechanism with this qualifier
// gives: Pass, Fail, SoftFail or Neutral.
func (q Qualifier) Result() Result {
	switch q {
	case QualifierFail:
		return Fail
	case QualifierSoftFail:
		return SoftFail
	case QualifierNeutral:
		return Neutral
	}
	return Pass
}

// A Term is one directive (a qualified mechanism) or one modifier of an
// SPF record (RFC 7208 section 4.6.1).
//
// A Term is compact (72 bytes on 64-bit platforms): its strings share the
// record's text, and the name and value of an unknown modifier are read
// from Text by [Term.Name] and [Term.Value].
type Term struct {
	// Kind is the mechanism or modifier the term is.
	Kind Kind
	// Qualifier is the qualifier of a mechanism, QualifierPass where the
	// record gives none. It is zero for modifiers.
	Qualifier Qualifier
	// CIDR4 is the IPv4 prefix length of a and mx, 32 where the record
	// gives none.
	CIDR4 uint8
	// CIDR6 is the IPv6 prefix length of a and mx, 128 where the record
	// gives none.
	CIDR6 uint8
	// Offset is where the term starts in the record text.
	Offset int32
	// Domain is the domain-spec of include, a, mx, ptr, exists, redirect
	// and exp, a macro string not yet expanded; for a, mx and ptr it is
	// empty where the record gives none (the current domain is meant).
	Domain string
	// Network is the network of ip4 and ip6, as written (not masked).
	Network netip.Prefix
	// Text is the term as written in the record.
	Text string
}

// Name returns the name of an unknown modifier (RFC 7208 section 6) as
// written, and "" for other kinds of term.
func (t *Term) Name() string {
	if t.Kind != KindUnknownModifier {
		return ""
	}
	name, _, _ := strings.Cut(t.Text, "=")
	return name
}

// Value returns the value of an unknown modifier, a macro string not yet
// expanded, and "" for other kinds of term.
func (t *Term) Value() string {
	if t.Kind != KindUnknownModifier {
		return ""
	}
	_, value, _ := strings.Cut(t.Text, "=")
	return value
}

// String returns the term in canonical form: mechanism names in lower
// case, the qualifier only where it is not "+", prefix lengths only where
// they are not the whole address.
func (t *Term) String() string {
	var b strings.Builder
	t.appendTo(&b)
	return b.String()
}

func (t *Term) appendTo(b *strings.Builder) {
	switch t.Kind {
	case KindUnknownModifier:
		b.WriteString(t.Text)
		return
	case KindRedirect, KindExp:
		b.WriteString(t.Kind.String())
		b.WriteByte('=')
		b.WriteString(t.Domain)
		return
	}
	if t.Qualifier != QualifierPass && t.Qualifier != 0 {
		b.WriteByte(byte(t.Qualifier))
	}
	b.WriteString(t.Kind.String())
	switch t.Kind {
	case KindIP4, KindIP6:
		b.WriteByte(':')
		b.WriteString(t.Network.Addr().String())
		if t.Network.Bits() != t.Network.Addr().BitLen() {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(t.Network.Bits()))
		}
		return
	}
	if t.Domain != "" {
		b.WriteByte(':')
		b.WriteString(t.Domain)
	}
	if t.Kind == KindA || t.Kind == KindMX {
		if t.CIDR4 != 32 {
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(int(t.CIDR4)))
		}
		if t.CIDR6 != 128 {
			b.WriteString("//")
			b.WriteString(strconv.Itoa(int(t.CIDR6)))
		}
	}
}

// A Record is a parsed SPF record (RFC 7208 section 4.6).
type Record struct {
	// Terms are the record's directives and modifiers in the order written.
	Terms []Term
}

// String returns the record in canonical form: "v=spf1" and each term's
// canonical form, separated by single spaces. Parse(r.String()) gives a
// record equal to r but for the terms' Text and Offset.
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString("v=spf1")
	for i := range r.Terms {
		b.WriteByte(' ')
		r.Terms[i].appendTo(&b)
	}
	return b.String()
}

// Redirect returns the domain-spec of the record's redirect modifier, and
// whether it has one.
func (r *Record) Redirect() (string, bool) { return r.modifier(KindRedirect) }

// Exp returns the domain-spec of the record's exp modifier, and whether it
// has one.
func (r *Record) Exp() (string, bool) { return r.modifier(KindExp) }

func (r *Record) modifier(k Kind) (string, bool) {
	for i := range r.Terms {
		if r.Terms[i].Kind == k {
			return r.Terms[i].Domain, true
		}
	}
	return "", false
}

// ErrSyntax is wrapped by every [*SyntaxError].
var ErrSyntax = errors.New("spf: syntax error")

// A SyntaxError reports a record that does not follow the grammar of
// RFC 7208 sections 4.6 and 12. It wraps [ErrSyntax].
type SyntaxError struct {
	Record string // the whole record text
	Term   string // the offending term, or "" for the record as a whole
	Offset int    // where in Record the problem is
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	if e.Term == "" {
		return fmt.Sprintf("spf: syntax error at offset %d: %s", e.Offset, e.Msg)
	}
	return fmt.Sprintf("spf: syntax error in term %q at offset %d: %s", clip(e.Term, maxQuotedTerm), e.Offset, e.Msg)
}

// Unwrap returns [ErrSyntax].
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// IsRecord reports whether a TXT record's text is an SPF version 1 record:
// it begins with "v=spf1" (in any case) followed by a space or nothing
// (RFC 7208 section 4.5).
func IsRecord(txt string) bool {
	// c|0x20 folds an ASCII letter to lower case, and maps no other byte
	// onto 'v', 's', 'p' or 'f'.
	return len(txt) >= 6 && txt[0]|0x20 == 'v' && txt[1] == '=' && txt[2]|0x20 == 's' &&
		txt[3]|0x20 == 'p' && txt[4]|0x20 == 'f' && txt[5] == '1' && (len(txt) == 6 || txt[6] == ' ')
}

// Parse parses the text of an SPF record, which must start with "v=spf1".
// Any departure from the grammar of RFC 7208 (sections 4.6 and 12),
// anywhere in the record, is an error of type [*SyntaxError], and so is a
// second redirect or exp modifier (section 6).
func Parse(text string) (*Record, error) {
	terms, err := parseTerms(text, nil)
	if err != nil {
		return nil, err
	}
	return &Record{Terms: terms}, nil
}

// parseTerms parses text into terms appended to buf. The evaluator calls
// it with a reused buffer, so that a check allocates no record.
func parseTerms(text string, buf []Term) ([]Term, error) {
	if !IsRecord(text) {
		return buf, &SyntaxError{Record: text, Msg: `record does not start with "v=spf1"`}
	}
	if buf == nil {
		// One allocation: there are no more terms than spaces.
		buf = make([]Term, 0, strings.Count(text, " "))
	}
	var haveRedirect, haveExp bool
	for i := len("v=spf1"); i < len(text); {
		if text[i] == ' ' {
			i++
			continue
		}
		// The term is written in its slot of buf, each field once: a
		// fast path of parseTerm writes every field, so the slot needs no
		// clearing first, and each pointer passes the write barrier once
		// (as it did when the term was made on the stack and copied,
		// which cost an ip4 record 10% more: the copy reads the term
		// back in wide loads right after its fields' narrow stores).
		k := len(buf)
		if k < cap(buf) {
			buf = buf[:k+1]
		} else {
			buf = append(buf, Term{})
		}
		t := &buf[k]
		j, msg := parseTerm(t, text, i)
		if msg != "" {
			return buf[:k], &SyntaxError{Record: text, Term: text[i:j], Offset: i, Msg: msg}
		}
		switch t.Kind {
		case KindRedirect:
			if haveRedirect {
				return buf[:k], &SyntaxError{Record: text, Term: text[i:j], Offset: i, Msg: "second redirect modifier"}
			}
			haveRedirect = true
		case KindExp:
			if haveExp {
				return buf[:k], &SyntaxError{Record: text, Term: text[i:j], Offset: i, Msg: "second exp modifier"}
			}
			haveExp = true
		}
		t.Offset = int32(min(i, math.MaxInt32))
		i = j
	}
	return buf, nil
}

// parseTerm parses the term of text that starts at start into t, and
// returns where it ends (the next space, or the end of text); a non-empty
// msg says why it is invalid.
//
// The terms of most records are ip4 networks, include of a plain domain,
// and a, mx or all without argument. parseTerm reads these in one pass
// over the text, finding the term's end as it goes rather than scanning
// for it first. Anything else, and every error, goes the general way:
// parseMechanismRest for a mechanism parseTerm has named, parseTermText
// for the rest. The fast paths accept only what the general way
// accepts, and give the same term (TestParseMatchesReference and
// FuzzParseReference compare them with the parser they replaced).
//
// t may hold an earlier term: a fast path writes every field of t but
// Offset (which parseTerms writes), and parseTermText clears it first.
func parseTerm(t *Term, text string, start int) (end int, msg string) {
	p := start
	q := QualifierPass
	if p < len(text) {
		switch c := Qualifier(text[p]); c {
		case QualifierPass, QualifierFail, QualifierSoftFail, QualifierNeutral:
			q, p = c, p+1
		}
	}
	// "ip4:", the most common start of a term, at once: the name and
	// its ':' in one bounds check. c|0x20 == 'i' holds for 'i' and 'I'
	// alone.
	if p+len("ip4:") <= len(text) {
		if f := text[p : p+4]; f[0]|0x20 == 'i' && f[1]|0x20 == 'p' && f[2] == '4' && f[3] == ':' {
			pfx, e, ok := scanIPv4Prefix(text, p+4, true)
			if ok {
				t.Kind, t.Qualifier, t.CIDR4, t.CIDR6 = KindIP4, q, 0, 0
				t.Domain, t.Network, t.Text = "", pfx, text[start:e]
				return e, ""
			}
			return parseMechanismRest(t, text, start, p+len("ip4"), e, KindIP4, q)
		}
	}
	// "include:", the next most common, at once: its letters folded to
	// lower case (c|0x20), its ':' as is.
	if p+len("include:") <= len(text) && swar.Load(text[p:p+8])|0x0020202020202020 == includeColon {
		e, ok := scanPlainDomain(text, p+8, true)
		if ok {
			t.Kind, t.Qualifier, t.CIDR4, t.CIDR6 = KindInclude, q, 0, 0
			t.Domain, t.Network, t.Text = text[p+8:e], netip.Prefix{}, text[start:e]
			return e, ""
		}
		return parseMechanismRest(t, text, start, p+len("include"), e, KindInclude, q)
	}
	// The name, in lower case, packed into key while it fits. c|0x20
	// is a letter in lower case, and leaves digits as they are.
	n := p
	var key uint64
	for n < len(text) {
		c := text[n]
		if l := c | 0x20; (l < 'a' || l > 'z') && (c < '0' || c > '9') {
			break
		}
		key = key<<8 | uint64(c|0x20)
		n++
	}
	if n-p > len("include") {
		key = 0 // longer than any mechanism name
	}
	// After a mechanism's name comes ':', '/' or the term's end; '='
	// (a modifier) and the rest go the general way, which says what is
	// wrong.
	kind := mechanismKind(key)
	if kind == 0 || n < len(text) && text[n] != ':' && text[n] != '/' && text[n] != ' ' {
		return parseTermText(t, text, start, n)
	}
	switch ends := n == len(text) || text[n] == ' '; {
	case (kind == KindA || kind == KindMX) && ends:
		t.Kind, t.Qualifier, t.CIDR4, t.CIDR6 = kind, q, 32, 128
		t.Domain, t.Network, t.Text = "", netip.Prefix{}, text[start:n]
		return n, ""
	case (kind == KindA || kind == KindMX) && text[n] == ':':
		// A domain with a '/' may have a prefix length: the general way.
		e, ok := scanPlainDomain(text, n+1, false)
		if !ok {
			return parseMechanismRest(t, text, start, n, e, kind, q)
		}
		t.Kind, t.Qualifier, t.CIDR4, t.CIDR6 = kind, q, 32, 128
		t.Domain, t.Network, t.Text = text[n+1:e], netip.Prefix{}, text[start:e]
		return e, ""
	case kind == KindAll && ends:
		t.Kind, t.Qualifier, t.CIDR4, t.CIDR6 = KindAll, q, 0, 0
		t.Domain, t.Network, t.Text = "", netip.Prefix{}, text[start:n]
		return n, ""
	}
	return parseMechanismRest(t, text, start, n, n, kind, q)
}

// mechanismKind returns the kind of the mechanism whose name, in lower
// case, is packed in key, and 0 for anything else.
func mechanismKind(key uint64) Kind {
	switch key {
	case 'a'<<16 | 'l'<<8 | 'l':
		return KindAll
	case 'i'<<48 | 'n'<<40 | 'c'<<32 | 'l'<<24 | 'u'<<16 | 'd'<<8 | 'e':
		return KindInclude
	case 'a':
		return KindA
	case 'm'<<8 | 'x':
		return KindMX
	case 'p'<<16 | 't'<<8 | 'r':
		return KindPTR
	case 'i'<<16 | 'p'<<8 | '4':
		return KindIP4
	case 'i'<<16 | 'p'<<8 | '6':
		return KindIP6
	case 'e'<<40 | 'x'<<32 | 'i'<<24 | 's'<<16 | 't'<<8 | 's':
		return KindExists
	}
	return 0
}

// parseMechanismRest parses the mechanism of text that starts at start,
// of the given kind and qualifier, whose name ends at n, as
// parseTermString does once it has read the name: where a fast path does
// not apply, the name is not read again. The term's end is the next
// space from from on.
func parseMechanismRest(t *Term, text string, start, n, from int, kind Kind, q Qualifier) (end int, msg string) {
	end = termEnd(text, from)
	*t = Term{Kind: kind, Qualifier: q, Text: text[start:end]}
	return end, parseMechanismArg(t, text[n:end])
}

// parseTermText parses the term of text that starts at start, with
// parseTermString, after finding its end: the next space from from on.
func parseTermText(t *Term, text string, start, from int) (end int, msg string) {
	end = termEnd(text, from)
	*t = Term{}
	return end, parseTermString(t, text[start:end])
}

// termEnd returns where the term of text that goes on at from ends: the
// next space, or the end of text. Terms are short: a loop beats
// IndexByte's setup.
func termEnd(text string, from int) int {
	for from < len(text) && text[from] != ' ' {
		from++
	}
	return from
}

// scanPlainDomain reads a domain-spec without macros from text at start
// to the next space or the end of text, and returns where it ends. It
// reports whether the domain-spec is one that checkDomainSpec accepts
// without its macro-string check: visible ASCII other than '%', with a
// top-level label. '/' stops it (ok false) unless slash is true.
func scanPlainDomain(text string, start int, slash bool) (end int, ok bool) {
	end = start
	// Eight bytes at a time while they are all plain (most of a
	// domain), then a byte at a time.
	for end+8 <= len(text) && plain8(swar.Load(text[end:end+8]), slash) {
		end += 8
	}
	for ; end < len(text); end++ {
		c := text[end]
		if c == ' ' {
			break
		}
		if c < 0x21 || c > 0x7e || c == '%' || c == '/' && !slash {
			return end, false
		}
	}
	d := strings.TrimSuffix(text[start:end], ".")
	dot := strings.LastIndexByte(d, '.')
	return end, dot >= 0 && isTopLabel(d[dot+1:])
}

// includeColon is "include:" as swar.Load reads it.
const includeColon = 'i' | 'n'<<8 | 'c'<<16 | 'l'<<24 | 'u'<<32 | 'd'<<40 | 'e'<<48 | ':'<<56

// plain8 reports whether the 8 bytes of w are visible ASCII other than
// '%', and other than '/' unless slash is true: what scanPlainDomain
// reads on, tested at once.
func plain8(w uint64, slash bool) bool {
	bad := swar.NonASCII(w) | swar.Below(w, 0x21) | swar.Equal(w, 0x7f) | swar.Equal(w, '%')
	if !slash {
		bad |= swar.Equal(w, '/')
	}
	return bad == 0
}

// parseTermString parses the term s into t; a non-empty msg says why it
// is invalid. It reads the name once: a modifier is name "=" macro-string,
// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) (RFC 7208 section 12);
// a directive is [ qualifier ] mechanism, a mechanism name being letters
// and digits up to its argument.
func parseTermString(t *Term, s string) (msg string) {
	t.Text = s
	p := 0
	if len(s) > 0 {
		switch q := Qualifier(s[0]); q {
		case QualifierPass, QualifierFail, QualifierSoftFail, QualifierNeutral:
			t.Qualifier, p = q, 1
		}
	}
	// The name, in lower case, packed into key while it fits.
	n := p
	var key uint64
	for n < len(s) && isAlnum(s[n]) {
		key = key<<8 | uint64(lower(s[n]))
		n++
	}
	if p == 0 && n > 0 && n < len(s) && isAlpha(s[0]) {
		switch s[n] {
		case '=', '-', '_', '.':
			if m := modifierNameLen(s); m < len(s) && s[m] == '=' {
				t.Qualifier = 0
				return parseModifier(t, s[:m], s[m+1:])
			}
		}
	}
	if p == 0 {
		t.Qualifier = QualifierPass
	}
	if n == p {
		return "missing mechanism name"
	}
	if n-p > len("include") {
		key = 0 // longer than any mechanism name
	}
	if t.Kind = mechanismKind(key); t.Kind == 0 {
		return fmt.Sprintf("unknown mechanism %q", clip(s[p:n], maxQuotedTerm))
	}
	return parseMechanismArg(t, s[n:])
}

// parseModifier reads the modifier name=value into t (RFC 7208 section
// 6): redirect and exp take a domain-spec, an unknown modifier any
// macro-string.
func parseModifier(t *Term, name, value string) (msg string) {
	switch {
	case equalFold(name, "redirect"):
		t.Kind = KindRedirect
	case equalFold(name, "exp"):
		t.Kind = KindExp
	default:
		t.Kind = KindUnknownModifier
		if off, m := checkMacroString(value, true); m != "" {
			return fmt.Sprintf("%s (at %d in the value)", m, off)
		}
		return ""
	}
	t.Domain = value
	return checkDomainSpec(value)
}

// parseMechanismArg reads what follows the name of t's mechanism.
func parseMechanismArg(t *Term, arg string) (msg string) {
	switch t.Kind {
	case KindAll:
		if arg != "" {
			return "all takes no argument"
		}
	case KindInclude, KindExists:
		if !strings.HasPrefix(arg, ":") {
			return t.Kind.String() + " needs a domain"
		}
		t.Domain = arg[1:]
		return checkDomainSpec(t.Domain)
	case KindPTR:
		if arg != "" {
			if arg[0] != ':' {
				return "ptr takes no prefix length"
			}
			t.Domain = arg[1:]
			return checkDomainSpec(t.Domain)
		}
	case KindA, KindMX:
		return parseDualCIDRArg(t, arg)
	case KindIP4, KindIP6:
		return parseNetworkArg(t, arg)
	}
	return ""
}

// parseDualCIDRArg reads the argument of a and mx, [ ":" domain-spec ] [
// dual-cidr-length ] (RFC 7208 sections 5.3 and 5.4).
func parseDualCIDRArg(t *Term, arg string) (msg string) {
	t.CIDR4, t.CIDR6 = 32, 128
	if arg == "" {
		return ""
	}
	rest, c4, c6, msg := splitDualCIDR(arg)
	if msg != "" {
		return msg
	}
	if c4 >= 0 {
		t.CIDR4 = uint8(c4)
	}
	if c6 >= 0 {
		t.CIDR6 = uint8(c6)
	}
	if rest != "" {
		if rest[0] != ':' {
			return "unexpected " + quoteRunes(rest)
		}
		t.Domain = rest[1:]
		return checkDomainSpec(t.Domain)
	}
	return ""
}

// parseNetworkArg reads the argument of ip4 and ip6, ":" address [
// cidr-length ] (RFC 7208 section 5.6).
func parseNetworkArg(t *Term, arg string) (msg string) {
	if !strings.HasPrefix(arg, ":") {
		return t.Kind.String() + " needs a network"
	}
	arg = arg[1:]
	if t.Kind == KindIP4 {
		if p, ok := parseIPv4Prefix(arg); ok {
			t.Network = p
			return ""
		}
		// An error: the general way below says which.
	}
	bits := -1
	if i := strings.LastIndexByte(arg, '/'); i >= 0 {
		max := 32
		if t.Kind == KindIP6 {
			max = 128
		}
		b, ok := parseCIDR(arg[i+1:], max)
		if !ok {
			return "invalid prefix length " + quoteRunes(arg[i:])
		}
		arg, bits = arg[:i], b
	}
	var addr netip.Addr
	if t.Kind == KindIP4 {
		var ok bool
		if addr, ok = parseIPv4(arg); !ok {
			return fmt.Sprintf("invalid %s address %s", t.Kind, quoteRunes(arg))
		}
	} else {
		var err error
		addr, err = netip.ParseAddr(arg)
		if err != nil || addr.Zone() != "" || !addr.Is6() {
			return fmt.Sprintf("invalid %s address %s", t.Kind, quoteRunes(arg))
		}
	}
	if bits < 0 {
		bits = addr.BitLen()
	}
	t.Network = netip.PrefixFrom(addr, bits)
	return ""
}

// parseIPv4 parses a dotted-quad IPv4 address as netip.ParseAddr does
// (four decimal fields of at most 255, without leading zeros), without
// its generality.
func parseIPv4(s string) (netip.Addr, bool) {
	p, end, ok := scanIPv4Prefix(s, 0, false)
	if !ok || end != len(s) {
		return netip.Addr{}, false
	}
	return p.Addr(), true
}

// parseIPv4Prefix parses an IPv4 address with an optional prefix length,
// as parseIPv4 and parseCIDR do, in one pass; ok is false for anything
// else.
func parseIPv4Prefix(s string) (p netip.Prefix, ok bool) {
	// s is a term's argument: it has no space.
	p, _, ok = scanIPv4Prefix(s, 0, true)
	return p, ok
}

// scanIPv4Prefix reads an IPv4 address as parseIPv4 does, then if
// prefix is true an optional prefix length as parseCIDR does, from text
// at i to the next space or the end of text, and returns where it ends:
// an ip4 term is read without finding its end first. ok is false for
// anything else, which the general way reads again to say what is wrong.
// Without prefix, it stops after the address.
func scanIPv4Prefix(text string, i int, prefix bool) (p netip.Prefix, end int, ok bool) {
	var a [4]byte
	for field := range 4 {
		if field > 0 {
			if i >= len(text) || text[i] != '.' {
				return p, i, false
			}
			i++
		}
		// One to three digits, no leading zero, at most 255. Where three
		// bytes are left, as they are but at the end of a record, they
		// are read with one bounds check.
		var v uint
		if i+3 <= len(text) {
			f := text[i : i+3]
			d0, d1, d2 := uint(f[0]-'0'), uint(f[1]-'0'), uint(f[2]-'0')
			switch {
			case d0 > 9:
				return p, i, false
			case d0 == 0 || d1 > 9:
				v, i = d0, i+1
			case d2 > 9:
				v, i = d0*10+d1, i+2
			default:
				v, i = d0*100+d1*10+d2, i+3
			}
		} else {
			if i >= len(text) || !isDigit(text[i]) {
				return p, i, false
			}
			v = uint(text[i] - '0')
			i++
			if v != 0 {
				for k := 0; k < 2 && i < len(text) && isDigit(text[i]); k++ {
					v = v*10 + uint(text[i]-'0')
					i++
				}
			}
		}
		if v > 255 {
			return p, i, false
		}
		a[field] = byte(v)
	}
	bits := 32
	if !prefix {
		return netip.PrefixFrom(netip.AddrFrom4(a), bits), i, true
	}
	if i < len(text) && text[i] == '/' {
		// "0", or one or two digits without a leading zero, at most 32.
		i++
		if i >= len(text) || !isDigit(text[i]) {
			return p, i, false
		}
		bits = int(text[i] - '0')
		i++
		if bits != 0 && i < len(text) && isDigit(text[i]) {
			bits = bits*10 + int(text[i]-'0')
			i++
			if bits > 32 {
				return p, i, false
			}
		}
	}
	if i < len(text) && text[i] != ' ' {
		return p, i, false
	}
	return netip.PrefixFrom(netip.AddrFrom4(a), bits), i, true
}

func modifierNameLen(s string) int {
	if len(s) == 0 || !isAlpha(s[0]) {
		return 0
	}
	n := 1
	for n < len(s) && (isAlnum(s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.') {
		n++
	}
	return n
}

// splitDualCIDR splits a trailing dual-cidr-length ([ "/" ip4-len ]
// [ "//" ip6-len ]) off the argument of a or mx. A length that is absent
// is returned as -1.
func splitDualCIDR(arg string) (rest string, c4, c6 int, msg string) {
	c4, c6 = -1, -1
	if i := strings.LastIndex(arg, "//"); i >= 0 && allDigits(arg[i+2:]) {
		v, ok := parseCIDR(arg[i+2:], 128)
		if !ok {
			return arg, c4, c6, "invalid IPv6 prefix length " + quoteRunes(arg[i:])
		}
		c6, arg = v, arg[:i]
	}
	if i := strings.LastIndexByte(arg, '/'); i >= 0 && allDigits(arg[i+1:]) {
		v, ok := parseCIDR(arg[i+1:], 32)
		if !ok {
			return arg, c4, c6, "invalid IPv4 prefix length " + quoteRunes(arg[i:])
		}
		c4, arg = v, arg[:i]
	}
	return arg, c4, c6, ""
}

// parseCIDR parses a prefix length: "0", or digits without a leading
// zero, at most max (RFC 7208 section 12: ip4-cidr-length, ip6-cidr-length).
func parseCIDR(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 || !allDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, n <= max
}

// checkDomainSpec checks domain-spec = macro-string domain-end, where
// domain-end = ( "." toplabel [ "." ] ) / macro-expand (RFC 7208 section 12).
func checkDomainSpec(s string) string {
	if s == "" {
		return "empty domain-spec"
	}
	// The common case, no macro: visible ASCII, and a toplabel.
	if end, ok := scanPlainDomain(s, 0, true); ok && end == len(s) {
		return ""
	}
	off, msg, endsWithExpand := scanMacroString(s, false)
	if msg != "" {
		return fmt.Sprintf("%s (at %d in the domain-spec)", msg, off)
	}
	if endsWithExpand {
		return ""
	}
	end := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(end, '.')
	if i < 0 {
		return "domain-spec " + quoteRunes(s) + " has no top-level label"
	}
	if !isTopLabel(end[i+1:]) {
		return "invalid top-level label " + quoteRunes(end[i+1:])
	}
	return ""
}

// isTopLabel checks toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(s string) bool { return domain.TopLabel(s) }

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// quoteRunes quotes s for an error message, escaping what is not printable
// ASCII so that record text cannot forge the message.
func quoteRunes(s string) string { return fmt.Sprintf("%+q", clip(s, maxQuotedTerm)) }
