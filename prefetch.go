package spf

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
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
// Prefetching stays inside the limits of RFC 7208 section 4.6.4 (and the
// amplification concerns of section 11.1). It walks the records it knows
// in evaluation order, as a sequential evaluation that matches nothing
// would, numbering the DNS-querying terms as evaluation counts them:
//
//   - the TXT query of an include or redirect target, which finds the
//     next record, and the query of an a, mx, ptr or exists term, are
//     sent once the least number its term can have (counting the terms of
//     the records not found yet as none) is at most MaxLookups, and for
//     the latter only while the void lookups known before it, plus the
//     answers still awaited before it that could be void, stay within
//     MaxVoidLookups; so that the queries of a record and those of the
//     records it includes go out together. When the records before a
//     term turn out to hold more terms than that, at most MaxLookups-1
//     such queries were sent beyond what a sequential evaluation would
//     send; and a check sends at most MaxLookups-1 queries of a, mx,
//     ptr and exists terms whose number is not known exactly;
//   - the address queries of MX hosts and PTR names are sent only for a
//     term whose number is known exactly (every include before it has
//     been resolved), within the same limits: these are queries a
//     sequential evaluation of the same records sends unless an earlier
//     term matches;
//   - nothing is prefetched past a term that ends evaluation whatever the
//     client (all, a temporary error, an include of a name with no
//     record, too many MX names, the void or lookup limit).
//
// A check that finds every answer in its resolver's memory (see
// [MemoryResolver]) starts no goroutine and allocates nothing here.
type prefetcher struct {
	parent               context.Context // the caller's context, not the check's
	grace                time.Duration   // how long a query may outlive the check
	res                  Resolver
	peek                 MemoryResolver // res, if it is one
	pacer                prefetchPacer  // res, or the resolver behind a Cache, if it is one
	armed                sync.WaitGroup // a fire of timer that may be running
	timer                *time.Timer    // made by the first arm; kept with the evaluation
	addrType             RRType         // what a and mx look up for the client
	ip                   netip.Addr
	maxLookups, maxVoids int
	maxMX, maxPTR        int
	counted              bool // pacer.checkBegin was called; checkEnd is due

	mu        sync.Mutex
	sem       chan struct{} // made with the first query in flight
	stopped   chan struct{} // closed by stop
	closed    bool
	root      *pnode
	rootEnv   macroEnv // expands the macros of every record
	armEnv    macroEnv // what fire begins with (see arm)
	armTerms  []Term
	armKey    zoneKey           // the query evaluation waits for while armed
	ownFlight *flight           // its flight, once prefetching began while it waited
	own       []ownAnswer       // evaluation's own answers before prefetching began; kept with the evaluation
	nodes     map[string]*pnode // the records found, by domain
	flights   map[zoneKey]*flight
	ahead     int // queries of a, mx, ptr and exists terms sent before their number was known
	walks     int // walks so far
	sends     int // queries the current walk sent
}

// A pnode is a record that prefetching has found, with the names its
// DNS-querying terms look up ("" for a name DNS cannot hold; noTarget and
// matchesNothing for the terms those constants describe).
type pnode struct {
	terms   []Term
	targets []string
	steps   []int // the DNS-querying terms in evaluation order; -1-i is a term i that matches whatever the client (all, or an ip4 or ip6 term that matches it), which ends the steps
}

// noTarget is the target of a term whose name prefetching does not
// know: it uses %{p}, which needs queries of its own.
const noTarget = "\x00"

// matchesNothing is the target of a term that uses the non-ASCII local
// part of the sender: it matches nothing and sends no query (RFC 8616
// section 4), and a redirect of that kind is not followed.
const matchesNothing = "\x01"

// A flight is one query in progress or done.
type flight struct {
	done  chan struct{}
	resp  *Response
	err   error
	over  bool      // done is closed; resp and err are set (read under mu)
	walk  int       // the walk that sent it (0: not sent by a walk)
	order int       // its place among the queries that walk sent
	start time.Time // when that walk sent it
}

