// Package bench compares the speed of github.com/spf-go/spf with that of
// blitiri.com.ar/go/spf, the SPF library most Go mail servers use, on the
// same records, clients and senders, each with an in-memory resolver that
// answers from maps (no network). It is a module of its own so that the
// library never depends on the library it is compared with.
//
// Run it from this directory:
//
//	go test -run . -bench . -benchmem -count 5
//
// The test in compare_test.go checks first that both libraries give the
// expected result on every workload, so that the benchmarks cannot compare
// different work. See README.md.
package bench

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"

	blitiri "blitiri.com.ar/go/spf"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// ZoneFile is the zone of every workload, shared with the benchmarks of
// the library itself: example domains and documentation addresses (RFC
// 5737, RFC 3849). Tests run in this directory, so the path is relative.
const ZoneFile = "../testdata/bench.zone"

// HELO is the HELO name of every workload.
const HELO = "mail.example.net"

// A Workload is one check: a client address, a sender, and the result
// both libraries must give (an RFC 7208 result token, such as "pass").
type Workload struct {
	Name   string
	IP     netip.Addr
	Sender string
	Want   string
}

// Workloads are the checks the benchmarks time: for each record, a client
// that matches at the first term, one that matches late (the end of the
// include chain) and one that matches nothing.
var Workloads = []Workload{
	{"ip4-match", netip.MustParseAddr("192.0.2.25"), "alice@ip4.example.com", "pass"},
	{"ip4-nomatch", netip.MustParseAddr("198.18.0.1"), "alice@ip4.example.com", "fail"},
	{"mxinclude-match", netip.MustParseAddr("192.0.2.10"), "alice@chain.example.org", "pass"},
	{"mxinclude-late", netip.MustParseAddr("203.0.113.5"), "alice@chain.example.org", "pass"},
	{"mxinclude-nomatch", netip.MustParseAddr("198.18.0.1"), "alice@chain.example.org", "fail"},
}

// NewZone returns an [spftest.Zone] holding the records of ZoneFile.
func NewZone() (*spftest.Zone, error) {
	f, err := os.Open(ZoneFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return spftest.ParseZone(f, "", ZoneFile)
}

// A MapResolver answers the queries of blitiri.com.ar/go/spf from maps, as
// [spftest.Zone] answers ours: it implements blitiri's DNSResolver. Its answers
// are built once, from a Zone, so that a lookup allocates nothing but the
// error of a name that does not exist, as [net.Resolver] returns it. Its
// maps are not changed after NewMapResolver, and are read without a
// lock, as a Zone's are.
type MapResolver struct {
	txt   map[string][]string
	mx    map[string][]*net.MX
	addrs map[string][]net.IPAddr
	ptr   map[string][]string // by reverse name
}

var _ blitiri.DNSResolver = (*MapResolver)(nil)

// NewMapResolver returns a MapResolver with the records of z.
func NewMapResolver(z *spftest.Zone) (*MapResolver, error) {
	ctx := context.Background()
	r := &MapResolver{
		txt:   make(map[string][]string),
		mx:    make(map[string][]*net.MX),
		addrs: make(map[string][]net.IPAddr),
		ptr:   make(map[string][]string),
	}
	for _, name := range z.Names() {
		for _, typ := range []spf.RRType{spf.TypeTXT, spf.TypeMX, spf.TypeA, spf.TypeAAAA, spf.TypePTR} {
			resp, err := z.Lookup(ctx, name, typ)
			if err != nil {
				continue // no records of that type
			}
			switch typ {
			case spf.TypeTXT:
				r.txt[name] = resp.TXT
			case spf.TypeMX:
				for i, host := range resp.Names {
					r.mx[name] = append(r.mx[name], &net.MX{Host: host + ".", Pref: uint16(10 * (i + 1))})
				}
			case spf.TypeA, spf.TypeAAAA:
				for _, a := range resp.Addrs {
					r.addrs[name] = append(r.addrs[name], net.IPAddr{IP: a.AsSlice()})
				}
			case spf.TypePTR:
				for _, n := range resp.Names {
					r.ptr[name] = append(r.ptr[name], n+".")
				}
			}
		}
	}
	return r, nil
}

// key normalizes a name as spftest.Zone does.
func key(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// LookupTXT returns the TXT records of name, each joined into one string.
func (r *MapResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if v, ok := r.txt[key(name)]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

// LookupMX returns the MX records of name, most preferred first.
func (r *MapResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if v, ok := r.mx[key(name)]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

// LookupIPAddr returns the A and AAAA records of host.
func (r *MapResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if v, ok := r.addrs[key(host)]; ok {
		return v, nil
	}
	return nil, notFound(host)
}

// LookupAddr returns the PTR names of the address addr.
func (r *MapResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	name := spf.ReverseName(a)
	if v, ok := r.ptr[name]; ok {
		return v, nil
	}
	return nil, notFound(name)
}
