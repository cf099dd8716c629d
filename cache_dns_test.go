package spf_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestCacheFailureOverDNS checks, counting queries at the server, that a
// name whose server does not answer is asked once by many checks within
// the Cache's FailureTTL, and again after it (RFC 9520 section 3.2).
func TestCacheFailureOverDNS(t *testing.T) {
	t.Parallel()
	zone := &spftest.Zone{}
	zone.AddTXT("live.example", "v=spf1 ip4:192.0.2.1 -all")
	srv := spftest.NewServer(t, zone)
	srv.SetFault("dead.example", spftest.Fault{Drop: true})
	cache := &spf.Cache{Resolver: srv.Resolver(100 * time.Millisecond), FailureTTL: spf.MinFailureTTL}
	c := &spf.Checker{Resolver: cache}
	ip := netip.MustParseAddr("192.0.2.1")
	check := func(sender string, want spf.Result) {
		t.Helper()
		out, _ := c.Check(context.Background(), ip, "h.example", sender)
		if out.Result != want {
			t.Errorf("check of %s: %v, want %v", sender, out.Result, want)
		}
	}
	start := time.Now()
	const checks = 20
	var failed time.Time // when the first failure was kept
	var first int        // the queries of the first lookup (with resends)
	for i := range checks {
		check("a@dead.example", spf.TempError)
		if i == 0 {
			failed = time.Now()
			first = srv.Count("dead.example", spf.TypeTXT)
		}
		check("a@live.example", spf.Pass)
	}
	if elapsed := time.Since(start); elapsed >= spf.MinFailureTTL {
		t.Fatalf("%d checks took %v, longer than the failure TTL: the test proves nothing", checks, elapsed)
	}
	// A lookup may send its query more than once (DNSResolver resends a
	// lost UDP query); what counts is that no later check looks it up.
	if n := srv.Count("dead.example", spf.TypeTXT); first == 0 || n != first {
		t.Errorf("%d queries for the dead name from %d checks, want those of the first lookup (%d)", n, checks, first)
	}
	time.Sleep(time.Until(failed.Add(spf.MinFailureTTL + 50*time.Millisecond)))
	check("a@dead.example", spf.TempError)
	if n := srv.Count("dead.example", spf.TypeTXT); n <= first {
		t.Errorf("%d queries for the dead name after the failure TTL, want more than %d", n, first)
	}
}
