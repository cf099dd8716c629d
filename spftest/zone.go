package spftest

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/internal/dnstext"
	"github.com/spf-go/spf/internal/domain"
)

// A Zone is an in-memory [spf.Resolver] that answers from records it
// holds. It is meant for tests and offline use: the suite runner, examples
// and reproducible bug reports all evaluate SPF against a Zone, and a
// [Server] serves one over real DNS.
//
// Names are case-insensitive in ASCII only (RFC 4343) and may be given
// with or without a trailing dot. A name with no records does not exist
// (NXDOMAIN). CNAME records are followed, up to 8 in a chain; a loop is a
// temporary failure, as a recursive resolver reports it (SERVFAIL).
//
// The zero Zone is empty and ready to use. A Zone is safe for concurrent
// use, including adding records while lookups run. Lookups read a copy
// of the records made after the last change, without a lock: a Zone is
// meant to be filled first and asked many times.
//
// A Zone is a [spf.MemoryResolver] whose LookupCached always finds its
// answer, and its InMemory method reports true: an [spf.Checker] does not
// prefetch with it, since no query waits.
type Zone struct {
	mu       sync.RWMutex
	answers  map[zoneKey]*zoneEntry
	cnames   map[string]string
	timeouts map[zoneKey]bool // key with typ 0: every type without records
	names    map[string]bool  // names that exist (hold any record)

	// view is what Lookup reads, without a lock: a copy of answers,
	// cnames and timeouts, never changed once stored, made by the first
	// lookup after a change (every change sets it to nil).
	view atomic.Pointer[zoneView]
}

// A zoneView is a copy of the records of a Zone that no one changes (see
// Zone.view), by name, so that a lookup hashes a string alone.
type zoneView map[string]*zoneNode

// A zoneNode is what a zoneView holds for one name.
type zoneNode struct {
	answers    [5]*zoneEntry // by typeSlot
	cname      string
	isCNAME    bool
	timeoutAll bool         // SetTimeout with no types
	timeouts   []spf.RRType // SetTimeout's types
}

// typeSlot returns the index in zoneNode.answers of the answers of type
// typ, or -1 for a type a Zone holds no records of.
func typeSlot(typ spf.RRType) int {
	switch typ {
	case spf.TypeA:
		return 0
	case spf.TypeAAAA:
		return 1
	case spf.TypeMX:
		return 2
	case spf.TypeTXT:
		return 3
	case spf.TypePTR:
		return 4
	}
	return -1
}

// node returns v's node for name, adding an empty one if it has none.
func (v zoneView) node(name string) *zoneNode {
	n := v[name]
	if n == nil {
		n = new(zoneNode)
		v[name] = n
	}
	return n
}

// A zoneEntry is the answer for one name and type, with what building
// it needs beyond the spf.Response.
type zoneEntry struct {
	resp  *spf.Response
	prefs []uint16 // MX preferences, parallel to resp.Names
}

type zoneKey struct {
	name string
	typ  spf.RRType
}

// zoneTTL is the TTL of every answer from a Zone.
const zoneTTL = 5 * time.Minute

var _ spf.Resolver = (*Zone)(nil)

// zoneName returns the key of a name: without a trailing dot, in lower
// case in ASCII only (DNS names are case-insensitive in ASCII alone, RFC
// 4343; other bytes are kept as they are).
func zoneName(name string) string {
	return domain.Fold(strings.TrimSuffix(name, "."))
}

func (z *Zone) init() {
	if z.answers == nil {
		z.answers = make(map[zoneKey]*zoneEntry)
		z.cnames = make(map[string]string)
		z.timeouts = make(map[zoneKey]bool)
		z.names = make(map[string]bool)
	}
}

// add changes the entry for (name, typ) through edit, on a copy of the
// response so that one already returned to a caller never changes.
func (z *Zone) add(name string, typ spf.RRType, edit func(e *zoneEntry)) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.init()
	k := zoneKey{zoneName(name), typ}
	e := &zoneEntry{resp: &spf.Response{TTL: zoneTTL}}
	if old := z.answers[k]; old != nil {
		e.resp.TXT = slices.Clone(old.resp.TXT)
		e.resp.Addrs = slices.Clone(old.resp.Addrs)
		e.resp.Names = slices.Clone(old.resp.Names)
		e.prefs = slices.Clone(old.prefs)
	}
	edit(e)
	z.answers[k] = e
	z.names[k.name] = true
	z.view.Store(nil)
}

