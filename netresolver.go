package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// NetResolver is a [Resolver] on Go's own [net.Resolver]. It is what a
// [Checker] with no Resolver uses, with [net.DefaultResolver].
//
// It has the limits of net.Resolver: it cannot tell "no such name" from
// "no data" reliably on every platform (both are reported as void
// lookups, which is what SPF needs), it refuses names that are not valid
// host names (such as names with spaces, which macros can produce; those
// lookups become void), it reports no TTLs and no DNSSEC status.
type NetResolver struct {
	// Resolver is the resolver to use; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

var _ Resolver = NetResolver{}

// Lookup implements [Resolver].
func (n NetResolver) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	r := n.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	fqdn := name
	if !strings.HasSuffix(fqdn, ".") {
		fqdn += "."
	}
	var resp Response
	var err error
	switch typ {
	case TypeTXT:
		resp.TXT, err = r.LookupTXT(ctx, fqdn)
	case TypeA, TypeAAAA:
		network := "ip4"
		if typ == TypeAAAA {
			network = "ip6"
		}
		var ips []netip.Addr
		ips, err = r.LookupNetIP(ctx, network, fqdn)
		for _, ip := range ips {
			if ip = ip.Unmap(); ip.Is4() == (typ == TypeA) {
				resp.Addrs = append(resp.Addrs, ip)
			}
		}
	case TypeMX:
		var mxs []*net.MX
		mxs, err = r.LookupMX(ctx, fqdn)
		for _, mx := range mxs {
			resp.Names = append(resp.Names, strings.TrimSuffix(mx.Host, "."))
		}
	case TypePTR:
		addr, ok := addrFromReverseName(name)
		if !ok {
			return nil, ErrNotFound
		}
		var names []string
		names, err = r.LookupAddr(ctx, addr.String())
		for _, n := range names {
			resp.Names = append(resp.Names, strings.TrimSuffix(n, "."))
		}
	default:
		return nil, errors.New("spf: NetResolver cannot query type " + typ.String())
	}
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, ErrNotFound
		}
		if errors.As(err, &dnsErr) && !dnsErr.IsTimeout && !dnsErr.IsTemporary &&
			strings.Contains(dnsErr.Err, "no such host") {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &resp, nil
}

// addrFromReverseName parses an in-addr.arpa or ip6.arpa name back into
// an address.
func addrFromReverseName(name string) (netip.Addr, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		p := strings.Split(rest, ".")
		if len(p) != 4 {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(p[3] + "." + p[2] + "." + p[1] + "." + p[0])
		return a, err == nil
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		p := strings.Split(rest, ".")
		if len(p) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i := 0; i < 32; i++ {
			if len(p[i]) != 1 {
				return netip.Addr{}, false
			}
			v := strings.IndexByte("0123456789abcdef", p[i][0])
			if v < 0 {
				return netip.Addr{}, false
			}
			b[15-i/2] |= byte(v) << (4 * (i % 2))
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