func (p *prefetcher) init(ctx context.Context, grace time.Duration, e *evaluation) {
	p.parent = ctx
	p.grace = grace
	if p.grace <= 0 {
		p.grace = prefetchGrace
	}
	p.res = e.res
	p.peek, _ = e.res.(MemoryResolver)
	p.pacer, _ = e.res.(prefetchPacer)
	if c, ok := e.res.(*Cache); ok {
		p.pacer, _ = c.Resolver.(prefetchPacer)
	}
	if p.pacer != nil {
		p.pacer.checkBegin()
		p.counted = true
	}
	p.ip = e.env.ip
	p.addrType = addrType(e.env.ip)
	p.maxLookups, p.maxVoids = e.maxLookups, e.maxVoids
	p.maxMX, p.maxPTR = e.maxMX, e.maxPTR
}

// stop ends prefetching when the check has its result: queries not yet
// sent are dropped, and no answer starts new ones. Queries already sent
// are left to finish (within the caller's context and the grace time),
// since their answers cost nothing more and a Cache behind the resolver
// keeps them for the next check; cancelling them would send them again
// with every check that stops early. The goroutines of a check end when
// its queries do.
func (p *prefetcher) stop() {
	if p.counted {
		p.pacer.checkEnd()
		p.counted = false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed && p.stopped != nil {
		close(p.stopped)
	}
	p.closed = true
	clear(p.own) // the evaluation may wait in a pool
	p.own = p.own[:0]
}

// begin starts prefetching for the check's first record, with env
// expanding its macros (env.domain is the record's domain). Later calls
// do nothing.
func (p *prefetcher) begin(env macroEnv, terms []Term) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beginLocked(env, terms)
}

// beginLocked is begin with p.mu held.
func (p *prefetcher) beginLocked(env macroEnv, terms []Term) {
	if p.root != nil || p.closed {
		return
	}
	for _, a := range p.own {
		p.settleLocked(a.name, a.typ, a.resp, a.err)
	}
	p.rootEnv = env
	p.root = p.newNode(env, terms)
	p.walk()
}

// delay is how long a query should wait on DNS before the check starts
// prefetching: zero when prefetching starts at once, negative when it
// should not start now.
func (p *prefetcher) delay() time.Duration {
	if p.pacer == nil {
		return 0
	}
	return p.pacer.prefetchDelay()
}

// arm arms prefetching to begin, from the record terms of domain
// env.domain (none if terms is nil), once d has passed, while evaluation
// waits for the query (name, typ) itself; disarm must be called before
// the check ends. One timer serves every query of the
// check, and the checks that use the same evaluation after it: a check
// whose queries answer within d allocates nothing here after the first.
func (p *prefetcher) arm(d time.Duration, env macroEnv, terms []Term, name string, typ RRType) {
	p.mu.Lock()
	p.armEnv, p.armTerms = env, terms
	p.armKey = zoneKey{name, typ}
	p.mu.Unlock()
	p.armed.Add(1)
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.fire)
	} else {
		p.timer.Reset(d)
	}
}

// disarm stops what arm set up and reports whether prefetching had
// begun: the timer fired, and its begin is over.
func (p *prefetcher) disarm() bool {
	if p.timer.Stop() {
		p.armed.Done()
		return false
	}
	p.armed.Wait()
	return true
}

// An ownAnswer is the answer to a query evaluation sent itself.
type ownAnswer struct {
	name string
	typ  RRType
	resp *Response
	err  error
}

