package spf_test

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkUDPRoundTripFloor measures the floor under
// BenchmarkDNSResolverQuery's child cases: the CPU time of this process
// for one UDP round trip to the same child-process server, with nothing
// a DNS client does but the two system calls that send and receive (a
// connected socket kept open, a query built once, the answer not read).
// No client can use less for a query; what DNSResolver uses beyond it is
// its own cost. The "new-socket" cases add what a random source port for
// every query costs at least: a socket made, connected and closed for
// each round trip, with blocking system calls (no poller, which a real
// client needs to wait without holding a thread). They run as the child
// cases do, one query at a time and 16 at once.
func BenchmarkUDPRoundTripFloor(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run("new-socket/"+name, func(b *testing.B) { newSocketFloor(b, parallel) })
		b.Run(name, func(b *testing.B) {
			addr := childServer(b)
			msg := new(dns.Msg)
			msg.SetQuestion("_netblocks1.example.com.", dns.TypeTXT)
			query, err := msg.Pack()
			if err != nil {
				b.Fatal(err)
			}
			dial := func(b *testing.B) *net.UDPConn {
				c, err := net.Dial("udp", addr)
				if err != nil {
					b.Fatal(err)
				}
				return c.(*net.UDPConn)
			}
			roundTrip := func(b *testing.B, c *net.UDPConn, buf []byte) {
				if _, err := c.Write(query); err != nil {
					b.Fatal(err)
				}
				if n, err := c.Read(buf); err != nil || n < len(query) {
					b.Fatal(n, err)
				}
			}
			cpu, ok := processCPU()
			if parallel {
				var conns atomic.Int32
				b.SetParallelism(max(1, benchParallel/runtimeProcs()))
				b.RunParallel(func(pb *testing.PB) {
					c := dial(b)
					defer c.Close()
					conns.Add(1)
					buf := make([]byte, 4096)
					for pb.Next() {
						roundTrip(b, c, buf)
					}
				})
			} else {
				c := dial(b)
				defer c.Close()
				buf := make([]byte, 4096)
				for b.Loop() {
					roundTrip(b, c, buf)
				}
			}
			if end, ok2 := processCPU(); ok && ok2 {
				b.ReportMetric(float64(end-cpu)/float64(b.N)/1000, "cpu-µs/op")
			}
		})
	}
}
