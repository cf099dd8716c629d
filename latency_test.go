package spf_test

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// The latency scenarios of issues 6 and 16: zones in testdata/latency modelled on
// the include trees big senders publish, each with a client that matches
// early, one that matches late and one that matches nothing.
var latencyScenarios = []struct {
	zone, sender string
	clients      [3]string // early, late, none
}{
	{"google.zone", "user@gmail.mail.example", [3]string{"35.190.247.5", "35.191.3.4", "198.51.100.9"}},
	{"microsoft.zone", "user@corp.example", [3]string{"157.58.30.130", "52.247.1.1", "198.51.100.9"}},
	{"small.zone", "info@shop.example", [3]string{"198.51.100.25", "203.0.113.130", "198.51.100.9"}},
	{"mx5.zone", "a@five.example", [3]string{"192.0.2.1", "192.0.2.5", "198.51.100.9"}},
	{"kitchen.zone", "a@sink.example", [3]string{"198.51.100.1", "203.0.113.99", "198.51.100.77"}},
	{"workspace.zone", "bob@acme.example", [3]string{"35.190.247.13", "198.2.130.7", "198.51.100.9"}},
	{"m365.zone", "carol@contoso.example", [3]string{"40.107.22.5", "2001:db8:c0::25", "198.51.100.9"}},
	{"bulk.zone", "offers@news.bulk.example", [3]string{"54.240.8.1", "156.70.3.4", "198.51.100.9"}},
}

var clientNames = [3]string{"early", "late", "none"}

// prefetchModes are the two ways the benchmarks run checks: a name for
// each, and the Checker's NoPrefetch.
var prefetchModes = []struct {
	name       string
	noPrefetch bool
}{{"prefetch", false}, {"sequential", true}}

