package spf_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// dnsBenchZone is the zone of BenchmarkCheckDNS: mx, then an include
// chain two deep, as a small business publishes it.
const dnsBenchZone = `
$ORIGIN .
$TTL 300
chain.example.org.     TXT "v=spf1 mx include:_spf.example.org -all"
chain.example.org.     MX  10 mx1.example.org.
chain.example.org.     MX  20 mx2.example.org.
mx1.example.org.       A   192.0.2.10
mx2.example.org.       A   192.0.2.11
_spf.example.org.      TXT "v=spf1 ip4:198.51.100.0/24 include:_spf2.example.org ~all"
_spf2.example.org.     TXT "v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 -all"
`

// BenchmarkCheckDNS runs whole checks through DNSResolver over loopback
// DNS against an spftest.Server: cold (every query sent), warm (through
// a primed Cache), and both from many goroutines at once. It reports the
// queries the server received per check and checks per second.
func BenchmarkCheckDNS(b *testing.B) {
	srv := spftest.NewServerFromText(b, dnsBenchZone)
	ip := netip.MustParseAddr("203.0.113.5") // matches late: every query
	ctx := context.Background()
	run := func(b *testing.B, c *spf.Checker, parallel bool) {
		if out, err := c.Check(ctx, ip, "mail.example.net", "alice@chain.example.org"); out.Result != spf.Pass {
			b.Fatalf("Check = %v, %v; want pass", out.Result, err)
		}
		srv.ResetLog()
		b.ReportAllocs()
		b.ResetTimer()
		check := func() {
			if out, err := c.Check(ctx, ip, "mail.example.net", "alice@chain.example.org"); out.Result != spf.Pass {
				b.Errorf("Check = %v, %v; want pass", out.Result, err)
			}
		}
		if parallel {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					check()
				}
			})
		} else {
			for range b.N {
				check()
			}
		}
		b.ReportMetric(float64(srv.Total())/float64(b.N), "queries/check")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	}
	res := srv.Resolver(2 * time.Second)
	b.Run("cold", func(b *testing.B) { run(b, &spf.Checker{Resolver: res}, false) })
	b.Run("warm", func(b *testing.B) { run(b, &spf.Checker{Resolver: &spf.Cache{Resolver: res}}, false) })
	b.Run("cold-parallel", func(b *testing.B) { run(b, &spf.Checker{Resolver: res}, true) })
	b.Run("warm-parallel", func(b *testing.B) { run(b, &spf.Checker{Resolver: &spf.Cache{Resolver: res}}, true) })
}
