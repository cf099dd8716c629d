package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// A receiver whose antispam gateway (203.0.113.2) relays mail: the local
// rules let the gateway pass where a record would otherwise fail it, and
// a published fail stays fail for everyone else.
func ExampleParseLocalRules() {
	rules, err := spf.ParseLocalRules("ip4:203.0.113.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	c := &spf.Checker{Resolver: zone, LocalRules: rules}
	for _, ip := range []string{"203.0.113.2", "198.51.100.7"} {
		out, _ := c.Check(context.Background(), netip.MustParseAddr(ip), "mail.example.com", "alice@example.com")
		fmt.Println(ip, out.Result, out.Mechanism, out.LocalRule)
	}
	// Output:
	// 203.0.113.2 pass ip4:203.0.113.2 true
	// 198.51.100.7 fail -all false
}

// A trusted relay is not checked at all, and every policy accepts it.
func ExampleChecker_trustedRelays() {
	c := &spf.Checker{
		Resolver:      &spftest.Zone{},
		TrustedRelays: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}
	out, _ := c.Check(context.Background(), netip.MustParseAddr("10.1.2.3"), "mx2.example.net", "alice@example.com")
	v := spf.Policy{MailFrom: spf.RejectNotPass}.Verdict(nil, &out)
	fmt.Println(out.Result, "/", out.Skipped, "/", v.Action)
	// Output:
	// none / trusted relay 10.0.0.0/8 / accept
}

// Report-only: log what SPF would reject before enforcing it.
func ExamplePolicy_reportOnly() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 -all")
	out, _ := (&spf.Checker{Resolver: zone}).Check(context.Background(), netip.MustParseAddr("198.51.100.7"), "mail.example.com", "alice@example.com")
	v := spf.Policy{ReportOnly: true}.Verdict(nil, &out)
	fmt.Println(v.Action, "but would", v.Would)
	fmt.Print(strings.ReplaceAll(v.WouldReply(), "\r\n", "\n"))
	// Output:
	// accept but would reject
	// 550-5.7.23 SPF MAIL FROM check failed:
	// 550 5.7.23 example.com does not designate 198.51.100.7 as permitted sender
}
