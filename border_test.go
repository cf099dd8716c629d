package spf_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// borderZone: strict.example fails everyone but its own network; the
// forwarders authorize 198.51.100.0/24 by SPF or by PTR name.
func borderZone() *spftest.Zone {
	z := &spftest.Zone{}
	ip := netip.MustParseAddr
	z.AddTXT("strict.example", "v=spf1 ip4:192.0.2.0/28 -all")
	z.AddTXT("fwd.example", "v=spf1 ip4:198.51.100.0/28 -all")
	// 198.51.100.20 has a forward-confirmed name under fwdptr.example;
	// 198.51.100.21 claims one whose address is elsewhere.
	z.AddPTR(spf.ReverseName(ip("198.51.100.20")), "relay1.mail.fwdptr.example")
	z.AddIP("relay1.mail.fwdptr.example", ip("198.51.100.20"))
	z.AddPTR(spf.ReverseName(ip("198.51.100.21")), "relay2.mail.fwdptr.example")
	z.AddIP("relay2.mail.fwdptr.example", ip("192.0.2.200"))
	z.AddTXT("mx.helo.example", "v=spf1 ip4:198.51.100.30 -all")
	// guess.example has no record: its A and MX hosts are 192.0.2.64/24.
	z.AddIP("guess.example", ip("192.0.2.64"))
	z.AddMX("guess.example", 10, "mx.guess.example")
	z.AddIP("mx.guess.example", ip("203.0.113.64"))
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	z.AddTXT("sub.example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	z.AddTXT("example.org", "v=spf1 ip4:192.0.2.0/24 -all")
	return z
}

func TestSkip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		c           spf.Checker
		ip, helo    string
		sender      string
		want        string // Skipped.String()
		wantResult  spf.Result
		wantReason  spf.SkipReason
		wantNoCheck bool
	}{
		{name: "no settings", ip: "198.51.100.5", sender: "a@strict.example", wantResult: spf.Fail},
		{name: "trusted relay", c: spf.Checker{TrustedRelays: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}},
			ip: "198.51.100.5", sender: "a@strict.example", want: "trusted relay 198.51.100.0/24", wantReason: spf.SkipTrustedRelay},
		{name: "trusted relay, IPv4-mapped client", c: spf.Checker{TrustedRelays: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
			ip: "::ffff:198.51.100.5", sender: "a@strict.example", want: "trusted relay 198.51.100.0/24", wantReason: spf.SkipTrustedRelay},
		{name: "not a trusted relay", c: spf.Checker{TrustedRelays: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
			ip: "198.51.100.5", sender: "a@strict.example", wantResult: spf.Fail},
		{name: "forwarder by SPF", c: spf.Checker{TrustedForwarders: []string{"nope.example", "FWD.example."}},
			ip: "198.51.100.5", sender: "a@strict.example", want: "trusted forwarder fwd.example by SPF pass", wantReason: spf.SkipForwarderSPF},
		{name: "forwarder by SPF, client not authorized", c: spf.Checker{TrustedForwarders: []string{"fwd.example"}},
			ip: "198.51.100.20", sender: "a@strict.example", wantResult: spf.Fail},
		{name: "forwarder by PTR", c: spf.Checker{TrustedForwarderNames: []string{"fwdptr.example"}},
			ip: "198.51.100.20", sender: "a@strict.example", want: "trusted forwarder fwdptr.example by PTR name relay1.mail.fwdptr.example", wantReason: spf.SkipForwarderPTR},
		{name: "forwarder by PTR, name not confirmed", c: spf.Checker{TrustedForwarderNames: []string{"fwdptr.example"}},
			ip: "198.51.100.21", sender: "a@strict.example", wantResult: spf.Fail},
		{name: "forwarder by PTR, other domain", c: spf.Checker{TrustedForwarderNames: []string{"mail.example"}},
			ip: "198.51.100.20", sender: "a@strict.example", wantResult: spf.Fail},
		{name: "trusted HELO name", c: spf.Checker{TrustedHELONames: []string{"mx.helo.example"}},
			ip: "198.51.100.30", helo: "MX.helo.example", sender: "a@strict.example", want: "trusted HELO name mx.helo.example by SPF pass", wantReason: spf.SkipTrustedHELO},
		{name: "trusted HELO name that does not pass", c: spf.Checker{TrustedHELONames: []string{"mx.helo.example"}},
			ip: "198.51.100.31", helo: "mx.helo.example", sender: "a@strict.example", wantResult: spf.Fail},
		{name: "null sender, trusted relay", c: spf.Checker{TrustedRelays: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
			ip: "198.51.100.5", helo: "strict.example", want: "trusted relay 198.51.100.0/24", wantReason: spf.SkipTrustedRelay},
	}
	zone := borderZone()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			c.Resolver = zone
			out, err := c.Check(context.Background(), netip.MustParseAddr(tt.ip), tt.helo, tt.sender)
			if err != nil {
				t.Fatal(err)
			}
			reason := spf.NotSkipped
			if out.Skipped != nil {
				reason = out.Skipped.Reason
			}
			if got := out.Skipped.String(); got != tt.want || reason != tt.wantReason {
				t.Errorf("Skipped = %q (%v), want %q (%v)", got, reason, tt.want, tt.wantReason)
			}
			if out.Result != tt.wantResult {
				t.Errorf("Result = %v, want %v", out.Result, tt.wantResult)
			}
			if tt.want != "" {
				if out.Lookups != 0 || out.Mechanism != "" {
					t.Errorf("a skipped check reports lookups %d, mechanism %q", out.Lookups, out.Mechanism)
				}
				// Every policy accepts it, even one rejecting all but pass.
				for _, p := range allPolicies() {
					if v := p.Verdict(&out, &out); v.Action != spf.Accept || v.ReportOnly {
						t.Errorf("%+v: verdict %v, want accept", p, v.Action)
					}
				}
			}
		})
	}
}

