// Package readme holds the code of the README's section "For MTA
// authors" so that it is compiled and run, and cannot drift from the API:
// TestREADME checks that the README's code block is the region between
// the markers below, byte for byte once the indentation both have in
// common is removed, and TestCheckMailFrom runs it against a DNS server of
// package spftest.
package readme

import (
	"context"
	"net/netip"

	"github.com/emersion/go-smtp"
	"github.com/spf-go/spf"
)

// README:begin
// Once per server: the Cache answers repeated queries from memory. dnsServer
// is a recursive resolver you trust, such as "127.0.0.1:53".
func newChecker(dnsServer string) *spf.Checker {
	return &spf.Checker{
		Resolver:           &spf.Cache{Resolver: &spf.DNSResolver{Servers: []string{dnsServer}}},
		Receiver:           "mx.example.org",
		DefaultExplanation: spf.WhyExplanation,
	}
}

// At MAIL FROM (go-smtp's Session.Mail): check both identities (the HELO
// check can be made at HELO instead, once per HELO name) and refuse what the
// policy refuses right there. The zero spf.Policy rejects fail, defers
// temperror, and rejects a HELO fail on its own.
func checkMailFrom(ctx context.Context, checker *spf.Checker, policy spf.Policy,
	clientIP netip.Addr, heloName, sender string) (traceFields []string, err error) {
	helo, _ := checker.CheckHELO(ctx, clientIP, heloName)
	mailFrom, _ := checker.Check(ctx, clientIP, heloName, sender) // sender "" for MAIL FROM:<>
	if v := policy.Verdict(&helo, &mailFrom); v.Action != spf.Accept {
		return nil, &smtp.SMTPError{
			Code:         v.Code,                            // 550 or 451
			EnhancedCode: smtp.EnhancedCode(v.EnhancedCode), // 5.7.23, 5.7.1, 5.7.24, 4.7.24, 4.3.0
			Message:      v.Message(),                       // the enhanced code on every line
		}
	}
	// Once the message is accepted, write these above its header: one
	// Authentication-Results and one Received-SPF field, each identity once,
	// also for a bounce (MAIL FROM:<>), whose check is that of the HELO name.
	return spf.TraceHeaders(checker.Receiver, &helo, &mailFrom), nil
}

// README:end
