package spf_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

func testZone() *spftest.Zone {
	z := &spftest.Zone{}
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 redirect=_spf.example.net")
	z.AddTXT("_spf.example.net", "v=spf1 a:mx.example.net -all exp=exp.example.net")
	z.AddTXT("exp.example.net", "%{i} may not send for %{d} (sender %{s}, receiver %{r})")
	z.AddIP("mx.example.net", netip.MustParseAddr("198.51.100.1"))
	z.AddTXT("mail.example.org", "v=spf1 a -all")
	z.AddIP("mail.example.org", netip.MustParseAddr("203.0.113.5"))
	z.AddTXT("bücher.example", "v=spf1 -all")
	z.AddTXT("xn--bcher-kva.example", "v=spf1 +all")
	return z
}

func TestCheckOutcome(t *testing.T) {
	c := &spf.Checker{Resolver: testZone(), Receiver: "mx.receiver.example"}
	tests := []struct {
		name           string
		ip, helo, from string
		helo2          bool // CheckHELO instead of Check
		want           spf.Outcome
	}{
		{
			name: "pass in own record", ip: "192.0.2.7", helo: "mail.example.org", from: "alice@example.com",
			want: spf.Outcome{Result: spf.Pass, Domain: "example.com", Mechanism: "ip4:192.0.2.0/24", MechanismDomain: "example.com"},
		},
		{
			name: "pass through redirect", ip: "198.51.100.1", helo: "mail.example.org", from: "alice@EXAMPLE.com.",
			want: spf.Outcome{Result: spf.Pass, Domain: "example.com", Mechanism: "a:mx.example.net", MechanismDomain: "_spf.example.net", Lookups: 2},
		},
		{
			name: "fail explained by the redirect target", ip: "203.0.113.9", helo: "mail.example.org", from: "alice@example.com",
			want: spf.Outcome{Result: spf.Fail, Domain: "example.com", Mechanism: "-all", MechanismDomain: "_spf.example.net", Lookups: 2,
				Explanation: "203.0.113.9 may not send for _spf.example.net (sender alice@example.com, receiver mx.receiver.example)", ExplanationFromDomain: true},
		},
		{
			name: "null sender is the HELO identity", ip: "203.0.113.5", helo: "mail.example.org", from: "",
			want: spf.Outcome{Result: spf.Pass, Identity: spf.IdentityHELO, NullSender: true, Domain: "mail.example.org", Mechanism: "a", MechanismDomain: "mail.example.org", Lookups: 1},
		},
		{
			name: "CheckHELO", ip: "203.0.113.6", helo: "mail.example.org", helo2: true,
			want: spf.Outcome{Result: spf.Fail, Identity: spf.IdentityHELO, Domain: "mail.example.org", Mechanism: "-all", MechanismDomain: "mail.example.org", Lookups: 1,
				Explanation: "mail.example.org does not designate 203.0.113.6 as permitted sender"},
		},
		{
			name: "IDNA sender domain checked as A-label", ip: "192.0.2.1", helo: "h.example", from: "x@bücher.example",
			want: spf.Outcome{Result: spf.Pass, Domain: "xn--bcher-kva.example", Mechanism: "+all", MechanismDomain: "xn--bcher-kva.example"},
		},
		{
			name: "IPv4-mapped client is IPv4", ip: "::ffff:192.0.2.9", helo: "h.example", from: "a@example.com",
			want: spf.Outcome{Result: spf.Pass, Domain: "example.com", Mechanism: "ip4:192.0.2.0/24", MechanismDomain: "example.com"},
		},
		{
			name: "domain literal is none", ip: "192.0.2.1", helo: "h.example", from: "a@[192.0.2.1]",
			want: spf.Outcome{Result: spf.None, Domain: "[192.0.2.1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			var got spf.Outcome
			var err error
			if tt.helo2 {
				got, err = c.CheckHELO(context.Background(), ip, tt.helo)
			} else {
				got, err = c.Check(context.Background(), ip, tt.helo, tt.from)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.ClientIP, want.HELO, want.Sender, want.Receiver = ip.Unmap(), tt.helo, tt.from, "mx.receiver.example"
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	z := &spftest.Zone{}
	z.AddTXT("two.example", "v=spf1 -all")
	z.AddTXT("two.example", "v=spf1 +all")
	z.AddTXT("voids.example", "v=spf1 a:n1.example a:n2.example a:n3.example +all")
	z.AddTXT("inc.example", "v=spf1 include:none.example +all")
	z.AddTXT("slow.example", "v=spf1 a:blackhole.example -all")
	block := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		if name == "blackhole.example" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return z.Lookup(ctx, name, typ)
	})
	tests := []struct {
		name    string
		c       *spf.Checker
		ip      netip.Addr
		sender  string
		result  spf.Result
		wantErr error
	}{
		{"multiple records", &spf.Checker{Resolver: z}, netip.MustParseAddr("192.0.2.1"), "a@two.example", spf.PermError, spf.ErrMultipleRecords},
		{"void lookups", &spf.Checker{Resolver: z}, netip.MustParseAddr("192.0.2.1"), "a@voids.example", spf.PermError, spf.ErrTooManyVoidLookups},
		{"void limit raised", &spf.Checker{Resolver: z, MaxVoidLookups: 3}, netip.MustParseAddr("192.0.2.1"), "a@voids.example", spf.Pass, nil},
		{"include of nothing", &spf.Checker{Resolver: z}, netip.MustParseAddr("192.0.2.1"), "a@inc.example", spf.PermError, spf.ErrNoTargetRecord},
		{"invalid IP", &spf.Checker{Resolver: z}, netip.Addr{}, "a@two.example", spf.PermError, spf.ErrInvalidInput},
		{"timeout", &spf.Checker{Resolver: block, Timeout: 50 * time.Millisecond}, netip.MustParseAddr("192.0.2.1"), "a@slow.example", spf.TempError, spf.ErrDNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := tt.c.Check(context.Background(), tt.ip, "h.example", tt.sender)
			if out.Result != tt.result {
				t.Errorf("result %v, want %v (problem %v)", out.Result, tt.result, out.Problem)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if !errors.Is(out.Problem, tt.wantErr) {
				t.Errorf("Problem %v, want %v", out.Problem, tt.wantErr)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestCheckHost(t *testing.T) {
	c := &spf.Checker{Resolver: testZone()}
	out, err := c.CheckHost(context.Background(), netip.MustParseAddr("203.0.113.5"), "mail.example.org", "")
	if err != nil || out.Result != spf.Pass || out.Domain != "mail.example.org" {
		t.Errorf("CheckHost = %v, %v, domain %q", out.Result, err, out.Domain)
	}
}

func TestResultText(t *testing.T) {
	for r := spf.None; r <= spf.PermError; r++ {
		text, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back spf.Result
		if err := back.UnmarshalText(text); err != nil || back != r || string(text) != r.String() {
			t.Errorf("%v: text %q, back %v, %v", r, text, back, err)
		}
	}
	if _, err := spf.ParseResult("PASS"); err != nil {
		t.Errorf("ParseResult is case-sensitive: %v", err)
	}
	if _, err := spf.ParseResult("hardfail"); err == nil {
		t.Error("ParseResult accepted hardfail")
	}
	if _, err := spf.Result(42).MarshalText(); err == nil {
		t.Error("MarshalText accepted an invalid result")
	}
}

// TestCheckAllocsPTR: the client's reverse name is made once a check, not
// for every ptr term, so that a check with several ptr terms answered
// from memory allocates it alone (it was one allocation a ptr term).
func TestCheckAllocsPTR(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	ip := netip.MustParseAddr("192.0.2.7")
	z := &spftest.Zone{}
	z.AddTXT("ptr.example", "v=spf1 ptr:a.example ptr:b.example ptr ?all")
	z.AddPTR(spf.ReverseName(ip), "mail.ptr.example")
	z.AddIP("mail.ptr.example", ip)
	c := &spf.Checker{Resolver: z}
	ctx := context.Background()
	check := func() {
		if out, err := c.Check(ctx, ip, "mail.ptr.example", "a@ptr.example"); out.Result != spf.Pass || out.Mechanism != "ptr" {
			t.Fatalf("Check = %v by %q, %v; want pass by ptr", out.Result, out.Mechanism, err)
		}
	}
	check()
	if got := testing.AllocsPerRun(50, check); got != 1 {
		t.Errorf("Check allocates %v times, want 1 (the reverse name)", got)
	}
}

// TestCheckHELOAllocs: a HELO check, and the check of a null sender, whose
// %{s} is postmaster@<HELO>, build that sender only for a macro that
// expands it, so that answered from memory they allocate nothing (they
// allocated it on every check); and %{s} still expands to it.
func TestCheckHELOAllocs(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.9")
	z := &spftest.Zone{}
	z.AddTXT("mail.helo.example", "v=spf1 ip4:192.0.2.0/24 -all exp=why.helo.example")
	z.AddTXT("why.helo.example", "%{s} %{l} %{o}")
	c := &spf.Checker{Resolver: z}
	ctx := context.Background()
	out, _ := c.CheckHELO(ctx, netip.MustParseAddr("203.0.113.9"), "mail.helo.example")
	if want := "postmaster@mail.helo.example postmaster mail.helo.example"; out.Result != spf.Fail || out.Explanation != want {
		t.Errorf("CheckHELO = %v, explanation %q; want fail, %q", out.Result, out.Explanation, want)
	}
	if raceDetector {
		return // allocation counts mean nothing under the race detector
	}
	for name, check := range map[string]func() (spf.Outcome, error){
		"helo":        func() (spf.Outcome, error) { return c.CheckHELO(ctx, ip, "mail.helo.example") },
		"null sender": func() (spf.Outcome, error) { return c.Check(ctx, ip, "mail.helo.example", "<>") },
	} {
		if out, err := check(); out.Result != spf.Pass {
			t.Fatalf("%s: %v, %v; want pass", name, out.Result, err)
		}
		if got := testing.AllocsPerRun(50, func() { check() }); got != 0 {
			t.Errorf("%s: check allocates %v times, want 0", name, got)
		}
	}
}
