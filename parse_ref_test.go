package spf

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/spf-go/spf/internal/swar"
)

// The parser as it was before its single-pass rewrite, kept as the
// reference of TestParseMatchesReference.

func parseTermsRef(text string, buf []Term) ([]Term, error) {
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
		j := strings.IndexByte(text[i:], ' ')
		if j < 0 {
			j = len(text)
		} else {
			j += i
		}
		buf = append(buf, Term{})
		t := &buf[len(buf)-1]
		if msg := parseTermRef(t, text[i:j]); msg != "" {
			return buf[:len(buf)-1], &SyntaxError{Record: text, Term: text[i:j], Offset: i, Msg: msg}
		}
		switch t.Kind {
		case KindRedirect:
			if haveRedirect {
				return buf, &SyntaxError{Record: text, Term: text[i:j], Offset: i, Msg: "second redirect modifier"}
			}
			haveRedirect = true
		case KindExp:
			if haveExp {
				return buf, &SyntaxError{Record: text, Term: text[i:j], Offset: i, Msg: "second exp modifier"}
			}
			haveExp = true
		}
		t.Offset = int32(min(i, math.MaxInt32))
		i = j
	}
	return buf, nil
}

func parseTermRef(t *Term, s string) (msg string) {
	t.Text = s
	// A modifier is name "=" macro-string, name = ALPHA *( ALPHA / DIGIT /
	// "-" / "_" / "." ) (RFC 7208 section 12).
	if n := modifierNameLen(s); n > 0 && n < len(s) && s[n] == '=' {
		return parseModifierRef(t, s[:n], s[n+1:])
	}
	return parseDirectiveRef(t, s)
}

func parseModifierRef(t *Term, name, value string) (msg string) {
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

func parseDirectiveRef(t *Term, s string) (msg string) {
	t.Qualifier = QualifierPass
	if len(s) > 0 {
		switch q := Qualifier(s[0]); q {
		case QualifierPass, QualifierFail, QualifierSoftFail, QualifierNeutral:
			t.Qualifier = q
			s = s[1:]
		}
	}
	n := 0
	for n < len(s) && isAlnum(s[n]) {
		n++
	}
	name, arg := s[:n], s[n:]
	if name == "" {
		return "missing mechanism name"
	}
	for _, m := range mechanisms {
		if equalFold(name, m.name) {
			t.Kind = m.kind
			return parseMechanismArgRef(t, arg)
		}
	}
	return fmt.Sprintf("unknown mechanism %q", clip(name, maxQuotedTerm))
}

func parseMechanismArgRef(t *Term, arg string) (msg string) {
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
		return parseDualCIDRArgRef(t, arg)
	case KindIP4, KindIP6:
		return parseNetworkArgRef(t, arg)
	}
	return ""
}