// TestTrustedRelaySendsNoQuery counts the queries at a DNS server.
func TestTrustedRelaySendsNoQuery(t *testing.T) {
	t.Parallel()
	srv := spftest.NewServer(t, borderZone())
	c := &spf.Checker{
		Resolver:              srv.Resolver(time.Second),
		TrustedRelays:         []netip.Prefix{netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("198.51.100.0/24")},
		TrustedForwarders:     []string{"fwd.example"},
		TrustedForwarderNames: []string{"fwdptr.example"},
		TrustedHELONames:      []string{"mx.helo.example"},
		BestGuess:             spf.DefaultBestGuessRecord(),
	}
	for _, ip := range []string{"198.51.100.5", "2001:db8::1"} {
		out, _ := c.Check(context.Background(), netip.MustParseAddr(ip), "mx.helo.example", "a@strict.example")
		if out.Skipped == nil || out.Skipped.Reason != spf.SkipTrustedRelay {
			t.Errorf("%s: Skipped = %v", ip, out.Skipped)
		}
		if n := srv.Total(); n != 0 {
			t.Errorf("%s: %d queries for a trusted relay, want 0: %v", ip, n, srv.Queries())
		}
	}
	// The control: the same check from elsewhere asks the server.
	out, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.5"), "mx.helo.example", "a@strict.example")
	if out.Result != spf.Pass || srv.Total() == 0 {
		t.Errorf("control: result %v with %d queries, want pass with some", out.Result, srv.Total())
	}
}

// allPolicies returns a policy for every combination of reject settings,
// report-only included.
func allPolicies() []spf.Policy {
	var ps []spf.Policy
	levels := []spf.RejectLevel{spf.RejectFail, spf.RejectSoftFail, spf.RejectNotPass, spf.RejectNever}
	for _, r := range levels {
		for _, h := range levels {
			for _, perm := range []bool{false, true} {
				for _, temp := range []bool{false, true} {
					for _, ro := range []bool{false, true} {
						ps = append(ps, spf.Policy{MailFrom: r, HELO: h, RejectPermError: perm, AcceptTempError: temp, ReportOnly: ro})
					}
				}
			}
		}
	}
	return ps
}

