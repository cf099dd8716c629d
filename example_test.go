package spf_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// A Checker with an in-memory zone, as a test of a mail server would use.
func ExampleChecker_Check() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all exp=why.example.com")
	zone.AddTXT("_spf.example.net", "v=spf1 ip6:2001:db8::/32 ~all")
	zone.AddTXT("why.example.com", "%{i} is not one of %{d}'s mail servers")

	c := &spf.Checker{Resolver: zone}
	for _, ip := range []string{"192.0.2.25", "2001:db8::25", "198.51.100.7"} {
		out, err := c.Check(context.Background(), netip.MustParseAddr(ip), "mail.example.com", "alice@example.com")
		fmt.Printf("%s: %s by %q (%d lookups)", ip, out.Result, out.Mechanism, out.Lookups)
		if out.Result == spf.Fail {
			fmt.Printf(": %s", out.Explanation)
		}
		if err != nil {
			fmt.Printf(" error: %v", err)
		}
		fmt.Println()
	}
	// Output:
	// 192.0.2.25: pass by "ip4:192.0.2.0/24" (0 lookups)
	// 2001:db8::25: pass by "include:_spf.example.net" (1 lookups)
	// 198.51.100.7: fail by "-all" (1 lookups): 198.51.100.7 is not one of example.com's mail servers
}

// Errors are classified with errors.Is; the result is always set.
func ExampleChecker_Check_errors() {
	zone := &spftest.Zone{}
	zone.AddTXT("broken.example", "v=spf1 ip4:192.0.2.1/33 -all")
	zone.AddTXT("loop.example", "v=spf1 include:loop.example -all")
	zone.SetTimeout("down.example")

	c := &spf.Checker{Resolver: zone}
	ip := netip.MustParseAddr("192.0.2.1")
	for _, sender := range []string{"a@broken.example", "a@loop.example", "a@down.example"} {
		out, err := c.Check(context.Background(), ip, "", sender)
		var syntax *spf.SyntaxError
		switch {
		case errors.As(err, &syntax):
			fmt.Printf("%s: %s: bad term %q\n", sender, out.Result, syntax.Term)
		case errors.Is(err, spf.ErrTooManyLookups):
			fmt.Printf("%s: %s: too many lookups\n", sender, out.Result)
		case errors.Is(err, spf.ErrDNS):
			fmt.Printf("%s: %s: DNS failed\n", sender, out.Result)
		}
	}
	// Output:
	// a@broken.example: permerror: bad term "ip4:192.0.2.1/33"
	// a@loop.example: permerror: too many lookups
	// a@down.example: temperror: DNS failed
}

// The trace hook sees each step of an evaluation.
func ExampleChecker_trace() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.org", "v=spf1 a:mail.example.org -all")
	zone.AddIP("mail.example.org", netip.MustParseAddr("192.0.2.10"))

	c := &spf.Checker{Resolver: zone, Trace: func(ev spf.Event) {
		indent := strings.Repeat("  ", ev.Depth)
		switch ev.Kind {
		case spf.EventQuery:
			fmt.Printf("%squery %s %s: %d records\n", indent, ev.Type, ev.Name, ev.Response.Len())
		case spf.EventRecord:
			fmt.Printf("%srecord %s: %s\n", indent, ev.Domain, ev.Record)
		case spf.EventTerm:
			fmt.Printf("%sterm %s matched=%v (lookups %d)\n", indent, ev.Term, ev.Matched, ev.Lookups)
		case spf.EventResult:
			fmt.Printf("%sresult %s: %s\n", indent, ev.Domain, ev.Result)
		}
	}}
	c.Check(context.Background(), netip.MustParseAddr("192.0.2.10"), "mail.example.org", "bob@example.org")
	// Output:
	// query TXT example.org: 1 records
	// record example.org: v=spf1 a:mail.example.org -all
	// query A mail.example.org: 1 records
	// term a:mail.example.org matched=true (lookups 1)
	// result example.org: pass
}

func ExampleParse() {
	r, err := spf.Parse("v=spf1 +MX a:mail.example.com/24 include:_spf.example.net ~ALL")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range r.Terms {
		fmt.Printf("%-8s %c %q queries DNS: %v\n", t.Kind, t.Qualifier, t.Domain, t.Kind.QueriesDNS())
	}
	fmt.Println(r)

	_, err = spf.Parse("v=spf1 a:example.com/24 ip4:192.0.2.300 -all")
	fmt.Println(err)
	// Output:
	// mx       + "" queries DNS: true
	// a        + "mail.example.com" queries DNS: true
	// include  + "_spf.example.net" queries DNS: true
	// all      ~ "" queries DNS: false
	// v=spf1 mx a:mail.example.com/24 include:_spf.example.net ~all
	// spf: syntax error in term "ip4:192.0.2.300" at offset 24: invalid ip4 address "192.0.2.300"
}

func ExampleParseZone() {
	zone, err := spftest.ParseZone(strings.NewReader(`
$ORIGIN example.net.
@        TXT "v=spf1 mx -all"
@        MX  10 mx1
mx1      A   198.51.100.20
`), "", "example.zone")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &spf.Checker{Resolver: zone}
	out, _ := c.Check(context.Background(), netip.MustParseAddr("198.51.100.20"), "mx1.example.net", "carol@example.net")
	fmt.Println(out.Result, out.Mechanism)
	// Output: pass mx
}
