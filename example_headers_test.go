package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// unfold joins a folded header field into one line, for printing.
func unfold(field string) string {
	return strings.ReplaceAll(field, "\r\n\t", " ")
}

// The trace header fields of a check, written at SMTP time and added to
// the message once it is accepted. They are folded with CRLF and a tab;
// unfold shows them on one line.
func ExampleOutcome_ReceivedSPF() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")

	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.org"}
	out, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "mail.example.com", "alice@example.com")
	fmt.Println(unfold(out.ReceivedSPF()))

	// Whatever the client sends, the field stays one field with the same
	// keys.
	out, _ = c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "x\r\nX-Evil: 1; receiver=forged", "alice@example.com")
	fmt.Println(unfold(out.ReceivedSPF()))
	// Output:
	// Received-SPF: pass (mx.example.org: domain of example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="alice@example.com"; helo=mail.example.com; receiver=mx.example.org; identity=mailfrom; mechanism="ip4:192.0.2.0/24"
	// Received-SPF: pass (mx.example.org: domain of example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="alice@example.com"; helo="x  X-Evil: 1; receiver=forged"; receiver=mx.example.org; identity=mailfrom; mechanism="ip4:192.0.2.0/24"
}

// One Authentication-Results field reports both identities.
func ExampleAuthenticationResults() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	zone.AddTXT("mail.example.com", "v=spf1 a -all")
	zone.AddIP("mail.example.com", netip.MustParseAddr("192.0.2.1"))

	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.org"}
	ip := netip.MustParseAddr("192.0.2.1")
	helo, _ := c.CheckHELO(context.Background(), ip, "mail.example.com")
	mailFrom, _ := c.Check(context.Background(), ip, "mail.example.com", "alice@example.com")
	fmt.Println(strings.ReplaceAll(spf.AuthenticationResults("mx.example.org", &mailFrom, &helo), "\r\n\t", "\n    "))
	// Output:
	// Authentication-Results: mx.example.org;
	//     spf=pass (mx.example.org: domain of example.com designates 192.0.2.1 as
	//     permitted sender) smtp.mailfrom=alice@example.com;
	//     spf=pass (mx.example.org: domain of mail.example.com designates 192.0.2.1 as
	//     permitted sender) smtp.helo=mail.example.com
}

// A Policy turns the checks of a transaction into a reply: here a fail,
// rejected with the domain's own explanation, and a temperror, deferred.
func ExamplePolicy_Verdict() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all exp=why.example.com")
	zone.AddTXT("why.example.com", "%{i} is not one of %{d}'s mail servers")
	zone.SetTimeout("down.example")

	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.org"}
	ip := netip.MustParseAddr("198.51.100.7")
	var p spf.Policy // reject fail, defer temperror
	for _, sender := range []string{"alice@example.com", "bob@down.example"} {
		out, _ := c.Check(context.Background(), ip, "mail.example.net", sender)
		v := p.Verdict(nil, &out)
		fmt.Printf("%s: %s\n%s", sender, v.Action, strings.ReplaceAll(v.Reply(), "\r\n", "\n"))
	}
	// Output:
	// alice@example.com: reject
	// 550-5.7.23 SPF MAIL FROM check failed:
	// 550-5.7.23 The domain example.com explains:
	// 550 5.7.23 198.51.100.7 is not one of example.com's mail servers
	// bob@down.example: defer
	// 451-4.7.24 SPF MAIL FROM check failed with a temporary error, try again later:
	// 451 4.7.24 temporary error in processing during lookup of down.example
}

// WhyExplanation, as the Checker's default explanation, points the sender
// of a fail the domain does not explain at the SPF project's "Why?" page.
func ExamplePolicy_Verdict_why() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")

	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.org", DefaultExplanation: spf.WhyExplanation}
	out, _ := c.Check(context.Background(), netip.MustParseAddr("198.51.100.7"), "mail.example.net", "alice@example.com")
	var p spf.Policy
	v := p.Verdict(nil, &out)
	fmt.Print(strings.ReplaceAll(v.Reply(), "\r\n", "\n"))
	// Output:
	// 550-5.7.23 SPF MAIL FROM check failed:
	// 550-5.7.23 example.com does not designate 198.51.100.7 as permitted sender; see
	// 550 5.7.23 https://www.open-spf.org/Why?id=alice%40example.com&ip=198.51.100.7&r=mx.example.org
}