func TestBestGuess(t *testing.T) {
	t.Parallel()
	mustParse := func(s string) *spf.Record {
		r, err := spf.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name        string
		guess       *spf.Record
		ip, sender  string
		wantGuessed bool
		wantGuess   spf.Result
		wantResult  spf.Result
	}{
		{"a/24 matches", spf.DefaultBestGuessRecord(), "192.0.2.7", "a@guess.example", true, spf.Pass, spf.None},
		{"mx/24 matches", spf.DefaultBestGuessRecord(), "203.0.113.9", "a@guess.example", true, spf.Pass, spf.None},
		{"nothing matches", spf.DefaultBestGuessRecord(), "198.51.100.9", "a@guess.example", true, spf.Neutral, spf.None},
		{"a fail is clamped", mustParse("v=spf1 -all"), "198.51.100.9", "a@guess.example", true, spf.Neutral, spf.None},
		{"a softfail is clamped", mustParse("v=spf1 ~all"), "198.51.100.9", "a@guess.example", true, spf.Neutral, spf.None},
		// a, mx and ptr are three void lookups, one over the limit.
		{"no such domain", spf.DefaultBestGuessRecord(), "198.51.100.9", "a@nxdomain.example", true, spf.PermError, spf.None},
		{"a record: no guess", spf.DefaultBestGuessRecord(), "198.51.100.9", "a@strict.example", false, spf.None, spf.Fail},
		{"not a domain: no guess", spf.DefaultBestGuessRecord(), "198.51.100.9", "a@[192.0.2.1]", false, spf.None, spf.None},
		{"no guess configured", nil, "192.0.2.7", "a@guess.example", false, spf.None, spf.None},
	}
	zone := borderZone()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &spf.Checker{Resolver: zone, BestGuess: tt.guess}
			out, _ := c.Check(context.Background(), netip.MustParseAddr(tt.ip), "mail.example.org", tt.sender)
			type res struct {
				Result, Guess spf.Result
				Guessed       bool
			}
			if diff := cmp.Diff(res{tt.wantResult, tt.wantGuess, tt.wantGuessed}, res{out.Result, out.BestGuess, out.Guessed}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// No verdict depends on the guess, whatever the settings.
			plain := out
			plain.Guessed, plain.BestGuess = false, spf.None
			for _, p := range allPolicies() {
				got, want := p.Verdict(nil, &out), p.Verdict(nil, &plain)
				got.Outcome, want.Outcome = nil, nil
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%+v: the guess changed the verdict (-want +got):\n%s", p, diff)
				}
				if tt.wantResult == spf.None && p.MailFrom != spf.RejectNotPass && got.Action != spf.Accept {
					t.Errorf("%+v: %v on a none with a guess", p, got.Action)
				}
			}
		})
	}
}

func TestAllowOnPass(t *testing.T) {
	t.Parallel()
	rules, err := spf.ParseLocalRules("ip4:203.0.113.2")
	if err != nil {
		t.Fatal(err)
	}
	allow := []string{"news@example.org", "*@*.example.com", "*@EXAMPLE.com", "bad-pattern", "*@*.example.org"}
	tests := []struct {
		name, ip, sender, want string
	}{
		{"any local part", "192.0.2.1", "alice@example.com", "*@EXAMPLE.com"},
		{"domain in any case", "192.0.2.1", "alice@Example.COM", "*@EXAMPLE.com"},
		{"subdomain", "192.0.2.1", "bob@sub.example.com", "*@*.example.com"},
		{"exact address", "192.0.2.1", "news@example.org", "news@example.org"},
		{"local part is exact", "192.0.2.1", "NEWS@example.org", ""},
		{"other local part", "192.0.2.1", "sales@example.org", ""},
		{"no pass, no allow", "198.51.100.1", "alice@example.com", ""},
		{"a local-rule pass is not the domain's", "203.0.113.2", "alice@example.com", ""},
		{"null sender", "192.0.2.1", "", ""},
	}
	c := &spf.Checker{Resolver: borderZone(), AllowOnPass: allow, LocalRules: rules}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := c.Check(context.Background(), netip.MustParseAddr(tt.ip), "example.com", tt.sender)
			if out.Allowed != tt.want {
				t.Errorf("Allowed = %q (result %v), want %q", out.Allowed, out.Result, tt.want)
			}
		})
	}
}

