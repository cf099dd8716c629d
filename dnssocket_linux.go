package spf

import (
	"io"
	"net/netip"
	"os"
	"syscall"
	"unsafe"
)

// dialUDP returns a new UDP socket connected to server, with a source
// port the kernel picks at random. For a server given as an IP address
// and port, which is the usual case, it makes the socket with system
// calls (socket, connect) and hands it to the runtime's poller as an
// *os.File: 2 allocations and 5 system calls where package net takes 15
// allocations and 8 system calls (it resolves the address, sets options
// and asks the socket's addresses back). Other servers go through
// package net.
func dialUDP(server string) (udpConn, error) {
	ap, err := netip.ParseAddrPort(server)
	if err != nil || ap.Addr().Zone() != "" || ap.Addr().Is4In6() {
		return dialNet(server)
	}
	family := syscall.AF_INET6
	if ap.Addr().Is4() {
		family = syscall.AF_INET
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := connect(fd, ap); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	// A non-blocking descriptor goes to the runtime's poller, so that
	// reads wait without holding a thread and deadlines work.
	return fileConn{os.NewFile(uintptr(fd), "udp")}, nil
}

// A fileConn is a UDP socket as an *os.File.
type fileConn struct{ *os.File }

// Read reads a datagram. An empty one, which an *os.File reports as
// io.EOF, is read as such, not as an error: it is not the answer, and
// must not end the wait for it.
func (c fileConn) Read(b []byte) (int, error) {
	n, err := c.File.Read(b)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// connect connects the UDP socket fd to ap with the address on the stack:
// syscall.Connect would allocate its Sockaddr.
func connect(fd int, ap netip.AddrPort) error {
	var err syscall.Errno
	port := ap.Port()
	if ap.Addr().Is4() {
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ap.Addr().As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(port>>8), byte(port) // network byte order
		_, _, err = syscall.Syscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet4)
	} else {
		sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ap.Addr().As16()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		_, _, err = syscall.Syscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet6)
	}
	if err != 0 {
		return err
	}
	return nil
}
