package spf_test

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// BenchmarkThroughput runs checks from 64 goroutines through one
// DNSResolver (no Cache) against the spftest server answering at once,
// over the latency zones, with prefetching on and off: the load of a busy
// receiver on its local resolver (issue 16). It reports checks per second,
// the process's CPU time per check (client and server),
// queries per check, the checks that did not get their answer
// (temperror: a datagram lost, waited out) and the UDP queries sent again
// per check (a datagram lost, or an answer slower than the RTO).
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	for _, sc := range latencyScenarios {
		z := loadLatencyZone(b, sc.zone)
		srv := spftest.NewServer(b, z)
		ip := netip.MustParseAddr(sc.clients[2]) // no match: every query
		name := strings.TrimSuffix(sc.zone, ".zone")
		for _, noPrefetch := range []bool{false, true} {
			mode := "prefetch"
			if noPrefetch {
				mode = "sequential"
			}
			b.Run(name+"/"+mode, func(b *testing.B) {
				res := &spf.DNSResolver{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 2}
				c := &spf.Checker{Resolver: res, NoPrefetch: noPrefetch}
				want, _ := c.Check(ctx, ip, "client.example", sc.sender)
				var temp atomic.Int64
				before := srv.Total()
				b.SetParallelism(max(1, 64/runtimeProcs())) // 64 goroutines
				b.ResetTimer()
				cpu, cpuOK := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						out, _ := c.Check(ctx, ip, "client.example", sc.sender)
						if out.Result == spf.TempError {
							temp.Add(1)
						} else if out.Result != want.Result {
							b.Errorf("result %v, want %v", out.Result, want.Result)
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
				if end, ok := processCPU(); cpuOK && ok {
					// What a saturated machine divides its CPU by; on a
					// shared machine, steadier than checks/s.
					b.ReportMetric(float64(end-cpu)/float64(b.N)/1000, "cpu-µs/check")
				}
				b.ReportMetric(float64(srv.Total()-before)/float64(b.N), "queries/check")
				b.ReportMetric(float64(temp.Load()), "temperrors")
				b.ReportMetric(float64(spf.DNSResolverRetries(res))/float64(b.N), "resends/check")
				b.ReportMetric(float64(spf.DNSResolverPrefetches(res))/float64(b.N), "prefetches/check")
			})
		}
	}
}

// runtimeProcs is GOMAXPROCS, which b.SetParallelism multiplies.
func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
