package spf_test

import (
	"net"
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
// every query costs at least: a socket made, connected, handed to the
// runtime's poller and closed for each round trip (see newSocketFloor).
// They run as the child cases do, one query at a time and 16 at once.
func BenchmarkUDPRoundTripFloor(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run("new-socket/"+name, func(b *testing.B) { newSocketFloor(b, parallel) })
		b.Run(name, func(b *testing.B) {
			addr := childServer(b)
			query := packQuery(b, "_netblocks1.example.com.")
			runRoundTrips(b, parallel, func(b *testing.B) (func(), func()) {
				c, err := net.Dial("udp", addr)
				if err != nil {
					b.Fatal(err)
				}
				buf := make([]byte, 4096)
				return func() {
					if _, err := c.Write(query); err != nil {
						b.Fatal(err)
					}
					if n, err := c.Read(buf); err != nil || n < len(query) {
						b.Fatal(n, err)
					}
				}, func() { c.Close() }
			})
		})
	}
}

// packQuery returns a TXT query for name, in wire format.
func packQuery(b *testing.B, name string) []byte {
	msg := new(dns.Msg)
	msg.SetQuestion(name, dns.TypeTXT)
	query, err := msg.Pack()
	if err != nil {
		b.Fatal(err)
	}
	return query
}

// runRoundTrips runs b.N round trips, one at a time, or from
// benchParallel goroutines if parallel, and reports the CPU time of this
// process per round trip (cpu-µs/op: user and system, getrusage). start
// is called once by each goroutine (once in all, one at a time): it
// returns the goroutine's round trip, and what to do when it is done (nil
// for nothing).
func runRoundTrips(b *testing.B, parallel bool, start func(*testing.B) (roundTrip, done func())) {
	cpu, ok := processCPU()
	if parallel {
		b.SetParallelism(max(1, benchParallel/runtimeProcs()))
		b.RunParallel(func(pb *testing.PB) {
			roundTrip, done := start(b)
			if done != nil {
				defer done()
			}
			for pb.Next() {
				roundTrip()
			}
		})
	} else {
		roundTrip, done := start(b)
		if done != nil {
			defer done()
		}
		for b.Loop() {
			roundTrip()
		}
	}
	if end, ok2 := processCPU(); ok && ok2 {
		b.ReportMetric(float64(end-cpu)/float64(b.N)/1000, "cpu-µs/op")
	}
}
