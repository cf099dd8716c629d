package spf_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// loadBenchZone reads testdata/bench.zone, the zone of the CPU and DNS
// benchmarks, which the bench/ module shares: mx, then an include chain
// two deep, as a small business publishes it, and a record of networks.
func loadBenchZone() (*spftest.Zone, error) {
	f, err := os.Open(filepath.Join("testdata", "bench.zone"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return spftest.ParseZone(f, "", "bench.zone")
}

// BenchmarkCheckDNS runs whole checks through DNSResolver over loopback
// DNS against an spftest.Server: cold (every query sent), warm (through
// a primed Cache), and both from many goroutines at once. It reports the
// queries the server received per check and checks per second.
func BenchmarkCheckDNS(b *testing.B) {
	zone, err := loadBenchZone()
	if err != nil {
		b.Fatal(err)
	}
	srv := spftest.NewServer(b, zone)
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