func parseDualCIDRArgRef(t *Term, arg string) (msg string) {
	t.CIDR4, t.CIDR6 = 32, 128
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

func parseNetworkArgRef(t *Term, arg string) (msg string) {
	if !strings.HasPrefix(arg, ":") {
		return t.Kind.String() + " needs a network"
	}
	arg = arg[1:]
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
	addr, err := netip.ParseAddr(arg)
	if err != nil || addr.Zone() != "" || (t.Kind == KindIP4) != addr.Is4() {
		return fmt.Sprintf("invalid %s address %s", t.Kind, quoteRunes(arg))
	}
	if bits < 0 {
		bits = addr.BitLen()
	}
	t.Network = netip.PrefixFrom(addr, bits)
	return ""
}

var mechanisms = [...]struct {
	name string
	kind Kind
}{
	{"all", KindAll}, {"include", KindInclude}, {"a", KindA}, {"mx", KindMX},
	{"ptr", KindPTR}, {"ip4", KindIP4}, {"ip6", KindIP6}, {"exists", KindExists},
}

// parseCorpus are records and near-records for the comparison of the
// parser with its reference: every kind of term, in both cases, with
// every kind of error.
var parseCorpus = []string{
	"v=spf1 +a:x.example ~mx:y.example/24//64 ?ptr -exists:%{i}.x.example",
	"v=spf1 redirect=a.example redirect=b.example",
	"v=spf1 exp=a.example exp=b.example",
	"v=spf1 Redirect=x.example EXP=%{d}.x x-a.b_c=%{s} 9x=1",
	"v=spf1 -redirect=x.example +x=1 a=",
	"v=spf1 include include: includes:x.example inc:x.example",
	"v=spf1 ip4:01.2.3.4 ip4:1.2.3.4.5 ip4:256.1.1.1 ip4:1.2.3 ip4:1..2.3 ip4:1.2.3.4/33",
	"v=spf1 ip4:0.0.0.0/0 ip4:255.255.255.255 ip4:1.2.3.4/ ip4:1.2.3.4/08 ip4:::1",
	"v=spf1 ip6:1.2.3.4 ip6:fe80::1%eth0 ip6:::/0 ip6:2001:db8::/129 IP6:2001:DB8::1",
	"v=spf1 all:x all/24 ALL -All",
	"v=spf1 a/33 a//129 a:x.example/32//128 a:% a:%{z}.x a:x.123 a:x. a:x.-y",
	"v=spf1 ptr/24 ptr:x.example:y exists exists:",
	"v=spf1 exp=%{c}.x x=%{c} redirect=%{r}.x",
	"v=spf1 +   -   ~all",
	"v=spf1 includeinclude:x.example abcdefghijk:x",
	// The one-pass fast paths of parseTerm, at their edges: a term at
	// the end of the record, a short tail, a trailing dot, '/' in a
	// domain, a qualifier and upper case.
	"v=spf1 -IP4:1.2.3.4/0 iP4:10.0.0.1/32 ip4:1.2.3.4/3 ip4:9.9.9.9/05 ip4:1.2.3.4/32/ ip4:1.2.3.4",
	"v=spf1 ip4:1.2.3.4% ip4:1.2.3.4:5 ip4:1.2.3.4/",
	"v=spf1 ip4:1.2.3",
	"v=spf1 ip4:1.2.3.400",
	"v=spf1 ~Include:x.example. include:x..example. include:x/y.example include:.example include:x.-ex a:x.example. mx:x/y.example Mx:x.y. a:x.y/24//64",
	"v=spf1 all: -ALL ?mx a mx: a:",
}

// TestParseMatchesReference checks that the parser gives what the parser
// it replaced gave (parseTermsRef): the same terms, or the same error.
func TestParseMatchesReference(t *testing.T) {
	for _, text := range append(append(parseCorpus, fuzzRecords...), wildcard64K()) {
		checkParseReference(t, text)
		for _, term := range strings.Fields(text)[1:] {
			checkParseReference(t, "v=spf1 "+term)
		}
	}
}

func checkParseReference(t *testing.T, text string) {
	t.Helper()
	got, gotErr := parseTerms(text, nil)
	want, wantErr := parseTermsRef(text, nil)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("parseTerms(%q) error %v, reference %v", text, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("parseTerms(%q) = %d terms, reference %d", text, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("parseTerms(%q) term %d = %+v, reference %+v", text, i, got[i], want[i])
		}
	}
	// Into a buffer that holds other terms, as the evaluator's scratch
	// does, the same terms: no field keeps what the slot held.
	old := Term{Kind: KindExists, Qualifier: QualifierNeutral, CIDR4: 1, CIDR6: 2, Offset: 3,
		Domain: "old.example", Network: netip.MustParsePrefix("10.0.0.0/8"), Text: "old"}
	buf := make([]Term, len(want))
	for i := range buf {
		buf[i] = old
	}
	got, _ = parseTerms(text, buf[:0])
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("parseTerms(%q) into a used buffer: term %d = %+v, reference %+v", text, i, got[i], want[i])
		}
	}
}

// FuzzParseReference compares the parser with its reference on any text.
func FuzzParseReference(f *testing.F) {
	for _, r := range append(parseCorpus, fuzzRecords...) {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkParseReference(t, text)
	})
}

// TestParseIPv4 compares parseIPv4 with netip.ParseAddr.
func TestParseIPv4(t *testing.T) {
	for _, s := range []string{
		"", ".", "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.0.0.0", "01.2.3.4", "1.2.3.04",
		"1.2.3", "1.2.3.4.", ".1.2.3.4", "1..3.4", "1.2.3.4.5", "1.2.3.4%x", "::1", "::ffff:1.2.3.4",
		"1.2.3.0000", "1.2.3.2555", "10.0.0.1 ", "1.2.3.a", "100.200.250.199",
	} {
		want, err := netip.ParseAddr(s)
		wantOK := err == nil && want.Is4()
		got, ok := parseIPv4(s)
		if ok != wantOK || ok && got != want {
			t.Errorf("parseIPv4(%q) = %v, %v; netip gives %v, %v", s, got, ok, want, err)
		}
	}
}

// TestPlain8 compares plain8, which tests eight bytes at once, with a
// test of each byte: every byte value at every position of a plain word.
func TestPlain8(t *testing.T) {
	plainByte := func(c byte, slash bool) bool {
		return c >= 0x21 && c <= 0x7e && c != '%' && (slash || c != '/')
	}
	for _, slash := range []bool{false, true} {
		for pos := range 8 {
			for c := range 256 {
				b := []byte("abcdefgh")
				b[pos] = byte(c)
				if got, want := plain8(swar.Load(string(b)), slash), plainByte(byte(c), slash); got != want {
					t.Errorf("plain8(%q, slash %v) = %v, want %v", b, slash, got, want)
				}
			}
		}
	}
	// Several bytes that are not plain, and borrows between bytes.
	for _, s := range []string{"\x00\x00\x00\x00\x00\x00\x00\x00", "\xff\xff\xff\xff\xff\xff\xff\xff",
		" !\"#$%&'", "%%%%%%%%", "////////", "\x20\x21\x20\x21\x20\x21\x20\x21", "\x7e\x7f\x7e\x7f\x7e\x7f\x7e\x7f",
		"!!!!!!!!", "~~~~~~~~", "\x21\x00\x21\x21\x21\x21\x21\x21", "a.b-c_d0"} {
		for _, slash := range []bool{false, true} {
			want := true
			for i := 0; i < 8; i++ {
				want = want && plainByte(s[i], slash)
			}
			if got := plain8(swar.Load(s), slash); got != want {
				t.Errorf("plain8(%q, slash %v) = %v, want %v", s, slash, got, want)
			}
		}
	}
}
