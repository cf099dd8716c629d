package spf_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestDNSResolverResend checks that a UDP query left unanswered is sent
// again within the exchange, after the retransmission timeout rather than
// the Timeout: the server ignores the first copy of each query for
// "lost.example.com" and answers the second, and one attempt at one
// server gets the answer, with one resending counted.
func TestDNSResolverResend(t *testing.T) {
	var lost atomic.Int32
	addr := rawServer(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		name := strings.ToLower(req.Question[0].Name)
		if name == "lost.example.com." && lost.Add(1) == 1 {
			return // the first copy is lost
		}
		m.Answer = []dns.RR{&dns.TXT{
			Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
			Txt: []string{"v=spf1 -all"},
		}}
		w.WriteMsg(m)
	})
	res := &spf.DNSResolver{Servers: []string{addr}, Timeout: 5 * time.Second, Attempts: 1}
	ctx := context.Background()
	// A first answer measures the round trip, which sets the
	// retransmission timeout.
	if _, err := res.Lookup(ctx, "first.example.com", spf.TypeTXT); err != nil {
		t.Fatal(err)
	}
	resp, err := res.Lookup(ctx, "lost.example.com", spf.TypeTXT)
	if err != nil || resp.Len() != 1 {
		t.Fatalf("Lookup = %v, %v; want the answer to the second copy", resp, err)
	}
	if n := lost.Load(); n != 2 {
		t.Errorf("the server got %d copies of the query, want 2", n)
	}
	if n := spf.DNSResolverRetries(res); n != 1 {
		t.Errorf("%d resendings counted, want 1", n)
	}
}

// TestDNSResolverMerges checks that identical Lookups in flight at once
// share one query, that a waiter whose context ends stops waiting without
// ending the others', and that Lookups of another type are not merged.
func TestDNSResolverMerges(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	var queries sync.Map // name/type -> *atomic.Int32
	addr := rawServer(t, func(w dns.ResponseWriter, req *dns.Msg) {
		q := req.Question[0]
		n, _ := queries.LoadOrStore(strings.ToLower(q.Name)+dns.TypeToString[q.Qtype], new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		<-release
		m := new(dns.Msg)
		m.SetReply(req)
		if q.Qtype == dns.TypeTXT {
			m.Answer = []dns.RR{&dns.TXT{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: []string{"v=spf1 -all"},
			}}
		}
		w.WriteMsg(m)
	})
	t.Cleanup(free) // run before the server's shutdown, which waits for handlers
	count := func(key string) int32 {
		if n, ok := queries.Load(key); ok {
			return n.(*atomic.Int32).Load()
		}
		return 0
	}
	res := &spf.DNSResolver{Servers: []string{addr}, Timeout: 10 * time.Second, Attempts: 1}
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n+2)
	lookup := func(ctx context.Context, typ spf.RRType) {
		defer wg.Done()
		resp, err := res.Lookup(ctx, "merged.example.com", typ)
		if err == nil && typ == spf.TypeTXT && resp.Len() != 1 {
			err = errors.New("no record")
		}
		errs <- err
	}
	wg.Add(1)
	go lookup(ctx, spf.TypeTXT)
	waitFor(t, func() bool { return count("merged.example.com.TXT") == 1 })
	wg.Add(n - 1)
	for range n - 1 {
		go lookup(ctx, spf.TypeTXT)
	}
	cctx, cancel := context.WithCancel(ctx)
	wg.Add(1)
	go lookup(cctx, spf.TypeTXT)
	waitFor(t, func() bool { return spf.DNSResolverWaiting(res) == n })
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled waiter got %v, want context.Canceled", err)
	}
	wg.Add(1)
	go lookup(ctx, spf.TypeMX) // another type: a query of its own
	waitFor(t, func() bool { return count("merged.example.com.MX") == 1 })
	free()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := count("merged.example.com.TXT"); got != 1 {
		t.Errorf("%d TXT queries for %d identical Lookups, want 1", got, n)
	}
}

// waitFor waits until cond holds, failing the test after 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("condition not met in 10s")
		}
	}
}

// TestDNSResolverIPv6Server checks queries to a server on an IPv6
// address, from new sockets (a short name) and pooled ones.
func TestDNSResolverIPv6Server(t *testing.T) {
	z, err := spftest.ParseZone(strings.NewReader(resolverZone), "", "zone text")
	if err != nil {
		t.Fatal(err)
	}
	z.AddTXT("_long_name_with_letters.example.com", "v=spf1 -all")
	srv, err := spftest.StartServerAt("[::1]:0", z)
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer srv.Close()
	res := srv.Resolver(time.Second)
	for range 3 {
		for _, name := range []string{"example.com", "_long_name_with_letters.example.com"} {
			if resp, err := res.Lookup(context.Background(), name, spf.TypeTXT); err != nil || resp.Len() != 1 {
				t.Errorf("Lookup(%q) = %v, %v", name, resp, err)
			}
		}
	}
}
