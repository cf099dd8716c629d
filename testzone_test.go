package spf

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"time"
)

// A testZone is the small in-memory resolver of this package's internal
// tests, which cannot import spftest (spftest imports spf): a map of
// answers, CNAMEs followed up to 8 deep, names that time out. Tests that
// need more use spftest.Zone from package spf_test.
type testZone struct {
	answers  map[zoneKey]*Response
	cnames   map[string]string
	timeouts map[string]bool
}

var _ MemoryResolver = (*testZone)(nil)

func (z *testZone) add(name string, typ RRType, edit func(r *Response)) {
	if z.answers == nil {
		z.answers = make(map[zoneKey]*Response)
		z.cnames = make(map[string]string)
		z.timeouts = make(map[string]bool)
	}
	k := zoneKey{foldName(strings.TrimSuffix(name, ".")), typ}
	r := z.answers[k]
	if r == nil {
		r = &Response{TTL: zoneTTL}
		z.answers[k] = r
	}
	if edit != nil {
		edit(r)
	}
}

// zoneTTL is the TTL of a testZone's answers.
const zoneTTL = 5 * time.Minute

func (z *testZone) AddTXT(name string, strs ...string) {
	z.add(name, TypeTXT, func(r *Response) { r.TXT = append(r.TXT, strings.Join(strs, "")) })
}

func (z *testZone) AddIP(name string, a netip.Addr) {
	typ := TypeAAAA
	if a.Is4() {
		typ = TypeA
	}
	z.add(name, typ, func(r *Response) { r.Addrs = append(r.Addrs, a) })
}

// AddMX adds exchanges in the order of the calls, whatever pref says.
func (z *testZone) AddMX(name string, _ uint16, exchange string) {
	z.add(name, TypeMX, func(r *Response) { r.Names = append(r.Names, exchange) })
}

func (z *testZone) AddPTR(name, target string) {
	z.add(name, TypePTR, func(r *Response) { r.Names = append(r.Names, target) })
}

func (z *testZone) AddCNAME(name, target string) {
	z.add(name, 0, nil)
	z.cnames[foldName(name)] = foldName(target)
}

// SetTimeout makes every query of name time out.
func (z *testZone) SetTimeout(name string) {
	z.add(name, 0, nil)
	z.timeouts[foldName(name)] = true
}

func (z *testZone) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, _, err := z.LookupCached(name, typ)
	return resp, err
}

func (z *testZone) LookupCached(name string, typ RRType) (*Response, bool, error) {
	n := foldName(strings.TrimSuffix(name, "."))
	for hops := 0; hops <= 8; hops++ {
		if z.timeouts[n] {
			return nil, true, &timeoutError{name: name}
		}
		if r := z.answers[zoneKey{n, typ}]; r != nil {
			return r, true, nil
		}
		target, ok := z.cnames[n]
		if !ok {
			return nil, true, ErrNotFound
		}
		n = target
	}
	return nil, true, errors.New("spf: CNAME chain too long")
}

// InMemory reports true: a Checker does not prefetch with a testZone.
func (z *testZone) InMemory() bool { return true }
