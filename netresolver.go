package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf-go/spf/internal/domain"
)

// NetResolver is a [Resolver] on Go's own [net.Resolver]. It is what a
// [Checker] with no Resolver uses, with [net.DefaultResolver]. Prefer
// [DNSResolver], which has none of these limits where it can be used.
//
// It has the limits of net.Resolver:
//   - It refuses names that are not valid host names, such as names with
//     spaces or other odd bytes, which macros can produce (RFC 7208
//     section 7.3): those lookups are reported as void without a query,
//     where a DNS server may hold records for them.
//   - It cannot tell "no such name" from "no data" on every platform
//     (with cgo, getaddrinfo hides the difference); both are void
//     lookups, which is all SPF needs. Some platforms report a failing
//     server as "no such host" too, turning a temperror into a void
//     lookup.
//   - It reports no TTLs (every answer has the TTL field below, zero by
//     default, so a [Cache] keeps only void answers) and no DNSSEC
//     status (Authenticated is always false).
//   - A CNAME chain is followed by the system's resolver; A and AAAA
//     lookups may also answer from /etc/hosts.
//   - Its timeouts and retries are those of the system's configuration,
//     bounded by the context.
type NetResolver struct {
	// Resolver is the resolver to use; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// TTL is reported as the TTL of every answer with records, since
	// net.Resolver gives none. Zero keeps a [Cache] from keeping them.
	TTL time.Duration
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
	resp := Response{TTL: n.TTL}
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
	name = domain.Fold(strings.TrimSuffix(name, "."))
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
