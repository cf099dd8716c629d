package spf_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// The trace fields of a bounce (MAIL FROM:<>): its MAIL FROM check is a
// check of the HELO name, so the HELO identity is recorded once, in one
// Authentication-Results field and one Received-SPF field.
func ExampleTraceHeaders() {
	zone := &spftest.Zone{}
	zone.AddTXT("mail.example.com", "v=spf1 a -all")
	zone.AddIP("mail.example.com", netip.MustParseAddr("192.0.2.1"))

	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.org"}
	ip := netip.MustParseAddr("192.0.2.1")
	helo, _ := c.CheckHELO(context.Background(), ip, "mail.example.com")
	mailFrom, _ := c.Check(context.Background(), ip, "mail.example.com", "<>")
	for _, field := range spf.TraceHeaders("mx.example.org", &helo, &mailFrom) {
		fmt.Println(unfold(field))
	}
	// Output:
	// Authentication-Results: mx.example.org; spf=pass (mx.example.org: domain of mail.example.com designates 192.0.2.1 as permitted sender) smtp.helo=mail.example.com
	// Received-SPF: pass (mx.example.org: domain of mail.example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="postmaster@mail.example.com"; helo=mail.example.com; receiver=mx.example.org; identity=helo; mechanism=a
}

// The text of a reply for go-smtp, which writes the enhanced status code
// on the last line only: Message puts it on the others, so that with
// &smtp.SMTPError{Code: v.Code, EnhancedCode: smtp.EnhancedCode(v.EnhancedCode),
// Message: v.Message()} every line of the reply carries 5.7.23.
func ExampleVerdict_Message() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")

	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.org"}
	mailFrom, _ := c.Check(context.Background(), netip.MustParseAddr("198.51.100.7"), "mail.example.com", "alice@example.com")
	v := spf.Policy{}.Verdict(nil, &mailFrom)
	fmt.Println(v.Code, v.EnhancedCode)
	fmt.Println(v.Message())
	// Output:
	// 550 [5 7 23]
	// 5.7.23 SPF MAIL FROM check failed:
	// example.com does not designate 198.51.100.7 as permitted sender
}
