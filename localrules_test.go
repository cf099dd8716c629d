package spf_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// localRulesZone holds the records a wrong design of local rules would
// change the result of. The receiver's gateway is 203.0.113.2.
func localRulesZone() *spftest.Zone {
	z := &spftest.Zone{}
	ip := netip.MustParseAddr
	z.AddTXT("amx.example", "v=spf1 +a +mx -all")
	z.AddIP("amx.example", ip("192.0.2.1"))
	z.AddMX("amx.example", 10, "mx.amx.example")
	z.AddIP("mx.amx.example", ip("192.0.2.2"))
	z.AddTXT("mxq.example", "v=spf1 mx ?all")
	z.AddMX("mxq.example", 10, "mx.amx.example")
	z.AddTXT("deny.example", "v=spf1 -all exp=why.deny.example")
	z.AddTXT("why.deny.example", "deny.example explains")
	z.AddTXT("redir.example", "v=spf1 ip4:192.0.2.50 redirect=target.example")
	z.AddTXT("target.example", "v=spf1 -all")
	z.AddTXT("inc.example", "v=spf1 include:open.example -all")
	z.AddTXT("open.example", "v=spf1 ?all")
	z.AddTXT("mid.example", "v=spf1 ip4:192.0.2.1 ~all ip4:198.51.100.1")
	z.AddTXT("noall.example", "v=spf1 ip4:192.0.2.1")
	var ten string
	for i := 1; i <= 10; i++ {
		name := fmt.Sprintf("n%d.ten.example", i)
		z.AddIP(name, ip("192.0.2.99"))
		ten += " a:" + name
	}
	z.AddTXT("ten.example", "v=spf1"+ten+" -all")
	z.AddTXT("perm.example", "v=spf1 ip4:192.0.2.1/33 -all")
	z.AddTXT("permlate.example", "v=spf1 include:missing.example -all")
	z.SetTimeout("temp.example")
	z.AddIP("relay.example.net", ip("203.0.113.2"))
	z.AddTXT("spf.antispam.example", "v=spf1 ip4:203.0.113.0/28 -all")
	return z
}

