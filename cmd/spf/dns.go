package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf-go/spf"
)

// serverAddrs turns --server values into addresses: HOST:PORT, or HOST
// alone for port 53, where HOST is an IP address (IPv6 in brackets with a
// port) or a name the system resolves.
func serverAddrs(servers []string, timeout time.Duration) ([]string, error) {
	var addrs []string
	for _, s := range servers {
		host, port := s, "53"
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, port = h, p
		} else if strings.Count(s, ":") == 1 {
			return nil, usagef("--server %q: %v", s, err)
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return nil, usagef("--server %q: invalid port %q", s, port)
		}
		if host == "" {
			return nil, usagef("--server %q: no host", s)
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			addrs = append(addrs, netip.AddrPortFrom(ip, uint16(n)).String())
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		cancel()
		if err != nil || len(ips) == 0 {
			return nil, usagef("--server %q: cannot find the address of %q", s, host)
		}
		addrs = append(addrs, netip.AddrPortFrom(ips[0].Unmap(), uint16(n)).String())
	}
	return addrs, nil
}

// perQueryTimeout bounds the wait for one answer from one server, so
// that a server that drops a query leaves time to ask again.
const perQueryTimeout = spf.DefaultDNSTimeout

// networkResolver returns the resolver that asks the given DNS servers,
// or the system's (those of /etc/resolv.conf) if there are none, behind
// a cache. The watchResolver in between tells whether any server
// answered.
func networkResolver(servers []string, timeout time.Duration) (*spf.Cache, *watchResolver, error) {
	var res spf.Resolver
	switch {
	case len(servers) > 0:
		addrs, err := serverAddrs(servers, timeout)
		if err != nil {
			return nil, nil, err
		}
		res = &spf.DNSResolver{Servers: addrs, Timeout: min(timeout, perQueryTimeout)}
	case fileExists("/etc/resolv.conf"):
		res = &spf.DNSResolver{Timeout: min(timeout, perQueryTimeout)}
	default:
		res = spf.NetResolver{} // Go's own idea of the system's resolver
	}
	w := &watchResolver{Resolver: res}
	return &spf.Cache{Resolver: w}, w, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// A watchResolver passes lookups on and remembers whether any server
// answered, and the last error that says no server is there.
type watchResolver struct {
	spf.Resolver
	answered atomic.Bool
	mu       sync.Mutex
	refused  error
}

// Lookup implements [spf.Resolver].
func (w *watchResolver) Lookup(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
	resp, err := w.Resolver.Lookup(ctx, name, typ)
	switch {
	case err == nil || errors.Is(err, spf.ErrNotFound):
		w.answered.Store(true)
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.EADDRNOTAVAIL):
		w.mu.Lock()
		w.refused = err
		w.mu.Unlock()
	}
	return resp, err
}

// deadServer returns an error when no server answered any query and one
// refused a query or could not be reached: the servers given are not DNS
// servers, which is a usage error rather than the domain's temperror.
// Timeouts are not counted: a slow server may still be a server.
func (w *watchResolver) deadServer() error {
	if w == nil || w.answered.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refused == nil {
		return nil
	}
	return usagef("no DNS server answered: %s", strings.TrimPrefix(w.refused.Error(), "spf: "))
}
