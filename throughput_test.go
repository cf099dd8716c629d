package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// throughputCopies is how many copies of a latency zone BenchmarkThroughput
// serves, each under its own names, so that no two checks in flight share
// a query: DNSResolver merges identical Lookups in flight, and checks of
// one sender would leave the server a fraction of a query per check.
const throughputCopies = 4096

// exampleLabel matches the label "example", the top of every name in
// testdata/latency.
var exampleLabel = regexp.MustCompile(`\bexample\b`)

// copyName returns name (a zone's name, or a sender) as copy i has it: a
// label of digits put before "example", which keeps the name's letters,
// and so whether DNSResolver sends its queries from a pooled socket or a
// new one (see DNSResolver).
func copyName(name string, i int) string {
	return exampleLabel.ReplaceAllLiteralString(name, fmt.Sprintf("%d.example", i))
}

// copiedLatencyZone returns one zone holding n copies of the latency zone
// file name, copy i under the names copyName gives.
func copiedLatencyZone(tb testing.TB, name string, n int) *spftest.Zone {
	tb.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "latency", name))
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for i := range n {
		b.WriteString(copyName(string(text), i))
		b.WriteByte('\n')
	}
	z, err := spftest.ParseZone(strings.NewReader(b.String()), "", name)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// copyClient returns the client of copy i's checks: an address of
// 198.18.0.0/15 (RFC 2544), which no latency zone authorises, distinct
// for each copy since it is part of the names of PTR queries and of
// exists:%{i} terms.
func copyClient(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
}

// BenchmarkThroughput runs checks from 64 goroutines through one
// DNSResolver (no Cache) against the spftest server answering at once,
// with the UDP receive buffer the kernel gives a socket by default
// (net.core.rmem_default on Linux; spftest does not change it), over the
// latency zones, with prefetching on and off: the load of a busy receiver
// on its local resolver (issue 16). Each check has a sender of its own
// (one of throughputCopies copies of the zone) and a client that matches
// nothing, so that it sends every query of its evaluation: no two checks
// in flight share one.
//
// It reports checks per second, the process's CPU time per check (client
// and server), queries per check (at the server), the checks that did not
// get their answer (temperror: a datagram lost, waited out), the UDP
// queries sent again per check (a datagram lost, or an answer slower than
// the RTO), the prefetch queries per check, and the UDP datagrams the
// kernel dropped for want of room in a receive buffer (RcvbufErrors of
// /proc/net/snmp, where there is one: over the whole network namespace,
// other processes' sockets included).
func BenchmarkThroughput(b *testing.B) {
	ctx := context.Background()
	for _, sc := range latencyScenarios {
		z := copiedLatencyZone(b, sc.zone, throughputCopies)
		srv := spftest.NewServer(b, z)
		name := strings.TrimSuffix(sc.zone, ".zone")
		for _, mode := range prefetchModes {
			noPrefetch := mode.noPrefetch
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				res := &spf.DNSResolver{Servers: []string{srv.Addr}, Timeout: 2 * time.Second, Attempts: 2}
				c := &spf.Checker{Resolver: res, NoPrefetch: noPrefetch}
				check := func(i int) spf.Outcome {
					i %= throughputCopies
					out, _ := c.Check(ctx, copyClient(i), "client.example", copyName(sc.sender, i))
					return out
				}
				want := check(0)
				if want.Result == spf.TempError || want.Result == spf.PermError {
					b.Fatalf("copy 0: %v", want.Result)
				}
				var temp, next atomic.Int64
				next.Store(1)
				before, retries, prefetches := srv.Total(), spf.DNSResolverRetries(res), spf.DNSResolverPrefetches(res)
				drops, dropsOK := udpReceiveDrops()
				b.SetParallelism(max(1, 64/runtimeProcs())) // 64 goroutines
				b.ResetTimer()
				cpu, cpuOK := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						out := check(int(next.Add(1)))
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
				b.ReportMetric(float64(spf.DNSResolverRetries(res)-retries)/float64(b.N), "resends/check")
				b.ReportMetric(float64(spf.DNSResolverPrefetches(res)-prefetches)/float64(b.N), "prefetches/check")
				if end, ok := udpReceiveDrops(); dropsOK && ok {
					b.ReportMetric(float64(end-drops), "rcvbuf-drops")
				}
			})
		}
	}
}

// TestThroughputCopies checks the zone copies of BenchmarkThroughput:
// copy i gives the check of the original zone's client that matches
// nothing, with the same queries under its own names.
func TestThroughputCopies(t *testing.T) {
	for _, sc := range latencyScenarios {
		t.Run(sc.zone, func(t *testing.T) {
			orig := loadLatencyZone(t, sc.zone)
			copies := copiedLatencyZone(t, sc.zone, 3)
			ip := netip.MustParseAddr(sc.clients[2])
			_, wantQueries := criticalPath(t, orig, ip, sc.sender)
			want, _ := (&spf.Checker{Resolver: orig, NoPrefetch: true}).Check(context.Background(), ip, "client.example", sc.sender)
			for i := range 3 {
				sender := copyName(sc.sender, i)
				_, queries := criticalPath(t, copies, copyClient(i), sender)
				got, _ := (&spf.Checker{Resolver: copies, NoPrefetch: true}).Check(context.Background(), copyClient(i), "client.example", sender)
				if got.Result != want.Result || got.Lookups != want.Lookups || queries != wantQueries {
					t.Errorf("copy %d: %v, %d lookups, %d queries; original %v, %d, %d", i, got.Result, got.Lookups, queries, want.Result, want.Lookups, wantQueries)
				}
			}
		})
	}
}

// udpReceiveDrops returns the RcvbufErrors counter of the Udp line of
// /proc/net/snmp: datagrams dropped for want of room in a socket's
// receive buffer. ok is false where it cannot be read.
func udpReceiveDrops() (n int64, ok bool) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, false
	}
	var header []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, name := range header {
			if name == "RcvbufErrors" && i < len(f) {
				n, err := strconv.ParseInt(f[i], 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

// runtimeProcs is GOMAXPROCS, which b.SetParallelism multiplies.
func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