// AddTXT adds one TXT record at name. The strings are the record's
// character-strings; a resolver joins them with nothing in between
// (RFC 7208 section 3.3), and so does Lookup. A call with no strings adds
// a record with no character-string at all.
func (z *Zone) AddTXT(name string, strs ...string) {
	z.add(name, spf.TypeTXT, func(e *zoneEntry) {
		e.resp.TXT = append(e.resp.TXT, strings.Join(strs, ""))
	})
}

// AddIP adds an A record (for an IPv4 address) or an AAAA record (for an
// IPv6 address) at name. An IPv4-mapped IPv6 address is added as AAAA.
func (z *Zone) AddIP(name string, addr netip.Addr) {
	typ := spf.TypeAAAA
	if addr.Is4() {
		typ = spf.TypeA
	}
	z.add(name, typ, func(e *zoneEntry) { e.resp.Addrs = append(e.resp.Addrs, addr) })
}

// AddMX adds an MX record at name. Lookup returns exchanges in order of
// preference, lowest first; equal preferences keep the order of adding.
func (z *Zone) AddMX(name string, pref uint16, exchange string) {
	z.add(name, spf.TypeMX, func(e *zoneEntry) {
		// Insert after every exchange of lower or equal preference.
		i := len(e.prefs)
		for i > 0 && e.prefs[i-1] > pref {
			i--
		}
		e.prefs = slices.Insert(e.prefs, i, pref)
		e.resp.Names = slices.Insert(e.resp.Names, i, strings.TrimSuffix(exchange, "."))
	})
}

// AddPTR adds a PTR record at name, which is a reverse name such as
// "4.3.2.1.in-addr.arpa"; see [spf.ReverseName].
func (z *Zone) AddPTR(name, target string) {
	z.add(name, spf.TypePTR, func(e *zoneEntry) { e.resp.Names = append(e.resp.Names, strings.TrimSuffix(target, ".")) })
}

// AddCNAME makes name an alias of target. Lookups of name are answered
// with target's records.
func (z *Zone) AddCNAME(name, target string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.init()
	z.cnames[zoneName(name)] = zoneName(target)
	z.names[zoneName(name)] = true
	z.view.Store(nil)
}

// SetTimeout makes queries for name of the given types go unanswered: Lookup
// returns a timeout error at once. With no types, every type that has no
// records at name times out, and so do queries of names that do not exist.
func (z *Zone) SetTimeout(name string, types ...spf.RRType) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.init()
	n := zoneName(name)
	if len(types) == 0 {
		z.timeouts[zoneKey{n, 0}] = true
	}
	for _, t := range types {
		z.timeouts[zoneKey{n, t}] = true
	}
	z.view.Store(nil)
}

