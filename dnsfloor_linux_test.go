package spf_test

import (
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/miekg/dns"
)

// newSocketFloor is the "new-socket" case of BenchmarkUDPRoundTripFloor:
// for each round trip, a non-blocking socket made and connected with
// system calls and handed to the runtime's poller as an *os.File, a send,
// a receive that waits on the poller, and close, with nothing else.
func newSocketFloor(b *testing.B, parallel bool) {
	ap, err := netip.ParseAddrPort(childServer(b))
	if err != nil || !ap.Addr().Is4() {
		b.Fatal(ap, err)
	}
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	msg := new(dns.Msg)
	msg.SetQuestion("a1.example.com.", dns.TypeTXT)
	query, err := msg.Pack()
	if err != nil {
		b.Fatal(err)
	}
	roundTrip := func(b *testing.B, buf []byte) {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := syscall.Connect(fd, sa); err != nil {
			syscall.Close(fd)
			b.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), "udp")
		defer f.Close()
		if _, err := f.Write(query); err != nil {
			b.Fatal(err)
		}
		if n, err := f.Read(buf); err != nil || n < len(query) {
			b.Fatal(n, err)
		}
	}
	cpu, ok := processCPU()
	if parallel {
		b.SetParallelism(max(1, benchParallel/runtimeProcs()))
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 4096)
			for pb.Next() {
				roundTrip(b, buf)
			}
		})
	} else {
		buf := make([]byte, 4096)
		for b.Loop() {
			roundTrip(b, buf)
		}
	}
	if end, ok2 := processCPU(); ok && ok2 {
		b.ReportMetric(float64(end-cpu)/float64(b.N)/1000, "cpu-µs/op")
	}
}
