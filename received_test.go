package spf

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/escape"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// headerZone holds a domain for every result.
func headerZone() *testZone {
	z := &testZone{}
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all exp=why.example.com")
	z.AddTXT("why.example.com", "%{i} is not one of %{d}'s mail servers")
	z.AddTXT("plain.example", "v=spf1 ip4:192.0.2.1 -all")
	z.AddTXT("soft.example", "v=spf1 ip4:192.0.2.1 ~all")
	z.AddTXT("neutral.example", "v=spf1 ip4:192.0.2.1")
	z.AddTXT("qmark.example", "v=spf1 ?all")
	z.AddIP("none.example", netip.MustParseAddr("192.0.2.99"))
	z.AddTXT("broken.example", "v=spf1 ip4:192.0.2.1/33 -all")
	z.SetTimeout("down.example")
	z.AddTXT("mail.example.com", "v=spf1 a -all")
	z.AddIP("mail.example.com", netip.MustParseAddr("192.0.2.10"))
	z.AddTXT("xn--bcher-kva.example", "v=spf1 redirect=example.com")
	return z
}

// A headerCase is one check whose headers and verdict we write.
type headerCase struct {
	name        string
	ip          string
	helo        string
	sender      string
	heloOnly    bool   // CheckHELO instead of Check
	explanation string // Checker.DefaultExplanation
}

var headerCases = []headerCase{
	{name: "pass", ip: "192.0.2.1", helo: "mail.example.com", sender: "alice@example.com"},
	{name: "pass-ipv6", ip: "2001:db8::25", helo: "mail.example.com", sender: "alice@example.com"},
	{name: "fail-exp", ip: "198.51.100.7", helo: "mail.example.com", sender: "alice@example.com"},
	{name: "fail-default", ip: "198.51.100.7", helo: "mail.example.com", sender: "bob@plain.example"},
	{name: "fail-why", ip: "198.51.100.7", helo: "mail.example.com", sender: "bob@plain.example", explanation: WhyExplanation},
	{name: "softfail", ip: "198.51.100.7", helo: "mail.example.com", sender: "carol@soft.example"},
	{name: "neutral-default", ip: "198.51.100.7", helo: "mail.example.com", sender: "dave@neutral.example"},
	{name: "neutral", ip: "198.51.100.7", helo: "mail.example.com", sender: "dave@qmark.example"},
	{name: "none", ip: "198.51.100.7", helo: "mail.example.com", sender: "erin@none.example"},
	{name: "none-invalid-domain", ip: "198.51.100.7", helo: "[198.51.100.7]", sender: "erin@[198.51.100.7]"},
	{name: "permerror", ip: "198.51.100.7", helo: "mail.example.com", sender: "frank@broken.example"},
	{name: "temperror", ip: "198.51.100.7", helo: "mail.example.com", sender: "grace@down.example"},
	{name: "helo-pass", ip: "192.0.2.10", helo: "mail.example.com", heloOnly: true},
	{name: "helo-fail", ip: "198.51.100.7", helo: "mail.example.com", heloOnly: true},
	{name: "null-sender-fail", ip: "198.51.100.7", helo: "mail.example.com", sender: ""},
	{name: "idn-pass", ip: "192.0.2.1", helo: "mail.example.com", sender: "heidi@bücher.example"},
}

// check runs the case against headerZone.
func (hc headerCase) check(t *testing.T) *Outcome {
	t.Helper()
	c := &Checker{
		Resolver:           headerZone(),
		Receiver:           "mx.example.org",
		DefaultExplanation: hc.explanation,
		Now:                func() time.Time { return time.Unix(1700000000, 0) },
	}
	ip := netip.MustParseAddr(hc.ip)
	var out Outcome
	if hc.heloOnly {
		out, _ = c.CheckHELO(context.Background(), ip, hc.helo)
	} else {
		out, _ = c.Check(context.Background(), ip, hc.helo, hc.sender)
	}
	return &out
}

