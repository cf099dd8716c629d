package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestCallerMistakes checks what Check makes of inputs a caller should not
// give: angle brackets are removed, a sender no address can be and an
// invalid IP give permerror wrapping ErrInvalidInput, never a quiet none,
// and the default Policy answers them with 451 4.3.0, whatever it rejects.
func TestCallerMistakes(t *testing.T) {
	z := &testZone{}
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	z.AddTXT("mail.example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	c := &Checker{Resolver: z, Receiver: "mx.example.org"}
	good := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name       string
		ip         netip.Addr
		sender     string
		wantResult Result
		wantSender string
		invalid    bool
	}{
		{name: "angle brackets", ip: good, sender: "<a@example.com>", wantResult: Pass, wantSender: "a@example.com"},
		{name: "null sender in brackets", ip: good, sender: "<>", wantResult: Pass},
		{name: "space in the local part", ip: good, sender: "Macro Error@example.com", wantResult: Pass, wantSender: "Macro Error@example.com"},
		{name: "MAIL FROM parameters", ip: good, sender: "a@example.com SIZE=100", invalid: true},
		{name: "brackets and parameters", ip: good, sender: "<a@example.com> SIZE=100", invalid: true},
		{name: "CRLF", ip: good, sender: "a@example.com\r\nRCPT TO:<b@example.com>", invalid: true},
		{name: "NUL in the local part", ip: good, sender: "a\x00b@example.com", invalid: true},
		{name: "domain without @ with space", ip: good, sender: "example.com x", invalid: true},
		{name: "zero IP", ip: netip.Addr{}, sender: "a@example.com", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Check(context.Background(), tt.ip, "mail.example.com", tt.sender)
			if tt.invalid {
				if out.Result != PermError || !errors.Is(err, ErrInvalidInput) || !errors.Is(out.Problem, ErrInvalidInput) {
					t.Fatalf("result %v, error %v, problem %v; want permerror wrapping ErrInvalidInput", out.Result, err, out.Problem)
				}
				for _, p := range []Policy{{}, {RejectPermError: true, MailFrom: RejectNotPass, HELO: RejectNotPass}} {
					v := p.Verdict(nil, &out)
					if v.Action != Defer || v.Code != 451 || v.EnhancedStatus() != "4.3.0" {
						t.Errorf("verdict %v %d %s, want defer 451 4.3.0", v.Action, v.Code, v.EnhancedStatus())
					}
					checkReply(t, &v)
					if r := v.Reply(); strings.Contains(r, "example.com") {
						t.Errorf("reply %q names the sender's domain", r)
					}
				}
				if rs := out.ReceivedSPF(); !strings.Contains(rs, "invalid input") {
					t.Errorf("Received-SPF %q does not say the input was invalid", rs)
				}
				return
			}
			if err != nil || out.Result != tt.wantResult || out.Sender != tt.wantSender {
				t.Errorf("result %v, sender %q, error %v; want %v, %q", out.Result, out.Sender, err, tt.wantResult, tt.wantSender)
			}
		})
	}
	// CheckHost takes the sender as Check does, and CheckHELO the IP.
	if _, err := c.CheckHost(context.Background(), good, "example.com", "a@b SIZE=1"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("CheckHost with parameters: %v", err)
	}
	out, err := c.CheckHELO(context.Background(), netip.Addr{}, "mail.example.com")
	if !errors.Is(err, ErrInvalidInput) {
		t.Errorf("CheckHELO with a zero IP: %v", err)
	}
	var p Policy
	if v := p.Verdict(&out, nil); v.EnhancedStatus() != "4.3.0" {
		t.Errorf("HELO verdict on a zero IP: %d %s", v.Code, v.EnhancedStatus())
	}
}

// TestOutcomeNullSender checks that an outcome tells a null-sender check
// from CheckHELO, and that only the former has an envelope-from.
func TestOutcomeNullSender(t *testing.T) {
	z := &testZone{}
	z.AddTXT("mail.example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	c := &Checker{Resolver: z}
	ip := netip.MustParseAddr("192.0.2.1")
	null, _ := c.Check(context.Background(), ip, "mail.example.com", "")
	helo, _ := c.CheckHELO(context.Background(), ip, "mail.example.com")
	if !null.NullSender || helo.NullSender || null.Identity != IdentityHELO || helo.Identity != IdentityHELO {
		t.Fatalf("null sender %v/%v, CheckHELO %v/%v", null.NullSender, null.Identity, helo.NullSender, helo.Identity)
	}
	if rs := null.ReceivedSPF(); !strings.Contains(rs, `envelope-from="postmaster@mail.example.com"`) {
		t.Errorf("null sender: %q", rs)
	}
	if rs := helo.ReceivedSPF(); strings.Contains(rs, "envelope-from") {
		t.Errorf("CheckHELO: %q", rs)
	}
}

// FuzzVerdict checks that whatever an outcome holds and whatever the
// policy, the reply is valid SMTP (every line printable ASCII with its
// codes, at most 512 bytes with CRLF, at most 12 lines) and the codes
// are the ones of RFC 7372 and RFC 3463 for the result.
func FuzzVerdict(f *testing.F) {
	f.Add(uint8(Fail), uint8(0), false, "mail.example.com", "a@example.com", "example.com", "exp text", true, "")
	f.Add(uint8(SoftFail), uint8(RejectNotPass<<4|RejectSoftFail), true, "x;dkim=pass", "a\r\n550 x@y", "d\x1b[2J", strings.Repeat("w ", 3000), false, "p\r\n")
	f.Add(uint8(PermError), uint8(0), true, "", "", "", "", false, "spf: invalid input")
	f.Fuzz(func(t *testing.T, result, levels uint8, heloIdentity bool, helo, sender, domain, exp string, fromDomain bool, problem string) {
		o := &Outcome{Result: Result(result % 7), HELO: helo, Sender: sender, Domain: domain, Explanation: exp,
			ExplanationFromDomain: fromDomain, MechanismDomain: domain, ClientIP: netip.MustParseAddr("192.0.2.1")}
		if heloIdentity {
			o.Identity = IdentityHELO
		}
		invalid := strings.Contains(problem, "invalid input")
		switch {
		case invalid:
			o.Problem = ErrInvalidInput
		case problem != "":
			o.Problem = errors.New(problem)
		}
		p := Policy{MailFrom: RejectLevel(levels & 3), HELO: RejectLevel(levels >> 4 & 3), RejectPermError: levels&4 != 0, AcceptTempError: levels&8 != 0}
		for _, v := range []Verdict{p.Verdict(nil, o), p.Verdict(o, nil)} {
			if err := replyError(&v); err != nil {
				t.Fatalf("%v in %q", err, v.Reply())
			}
			var want string
			switch {
			case v.Action == Accept:
				continue
			case invalid && o.Result == PermError:
				want = "451 4.3.0"
			case v.Outcome.Result == Fail:
				want = "550 5.7.23"
			case v.Outcome.Result == PermError:
				want = "550 5.7.24"
			case v.Outcome.Result == TempError:
				want = "451 4.7.24"
			default:
				want = "550 5.7.1"
			}
			if got := fmt.Sprintf("%d %s", v.Code, v.EnhancedStatus()); got != want {
				t.Fatalf("%v for %v gives %s, want %s", v.Action, v.Outcome.Result, got, want)
			}
		}
	})
}
