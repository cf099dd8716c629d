package spf_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// BenchmarkPrefetchIdle runs checks one at a time through a DNSResolver
// against the spftest server answering at once, over the latency zones'
// no-match clients, with prefetching on and off: at that speed the
// pacing gate lets a check prefetch only when an answer is slow (a busy
// machine; prefetches/check counts them), and the rest of what
// prefetching on costs beyond off is the prefetcher's overhead. Compare
// allocs/op and cpu-µs/check of the two modes.
func BenchmarkPrefetchIdle(b *testing.B) {
	ctx := context.Background()
	for _, sc := range latencyScenarios {
		z := loadLatencyZone(b, sc.zone)
		srv := spftest.NewServer(b, z)
		ip := netip.MustParseAddr(sc.clients[2])
		name := strings.TrimSuffix(sc.zone, ".zone")
		for _, mode := range prefetchModes {
			noPrefetch := mode.noPrefetch
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				res := &spf.DNSResolver{Servers: []string{srv.Addr}, Timeout: 2 * time.Second}
				c := &spf.Checker{Resolver: res, NoPrefetch: noPrefetch}
				c.Check(ctx, ip, "client.example", sc.sender) // measure the round trips
				b.ReportAllocs()
				cpu, cpuOK := processCPU()
				for b.Loop() {
					c.Check(ctx, ip, "client.example", sc.sender)
				}
				if end, ok := processCPU(); cpuOK && ok {
					b.ReportMetric(float64(end-cpu)/float64(b.N)/1000, "cpu-µs/check")
				}
				b.ReportMetric(float64(spf.DNSResolverPrefetches(res))/float64(b.N), "prefetches/check")
			})
		}
	}
}