// TestGoldenHeaders writes both header fields and the default verdict of
// every case and compares them with testdata/golden/<case>.txt, where CRLF
// is written as LF. Run with -update to rewrite the files.
func TestGoldenHeaders(t *testing.T) {
	for _, hc := range headerCases {
		t.Run(hc.name, func(t *testing.T) {
			out := hc.check(t)
			rs := out.ReceivedSPF()
			ar := AuthenticationResults("mx.example.org", out)
			checkField(t, rs, "Received-SPF")
			checkField(t, ar, "Authentication-Results")
			var p Policy
			var v Verdict
			if out.Identity == IdentityHELO && hc.heloOnly {
				v = p.Verdict(out, nil)
			} else {
				v = p.Verdict(nil, out)
			}
			checkReply(t, &v)
			got := fmt.Sprintf("%s\r\n%s\r\n\r\nverdict: %s\r\n%s", rs, ar, v.Action, v.Reply())
			got = strings.ReplaceAll(got, "\r\n", "\n")

			compareGolden(t, filepath.Join("testdata", "golden", hc.name+".txt"), got, "TestGoldenHeaders")
		})
	}
}

// checkField checks that s is one well-formed header field named name:
// printable ASCII, CRLF only where followed by white space (folding), no
// trailing CRLF, no line of white space only, no line over 998 bytes.
func checkField(t *testing.T, s, name string) {
	t.Helper()
	if err := fieldError(s, name); err != nil {
		t.Errorf("%v in\n%q", err, s)
	}
}

func fieldError(s, name string) error {
	if !strings.HasPrefix(s, name+": ") {
		return fmt.Errorf("field does not start with %q", name+": ")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\r':
			if i+2 >= len(s) || s[i+1] != '\n' || (s[i+2] != ' ' && s[i+2] != '\t') {
				return fmt.Errorf("CR at %d is not folding", i)
			}
		case c == '\n':
			if i == 0 || s[i-1] != '\r' {
				return fmt.Errorf("bare LF at %d", i)
			}
		case c == '\t':
		case c < 0x20 || c >= 0x7f:
			return fmt.Errorf("byte %#x at %d", c, i)
		}
	}
	for _, line := range strings.Split(s, "\r\n") {
		if len(line) > 998 {
			return fmt.Errorf("line of %d bytes", len(line))
		}
		if strings.TrimSpace(line) == "" {
			return fmt.Errorf("line of white space only")
		}
	}
	return nil
}

// A parsedReceived is a Received-SPF field as a strict RFC 7208 section
// 9.1 parser reads it.
type parsedReceived struct {
	Result  string
	Comment string
	Keys    []string // in order
	Values  map[string]string
	Quoted  map[string]bool // the values written as quoted-strings
}

