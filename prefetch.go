package spf

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// prefetchInFlight caps the prefetch queries of one check that wait on
// DNS at the same time.
const prefetchInFlight = 8

// prefetchGrace bounds a prefetch query that outlives its check (see
// prefetcher.stop) when Checker.Timeout does not.
const prefetchGrace = 20 * time.Second

// inMemory is implemented by resolvers that answer every query from
// memory at once, such as spftest.Zone: prefetching gains nothing with
// them (see [MemoryResolver]).
type inMemory interface{ InMemory() bool }

// A prefetcher starts the DNS queries that a check's records will need
// before evaluation reaches them, and hands their answers to evaluation,
// which consumes them in the order of RFC 7208 and counts every limit
// exactly as a sequential evaluation does: a prefetched answer that
// evaluation never asks for changes nothing.
//
// Prefetching is bounded: it looks ahead at no more DNS-querying terms
// than Checker.MaxLookups in all, and for each prefetched mx or ptr term
// at no more than MaxMXNames or MaxPTRNames names.
//
// A check that finds every answer in its resolver's memory (see
// [MemoryResolver]) starts no goroutine and allocates nothing here.
type prefetcher struct {
	parent   context.Context // the caller's context, not the check's
	grace    time.Duration   // how long a query may outlive the check
	res      Resolver
	peek     MemoryResolver // res, if it is one
	addrType RRType         // what a and mx look up for the client
	ip       netip.Addr
	maxMX    int
	maxPTR   int
	budget   atomic.Int32 // DNS-querying terms that may still be prefetched

	mu      sync.Mutex
	sem     chan struct{} // made with the first query in flight
	stopped chan struct{} // closed by stop
	closed  bool
	flights map[zoneKey]*flight
	seen    [12]string // domains whose terms have been prefetched, in
	more    []string   // seen and then more (with limits over the RFC's)
}

// A flight is one query in progress or done.
type flight struct {
	done chan struct{}
	resp *Response
	err  error
}

func (p *prefetcher) init(ctx context.Context, grace time.Duration, e *evaluation) {
	p.parent = ctx
	p.grace = grace
	if p.grace <= 0 {
		p.grace = prefetchGrace
	}
	p.res = e.res
	p.peek, _ = e.res.(MemoryResolver)
	p.ip = e.env.ip
	p.addrType = addrType(e.env.ip)
	p.maxMX, p.maxPTR = e.maxMX, e.maxPTR
	p.budget.Store(int32(e.maxLookups))
}

// stop ends prefetching when the check has its result: queries not yet
// sent are dropped, and no answer starts new ones. Queries already sent
// are left to finish (within the caller's context and the grace time),
// since their answers cost nothing more and a Cache behind the resolver
// keeps them for the next check; cancelling them would send them again
// with every check that stops early. The goroutines of a check end when
// its queries do.
func (p *prefetcher) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed && p.stopped != nil {
		close(p.stopped)
	}
	p.closed = true
}

// start begins the query (name, typ) in the background unless it is
// cached, begun already, or prefetching has stopped. then, if not nil, is
// called in the background with a non-empty answer.
func (p *prefetcher) start(name string, typ RRType, then func(*Response)) {
	if p.cached(name, typ) {
		return
	}
	k := zoneKey{name, typ}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if p.flights == nil {
		p.flights = make(map[zoneKey]*flight)
		p.sem = make(chan struct{}, prefetchInFlight)
		p.stopped = make(chan struct{})
	}
	if _, ok := p.flights[k]; ok {
		p.mu.Unlock()
		return
	}
	f := &flight{done: make(chan struct{})}
	p.flights[k] = f
	p.mu.Unlock()
	go func() {
		defer close(f.done)
		select {
		case p.sem <- struct{}{}:
		case <-p.stopped:
			f.err = errPrefetchStopped
			return
		case <-p.parent.Done():
			f.err = p.parent.Err()
			return
		}
		ctx, cancel := context.WithTimeout(p.parent, p.grace)
		f.resp, f.err = p.res.Lookup(ctx, name, typ)
		cancel()
		<-p.sem
		if then != nil && f.err == nil && f.resp.Len() > 0 {
			then(f.resp)
		}
	}()
}

// sent reports whether a query was ever sent in the background.
func (p *prefetcher) sent() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flights != nil
}

