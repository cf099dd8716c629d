package spf_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/spf-go/spf"
)

// TestDNSResolverCaseFoldingServer checks that a DNSResolver works with a
// server that does not keep the case of the question (it lower-cases it),
// which DNS 0x20 relies on: the first lookup's randomised query is not
// trusted, and from then on the resolver asks without 0x20 and gets its
// answers.
func TestDNSResolverCaseFoldingServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var queries atomic.Int32
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(req)
		m.Question[0].Name = strings.ToLower(m.Question[0].Name)
		m.Answer = append(m.Answer, &dns.TXT{
			Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
			Txt: []string{"v=spf1 -all"},
		})
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	<-started

	r := &spf.DNSResolver{Servers: []string{pc.LocalAddr().String()}, Timeout: 300 * time.Millisecond, Attempts: 2}
	const name = "a-long-name-with-many-letters.example"
	for i := range 3 {
		resp, err := r.Lookup(context.Background(), name, spf.TypeTXT)
		if err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
		if len(resp.TXT) != 1 || resp.TXT[0] != "v=spf1 -all" {
			t.Fatalf("lookup %d: TXT %q", i, resp.TXT)
		}
	}
	// The first lookup's first query went unanswered as far as the
	// resolver is concerned (its answer changed the case); every query
	// after it was answered at once.
	if n := queries.Load(); n > 6 {
		t.Errorf("%d queries for 3 lookups: the resolver did not stop using 0x20", n)
	}
}