func loadLatencyZone(tb testing.TB, name string) *spftest.Zone {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "latency", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := spftest.ParseZone(f, "", name)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// criticalPath returns how many DNS round trips of a check depend on each
// other at most, from a sequential evaluation's trace: a record's TXT query
// waits for the record that includes or redirects to it, a term's query
// waits for its record, and the address queries of MX hosts (and of PTR
// names) wait for the MX (or PTR) answer. It also returns the queries the
// sequential evaluation sends.
func criticalPath(tb testing.TB, z *spftest.Zone, ip netip.Addr, sender string) (rounds, queries int) {
	tb.Helper()
	firstOfTerm := true
	c := &spf.Checker{Resolver: z, NoPrefetch: true, Trace: func(ev spf.Event) {
		switch ev.Kind {
		case spf.EventQuery:
			queries++
			level := ev.Depth + 2 // a term's own query
			switch {
			case ev.Type == spf.TypeTXT && firstOfTerm:
				level = ev.Depth + 1 // a record (or an exp= text)
			case !firstOfTerm:
				level = ev.Depth + 3 // an MX host or PTR name
			}
			rounds = max(rounds, level)
			firstOfTerm = false
		case spf.EventRecord, spf.EventTerm:
			firstOfTerm = true
		}
	}}
	c.Check(context.Background(), ip, "client.example", sender)
	return rounds, queries
}

// TestLatencyQueries checks the query counts of issue 6 without timing
// anything: with prefetching off a check sends exactly the sequential
// evaluation's queries; with it on, no fewer answers are used and at most
// the bound documented on Checker.NoPrefetch more queries are sent; and
// the outcomes are the same.
func TestLatencyQueries(t *testing.T) {
	for _, sc := range latencyScenarios {
		z := loadLatencyZone(t, sc.zone)
		for i, client := range sc.clients {
			t.Run(sc.zone+"/"+clientNames[i], func(t *testing.T) {
				ip := netip.MustParseAddr(client)
				_, seqQueries := criticalPath(t, z, ip, sc.sender)
				off := &countingResolver{zone: z}
				on := &countingResolver{zone: z, delay: time.Millisecond}
				outOff, _ := (&spf.Checker{Resolver: off, NoPrefetch: true}).Check(context.Background(), ip, "client.example", sc.sender)
				outOn, _ := (&spf.Checker{Resolver: on}).Check(context.Background(), ip, "client.example", sc.sender)
				if got := int(off.queries.Load()); got != seqQueries {
					t.Errorf("prefetching off: %d queries, sequential evaluation %d", got, seqQueries)
				}
				if extra := int(on.queries.Load()) - seqQueries; extra < 0 || extra > 10*11 {
					t.Errorf("prefetching on: %d queries, sequential %d", on.queries.Load(), seqQueries)
				}
				if outOn.Result != outOff.Result || outOn.Mechanism != outOff.Mechanism || outOn.Lookups != outOff.Lookups || outOn.VoidLookups != outOff.VoidLookups {
					t.Errorf("outcomes differ: on %+v, off %+v", outOn, outOff)
				}
				t.Logf("%s: %s, %d lookups, %d queries sequential, %d with prefetching", clientNames[i], outOn.Result, outOn.Lookups, seqQueries, on.queries.Load())
			})
		}
	}
}

// BenchmarkLatency measures the wall time of cold checks through a
// DNSResolver against the loopback spftest server, which delays every
// answer by latencyDelay, with prefetching on and off, beside the
// critical-path bound. The table at the end (go test -v) gives time /
// bound for each scenario and their geometric mean, and the queries sent
// over all scenarios against a sequential evaluation's.
func BenchmarkLatency(b *testing.B) {
	const latencyDelay = 20 * time.Millisecond
	type row struct {
		name      string
		bound     time.Duration
		on, off   time.Duration
		seqQ, onQ float64
		result    spf.Result
	}
	var rows []row
	for _, sc := range latencyScenarios {
		z := loadLatencyZone(b, sc.zone)
		srv := spftest.NewServer(b, z)
		srv.SetDelay(latencyDelay)
		for i, client := range sc.clients {
			ip := netip.MustParseAddr(client)
			rounds, seqQ := criticalPath(b, z, ip, sc.sender)
			r := row{name: strings.TrimSuffix(sc.zone, ".zone") + "/" + clientNames[i], bound: time.Duration(rounds) * latencyDelay, seqQ: float64(seqQ)}
			for _, mode := range prefetchModes {
				noPrefetch := mode.noPrefetch
				b.Run(r.name+"/"+mode.name, func(b *testing.B) {
					var total time.Duration
					var queries int64
					// No cache: every check is cold.
					c := &spf.Checker{Resolver: srv.Resolver(2 * time.Second), NoPrefetch: noPrefetch}
					for b.Loop() {
						before := srv.Total()
						start := time.Now()
						out, _ := c.Check(context.Background(), ip, "client.example", sc.sender)
						total += time.Since(start)
						queries += int64(srv.Total() - before)
						r.result = out.Result
					}
					per := total / time.Duration(b.N)
					b.ReportMetric(float64(per.Microseconds())/1000, "ms/check")
					b.ReportMetric(float64(r.bound.Microseconds())/1000, "bound-ms")
					b.ReportMetric(float64(per)/float64(r.bound), "time/bound")
					b.ReportMetric(float64(queries)/float64(b.N), "queries/check")
					if noPrefetch {
						r.off = per
					} else {
						r.on, r.onQ = per, float64(queries)/float64(b.N)
					}
				})
			}
			rows = append(rows, r)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n| scenario | result | bound | prefetch | time/bound | sequential | queries (seq) |\n|---|---|---|---|---|---|---|\n")
	logSum, worst := 0.0, 0.0
	onQ, seqQ := 0.0, 0.0
	for _, r := range rows {
		onQ += r.onQ
		seqQ += r.seqQ
		ratio := float64(r.on) / float64(r.bound)
		logSum += math.Log(ratio)
		worst = max(worst, ratio)
		fmt.Fprintf(&sb, "| %s | %s | %v | %.1fms | %.2f | %.1fms | %.1f (%.0f) |\n", r.name, r.result, r.bound,
			float64(r.on.Microseconds())/1000, ratio, float64(r.off.Microseconds())/1000, r.onQ, r.seqQ)
	}
	fmt.Fprintf(&sb, "geometric mean of time/bound %.3f, worst %.3f; queries %.1f, sequential %.0f, ratio %.3f\n",
		math.Exp(logSum/float64(len(rows))), worst, onQ, seqQ, onQ/seqQ)
	b.Log(sb.String())
}

// BenchmarkWarm runs checks from many goroutines (b.RunParallel) through
// a Cache that already holds every answer, over each latency scenario: the
// CPU-only path of a busy mail server. It reports checks per second.
func BenchmarkWarm(b *testing.B) {
	ctx := context.Background()
	for _, sc := range latencyScenarios {
		z := loadLatencyZone(b, sc.zone)
		srv := spftest.NewServer(b, z)
		for i, client := range sc.clients {
			ip := netip.MustParseAddr(client)
			name := strings.TrimSuffix(sc.zone, ".zone") + "/" + clientNames[i]
			b.Run(name, func(b *testing.B) {
				c := &spf.Checker{Resolver: &spf.Cache{Resolver: srv.Resolver(2 * time.Second)}}
				want, _ := c.Check(ctx, ip, "client.example", sc.sender)
				// Queries prefetched by a check that matched early may land
				// after it: warm until a check sends nothing.
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
					n := srv.Total()
					time.Sleep(20 * time.Millisecond)
					c.Check(ctx, ip, "client.example", sc.sender)
					if srv.Total() == n {
						break
					}
				}
				before := srv.Total()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if out, _ := c.Check(ctx, ip, "client.example", sc.sender); out.Result != want.Result {
							b.Errorf("result %v, want %v", out.Result, want.Result)
						}
					}
				})
				if n := srv.Total() - before; n != 0 {
					b.Errorf("%d queries sent with a warm cache", n)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			})
		}
	}
}
