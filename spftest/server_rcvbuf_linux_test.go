//go:build linux

package spftest

import (
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestServerReceiveBuffer checks that the server's UDP socket has the
// receive buffer Linux gives a socket by default (net.core.rmem_default,
// 212,992 bytes unless changed), as a resolver's would: what the
// throughput benchmarks of the spf package rely on to see datagrams lost
// to bursts the way a real server would lose them.
func TestServerReceiveBuffer(t *testing.T) {
	want := 212992
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_default"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			want = n
		}
	}
	s, err := StartServer(&Zone{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := s.udp.PacketConn.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if got != want {
		t.Errorf("SO_RCVBUF %d, want net.core.rmem_default %d", got, want)
	}
}