// parseReceivedSPF parses a Received-SPF header field strictly after the
// ABNF of RFC 7208 section 9.1: the result, an optional comment, and
// key=value pairs whose values are dot-atoms or quoted-strings; a key
// given twice is an error.
func parseReceivedSPF(field string) (*parsedReceived, error) {
	rest, ok := strings.CutPrefix(field, "Received-SPF:")
	if !ok {
		return nil, errors.New("not a Received-SPF field")
	}
	s := &hdrScanner{s: strings.ReplaceAll(rest, "\r\n", "")}
	p := &parsedReceived{Values: map[string]string{}, Quoted: map[string]bool{}}
	s.cfws()
	p.Result = s.while(isAlpha)
	if _, err := ParseResult(p.Result); err != nil {
		return nil, err
	}
	if !s.space() {
		return nil, fmt.Errorf("no space after the result at %d", s.i)
	}
	if s.peek() == '(' {
		c, err := s.comment()
		if err != nil {
			return nil, err
		}
		p.Comment = c
		s.space()
	}
	for !s.done() {
		key := s.while(func(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' })
		if key == "" {
			return nil, fmt.Errorf("no key at %d in %q", s.i, s.s)
		}
		s.cfws()
		if s.peek() != '=' {
			return nil, fmt.Errorf("no = after key %q", key)
		}
		s.i++
		var v string
		if s.peek() == '"' {
			var err error
			if v, err = s.quoted(); err != nil {
				return nil, err
			}
			p.Quoted[key] = true
		} else {
			v = s.while(func(c byte) bool { return escape.IsAtext(c) || c == '.' })
			if !escape.IsDotAtom(v) {
				return nil, fmt.Errorf("value of %q is not a dot-atom: %q", key, v)
			}
		}
		if _, dup := p.Values[key]; dup {
			return nil, fmt.Errorf("key %q twice", key)
		}
		p.Keys = append(p.Keys, key)
		p.Values[key] = v
		s.cfws()
		if s.done() {
			break
		}
		if s.peek() != ';' {
			return nil, fmt.Errorf("no ; after %s=%q at %d in %q", key, v, s.i, s.s)
		}
		s.i++
		s.cfws()
	}
	return p, nil
}

// A hdrScanner reads the structured parts of an unfolded header value.
type hdrScanner struct {
	s string
	i int
}

func (s *hdrScanner) done() bool { return s.i >= len(s.s) }

func (s *hdrScanner) peek() byte {
	if s.done() {
		return 0
	}
	return s.s[s.i]
}

func (s *hdrScanner) while(ok func(byte) bool) string {
	start := s.i
	for !s.done() && ok(s.s[s.i]) {
		s.i++
	}
	return s.s[start:s.i]
}

// space skips white space and reports whether there was some.
func (s *hdrScanner) space() bool {
	return s.while(func(c byte) bool { return c == ' ' || c == '\t' }) != ""
}

// cfws skips white space and comments.
func (s *hdrScanner) cfws() {
	for {
		s.space()
		if s.peek() != '(' {
			return
		}
		if _, err := s.comment(); err != nil {
			return
		}
	}
}

// comment reads a comment (RFC 5322 section 3.2.2), nested comments and
// quoted-pairs included, and returns its text.
func (s *hdrScanner) comment() (string, error) {
	var b strings.Builder
	depth := 0
	for !s.done() {
		c := s.s[s.i]
		s.i++
		switch c {
		case '(':
			if depth > 0 {
				b.WriteByte(c)
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				return b.String(), nil
			}
			b.WriteByte(c)
		case '\\':
			if s.done() {
				return "", errors.New("backslash at the end")
			}
			b.WriteByte(s.s[s.i])
			s.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated comment")
}

// quoted reads a quoted-string (RFC 5322 section 3.2.4) and returns its
// content.
func (s *hdrScanner) quoted() (string, error) {
	var b strings.Builder
	s.i++ // the opening quote
	for !s.done() {
		c := s.s[s.i]
		s.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if s.done() {
				return "", errors.New("backslash at the end")
			}
			b.WriteByte(s.s[s.i])
			s.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted-string")
}

// hostileOutcomes are outcomes filled in by hand with what a hostile
// client or DNS operator could put in them.
func hostileOutcomes() map[string]*Outcome {
	ip := netip.MustParseAddr("192.0.2.1")
	return map[string]*Outcome{
		"helo with CRLF and a header": {
			Result: Pass, ClientIP: ip, HELO: "evil.example\r\nX-Injected: yes", Sender: "a@example.com",
			Domain: "example.com", Receiver: "mx.example.org", Mechanism: "all",
		},
		"helo forging keys": {
			Result: Fail, Identity: IdentityHELO, ClientIP: ip, HELO: `x; receiver=forged; identity=mailfrom; (c) "q" \`,
			Domain: `x; receiver=forged`, Receiver: "mx.example.org",
		},
		"sender with quotes and semicolons": {
			Result: SoftFail, ClientIP: ip, HELO: "h.example", Sender: `"a\"; client-ip=6.6.6.6; x"@example.com`,
			Domain: "example.com", Receiver: "mx.example.org", Mechanism: "~all",
		},
		"comment breakout": {
			Result: Neutral, ClientIP: ip, HELO: "h.example", Sender: "a@x) spf=pass (y",
			Domain: "x) spf=pass (y", Receiver: "mx.example.org",
		},
		"non-ASCII and controls": {
			Result: None, ClientIP: ip, HELO: "h\x00\x1b[31m.example", Sender: "ünïcödé@bücher.example\xff\xfe",
			Domain: "bücher.example\xff", Receiver: "mx.éxample.org\n",
		},
		"problem from DNS text": {
			Result: PermError, ClientIP: ip, HELO: "h.example", Sender: "a@example.com", Domain: "example.com",
			Receiver: "mx.example.org",
			Problem:  fmt.Errorf("%w: record \"v=spf1 \r\nBcc: victim@example.net\"; problem=none", ErrSyntax),
		},
		"mechanism with CRLF": {
			Result: Fail, ClientIP: ip, HELO: "h.example", Sender: "a@example.com", Domain: "example.com",
			Receiver: "mx.example.org", Mechanism: "-a:%{h}\r\n.evil; helo=forged",
		},
		"long everything": {
			Result: TempError, ClientIP: netip.MustParseAddr("2001:db8::1"), HELO: strings.Repeat("h", 5000),
			Sender: strings.Repeat("s;", 3000) + "@" + strings.Repeat("d.", 3000), Domain: strings.Repeat("d", 4000),
			Receiver: strings.Repeat("r ", 1000), Problem: errors.New(strings.Repeat(`"\`, 4000)),
		},
		"empty": {},
		"receiver with parens": {
			Result: Pass, ClientIP: ip, HELO: "h.example", Sender: "a@example.com", Domain: "example.com",
			Receiver: "mx) problem=(x", Mechanism: "+all",
		},
	}
}

// TestReceivedSPFHostile checks that hostile inputs give one well-formed
// field with exactly the keys we write, and values that read back as the
// inputs made printable ASCII.
func TestReceivedSPFHostile(t *testing.T) {
	for name, o := range hostileOutcomes() {
		t.Run(name, func(t *testing.T) {
			h := o.ReceivedSPFWith(HeaderParam{"x-note", "a\r\nb; c=\"d\""}, HeaderParam{"client-ip", "6.6.6.6"},
				HeaderParam{"x-bad key", "v"}, HeaderParam{"x-", "v"})
			checkField(t, h, "Received-SPF")
			p, err := parseReceivedSPF(h)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, h)
			}
			if p.Result != resultToken(o.Result) {
				t.Errorf("result %q, want %q", p.Result, resultToken(o.Result))
			}
			if strings.ContainsAny(p.Comment, "()\\\";=") {
				t.Errorf("comment %q holds a special character", p.Comment)
			}
			want := map[string]string{"identity": o.Identity.String(), "x-note": "a  b; c=\"d\""}
			if o.ClientIP.IsValid() {
				want["client-ip"] = o.ClientIP.String()
			}
			if from := o.envelopeFrom(); from != "" {
				want["envelope-from"] = escape.Printable(from, maxHeaderValue)
			}
			if o.HELO != "" {
				want["helo"] = escape.Printable(asciiName(o.HELO), maxHeaderValue)
			}
			if o.Receiver != "" {
				want["receiver"] = escape.Printable(o.Receiver, maxHeaderValue)
			}
			if o.Mechanism != "" {
				want["mechanism"] = escape.Printable(o.Mechanism, maxHeaderValue)
			} else if o.Result == Neutral {
				want["mechanism"] = "default"
			}
			if o.Problem != nil {
				want["problem"] = escape.Printable(o.Problem.Error(), maxProblemValue)
			}
			if diff := cmp.Diff(want, p.Values); diff != "" {
				t.Errorf("keys (-want +got):\n%s\nfield:\n%s", diff, h)
			}
		})
	}
}

// TestReceivedSPFRoundTrip parses the field of every golden case back.
func TestReceivedSPFRoundTrip(t *testing.T) {
	for _, hc := range headerCases {
		t.Run(hc.name, func(t *testing.T) {
			o := hc.check(t)
			p, err := parseReceivedSPF(o.ReceivedSPF())
			if err != nil {
				t.Fatal(err)
			}
			sender := o.Sender
			wantKeys := []string{"client-ip", "envelope-from", "helo", "receiver", "identity"}
			switch {
			case hc.heloOnly:
				// No MAIL FROM was checked: no envelope-from (RFC 7208
				// section 9.1 defines it as the envelope sender).
				wantKeys = slices.Delete(wantKeys, 1, 2)
			case o.Identity == IdentityHELO:
				sender = "postmaster@" + o.HELO
			}
			switch {
			case o.Mechanism != "" || o.Result == Neutral:
				wantKeys = append(wantKeys, "mechanism")
			case o.Problem != nil:
				wantKeys = append(wantKeys, "problem")
			}
			if diff := cmp.Diff(wantKeys, p.Keys); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			at := strings.LastIndexByte(sender, '@')
			if got, want := p.Values["envelope-from"], sender[:at+1]+asciiName(sender[at+1:]); sender != "" && got != want {
				t.Errorf("envelope-from = %q, want %q", got, want)
			}
			if got := p.Values["client-ip"]; got != hc.ip {
				t.Errorf("client-ip = %q, want %q", got, hc.ip)
			}
			if got, want := p.Values["identity"], o.Identity.String(); got != want {
				t.Errorf("identity = %q, want %q", got, want)
			}
			if !strings.HasPrefix(p.Comment, "mx.example.org: ") {
				t.Errorf("comment %q does not name the receiver", p.Comment)
			}
		})
	}
}

func TestReceivedSPFValue(t *testing.T) {
	o := headerCases[0].check(t)
	if got, want := "Received-SPF: "+o.ReceivedSPFValue(), o.ReceivedSPF(); got != want {
		t.Errorf("ReceivedSPFValue = %q, want %q", got, want)
	}
}

// The Authentication-Results injection of issue 10: a HELO name, sender
// domain or null sender's HELO that a reader could take for a second
// result.
const arInjection = "x;dkim=pass(c)header.d=paypal.com"

// FuzzReceivedSPF checks that whatever the inputs, ReceivedSPF and
// AuthenticationResults each write one well-formed header field (no CR or
// LF but folding CRLF+WSP, no non-ASCII, lines of at most 998 bytes) that
// the strict readers of RFC 7208 section 9.1 and RFC 8601 section 2.2 read
// back with exactly the keys and the one resinfo per outcome meant.
func FuzzReceivedSPF(f *testing.F) {
	f.Add(uint8(Pass), "mail.example.com", "alice@example.com", "example.com", "mx.example.org", "mx.example.org", "ip4:192.0.2.0/24", "", "192.0.2.1", false)
	f.Add(uint8(Fail), "x\r\ny: z", `"a;b"@c`, "c", "r", "", "-all", "", "2001:db8::1", false)
	f.Add(uint8(PermError), "", "", "", "", "", "", "bad \"record\"\r\n", "", true)
	f.Add(uint8(200), "(((", ")))", "\\", "\"", ";=", "ü\xff", "x", "::ffff:1.2.3.4", false)
	f.Add(uint8(Pass), arInjection, "a@example.com", "example.com", "mx.example.org", "mx.example.org", "a", "", "192.0.2.1", false)
	f.Add(uint8(Pass), "h.example", "a@"+arInjection, arInjection, "mx.example.org", "mx.example.org", "a", "", "192.0.2.1", false)
	f.Add(uint8(Pass), arInjection, "", arInjection, "mx.example.org", "", "a", "", "192.0.2.1", true)
	f.Add(uint8(Pass), "h.example", strings.Repeat("l", 2000)+"@example.com", "example.com", "mx", "mx", "a", "", "192.0.2.1", false)
	f.Fuzz(func(t *testing.T, result uint8, helo, sender, checked, receiver, authservID, mech, problem, ip string, null bool) {
		o := &Outcome{Result: Result(result), HELO: helo, Sender: sender, Domain: checked, Receiver: receiver, Mechanism: mech}
		if sender == "" {
			o.Identity, o.NullSender = IdentityHELO, null
		}
		if a, err := netip.ParseAddr(ip); err == nil {
			o.ClientIP = a
		}
		if problem != "" {
			o.Problem = errors.New(problem)
		}
		h := o.ReceivedSPF()
		if err := fieldError(h, "Received-SPF"); err != nil {
			t.Fatalf("%v in %q", err, h)
		}
		p, err := parseReceivedSPF(h)
		if err != nil {
			t.Fatalf("parse: %v in %q", err, h)
		}
		for _, k := range p.Keys {
			switch k {
			case "client-ip", "envelope-from", "helo", "receiver", "identity", "mechanism", "problem":
			default:
				t.Fatalf("unexpected key %q in %q", k, h)
			}
		}
		if got, want := p.Values["helo"], escape.Printable(asciiName(helo), maxHeaderValue); helo != "" && got != want {
			t.Fatalf("helo = %q, want %q", got, want)
		}
		if _, ok := p.Values["envelope-from"]; ok != (sender != "" || null && helo != "") {
			t.Fatalf("envelope-from present %v for sender %q, null %v: %q", ok, sender, null, h)
		}

		// Two outcomes in one field: this one and a HELO check.
		heloCheck := &Outcome{Result: Fail, Identity: IdentityHELO, HELO: helo, ClientIP: o.ClientIP, Receiver: receiver}
		a := AuthenticationResults(authservID, o, heloCheck)
		if err := fieldError(a, "Authentication-Results"); err != nil {
			t.Fatalf("%v in %q", err, a)
		}
		id, none, rs, err := parseAuthResStrict(a)
		if err != nil || none {
			t.Fatalf("strict reader: %v (none %v) in %q", err, none, a)
		}
		wantID := authservID
		if wantID == "" {
			wantID = receiver
		}
		if wantID = escape.AuthResValue(wantID, maxHeaderValue); unquote(wantID) != id {
			t.Fatalf("authserv-id %q, want %q in %q", id, wantID, a)
		}
		first := arWant{Value: resultToken(o.Result)}
		if o.Identity == IdentityHELO {
			first.Helo = unquote(authresDomain(helo))
		} else {
			first.From = unquote(authresMailFrom(sender))
		}
		want := []arWant{first, {Value: "fail", Helo: unquote(authresDomain(helo))}}
		if diff := cmp.Diff(want, rs); diff != "" {
			t.Fatalf("strict reader (-want +got):\n%s\n%q", diff, a)
		}
		// Unquoted, a pvalue holds only the characters of a name (and
		// the "@" and local part of an address).
		for _, v := range []string{authresDomain(helo), authresMailFrom(sender)} {
			if name := v[strings.LastIndexByte(v, '@')+1:]; v[0] != '"' && !domain.RawText(name) {
				t.Fatalf("pvalue %q written raw in %q", v, a)
			}
		}
		if v := p.Values["helo"]; helo != "" && !p.Quoted["helo"] && !domain.RawText(v) {
			t.Fatalf("helo %q written raw in %q", v, h)
		}
		for _, v := range []string{first.From, first.Helo} {
			if strings.ContainsAny(v, "; ()\\\"") {
				t.Fatalf("property value %q holds a special character in %q", v, a)
			}
		}
		_, results, err := authres.Parse(strings.ReplaceAll(strings.TrimPrefix(a, "Authentication-Results:"), "\r\n", ""))
		if err != nil || len(results) != 2 {
			t.Fatalf("go-msgauth read %d results, error %v, in %q", len(results), err, a)
		}
		r, ok := results[0].(*authres.SPFResult)
		if !ok || string(r.Value) != resultToken(o.Result) || r.Reason != "" || (r.From == "") == (r.Helo == "") {
			t.Fatalf("go-msgauth read %#v in %q", results[0], a)
		}
	})
}