func TestReportOnly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		out       spf.Outcome
		wantWould spf.Action
		wantCode  int
	}{
		{"fail", spf.Outcome{Result: spf.Fail, Domain: "example.com", Sender: "a@example.com"}, spf.Reject, 550},
		{"temperror", spf.Outcome{Result: spf.TempError, Domain: "example.com", Sender: "a@example.com"}, spf.Defer, 451},
		{"pass", spf.Outcome{Result: spf.Pass, Domain: "example.com", Sender: "a@example.com"}, spf.Accept, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enforce := spf.Policy{}.Verdict(nil, &tt.out)
			v := spf.Policy{ReportOnly: true}.Verdict(nil, &tt.out)
			if v.Action != spf.Accept || v.Reply() != "" {
				t.Errorf("report-only verdict %v with reply %q, want accept", v.Action, v.Reply())
			}
			if v.ReportOnly != (tt.wantWould != spf.Accept) || v.Would != tt.wantWould || v.Code != tt.wantCode {
				t.Errorf("ReportOnly %v, Would %v, Code %d; want Would %v, Code %d", v.ReportOnly, v.Would, v.Code, tt.wantWould, tt.wantCode)
			}
			if diff := cmp.Diff(enforce.Reply(), v.WouldReply()); diff != "" {
				t.Errorf("WouldReply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMayBounce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		out  spf.Outcome
		want bool
	}{
		{spf.Outcome{Result: spf.Pass, Sender: "a@example.com"}, true},
		{spf.Outcome{Result: spf.None, Sender: "a@example.com"}, true},
		{spf.Outcome{Result: spf.Neutral, Sender: "a@example.com"}, true},
		{spf.Outcome{Result: spf.TempError, Sender: "a@example.com"}, true},
		{spf.Outcome{Result: spf.PermError, Sender: "a@example.com"}, true},
		{spf.Outcome{Result: spf.None, Sender: "a@example.com", Skipped: &spf.Skip{Reason: spf.SkipTrustedRelay}}, true},
		{spf.Outcome{Result: spf.Fail, Sender: "a@example.com"}, false},
		{spf.Outcome{Result: spf.SoftFail, Sender: "a@example.com"}, false},
		{spf.Outcome{Result: spf.Pass, Identity: spf.IdentityHELO, HELO: "mail.example.com"}, false},
	} {
		if got := tt.out.MayBounce(); got != tt.want {
			t.Errorf("%v (sender %q): MayBounce = %v, want %v", tt.out.Result, tt.out.Sender, got, tt.want)
		}
	}
}

// TestAuthResultsSkipped: a skipped check gives no spf= resinfo; the
// header is "none" with the reason where nothing else was checked.
func TestAuthResultsSkipped(t *testing.T) {
	t.Parallel()
	skippedOut := &spf.Outcome{Result: spf.None, Sender: "a@example.com", Domain: "example.com", Receiver: "mx.example.org",
		Skipped: &spf.Skip{Reason: spf.SkipForwarderSPF, Domain: "fwd.example"}}
	helo := &spf.Outcome{Result: spf.Pass, Identity: spf.IdentityHELO, HELO: "mail.example.com", Domain: "mail.example.com",
		ClientIP: netip.MustParseAddr("192.0.2.1"), Receiver: "mx.example.org"}
	tests := []struct {
		name     string
		outcomes []*spf.Outcome
		want     string
	}{
		{"skipped only", []*spf.Outcome{skippedOut},
			"mx.example.org; none (mx.example.org: SPF check\r\n\tskipped for trusted forwarder fwd.example by SPF pass)"},
		{"HELO checked, MAIL FROM skipped", []*spf.Outcome{helo, skippedOut},
			"mx.example.org;\r\n\tspf=pass (mx.example.org: domain of mail.example.com designates 192.0.2.1 as\r\n\tpermitted sender) smtp.helo=mail.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, spf.AuthenticationResultsValue("", tt.outcomes...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestBorderTimeLimit checks that Checker.Timeout bounds the whole check:
// the SPF checks of a trusted HELO name and a trusted forwarder, the
// check itself and the best guess share one time limit rather than taking
// it each. Every query but the sender's TXT waits until its context ends.
func TestBorderTimeLimit(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	z := &spftest.Zone{}
	z.AddIP("slow.example", netip.MustParseAddr("192.0.2.1"))
	res := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		if name == "slow.example" && typ == spf.TypeTXT {
			return nil, spf.ErrNotFound // no record: the best guess runs
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	c := spf.Checker{
		Resolver:          res,
		Timeout:           timeout,
		NoPrefetch:        true,
		TrustedHELONames:  []string{"mx.slow.example"},
		TrustedForwarders: []string{"fwd.slow.example"},
		BestGuess:         spf.DefaultBestGuessRecord(),
	}
	start := time.Now()
	out, _ := c.Check(context.Background(), netip.MustParseAddr("198.51.100.1"), "mx.slow.example", "a@slow.example")
	elapsed := time.Since(start)
	if out.Result != spf.None || !out.Guessed || out.BestGuess != spf.TempError {
		t.Errorf("Result %v, Guessed %v, BestGuess %v; want none, true, temperror", out.Result, out.Guessed, out.BestGuess)
	}
	// Each of the three waits would take the whole limit on its own.
	if elapsed > timeout*5/3 {
		t.Errorf("check took %v, want about the time limit %v", elapsed, timeout)
	}
}

// TestBorderAllocs is the allocation guard of a check with
// TrustedForwarderNames, whose PTR query every check makes: answered from
// memory, it allocates the reverse name only, and sets up no deadline
// context (see TestCheckAllocs).
func TestBorderAllocs(t *testing.T) { // not parallel: AllocsPerRun
	if raceDetector {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	for _, ip := range []string{"192.0.2.7", "2001:db8::7"} {
		for name, res := range map[string]spf.Resolver{"zone": borderZone(), "warm-cache": &spf.Cache{Resolver: plainResolver{borderZone()}}} {
			t.Run(name+"/"+ip, func(t *testing.T) {
				c := &spf.Checker{Resolver: res, TrustedForwarderNames: []string{"fwdptr.example"}}
				var out spf.Outcome
				check := func() {
					var err error
					if out, err = c.Check(context.Background(), netip.MustParseAddr(ip), "mail.example.org", "a@example.com"); out.Skipped != nil || out.Result == spf.TempError {
						t.Fatalf("Check = %v, %v, skipped %v", out.Result, err, out.Skipped)
					}
				}
				check()     // warm the cache
				want := 1.0 // the reverse name
				if out.Result == spf.Fail {
					want++ // the explanation (IPv6 is not in the record)
				}
				if got := testing.AllocsPerRun(50, check); got != want {
					t.Errorf("Check allocates %v times, want %v", got, want)
				}
			})
		}
	}
}

// TestSkipNoExplanation guards the cost of the border's own check_host()
// runs: a trusted HELO name or forwarder that does not pass the client
// (fail, the usual case, on every check) is checked for its result alone,
// without the explanation a fail would otherwise expand (an allocation
// and, with exp=, a TXT query each), nor the sender postmaster@<HELO> of
// the trusted HELO name's check, which its record does not expand.
func TestSkipNoExplanation(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	c := &spf.Checker{
		Resolver:          borderZone(),
		TrustedHELONames:  []string{"mx.helo.example"},
		TrustedForwarders: []string{"fwd.example", "mx.helo.example"},
	}
	ip := netip.MustParseAddr("192.0.2.100")
	ctx := context.Background()
	check := func() {
		if out, err := c.Check(ctx, ip, "mx.helo.example", "a@example.com"); out.Result != spf.Pass || out.Skipped != nil {
			t.Fatalf("Check = %v, %v, skipped %v; want pass, not skipped", out.Result, err, out.Skipped)
		}
	}
	check()
	if got := testing.AllocsPerRun(50, check); got != 0 {
		t.Errorf("Check allocates %v times, want 0 (three failing border checks, no explanation)", got)
	}
}

// TestSkipByPTRWithTrace: the PTR query and validation of
// TrustedForwarderNames are steps of the check that a context's trace
// (WithTrace) sees as Checker.Trace does; it saw none of them.
func TestSkipByPTRWithTrace(t *testing.T) {
	t.Parallel()
	var fromChecker, fromCtx []string
	c := &spf.Checker{
		Resolver:              borderZone(),
		TrustedForwarderNames: []string{"fwdptr.example"},
		Trace: func(ev spf.Event) {
			if ev.Kind == spf.EventQuery {
				fromChecker = append(fromChecker, ev.Type.String()+" "+ev.Name)
			}
		},
	}
	ctx := spf.WithTrace(context.Background(), func(ev spf.Event) {
		if ev.Kind == spf.EventQuery {
			fromCtx = append(fromCtx, ev.Type.String()+" "+ev.Name)
		}
	})
	out, _ := c.Check(ctx, netip.MustParseAddr("198.51.100.20"), "mail.example.org", "a@strict.example")
	if out.Skipped == nil || out.Skipped.Reason != spf.SkipForwarderPTR {
		t.Fatalf("Skipped = %v, want a forwarder by PTR name", out.Skipped)
	}
	if len(fromChecker) != 2 {
		t.Errorf("Checker.Trace saw queries %q, want the PTR query and its validation", fromChecker)
	}
	if diff := cmp.Diff(fromChecker, fromCtx); diff != "" {
		t.Errorf("queries seen by Checker.Trace (-) and WithTrace (+):\n%s", diff)
	}
}
