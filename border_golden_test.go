package spf

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
)

// TestGoldenBorderHeaders writes both header fields and the verdicts of
// the default and a report-only policy for checks under the receiver's
// border settings, and compares them with testdata/golden/border-*.txt,
// as TestGoldenHeaders does (-update rewrites them).
func TestGoldenBorderHeaders(t *testing.T) {
	z := headerZone()
	z.AddIP("relay.example.net", netip.MustParseAddr("203.0.113.2"))
	rules, err := ParseLocalRules("a:relay.example.net")
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{
		Resolver:      z,
		Receiver:      "mx.example.org",
		Now:           func() time.Time { return time.Unix(1700000000, 0) },
		TrustedRelays: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		LocalRules:    rules,
		BestGuess:     DefaultBestGuessRecord(),
		AllowOnPass:   []string{"*@example.com"},
	}
	tests := []struct {
		name, ip, sender string
		keys             map[string]string // Received-SPF values read back
	}{
		{"border-skipped", "10.1.2.3", "alice@example.com", map[string]string{"x-skipped": "trusted relay 10.0.0.0/8"}},
		{"border-local-rule-pass", "203.0.113.2", "bob@plain.example", map[string]string{"mechanism": "local rule a:relay.example.net"}},
		{"border-best-guess", "192.0.2.200", "erin@none.example", map[string]string{"x-bestguess": "pass"}},
		{"border-allowed", "192.0.2.1", "alice@example.com", map[string]string{"x-allowed": "*@example.com"}},
		{"border-report-only-fail", "198.51.100.7", "bob@plain.example", map[string]string{"mechanism": "-all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := c.Check(context.Background(), netip.MustParseAddr(tt.ip), "mail.example.com", tt.sender)
			rs := out.ReceivedSPF()
			ar := AuthenticationResults("mx.example.org", &out)
			checkField(t, rs, "Received-SPF")
			checkField(t, ar, "Authentication-Results")
			if _, results := parseAR(t, ar); out.Skipped != nil && len(results) != 0 {
				t.Errorf("a skipped check gives SPF results %v", results)
			}
			p, err := parseReceivedSPF(rs)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tt.keys {
				if got := p.Values[k]; got != want {
					t.Errorf("Received-SPF %s=%q, want %q", k, got, want)
				}
			}
			v := Policy{MailFrom: RejectNotPass}.Verdict(nil, &out)
			checkReply(t, &v)
			ro := Policy{ReportOnly: true}.Verdict(nil, &out)
			got := fmt.Sprintf("%s\r\n%s\r\n\r\nverdict (reject all but pass): %s\r\n%s\r\nverdict (report-only): %s (would %s)\r\n%s",
				rs, ar, v.Action, v.Reply(), ro.Action, ro.Would, ro.WouldReply())
			got = strings.ReplaceAll(got, "\r\n", "\n")
			compareGolden(t, filepath.Join("testdata", "golden", tt.name+".txt"), got, "TestGoldenBorderHeaders")
		})
	}
}

// FuzzBorderHeaders: whatever the border fields hold (a PTR name from DNS,
// a pattern from configuration, a local term), both header fields stay
// well-formed, read back with only the keys they may have, and a skipped
// check gives go-msgauth no SPF result.
func FuzzBorderHeaders(f *testing.F) {
	f.Add(uint8(Pass), uint8(SkipForwarderPTR), "fwd.example", "a.fwd.example", "*@example.com", "ip4:192.0.2.1", true, uint8(Pass))
	f.Add(uint8(Fail), uint8(0), "", "", "x\r\ny: z", "(((;=", false, uint8(Neutral))
	f.Add(uint8(None), uint8(SkipTrustedRelay), "\"q\"", "ü\xff", "", "", false, uint8(200))
	f.Fuzz(func(t *testing.T, result, reason uint8, domain, name, allowed, mech string, local bool, guess uint8) {
		o := &Outcome{Result: Result(result % 7), Sender: "a@example.com", Domain: "example.com", Receiver: "mx.example.org",
			ClientIP: netip.MustParseAddr("192.0.2.1"), Mechanism: mech, LocalRule: local, Allowed: allowed}
		if reason%5 != 0 {
			o.Result = None
			o.Skipped = &Skip{Reason: SkipReason(reason % 5), Relay: netip.MustParsePrefix("10.0.0.0/8"), Domain: domain, Name: name}
		}
		if guess < 7 {
			o.Guessed, o.BestGuess = true, Result(guess)
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
			case "client-ip", "envelope-from", "receiver", "identity", "mechanism", "x-skipped", "x-bestguess", "x-allowed":
			default:
				t.Fatalf("unexpected key %q in %q", k, h)
			}
		}
		a := AuthenticationResults("", o)
		if err := fieldError(a, "Authentication-Results"); err != nil {
			t.Fatalf("%v in %q", err, a)
		}
		_, results, err := authres.Parse(strings.ReplaceAll(strings.TrimPrefix(a, "Authentication-Results:"), "\r\n", ""))
		want := 1
		if o.Skipped != nil {
			want = 0
		}
		if err != nil || len(results) != want {
			t.Fatalf("go-msgauth read %d results, error %v, in %q", len(results), err, a)
		}
	})
}