// answered takes the answer to a query that evaluation sent itself
// through the resolver, begun reporting whether prefetching had begun by
// then. Before, it is kept (without a lock: no walk runs then) for the
// walk that may begin later, which would otherwise send the query again;
// after, it is handed to the walk at once, completing the flight fire
// made for it if prefetching began while evaluation waited. A resolver
// that keeps answers in memory (see MemoryResolver) gives the walk the
// answers instead.
func (p *prefetcher) answered(name string, typ RRType, resp *Response, err error, begun bool) {
	if !begun {
		if p.peek == nil {
			p.own = append(p.own, ownAnswer{name, typ, resp, err})
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.ownFlight; f != nil && p.armKey == (zoneKey{name, typ}) {
		p.ownFlight = nil
		f.resp, f.err, f.over = resp, err, true
		close(f.done)
		p.walk()
		return
	}
	switch {
	case p.peek != nil:
	case p.root == nil:
		p.own = append(p.own, ownAnswer{name, typ, resp, err}) // for begin
	case p.settleLocked(name, typ, resp, err):
		p.walk()
	}
}

// settleLocked makes the answer to a query sent outside prefetching a
// flight that is over, unless a flight of it is known; it reports whether
// it did. It runs with p.mu held.
func (p *prefetcher) settleLocked(name string, typ RRType, resp *Response, err error) bool {
	if p.closed {
		return false
	}
	p.initFlights()
	k := zoneKey{name, typ}
	if _, ok := p.flights[k]; ok {
		return false
	}
	f := &flight{done: make(chan struct{}), resp: resp, err: err, over: true}
	close(f.done)
	p.flights[k] = f
	return true
}

// initFlights makes p.flights and what goes with it, once.
func (p *prefetcher) initFlights() {
	if p.flights == nil {
		p.flights = make(map[zoneKey]*flight)
		p.sem = make(chan struct{}, prefetchInFlight)
		p.stopped = make(chan struct{})
	}
}

// fire begins prefetching as arm set up; the timer calls it.
func (p *prefetcher) fire() {
	defer p.armed.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armTerms == nil {
		return
	}
	if p.root == nil && !p.closed && p.peek == nil {
		// The walk must not send the query evaluation waits for:
		// it is a flight of evaluation's, which answered completes.
		p.initFlights()
		if p.flights[p.armKey] == nil {
			p.ownFlight = &flight{done: make(chan struct{})}
			p.flights[p.armKey] = p.ownFlight
		}
	}
	p.beginLocked(p.armEnv, p.armTerms)
}

// newNode returns the record of domain env.domain with the targets of its
// terms expanded.
func (p *prefetcher) newNode(env macroEnv, terms []Term) *pnode {
	n := &pnode{terms: terms, targets: make([]string, len(terms))}
	var buf []byte
	for i := range terms {
		t := &terms[i]
		if !t.Kind.QueriesDNS() {
			continue
		}
		target := env.domain
		if t.Domain != "" {
			switch {
			case env.matchesNothing(t.Domain):
				target = matchesNothing
			case hasMacro(t.Domain, 'p'):
				target = noTarget
			case strings.IndexByte(t.Domain, '%') < 0:
				target = t.Domain
			default:
				buf = env.expand(buf[:0], t.Domain)
				target = string(buf)
			}
			if target != noTarget && target != matchesNothing {
				target = foldName(truncateDomain(target))
				if !validQueryName(target) || (t.Kind == KindInclude || t.Kind == KindRedirect) && !multiLabel(target) {
					target = ""
				}
			}
		}
		n.targets[i] = target
	}
	// Section 4.6.2 and 6.1: mechanisms in order, then redirect unless
	// all ends the record.
	redirect := -1
	for i := range terms {
		switch k := terms[i].Kind; {
		case k == KindAll || (k == KindIP4 || k == KindIP6) && terms[i].Network.Contains(p.ip):
			// Nothing after it is evaluated, redirect included.
			n.steps = append(n.steps, -1-i)
			return n
		case k == KindRedirect:
			if redirect < 0 {
				redirect = i
			}
		case k.IsMechanism() && k.QueriesDNS():
			n.steps = append(n.steps, i)
		}
	}
	if redirect >= 0 {
		n.steps = append(n.steps, redirect)
	}
	return n
}

// A walkState is where a walk of the records in evaluation order is.
type walkState struct {
	pos     int  // DNS-querying terms so far (at least, unless exact)
	exact   bool // every record before has been found: pos is exact
	voids   int  // void lookups known so far
	pending int  // lookups before that could still be void
	stop    bool // a sequential evaluation ends here whatever the client
}

// walk goes through the records from the root in the order a sequential
// evaluation that matches nothing would, and starts the queries that are
// within its limits (see prefetcher). It runs with p.mu held, at the start
// and after each answer.
func (p *prefetcher) walk() {
	if p.closed || p.root == nil {
		return
	}
	p.walks++
	p.sends = 0
	st := walkState{exact: true}
	p.walkNode(p.root, &st)
}

// walkNode walks the record n. ended reports that the evaluation of n
// ends within what was walked, with q the qualifier of the term that
// ends it, for a client that no term before matches: a term that matches
// whatever the client (all, an ip4 or ip6 term that matches it), an
// include whose record ends with pass (section 5.2), or a redirect whose
// record ends (section 6.1). Nothing after that term in n is needed:
// either evaluation gets there and it ends n, or an earlier term matches
// and ends n sooner. In the records around n, the include that led to n
// matches only if q is pass; at the top, n's end is the check's.
func (p *prefetcher) walkNode(n *pnode, st *walkState) (ended bool, q Qualifier) {
	for _, i := range n.steps {
		if i < 0 {
			return true, n.terms[-1-i].Qualifier
		}
		if ended, q := p.walkTerm(n, i, st); ended || st.stop {
			return ended, q
		}
	}
	return false, 0
}

// walkTerm walks the DNS-querying term n.terms[i]; ended and q are as
// for walkNode.
func (p *prefetcher) walkTerm(n *pnode, i int, st *walkState) (ended bool, q Qualifier) {
	t := &n.terms[i]
	st.pos++
	if st.pos > p.maxLookups {
		st.stop = true
		return false, 0
	}
	target := n.targets[i]
	if target == matchesNothing {
		if t.Kind == KindRedirect {
			st.stop = true // the record ends with neutral
		}
		return false, 0
	}
	if target == noTarget {
		// Unknown ahead: it may be void, and an include's record is
		// not found.
		st.pending++
		if t.Kind == KindInclude || t.Kind == KindRedirect {
			st.exact = false
		}
		return false, 0
	}
	if t.Kind == KindInclude || t.Kind == KindRedirect {
		if target == "" {
			st.stop = true // a permerror
			return false, 0
		}
		resp, ok, err := p.lookup(target, TypeTXT, st.voids <= p.maxVoids)
		if !ok {
			st.exact = false
			return false, 0
		}
		if err != nil {
			st.stop = true
			return false, 0
		}
		// A record is parsed once a check, however often the walk
		// passes it: a hostile one is 64 KB of macros, and a record
		// that large is not kept with its Response. nil stands for
		// none or a permerror.
		child, seen := p.nodes[target]
		if !seen {
			if p.nodes == nil {
				p.nodes = make(map[string]*pnode)
			}
			if rec := resp.spfRecord(); rec.found == 1 && rec.err == nil {
				env := p.rootEnv
				env.domain = target
				child = p.newNode(env, rec.terms)
			}
			p.nodes[target] = child
		}
		if child == nil {
			st.stop = true // none (a permerror here) or a permerror
			return false, 0
		}
		ended, q := p.walkNode(child, st)
		switch {
		case !ended || st.stop:
			return false, 0
		case t.Kind == KindRedirect:
			return true, q // the child's result is n's
		case q == QualifierPass:
			return true, t.Qualifier // the include matches
		}
		return false, 0 // the include does not match: n goes on
	}
	if target == "" {
		return false, 0 // not a name: no query, no match, no void lookup (see match)
	}
	// Section 4.6.4: this term's lookup may be void. It is sent while
	// the void lookups known before it allow; the address queries that
	// follow it, only if a sequential evaluation surely reaches it.
	send := st.voids+st.pending <= p.maxVoids
	safe := st.exact && send
	if !st.exact && p.ahead >= p.maxLookups-1 {
		send = false // the budget of queries ahead of a known number is spent
	}
	var name string
	var typ RRType
	switch t.Kind {
	case KindA:
		name, typ = target, p.addrType
	case KindExists:
		name, typ = target, TypeA
	case KindMX:
		name, typ = target, TypeMX
	case KindPTR:
		name, typ = ReverseName(p.ip), TypePTR
	}
	k := zoneKey{name, typ}
	before := p.flights[k]
	resp, ok, err := p.lookup(name, typ, send)
	if !st.exact && before == nil && p.flights[k] != nil {
		p.ahead++
	}
	switch {
	case !ok:
		st.pending++
	case errors.Is(err, ErrNotFound) || (err == nil && resp.Len() == 0):
		p.countVoid(st)
	case err != nil:
		// A temporary failure ends evaluation, except for ptr (section
		// 5.5), where it is no match.
		st.stop = t.Kind != KindPTR
	case t.Kind == KindMX:
		if len(resp.Names) > p.maxMX {
			st.stop = true // a permerror
			return false, 0
		}
		if safe {
			p.hostsLocked(resp.Names, "")
		}
	case t.Kind == KindPTR:
		if safe {
			names := resp.Names
			if len(names) > p.maxPTR {
				names = names[:p.maxPTR]
			}
			p.hostsLocked(names, target)
		}
	}
	return false, 0
}

// countVoid counts a void lookup in the walk and stops it past the limit.
func (p *prefetcher) countVoid(st *walkState) {
	st.voids++
	if st.voids > p.maxVoids {
		st.stop = true
	}
}

// lookup returns the answer to a query if it is at hand (cached, or a
// query begun is done); ok is false when it is not. With send, a query not
// begun yet is started.
func (p *prefetcher) lookup(name string, typ RRType, send bool) (resp *Response, ok bool, err error) {
	if p.peek != nil {
		if resp, found, err := p.peek.LookupCached(name, typ); found {
			return resp, true, err
		}
	}
	f := p.flights[zoneKey{name, typ}]
	if f == nil {
		if send {
			p.startLocked(name, typ)
		}
		return nil, false, nil
	}
	if !f.over {
		return nil, false, nil
	}
	return f.resp, true, f.err
}

// startLocked begins the query (name, typ), known not to be cached, in
// the background unless begun already or prefetching has stopped. It
// runs with p.mu held.
func (p *prefetcher) startLocked(name string, typ RRType) {
	if p.closed {
		return
	}
	p.initFlights()
	k := zoneKey{name, typ}
	if _, ok := p.flights[k]; ok {
		return
	}
	if p.pacer != nil && !p.pacer.acquirePrefetch() {
		return // the resolver has enough in flight; a later walk may send it
	}
	p.sends++
	f := &flight{done: make(chan struct{}), walk: p.walks, order: p.sends, start: time.Now()}
	p.flights[k] = f
	go p.fly(f, name, typ)
}

// fly sends one query and, with its answer, walks the records again.
func (p *prefetcher) fly(f *flight, name string, typ RRType) {
	var resp *Response
	var err error
	select {
	case p.sem <- struct{}{}:
		ctx, cancel := context.WithTimeout(p.parent, p.grace)
		resp, err = p.res.Lookup(ctx, name, typ)
		cancel()
		<-p.sem
	case <-p.stopped:
		err = errPrefetchStopped
	case <-p.parent.Done():
		err = p.parent.Err()
	}
	if p.pacer != nil {
		p.pacer.releasePrefetch()
	}
	p.mu.Lock()
	f.resp, f.err, f.over = resp, err, true
	close(f.done)
	if g := p.sentBefore(f); g != nil {
		// A query the same walk sent before this one, so earlier in
		// evaluation order, is still out: its answer, due about now,
		// may end the evaluation before this answer's record, whose
		// queries would then be wasted. Walk when it lands (its own
		// walk then covers this answer too), or after a short hold.
		p.mu.Unlock()
		hold := time.NewTimer(min(time.Since(f.start)/8, maxSiblingHold))
		select {
		case <-g.done:
		case <-hold.C:
		case <-p.stopped:
		}
		hold.Stop()
		p.mu.Lock()
	}
	p.walk()
	p.mu.Unlock()
}

// maxSiblingHold bounds how long an answer waits for the answers sent
// before it in the same walk (see fly).
const maxSiblingHold = 2 * time.Millisecond

// sentBefore returns a flight still out that the walk that sent f sent
// before f, if any. It runs with p.mu held.
func (p *prefetcher) sentBefore(f *flight) *flight {
	if f.walk == 0 || p.closed {
		return nil
	}
	for _, g := range p.flights {
		if g.walk == f.walk && g.order < f.order && !g.over {
			return g
		}
	}
	return nil
}

// sent reports whether prefetching made flights: then a query may have
// been sent in the background, and its goroutine may still use p after
// the check (flights made only for answers evaluation had count too, which
// errs on the safe side).
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

// cached reports whether the resolver has the answer to a query at hand.
func (p *prefetcher) cached(name string, typ RRType) bool {
	if p.peek == nil {
		return false
	}
	_, found, _ := p.peek.LookupCached(name, typ)
	return found
}

// hosts begins the address queries of MX hosts or PTR names; with under
// set, only of names that are under (or equal to) it.
func (p *prefetcher) hosts(names []string, under string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hostsLocked(names, under)
}

// hostsLocked is hosts with p.mu held.
func (p *prefetcher) hostsLocked(names []string, under string) {
	for _, n := range names {
		if n == "" || n == "." || (under != "" && !isSubdomain(n, under)) {
			continue
		}
		if !p.cached(n, p.addrType) {
			p.startLocked(n, p.addrType)
		}
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