// errPrefetchStopped is the error of a prefetch dropped before it was sent;
// evaluation never sees it, since it stops prefetching only when done.
var errPrefetchStopped = errors.New("spf: prefetch stopped")

// wait returns the answer of a query begun by start; ok is false when
// no such query was begun.
func (p *prefetcher) wait(ctx context.Context, name string, typ RRType) (resp *Response, ok bool, err error) {
	p.mu.Lock()
	var f *flight
	if p.flights != nil {
		f = p.flights[zoneKey{name, typ}]
	}
	p.mu.Unlock()
	if f == nil {
		return nil, false, nil
	}
	select {
	case <-f.done:
		return f.resp, true, f.err
	case <-ctx.Done():
		return nil, true, ctx.Err()
	}
}

// record begins the queries of the DNS-querying terms of domain's record,
// with env expanding their macros (env.domain is domain).
func (p *prefetcher) record(env macroEnv, terms []Term) {
	if !p.firstVisit(env.domain) {
		return
	}
	var buf []byte
	for i := range terms {
		t := &terms[i]
		if !t.Kind.QueriesDNS() {
			continue
		}
		if p.budget.Add(-1) < 0 {
			return
		}
		target := env.domain
		if t.Domain != "" {
			if hasMacro(t.Domain, 'p') {
				continue // %{p} needs queries of its own; evaluation does them
			}
			if env.matchesNothing(t.Domain) {
				continue // matches nothing (RFC 8616 section 4)
			}
			if strings.IndexByte(t.Domain, '%') < 0 {
				target = t.Domain
			} else {
				buf = env.expand(buf[:0], t.Domain)
				target = string(buf)
			}
			target = foldName(truncateDomain(target))
			if !validQueryName(target) {
				continue
			}
		}
		switch t.Kind {
		case KindInclude, KindRedirect:
			if !p.cached(target, TypeTXT) {
				sub := env
				sub.domain = target
				p.start(target, TypeTXT, func(r *Response) { p.txt(sub, r) })
			}
		case KindA:
			p.start(target, p.addrType, nil)
		case KindExists:
			p.start(target, TypeA, nil)
		case KindMX:
			if !p.cached(target, TypeMX) {
				p.start(target, TypeMX, func(r *Response) {
					if len(r.Names) <= p.maxMX {
						p.hosts(r.Names, "")
					}
				})
			}
		case KindPTR:
			if rev := ReverseName(p.ip); !p.cached(rev, TypePTR) {
				p.start(rev, TypePTR, func(r *Response) {
					names := r.Names
					if len(names) > p.maxPTR {
						names = names[:p.maxPTR]
					}
					p.hosts(names, target)
				})
			}
		}
	}
}

// cached reports whether the resolver has the answer to a query at hand.
func (p *prefetcher) cached(name string, typ RRType) bool {
	if p.peek == nil {
		return false
	}
	_, found, _ := p.peek.LookupCached(name, typ)
	return found
}

// firstVisit records that domain's terms are being prefetched and reports
// whether they were not before.
func (p *prefetcher) firstVisit(domain string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.seen {
		if d == domain {
			return false
		}
		if d == "" {
			break
		}
	}
	if slices.Contains(p.more, domain) {
		return false
	}
	for i, d := range p.seen {
		if d == "" {
			p.seen[i] = domain
			return true
		}
	}
	p.more = append(p.more, domain)
	return true
}

// hosts begins the address queries of MX hosts or PTR names; with under
// set, only of names that are under (or equal to) it.
func (p *prefetcher) hosts(names []string, under string) {
	for _, n := range names {
		if n == "" || n == "." || (under != "" && !isSubdomain(n, under)) {
			continue
		}
		p.start(n, p.addrType, nil)
	}
}

// txt prefetches the terms of the SPF record in a TXT answer, if it holds
// exactly one that parses.
func (p *prefetcher) txt(env macroEnv, r *Response) {
	if rec := r.spfRecord(); rec.found == 1 && rec.err == nil {
		p.record(env, rec.terms)
	}
}

// hasMacro reports whether the macro string s uses the macro letter
// (in either case).
func hasMacro(s string, letter byte) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && s[i+1] == '{' && lower(s[i+2]) == letter {
			return true
		}
		if s[i] == '%' {
			i++ // skip the character after "%", as in "%%{p}"
		}
	}
	return false
}
