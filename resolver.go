package spf

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"
)

// RRType is a DNS resource record type, numbered as in the DNS (RFC 1035).
// Only the types that SPF evaluation queries are named.
type RRType uint16

// The record types SPF evaluation queries.
const (
	TypeA    RRType = 1
	TypePTR  RRType = 12
	TypeMX   RRType = 15
	TypeTXT  RRType = 16
	TypeAAAA RRType = 28
)

// String returns the type's mnemonic, such as "TXT".
func (t RRType) String() string {
	switch t {
	case TypeA:
		return "A"
	case TypePTR:
		return "PTR"
	case TypeMX:
		return "MX"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// A Response is the answer to one DNS query, reduced to what SPF needs.
// A Resolver must not modify a Response after returning it: the evaluator
// and caches share it read-only.
type Response struct {
	// TXT holds one entry per TXT record, its character-strings joined
	// with nothing in between, as raw bytes (RFC 7208 section 3.3).
	TXT []string
	// Addrs holds the addresses of an A or AAAA answer.
	Addrs []netip.Addr
	// Names holds the exchanges of an MX answer, most preferred first,
	// or the names of a PTR answer, each without a trailing dot.
	Names []string
	// TTL is how long the answer may be cached. For an answer that
	// reports no data it is the negative-caching TTL (RFC 2308).
	TTL time.Duration
	// Authenticated reports that the answer carried the DNSSEC AD bit
	// from a resolver that validated it.
	Authenticated bool

	// spf memoizes the SPF record of a TXT answer, selected and parsed,
	// for the checks that see this Response again (from a Cache or a
	// spftest.Zone): a record is parsed once, not once a check.
	spf atomic.Pointer[txtRecord]
}

// A txtRecord is the SPF record of a TXT answer (RFC 7208 section 4.5).
type txtRecord struct {
	found int    // how many records start with "v=spf1"
	text  string // the record, where found is 1
	terms []Term // its terms, read-only; nil with err
	err   error  // its syntax error
}

// Records too large to be worth memoizing: a TXT answer whose SPF record
// is longer than maxMemoText bytes or has more than maxMemoTerms terms is
// parsed again by every check that reads it (which costs time in
// proportion to the record, as parsing it the first time did) instead of
// being kept, parsed, beside the answer for as long as a cache holds it.
// Real records are far smaller: a DNS answer over UDP holds 512 bytes.
const (
	maxMemoText  = 4096
	maxMemoTerms = 256
)

// seenOnce is what Response.spf holds once one evaluation has parsed the
// record without keeping it (see spfRecordScratch). It is never modified.
var seenOnce = &txtRecord{}

// spfRecord returns the SPF record of the TXT answer r, parsing it the
// first time it is asked for; see maxMemoText for the records it parses
// every time.
func (r *Response) spfRecord() *txtRecord {
	if rec := r.spf.Load(); rec != nil && rec != seenOnce {
		return rec
	}
	rec := &txtRecord{}
	rec.found, rec.text = r.selectSPF()
	if rec.found == 1 {
		rec.terms, rec.err = parseTerms(rec.text, nil)
		rec.terms = slices.Clip(rec.terms)
		if len(rec.text) > maxMemoText || len(rec.terms) > maxMemoTerms {
			return rec
		}
	}
	r.spf.Store(rec)
	return rec
}

// selectSPF returns how many of the TXT records of r are SPF records
// (RFC 7208 section 4.5), and the last of them.
func (r *Response) selectSPF() (found int, text string) {
	for _, t := range r.TXT {
		if IsRecord(t) {
			text = t
			found++
		}
	}
	return found, text
}

// spfRecordScratch is spfRecord for an evaluation: the record of r is
// parsed into the evaluation's scratch (appended to *scratch) the first
// time r is seen, and memoized only by r's second reader, which shows
// that r is kept (by a Cache or an in-memory zone). A Response made for
// one query, by a resolver without a cache, thus costs its check no
// allocation to parse. The terms are read-only, in either case.
func (r *Response) spfRecordScratch(scratch *[]Term) (found int, text string, terms []Term, err error) {
	rec := r.spf.Load()
	if rec != nil && rec != seenOnce {
		return rec.found, rec.text, rec.terms, rec.err
	}
	first := rec == nil && r.spf.CompareAndSwap(nil, seenOnce)
	if found, text = r.selectSPF(); found != 1 {
		if !first {
			r.spf.Store(&txtRecord{found: found, text: text})
		}
		return found, text, nil, nil
	}
	start := len(*scratch)
	*scratch, err = parseTerms(text, *scratch)
	if err != nil {
		*scratch = (*scratch)[:start]
	} else {
		terms = (*scratch)[start:len(*scratch):len(*scratch)]
	}
	if !first && len(text) <= maxMemoText && len(terms) <= maxMemoTerms {
		rec = &txtRecord{found: found, text: text, err: err}
		if err == nil {
			rec.terms = slices.Clone(terms)
			terms = rec.terms
		}
		r.spf.Store(rec)
	}
	return found, text, terms, err
}

// Sizes of what a cached Response holds, for the byte accounting of a
// [Cache]: the headers of a string, a slice and a netip.Addr, and of the
// structures themselves.
const (
	sizeString    = int(unsafe.Sizeof(""))
	sizeAddr      = int(unsafe.Sizeof(netip.Addr{}))
	sizeTerm      = int(unsafe.Sizeof(Term{}))
	sizeResponse  = int(unsafe.Sizeof(Response{}))
	sizeTxtRecord = int(unsafe.Sizeof(txtRecord{}))
	sizeSyntaxErr = int(unsafe.Sizeof(SyntaxError{}))
)

// memSize returns about how many bytes of memory r holds: its TXT
// strings, addresses and names, and its memoized SPF record if it has
// one. The strings of the record's terms share the TXT strings and are
// not counted again.
func (r *Response) memSize() int {
	if r == nil {
		return 0
	}
	n := sizeResponse + cap(r.TXT)*sizeString + cap(r.Addrs)*sizeAddr + cap(r.Names)*sizeString
	for _, t := range r.TXT {
		n += len(t)
	}
	for _, name := range r.Names {
		n += len(name)
	}
	if rec := r.spf.Load(); rec != nil && rec != seenOnce {
		n += sizeTxtRecord + cap(rec.terms)*sizeTerm
		var se *SyntaxError
		if errors.As(rec.err, &se) {
			n += sizeSyntaxErr + len(se.Msg) // Record and Term share the text
		}
	}
	return n
}

// Len reports how many records the response holds.
func (r *Response) Len() int {
	if r == nil {
		return 0
	}
	return len(r.TXT) + len(r.Addrs) + len(r.Names)
}

// A Resolver answers the DNS queries of SPF evaluation.
//
// Lookup asks for the records of type typ at name; name is a domain name
// in A-label form without a trailing dot. PTR queries are asked by the
// reverse name (under in-addr.arpa or ip6.arpa).
//
// Lookup distinguishes two kinds of failure, as RFC 7208 section 5 does:
//   - The name does not exist (NXDOMAIN) or has no records of that type:
//     Lookup returns an error that wraps [ErrNotFound], or a Response with
//     no records and a nil error. Either is a "void lookup" (section 4.6.4).
//   - Any other error (a timeout, SERVFAIL, a network failure) is a
//     temporary DNS failure, which makes check_host() return temperror.
//
// A Resolver must be safe for concurrent use. CNAME chains are the
// resolver's business: the answer is for the name at the end of the chain.
//
// ctx ends with the check, or at its time limit ([Checker.Timeout]): a
// Lookup that waits (on the network, a lock, a timer) must return when
// ctx.Done is closed. To spare a resolver that answers from memory a
// clock read per query, ctx.Err may report the time limit a few calls
// late when Done has not been asked for, as a context's Err turns only
// once its timer has fired.
type Resolver interface {
	Lookup(ctx context.Context, name string, typ RRType) (*Response, error)
}

// ResolverFunc adapts an ordinary function to the [Resolver] interface.
type ResolverFunc func(ctx context.Context, name string, typ RRType) (*Response, error)

// Lookup calls f(ctx, name, typ).
func (f ResolverFunc) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	return f(ctx, name, typ)
}

var _ Resolver = ResolverFunc(nil)

// ErrNotFound is what a [Resolver] wraps when a name does not exist or has
// no records of the type asked for: a void lookup (RFC 7208 section 4.6.4).
var ErrNotFound = errors.New("spf: no such DNS name or data")

// A MemoryResolver is a [Resolver] that can answer without waiting when
// it holds the answer in memory, and tell when it does not: a [Cache], or
// an in-memory zone such as spftest.Zone. A [Checker] asks it first and
// starts no background query (prefetching) for an answer already at hand.
//
// A MemoryResolver that holds every answer may also have the method
//
//	InMemory() bool
//
// and return true from it: a Checker then never prefetches with it, since
// no query waits, and puts no deadline (Checker.Timeout) on a context
// that no query waits on. spftest.Zone does so.
type MemoryResolver interface {
	Resolver
	// LookupCached returns what Lookup would return for the query, with
	// found true, if it can answer at once; otherwise found is false.
	LookupCached(name string, typ RRType) (resp *Response, found bool, err error)
}

// A zoneKey names one query: a name and a record type.
type zoneKey struct {
	name string
	typ  RRType
}

// timeoutError is the error of a query that got no answer in time.
type timeoutError struct{ name string }

func (e *timeoutError) Error() string   { return "spf: DNS query for " + e.name + " timed out" }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// ReverseName returns the name under which PTR records for addr are
// published: "4.3.2.1.in-addr.arpa" for 1.2.3.4, nibbles under ip6.arpa
// for IPv6 (RFC 3596 section 2.5). An IPv4-mapped address gives the
// in-addr.arpa name.
func ReverseName(addr netip.Addr) string {
	var buf [72]byte // the longest, of IPv6: 32 nibbles, 32 dots, "ip6.arpa"
	return string(appendReverseName(buf[:0], addr.Unmap()))
}

func appendReverseName(dst []byte, addr netip.Addr) []byte {
	if addr.Is4() {
		a := addr.As4()
		for i := 3; i >= 0; i-- {
			dst = strconv.AppendUint(dst, uint64(a[i]), 10)
			dst = append(dst, '.')
		}
		return append(dst, "in-addr.arpa"...)
	}
	const hex = "0123456789abcdef"
	a := addr.As16()
	for i := 15; i >= 0; i-- {
		dst = append(dst, hex[a[i]&0xf], '.', hex[a[i]>>4], '.')
	}
	return append(dst, "ip6.arpa"...)
}

// systemResolver is the Resolver of a Checker that has none. It holds no
// answers, only the server list it reads from /etc/resolv.conf, again
// when the file changes (see resolvConf).
var systemResolver = &fallbackResolver{}

// A fallbackResolver is a [DNSResolver] on the system's servers, or a
// [NetResolver] where the system names none it can read (Windows, say).
type fallbackResolver struct{ dns DNSResolver }

func (f *fallbackResolver) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	if _, err := f.dns.servers(); err != nil {
		return NetResolver{}.Lookup(ctx, name, typ)
	}
	return f.dns.Lookup(ctx, name, typ)
}