func TestLocalRules(t *testing.T) {
	t.Parallel()
	const gw = "203.0.113.2"
	type want struct {
		Result                spf.Result
		Mechanism             string
		MechanismDomain       string
		LocalRule             bool
		Lookups               int
		ExplanationFromDomain bool
	}
	tests := []struct {
		name   string
		rules  string
		ip     string
		domain string
		want   want
	}{
		// The record's own terms match first: the local rules are not reached.
		{"+a +mx -all, a matches first", "ip4:192.0.2.1", "192.0.2.1", "amx.example",
			want{Result: spf.Pass, Mechanism: "+a", MechanismDomain: "amx.example", Lookups: 1}},
		{"+a +mx -all, gateway", "ip4:" + gw, gw, "amx.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true, Lookups: 2}},
		{"+a +mx -all, stranger still fails", "ip4:" + gw, "198.51.100.9", "amx.example",
			want{Result: spf.Fail, Mechanism: "-all", MechanismDomain: "amx.example", Lookups: 2}},
		{"mx ?all, gateway", "ip4:" + gw, gw, "mxq.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true, Lookups: 1}},
		{"mx ?all, stranger stays neutral", "ip4:" + gw, "198.51.100.9", "mxq.example",
			want{Result: spf.Neutral, Mechanism: "?all", MechanismDomain: "mxq.example", Lookups: 1}},
		{"-all, gateway", "ip4:" + gw, gw, "deny.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true}},
		{"-all, a published fail stays fail", "ip4:" + gw, "198.51.100.9", "deny.example",
			want{Result: spf.Fail, Mechanism: "-all", MechanismDomain: "deny.example", ExplanationFromDomain: true}},
		{"a local qualifier decides", "-ip4:198.51.100.9", "198.51.100.9", "mxq.example",
			want{Result: spf.Fail, Mechanism: "-ip4:198.51.100.9", LocalRule: true, Lookups: 1}},
		{"redirect: before the redirect, in the top record", "ip4:" + gw, gw, "redir.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true}},
		{"redirect: stranger gets the target's fail", "ip4:" + gw, "198.51.100.9", "redir.example",
			want{Result: spf.Fail, Mechanism: "-all", MechanismDomain: "target.example", Lookups: 1}},
		{"include: not applied inside the target", "ip4:" + gw, gw, "inc.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true, Lookups: 1}},
		{"include: stranger fails", "ip4:" + gw, "198.51.100.9", "inc.example",
			want{Result: spf.Fail, Mechanism: "-all", MechanismDomain: "inc.example", Lookups: 1}},
		{"all in the middle: before the first all", "ip4:" + gw, gw, "mid.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true}},
		{"all in the middle: terms after all never reached", "ip4:198.51.100.1", "198.51.100.1", "mid.example",
			want{Result: spf.Pass, Mechanism: "ip4:198.51.100.1", LocalRule: true}},
		{"all in the middle: stranger softfails", "ip4:" + gw, "198.51.100.9", "mid.example",
			want{Result: spf.SoftFail, Mechanism: "~all", MechanismDomain: "mid.example"}},
		{"no all: after the last mechanism", "ip4:" + gw, gw, "noall.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true}},
		{"no all: stranger neutral by default", "ip4:" + gw, "198.51.100.9", "noall.example",
			want{Result: spf.Neutral}},
		{"exactly 10 lookups: own budget", "a:relay.example.net", gw, "ten.example",
			want{Result: spf.Pass, Mechanism: "a:relay.example.net", LocalRule: true, Lookups: 10}},
		{"exactly 10 lookups: stranger fails", "a:relay.example.net", "198.51.100.9", "ten.example",
			want{Result: spf.Fail, Mechanism: "-all", MechanismDomain: "ten.example", Lookups: 10}},
		{"include in the local rules", "include:spf.antispam.example", gw, "deny.example",
			want{Result: spf.Pass, Mechanism: "include:spf.antispam.example", LocalRule: true}},
		{"a failing local include is no match", "include:missing.example ip4:" + gw, gw, "deny.example",
			want{Result: spf.Pass, Mechanism: "ip4:" + gw, LocalRule: true}},
		{"no record: not applied", "ip4:" + gw, gw, "norecord.example",
			want{Result: spf.None}},
		{"permerror record: not applied", "ip4:" + gw, gw, "perm.example",
			want{Result: spf.PermError}},
		{"permerror before the rules: not applied", "ip4:" + gw, gw, "permlate.example",
			want{Result: spf.PermError, Lookups: 1}},
		{"temperror: not applied", "ip4:" + gw, gw, "temp.example",
			want{Result: spf.TempError}},
	}
	zone := localRulesZone()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rules, err := spf.ParseLocalRules(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			c := &spf.Checker{Resolver: zone, LocalRules: rules}
			out, _ := c.Check(context.Background(), netip.MustParseAddr(tt.ip), "mail.example.org", "user@"+tt.domain)
			got := want{out.Result, out.Mechanism, out.MechanismDomain, out.LocalRule, out.Lookups, out.ExplanationFromDomain}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check(%s, user@%s) with local rules %q (-want +got):\n%s", tt.ip, tt.domain, tt.rules, diff)
			}
			// Without local rules, only a local match changes the result.
			plain, _ := (&spf.Checker{Resolver: zone}).Check(context.Background(), netip.MustParseAddr(tt.ip), "mail.example.org", "user@"+tt.domain)
			if !out.LocalRule && plain.Result != out.Result {
				t.Errorf("result %v without a local match, %v without local rules", out.Result, plain.Result)
			}
		})
	}
}

// TestLocalRulesCheckHost: CheckHost is plain check_host() without them.
func TestLocalRulesCheckHost(t *testing.T) {
	t.Parallel()
	rules, err := spf.ParseLocalRules("ip4:203.0.113.2")
	if err != nil {
		t.Fatal(err)
	}
	c := &spf.Checker{Resolver: localRulesZone(), LocalRules: rules}
	out, _ := c.CheckHost(context.Background(), netip.MustParseAddr("203.0.113.2"), "deny.example", "a@deny.example")
	if out.Result != spf.Fail || out.LocalRule {
		t.Errorf("CheckHost = %v (local rule %v), want fail by the record", out.Result, out.LocalRule)
	}
}

func TestParseLocalRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string // String(); "" for an error
		errTerm string
	}{
		{in: "ip4:203.0.113.2 a:relay.example.net include:spf.antispam.example",
			want: "v=spf1 ip4:203.0.113.2 a:relay.example.net include:spf.antispam.example"},
		{in: "v=spf1 -ip6:2001:db8::/32", want: "v=spf1 -ip6:2001:db8::/32"},
		{in: "  ?exists:%{i}.allow.example  ", want: "v=spf1 ?exists:%{i}.allow.example"},
		{in: "", want: "v=spf1"},
		{in: "ip4:203.0.113.2 -all", errTerm: "-all"},
		{in: "redirect=example.com", errTerm: "redirect=example.com"},
		{in: "exp=why.example.com", errTerm: "exp=why.example.com"},
		{in: "ip4:192.0.2.1/33", errTerm: "ip4:192.0.2.1/33"},
		{in: "a:%{z}.example", errTerm: "a:%{z}.example"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := spf.ParseLocalRules(tt.in)
			if tt.want != "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := r.String(); got != tt.want {
					t.Errorf("String() = %q, want %q", got, tt.want)
				}
				return
			}
			var se *spf.SyntaxError
			if !errors.Is(err, spf.ErrSyntax) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if se.Term != tt.errTerm {
				t.Errorf("error term %q, want %q", se.Term, tt.errTerm)
			}
		})
	}
}

// TestLocalRulesTrace: the trace names a local term as one.
func TestLocalRulesTrace(t *testing.T) {
	t.Parallel()
	rules, err := spf.ParseLocalRules("ip4:203.0.113.2")
	if err != nil {
		t.Fatal(err)
	}
	var terms []string
	c := &spf.Checker{Resolver: localRulesZone(), LocalRules: rules, Trace: func(ev spf.Event) {
		if ev.Kind == spf.EventTerm {
			terms = append(terms, fmt.Sprintf("%s %v", ev.Term, ev.Matched))
		}
	}}
	if _, err := c.Check(context.Background(), netip.MustParseAddr("203.0.113.2"), "", "a@deny.example"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"local rule ip4:203.0.113.2 true"}, terms); diff != "" {
		t.Errorf("term events (-want +got):\n%s", diff)
	}
}
