package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkReply checks that a verdict's reply is valid SMTP: every line
// "code-status text" or "code status text" (the last), printable ASCII,
// at most 512 bytes with CRLF (RFC 5321 sections 4.2 and 4.5.3.1.5).
func checkReply(t *testing.T, v *Verdict) {
	t.Helper()
	if err := replyError(v); err != nil {
		t.Errorf("%v in reply\n%q", err, v.Reply())
	}
}

func replyError(v *Verdict) error {
	r := v.Reply()
	if v.Action == Accept {
		if r != "" || v.Code != 0 || len(v.Lines) != 0 || v.Outcome != nil {
			return fmt.Errorf("accept with a reply: %+v", v)
		}
		return nil
	}
	if !strings.HasSuffix(r, "\r\n") {
		return errors.New("reply does not end in CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(r, "\r\n"), "\r\n")
	if len(lines) != len(v.Lines) || len(lines) > maxReplyLines {
		return fmt.Errorf("%d reply lines for %d text lines", len(lines), len(v.Lines))
	}
	prefix := fmt.Sprintf("%d-%s ", v.Code, v.EnhancedStatus())
	for i, line := range lines {
		if i == len(lines)-1 {
			prefix = fmt.Sprintf("%d %s ", v.Code, v.EnhancedStatus())
		}
		if !strings.HasPrefix(line, prefix) {
			return fmt.Errorf("line %d %q does not start with %q", i, line, prefix)
		}
		if len(line)+2 > 512 {
			return fmt.Errorf("line %d is %d bytes with CRLF", i, len(line)+2)
		}
		if len(line) == len(prefix) {
			return fmt.Errorf("line %d has no text", i)
		}
		for j := 0; j < len(line); j++ {
			if c := line[j]; c < 0x20 || c >= 0x7f {
				return fmt.Errorf("line %d has byte %#x", i, c)
			}
		}
	}
	return nil
}

// TestVerdictTable judges every result of each identity under every
// configuration of the policy.
func TestVerdictTable(t *testing.T) {
	type want struct {
		action Action
		code   int
		status string
	}
	accept := want{Accept, 0, "0.0.0"}
	// RFC 7372 section 3.2: X.7.23 is for an SPF fail; other rejected
	// results get 5.7.1 (RFC 3463).
	reject := func(r Result) want {
		if r == Fail {
			return want{Reject, 550, "5.7.23"}
		}
		return want{Reject, 550, "5.7.1"}
	}
	rejectPerm := want{Reject, 550, "5.7.24"}
	deferTemp := want{Defer, 451, "4.7.24"}

	policies := []struct {
		name string
		p    Policy
	}{
		{"default", Policy{}},
		{"softfail", Policy{MailFrom: RejectSoftFail}},
		{"notpass", Policy{MailFrom: RejectNotPass}},
		{"never", Policy{MailFrom: RejectNever, HELO: RejectNever, AcceptTempError: true}},
		{"permerror", Policy{RejectPermError: true}},
		{"accept-temperror", Policy{AcceptTempError: true}},
		{"helo-never", Policy{HELO: RejectNever}},
		{"helo-softfail", Policy{HELO: RejectSoftFail}},
		{"helo-notpass", Policy{HELO: RejectNotPass}},
	}
	// mailFromWant is the verdict on a MAIL FROM result alone (a passing
	// HELO): what Reject, RejectPermError and AcceptTempError say.
	mailFromWant := func(p Policy, r Result) want {
		switch r {
		case PermError:
			if p.RejectPermError {
				return rejectPerm
			}
			return accept
		case TempError:
			if p.AcceptTempError {
				return accept
			}
			return deferTemp
		}
		if p.MailFrom.rejects(r) {
			return reject(r)
		}
		return accept
	}
	// heloWant is the verdict on a HELO result alone (a passing MAIL
	// FROM): only what Policy.HELO rejects.
	heloWant := func(p Policy, r Result) want {
		if p.HELO.rejects(r) {
			return reject(r)
		}
		return accept
	}
	results := []Result{Pass, Fail, SoftFail, Neutral, None, TempError, PermError}
	// The levels as a table, to check rejects against an independent list.
	levelRejects := map[RejectLevel][]Result{
		RejectFail:     {Fail},
		RejectSoftFail: {Fail, SoftFail},
		RejectNotPass:  {Fail, SoftFail, Neutral, None},
		RejectNever:    nil,
	}
	for level, rs := range levelRejects {
		for _, r := range results {
			if got, want := level.rejects(r), contains(rs, r); got != want {
				t.Errorf("level %d rejects %v = %v, want %v", level, r, got, want)
			}
		}
	}

	ip := netip.MustParseAddr("192.0.2.1")
	outcome := func(id Identity, r Result) *Outcome {
		o := &Outcome{Result: r, Identity: id, ClientIP: ip, HELO: "mail.example.com", Domain: "example.com", Receiver: "mx.example.org"}
		if id == IdentityMailFrom {
			o.Sender = "alice@example.com"
		} else {
			o.Domain = "mail.example.com"
		}
		switch r {
		case Fail:
			o.Explanation = "example.com does not designate 192.0.2.1 as permitted sender"
		case TempError:
			o.Problem = fmt.Errorf("%w: TXT example.com: timeout", ErrDNS)
		case PermError:
			o.Problem = fmt.Errorf("%w: bad record", ErrSyntax)
		}
		return o
	}
	for _, pc := range policies {
		for _, r := range results {
			pass := outcome(IdentityHELO, Pass)
			cases := []struct {
				name           string
				helo, mailFrom *Outcome
				want           want
				decider        *Outcome
			}{
				{name: "mailfrom", helo: pass, mailFrom: outcome(IdentityMailFrom, r), want: mailFromWant(pc.p, r)},
				{name: "mailfrom-unchecked-helo", mailFrom: outcome(IdentityMailFrom, r), want: mailFromWant(pc.p, r)},
				{name: "helo", helo: outcome(IdentityHELO, r), mailFrom: outcome(IdentityMailFrom, Pass), want: heloWant(pc.p, r)},
				{name: "helo-time", helo: outcome(IdentityHELO, r), want: heloWant(pc.p, r)},
			}
			// A null sender: the MAIL FROM outcome is the HELO check, judged
			// by both rules.
			null := outcome(IdentityHELO, r)
			nullWant := heloWant(pc.p, r)
			if nullWant == accept {
				nullWant = mailFromWant(pc.p, r)
			}
			cases = append(cases,
				struct {
					name           string
					helo, mailFrom *Outcome
					want           want
					decider        *Outcome
				}{name: "null-sender", mailFrom: null, want: nullWant},
				struct {
					name           string
					helo, mailFrom *Outcome
					want           want
					decider        *Outcome
				}{name: "null-sender-with-helo", helo: null, mailFrom: null, want: nullWant},
			)
			for _, c := range cases {
				t.Run(pc.name+"/"+c.name+"/"+r.String(), func(t *testing.T) {
					v := pc.p.Verdict(c.helo, c.mailFrom)
					got := want{v.Action, v.Code, v.EnhancedStatus()}
					if diff := cmp.Diff(c.want, got, cmp.AllowUnexported(want{})); diff != "" {
						t.Errorf("(-want +got):\n%s", diff)
					}
					checkReply(t, &v)
					if v.Action != Accept && v.Outcome != c.helo && v.Outcome != c.mailFrom {
						t.Errorf("verdict outcome %p is neither input", v.Outcome)
					}
					if v.Action != Accept && v.Outcome.Identity == IdentityHELO != strings.HasPrefix(v.Lines[0], "SPF HELO check") {
						t.Errorf("first line %q for identity %v", v.Lines[0], v.Outcome.Identity)
					}
				})
			}
		}
	}
}

func contains(rs []Result, r Result) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// TestVerdictReplies checks the text of replies built from real checks.
func TestVerdictReplies(t *testing.T) {
	tests := []struct {
		name string
		hc   headerCase
		p    Policy
		want string
	}{
		{
			name: "domain explanation",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: "alice@example.com"},
			want: "550-5.7.23 SPF MAIL FROM check failed:\r\n" +
				"550-5.7.23 The domain example.com explains:\r\n" +
				"550 5.7.23 198.51.100.7 is not one of example.com's mail servers\r\n",
		},
		{
			name: "explanation of a redirect target",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: "heidi@bücher.example"},
			want: "550-5.7.23 SPF MAIL FROM check failed:\r\n" +
				"550-5.7.23 The domain example.com explains:\r\n" +
				"550 5.7.23 198.51.100.7 is not one of example.com's mail servers\r\n",
		},
		{
			name: "default explanation",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: "bob@plain.example"},
			want: "550-5.7.23 SPF MAIL FROM check failed:\r\n" +
				"550 5.7.23 plain.example does not designate 198.51.100.7 as permitted sender\r\n",
		},
		{
			name: "why explanation",
			hc:   headerCase{ip: "2001:db8:1::7", helo: "mail.example.com", sender: "b+x@plain.example", explanation: WhyExplanation},
			want: "550-5.7.23 SPF MAIL FROM check failed:\r\n" +
				"550-5.7.23 plain.example does not designate 2001:db8:1::7 as permitted sender; see\r\n" +
				"550 5.7.23 https://www.open-spf.org/Why?id=b%2Bx%40plain.example&ip=2001%3Adb8%3A1%3A%3A7&r=mx.example.org\r\n",
		},
		{
			name: "softfail",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: "carol@soft.example"},
			p:    Policy{MailFrom: RejectSoftFail},
			want: "550-5.7.1 SPF MAIL FROM check gave softfail, which is not accepted here:\r\n" +
				"550-5.7.1 domain of transitioning soft.example does not designate 198.51.100.7 as\r\n" +
				"550 5.7.1 permitted sender\r\n",
		},
		{
			name: "permerror",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: "frank@broken.example"},
			p:    Policy{RejectPermError: true},
			want: "550-5.7.24 SPF MAIL FROM check failed with a permanent error:\r\n" +
				"550-5.7.24 permanent error in processing domain of broken.example\r\n" +
				"550-5.7.24 spf: syntax error in term \"ip4:192.0.2.1/33\" at offset 7: invalid prefix\r\n" +
				"550 5.7.24 length \"/33\" (record of broken.example)\r\n",
		},
		{
			name: "temperror",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: "grace@down.example"},
			want: "451-4.7.24 SPF MAIL FROM check failed with a temporary error, try again later:\r\n" +
				"451 4.7.24 temporary error in processing during lookup of down.example\r\n",
		},
		{
			name: "null sender",
			hc:   headerCase{ip: "198.51.100.7", helo: "mail.example.com", sender: ""},
			want: "550-5.7.23 SPF HELO check failed:\r\n" +
				"550 5.7.23 mail.example.com does not designate 198.51.100.7 as permitted sender\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.hc.check(t)
			v := tt.p.Verdict(nil, o)
			checkReply(t, &v)
			if diff := cmp.Diff(tt.want, v.Reply()); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerdictHostileExplanation checks replies built from explanations
// that hold line breaks, control characters, non-ASCII and far too much
// text.
func TestVerdictHostileExplanation(t *testing.T) {
	long := strings.Repeat("word ", 300) + strings.Repeat("x", 2000)
	for name, exp := range map[string]string{
		"CRLF":         "bad\r\n250 OK\r\nmore",
		"controls":     "a\x00b\x1b[2Jc\x7f",
		"non-ASCII":    "ünïcödé text",
		"long":         long,
		"one long run": strings.Repeat("y", 5000),
		"macro sender": "%{s} is not welcome",
	} {
		t.Run(name, func(t *testing.T) {
			zz := &testZone{}
			zz.AddTXT("evil.example", "v=spf1 -all exp=exp.evil.example")
			zz.AddTXT("exp.evil.example", exp)
			c := &Checker{Resolver: zz, Receiver: "mx.example.org"}
			o, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "h.example", `a b"(c);ü@evil.example`)
			if o.Result != Fail {
				t.Fatalf("result %v", o.Result)
			}
			var p Policy
			v := p.Verdict(nil, &o)
			checkReply(t, &v)
			if v.Code != 550 || v.EnhancedStatus() != "5.7.23" {
				t.Errorf("code %d %s", v.Code, v.EnhancedStatus())
			}
			// Hand-built outcomes too: text the evaluator would not let
			// through.
			h := o
			h.Explanation = exp + "\r\n550 5.7.1 forged\n"
			h.Domain = "evil.example\r\n250 ok"
			v = p.Verdict(nil, &h)
			checkReply(t, &v)
			for _, l := range v.Lines {
				if strings.HasPrefix(l, "250") || strings.HasPrefix(l, "550") {
					t.Errorf("line %q starts with a reply code", l)
				}
			}
		})
	}
}

func TestAppendReplyLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"short", "a b c", []string{"a b c"}},
		{"empty", "", nil},
		{"spaces collapse", "  a \r\n b  ", []string{"a b"}},
		{"wrap", strings.Repeat("abcd ", 20), []string{strings.TrimSpace(strings.Repeat("abcd ", 15)), strings.TrimSpace(strings.Repeat("abcd ", 5))}},
		{"long word kept", "see " + strings.Repeat("u", 100) + " now", []string{"see", strings.Repeat("u", 100), "now"}},
		{"hard cut", strings.Repeat("z", 600), []string{strings.Repeat("z", maxReplyText), strings.Repeat("z", 600-maxReplyText)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, appendReplyLines(nil, tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Accept: "accept", Reject: "reject", Defer: "defer", 9: "Action(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", a, got, want)
		}
	}
}