// current returns the view of z's records that lookups read, making it
// if a change came after the last one.
func (z *Zone) current() *zoneView {
	if v := z.view.Load(); v != nil {
		return v
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	v := z.view.Load()
	if v == nil {
		v = &zoneView{}
		*v = make(zoneView, len(z.names))
		for k, e := range z.answers {
			if i := typeSlot(k.typ); i >= 0 {
				v.node(k.name).answers[i] = e
			}
		}
		for name, target := range z.cnames {
			n := v.node(name)
			n.cname, n.isCNAME = target, true
		}
		for k := range z.timeouts {
			n := v.node(k.name)
			if k.typ == 0 {
				n.timeoutAll = true
			} else {
				n.timeouts = append(n.timeouts, k.typ)
			}
		}
		z.view.Store(v)
	}
	return v
}

// Lookup answers from the zone. See [Resolver].
func (z *Zone) Lookup(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return z.lookup(name, typ)
}

// LookupCached answers as Lookup does: a Zone has every answer at hand.
// It makes a Zone an [spf.MemoryResolver].
func (z *Zone) LookupCached(name string, typ spf.RRType) (resp *spf.Response, found bool, err error) {
	resp, err = z.lookup(name, typ)
	return resp, true, err
}

var _ spf.MemoryResolver = (*Zone)(nil)

// InMemory reports true: a Zone answers every query from memory at once,
// so an [spf.Checker] does not prefetch with it (see [spf.MemoryResolver]).
func (z *Zone) InMemory() bool { return true }

func (z *Zone) lookup(name string, typ spf.RRType) (*spf.Response, error) {
	n := zoneName(name)
	v := *z.current()
	slot := typeSlot(typ)
	for hops := 0; ; hops++ {
		node := v[n]
		if node == nil {
			break
		}
		if slot >= 0 && node.answers[slot] != nil {
			return node.answers[slot].resp, nil
		}
		if node.timeoutAll || slices.Contains(node.timeouts, typ) {
			return nil, &timeoutError{name: name}
		}
		if !node.isCNAME {
			break
		}
		if hops >= 8 {
			return nil, fmt.Errorf("spf: CNAME chain from %q too long or looping", name)
		}
		n = node.cname
	}
	return nil, spf.ErrNotFound
}

// Names returns every name that holds a record, sorted.
func (z *Zone) Names() []string {
	z.mu.RLock()
	defer z.mu.RUnlock()
	var names []string
	for n := range z.names {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseZone reads zone-file text (RFC 1035 section 5, as
// github.com/miekg/dns parses it) into a Zone. Relative names are taken
// relative to origin, which may be empty when every name is absolute.
// Names and targets written with presentation escapes (\DDD, \X) are
// decoded to the bytes they stand for, as TXT strings are. Record types
// other than A, AAAA, MX, PTR, CNAME and TXT are ignored, SPF (type 99)
// records among them: RFC 7208 checkers query TXT only (section 4.4), so a
// zone that publishes its policy as type 99 alone publishes none. file
// names the source in error messages.
func ParseZone(r io.Reader, origin, file string) (*Zone, error) {
	if origin != "" {
		origin = dns.Fqdn(origin)
	}
	zp := dns.NewZoneParser(r, origin, file)
	zp.SetDefaultTTL(uint32(zoneTTL / time.Second))
	z := &Zone{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := dnstext.Name(rr.Header().Name)
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				z.AddIP(name, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
				z.AddIP(name, a)
			}
		case *dns.MX:
			z.AddMX(name, rr.Preference, dnstext.Name(rr.Mx))
		case *dns.PTR:
			z.AddPTR(name, dnstext.Name(rr.Ptr))
		case *dns.CNAME:
			z.AddCNAME(name, dnstext.Name(rr.Target))
		case *dns.TXT:
			strs := make([]string, len(rr.Txt))
			for i, t := range rr.Txt {
				strs[i] = dnstext.Unescape(t)
			}
			z.AddTXT(name, strs...)
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("spftest: zone %s: %w", file, err)
	}
	return z, nil
}

// exists reports whether name holds a record of any type or is an alias
// (a CNAME). A server answering from the zone tells "no such name"
// (NXDOMAIN) from "no data" (NODATA) with it.
func (z *Zone) exists(name string) bool {
	z.mu.RLock()
	defer z.mu.RUnlock()
	return z.names[zoneName(name)]
}

// cname returns the target of name if name is an alias (see
// [Zone.AddCNAME]), without following the chain further.
func (z *Zone) cname(name string) (target string, ok bool) {
	z.mu.RLock()
	defer z.mu.RUnlock()
	target, ok = z.cnames[zoneName(name)]
	return target, ok
}

// records returns the records of type typ that name itself holds, without
// following a CNAME, or nil if it holds none. The spf.Response is shared: do
// not modify it.
func (z *Zone) records(name string, typ spf.RRType) *spf.Response {
	z.mu.RLock()
	defer z.mu.RUnlock()
	if e := z.answers[zoneKey{zoneName(name), typ}]; e != nil {
		return e.resp
	}
	return nil
}

// mxPreferences returns the preferences of the MX records at name, in the
// order of the exchanges that records(name, spf.TypeMX) returns.
func (z *Zone) mxPreferences(name string) []uint16 {
	z.mu.RLock()
	defer z.mu.RUnlock()
	if e := z.answers[zoneKey{zoneName(name), spf.TypeMX}]; e != nil {
		return slices.Clone(e.prefs)
	}
	return nil
}

// timesOut reports whether a query for typ at name itself goes unanswered
// (see [Zone.SetTimeout]): name has no records of that type and a timeout
// is set for it. Lookup checks this before it follows a CNAME.
func (z *Zone) timesOut(name string, typ spf.RRType) bool {
	z.mu.RLock()
	defer z.mu.RUnlock()
	n := zoneName(name)
	k := zoneKey{n, typ}
	if z.answers[k] != nil {
		return false
	}
	return z.timeouts[k] || z.timeouts[zoneKey{n, 0}]
}

// timeoutError is the error of a query the zone leaves unanswered (see
// [Zone.SetTimeout]); its text is that of the spf package's own.
type timeoutError struct{ name string }

func (e *timeoutError) Error() string   { return "spf: DNS query for " + e.name + " timed out" }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
