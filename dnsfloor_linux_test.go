package spf_test

import (
	"net/netip"
	"os"
	"syscall"
	"testing"
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
	query := packQuery(b, "a1.example.com.")
	runRoundTrips(b, parallel, func(b *testing.B) (func(), func()) {
		buf := make([]byte, 4096)
		return func() {
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
		}, nil
	})
}
