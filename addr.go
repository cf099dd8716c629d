package spf

import (
	"net"
	"net/netip"
)

// AddrFromNet returns the IP address of a, the remote address of a
// client's connection as a server has it ([net.Conn.RemoteAddr]), ready
// for [Checker.Check]: an IPv4-mapped IPv6 address (::ffff:192.0.2.1, what
// a dual-stack listener reports for an IPv4 client) is unmapped to IPv4,
// as RFC 7208 section 5 compares IPv4 clients with ip4 and a, and an IPv6
// zone is dropped. It takes a [*net.TCPAddr], [*net.UDPAddr] or
// [*net.IPAddr], or any [net.Addr] whose String is "host:port" or an
// address. ok is false for addresses that hold no IP, such as those of
// Unix sockets, and for nil.
func AddrFromNet(a net.Addr) (addr netip.Addr, ok bool) {
	var ip net.IP
	switch a := a.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		if a == nil {
			return netip.Addr{}, false
		}
		ip = a.IP
	case *net.UDPAddr:
		if a == nil {
			return netip.Addr{}, false
		}
		ip = a.IP
	case *net.IPAddr:
		if a == nil {
			return netip.Addr{}, false
		}
		ip = a.IP
	default:
		s := a.String()
		if ap, err := netip.ParseAddrPort(s); err == nil {
			addr = ap.Addr()
		} else if addr, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}, false
		}
		return addr.Unmap().WithZone(""), true
	}
	addr, ok = netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}
