package received_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/received"
	"github.com/spf-go/spf/spftest"
)

// A filter behind the MTA finds the hop that crossed into the network
// 10.0.0.0/8 and checks SPF for it; the forged Received field below the
// border does not count.
func Example() {
	const message = "Return-Path: <alice@example.com>\r\n" +
		"Received: from mx.receiver.example (mx.receiver.example [10.0.0.1])\r\n" +
		"\tby hub.receiver.example (Postfix) with ESMTP id H1;\r\n" +
		"\tWed, 2 Dec 2026 10:00:02 +0000\r\n" +
		"Received: from mail.example.com (unknown [198.51.100.7])\r\n" +
		"\tby mx.receiver.example (Postfix) with ESMTP id B1;\r\n" +
		"\tWed, 2 Dec 2026 10:00:01 +0000\r\n" +
		"Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n" +
		"\tby forged.example; Wed, 2 Dec 2026 09:00:00 +0000\r\n" +
		"Subject: hello\r\n\r\nbody\r\n"

	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	az := &received.Analyzer{
		Internal: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Checker:  &spf.Checker{Resolver: zone},
	}
	a, err := az.AnalyzeMessage(context.Background(), strings.NewReader(message))
	if err != nil {
		fmt.Println(err)
		return
	}
	hop, _ := a.BorderHop()
	fmt.Println("border:", a.Border, hop.IP, hop.HELO)
	fmt.Println("result:", a.Outcome.Result, "from", a.Source)
	// Output:
	// border: 1 198.51.100.7 mail.example.com
	// result: fail from check
}

// ParseReceived reduces a Received field to its hop.
func ExampleParseReceived() {
	h, err := received.ParseReceived("Received: from mail.example.net ([203.0.113.5] helo=out.example.net)\r\n" +
		"\tby mx.receiver.example with esmtps (Exim 4.96)\r\n" +
		"\t(envelope-from <a@example.net>) id 1tBcDe-000AbC-1x; Wed, 02 Dec 2026 10:00:00 +0000")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.IP, h.RDNS, h.HELO, h.By, h.EnvelopeFrom, h.ID, h.With, h.Authenticated())
	// Output:
	// 203.0.113.5 mail.example.net out.example.net mx.receiver.example a@example.net 1tBcDe-000AbC-1x esmtps false
}

// ParseReceivedSPF reads what the Postfix policy server writes.
func ExampleParseReceivedSPF() {
	r, err := received.ParseReceivedSPF("Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=203.0.113.5;\r\n" +
		" helo=mail.example.net; envelope-from=a@example.net; receiver=bob@receiver.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Result, r.MailFrom(), r.ClientIP, r.EnvelopeFrom, r.Receiver)
	// Output:
	// pass true 203.0.113.5 a@example.net bob@receiver.example
}
