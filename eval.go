package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/swar"
	"golang.org/x/net/idna"
)

// An evaluation is the state of one check: the inputs, the counters of
// RFC 7208 section 4.6.4 shared by every record it visits, and buffers
// reused from record to record. It is the only code that queries DNS.
//
// Evaluations are pooled, and newEvaluation resets only what a check
// sets: evalState, and env, whole (the time limit's context, lim, is a
// check's own, made by waitCtx, never reused); pf by pf.init (and zeroed
// by release after a check that used it); and the buffers are kept.
type evaluation struct {
	evalState
	env macroEnv

	buf []byte // macro expansion
	// terms holds the terms of the records parsed for this check only
	// (see Response.spfRecordScratch), one after the other; read-only
	// once parsed.
	terms    []Term
	ptrNames []string // for %{p}
	frames   []frame  // the records under evaluation, outermost first

	pf prefetcher

	// limitCtxs are time-limit contexts not handed out yet (see
	// newLimitCtx): kept with the evaluation, never reset.
	limitCtxs []limitCtx
}

// An evalState is the part of an evaluation reset for every check: its
// pointer-free part, evalCounts, reset whole, and pointers reset one by
// one (see evaluation.reset).
type evalState struct {
	evalCounts

	ctx   context.Context
	lim   *limitCtx // the time limit's context, once limited is set
	res   Resolver
	trace func(Event)

	defaultExp string
	local      []Term // Checker.LocalRules (localrules.go)
	// guess, if not nil, stands for the record of the checked domain (a
	// best guess, bestguess.go): its terms are evaluated without a query
	// for the domain's own record.
	guess []Term

	rev  string         // the client's reverse name, once reverseName made it
	peek MemoryResolver // res, if it can answer at once from memory
}

// evalCounts is the part of evalState that holds no pointer, so that
// resetting it costs no write barrier.
type evalCounts struct {
	// The time limit (RFC 7208 section 4.6.4), none if limit is zero. The
	// deadline is set from the clock at the first query that may wait, or
	// by the 32nd call of expired, whichever comes first; only then does ctx
	// get it (through lim, and limited is set). A check answered from
	// memory in a few steps thus reads no clock, and one whose resolver
	// answers without waiting on ctx.Done makes no timer (see limitCtx).
	limit    time.Duration
	deadline monoTime
	limited  bool  // ctx is lim
	ticks    uint8 // calls of expired, which looks every 32nd
	memory   bool  // res answers every query from memory at once

	maxLookups, maxVoids, maxMX, maxPTR int
	lookups, voids                      int
	authenticated                       bool
	// resultOnly is set for an evaluation whose result alone is used
	// (the skips of border.go, the best guess): a fail gets no
	// explanation, which would cost its expansion and an exp= query.
	resultOnly bool

	ptrDone bool // ptrNames holds the validated names of the client
	ptrLate bool // the time limit ran out while finding them

	prefetch bool // pf is in use (Checker.NoPrefetch is false)
	pfUsed   bool // pf.init was called
	missed   bool // a query had to wait: prefetching is on
}

// A frame is a record under evaluation, whose terms prefetching may look
// ahead at once a query has to wait.
type frame struct {
	domain string
	terms  []Term
}

// A hostResult is what check_host() returned for one domain.
type hostResult struct {
	result     Result
	err        error
	mech       string // the deciding term as written
	mechDomain string // the domain whose record holds mech
	exp        string
	fromDomain bool
	local      bool // mech is one of the receiver's local rules
}

// evaluations keeps evaluations, with their buffers, for reuse: a check
// that finds its answers in memory then allocates almost nothing.
var evaluations = sync.Pool{New: func() any { return new(evaluation) }}

// newEvaluation returns an evaluation from the pool, set up for one check;
// release returns it.
func (c *Checker) newEvaluation(ip netip.Addr, helo, sender, local, senderDomain string) *evaluation {
	e := evaluations.Get().(*evaluation)
	e.reset(c, ip, helo, sender, local, senderDomain)
	return e
}

// reset sets e up for one check of c, as a new evaluation would be
// (TestEvaluationReset), keeping its buffers.
func (e *evaluation) reset(c *Checker, ip netip.Addr, helo, sender, local, senderDomain string) {
	e.buf, e.terms, e.frames, e.ptrNames = e.buf[:0], e.terms[:0], e.frames[:0], e.ptrNames[:0]
	// While the garbage collector marks, every pointer stored in e, which
	// is on the heap, costs a write barrier, and with a resolver that
	// allocates that is much of the time: the pointer-free counters are
	// reset whole, and a pointer is stored only if it changes. Most stay
	// the same from check to check of one Checker, or nil.
	e.evalCounts = evalCounts{
		maxLookups:    orDefault(c.MaxLookups, DefaultMaxLookups),
		maxVoids:      orDefault(c.MaxVoidLookups, DefaultMaxVoidLookups),
		maxMX:         orDefault(c.MaxMXNames, DefaultMaxMXNames),
		maxPTR:        orDefault(c.MaxPTRNames, DefaultMaxPTRNames),
		authenticated: true,
		prefetch:      !c.NoPrefetch,
	}
	e.res = c.resolver() // an interface, which may hold a func: not comparable
	if c.Trace != nil || e.trace != nil {
		e.trace = c.Trace
	}
	if e.ctx != nil {
		e.ctx = nil
	}
	if e.lim != nil {
		e.lim = nil
	}
	defaultExp := c.DefaultExplanation
	if defaultExp == "" {
		defaultExp = DefaultExplanation
	}
	setString(&e.defaultExp, defaultExp)
	if e.local != nil {
		e.local = nil
	}
	if e.guess != nil {
		e.guess = nil
	}
	setString(&e.rev, "")
	if e.peek != nil {
		e.peek = nil
	}
	env := &e.env
	setString(&env.local, local)
	env.nonASCIILocal = !isASCII(local)
	setString(&env.domain, "")
	if ip = ip.Unmap(); env.ip != ip {
		env.ip = ip
	}
	setString(&env.helo, aLabelForm(helo)) // RFC 8616 section 4
	setString(&env.receiver, c.receiverName())
	if c.Now != nil || env.now != nil { // funcs are not comparable
		env.now = c.Now
	}
	if env.validated != e {
		env.validated = e
	}
	// %{s} and %{o} are the sender as the client spelled it, with U-labels
	// in A-label form (RFC 8616 section 4); the domain evaluated is the
	// normalised form.
	senderDomain = aLabelForm(strings.TrimSuffix(senderDomain, "."))
	setString(&env.senderDomain, senderDomain)
	if len(sender) == len(local)+1+len(senderDomain) && strings.HasPrefix(sender, local) &&
		sender[len(local)] == '@' && strings.HasSuffix(sender, senderDomain) {
		setString(&env.sender, sender) // already local@domain: spare the allocation
	} else {
		// A HELO check, a null sender: %{s} is built by the first macro
		// that asks for it, and most records have none.
		setString(&env.sender, "")
	}
}

// setString stores v in *p unless *p holds it already (see
// Checker.newEvaluation).
func setString(p *string, v string) {
	if *p != v {
		*p = v
	}
}

// maxScratchTerms is the most terms the scratch of a pooled evaluation
// keeps room for (72 KB): more than the records of any real check.
const maxScratchTerms = 1024

// release returns e to the pool. The outcome of its check holds nothing
// of e's buffers. An evaluation whose prefetcher sent queries is left to
// the garbage collector instead: those queries may outlive the check.
//
// What the check's state points to (its context, the record text in
// terms, the sender) is not cleared: the next check overwrites it, and a
// sync.Pool lets go of an evaluation unused for two garbage collections.
// Clearing costs a write barrier a pointer while a collection runs,
// which, with a resolver that allocates, is much of the time.
func (e *evaluation) release() {
	if cap(e.buf) > 4096 || e.pfUsed && e.pf.sent() {
		return
	}
	if cap(e.terms) > maxScratchTerms {
		e.terms = nil
	}
	clear(e.ptrNames)
	clear(e.frames[:cap(e.frames)])
	if e.pfUsed {
		// The gate's timer and the slice of answers are kept (see
		// prefetcher.arm and answered).
		e.pf = prefetcher{timer: e.pf.timer, own: e.pf.own[:0]}
	}
	evaluations.Put(e)
}

// resolver returns Checker.Resolver, or the system's where it is nil.
func (c *Checker) resolver() Resolver {
	if c.Resolver == nil {
		return systemResolver
	}
	return c.Resolver
}

// aLabelForm returns name with its U-labels turned into A-labels, and
// otherwise as given; a name that does not convert is returned as it is.
func aLabelForm(name string) string {
	if isASCII(name) {
		return name
	}
	if a, err := idna.Lookup.ToASCII(name); err == nil {
		return a
	}
	return name
}

// isASCII reports whether s is all ASCII, reading it 8 bytes at a time:
// it runs on the HELO name, sender domain and local part of every check.
func isASCII(s string) bool {
	for ; len(s) >= 8; s = s[8:] {
		if swar.NonASCII(swar.Load(s)) != 0 {
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// timeLimit is the time limit of one check (RFC 7208 section 4.6.4):
// Checker.Timeout, DefaultTimeout if it is zero, none if it is negative.
func (c *Checker) timeLimit() time.Duration {
	if c.Timeout == 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// expired returns the temperror of a check whose time limit ran out or
// whose context was cancelled (RFC 7208 section 4.6.4), or nil. Every loop
// whose length a record chooses calls it, so that the limit bounds CPU
// time as well as waiting on DNS.
func (e *evaluation) expired(domain string) *hostResult {
	if e.ptrLate {
		return timeoutResult(domain, e.timeUp())
	}
	// Look every 32nd call: the work between two calls is tens of
	// microseconds at most, and a clock read can cost 200 ns on a busy
	// virtual machine, as much as a whole check answered from memory.
	if e.ticks++; e.ticks%32 != 0 {
		return nil
	}
	err := e.ctx.Err()
	if err == nil && !e.limited && e.limit > 0 {
		// No query has waited yet, so ctx does not hold the deadline.
		if e.deadline == 0 {
			e.deadline = deadlineIn(e.limit)
		} else if e.deadline.passed() {
			err = context.DeadlineExceeded
		}
	}
	return timeoutResult(domain, err)
}

// expiredNow is expired after a query failed: it reads the clock, since
// the query may have seen the time limit before ctx did.
func (e *evaluation) expiredNow(domain string) *hostResult {
	return timeoutResult(domain, e.timeUp())
}

// timeUp returns the context's error, or context.DeadlineExceeded if the
// time limit has passed.
func (e *evaluation) timeUp() error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if e.deadline != 0 && e.deadline.passed() {
		return context.DeadlineExceeded
	}
	return nil
}

// memoryFirst makes e take answers in memory at once, without a context
// or a goroutine, prefetching on or off; with a resolver that holds every
// answer in memory, prefetching is off.
func (e *evaluation) memoryFirst() {
	if m, ok := e.res.(inMemory); ok && m.InMemory() {
		e.prefetch = false
		e.memory = true
	}
	if p, ok := e.res.(MemoryResolver); ok { // else reset left peek nil
		e.peek = p
	}
}

// startClock sets the time limit of e from c, and reports whether there
// is one: then stopClock must be called when e is done. The evaluations of
// one check (the skips of border.go, the evaluation, the best guess)
// share deadline, so that together they stay within Checker.Timeout: the
// first of them that reads the clock sets it, and each later one starts
// from it. A nil deadline is e's alone.
func (e *evaluation) startClock(c *Checker, deadline *monoTime) bool {
	if e.limit = c.timeLimit(); e.limit <= 0 {
		return false
	}
	if deadline != nil {
		e.deadline = *deadline
	}
	return true
}

// stopClock ends the context of e's time limit, releasing its timer if it
// has one, and hands its deadline on to the next evaluation of the check.
func (e *evaluation) stopClock(deadline *monoTime) {
	if e.limited {
		e.lim.stop()
	}
	if deadline != nil {
		*deadline = e.deadline
	}
}

func timeoutResult(domain string, err error) *hostResult {
	if err == nil {
		return nil
	}
	return &hostResult{result: TempError, err: fmt.Errorf("%w while evaluating %s: %w", ErrTimeout, domain, err)}
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// run evaluates check_host() for domain and fills in the outcome *out
// (which the caller owns: an Outcome is large, and not copied from call
// to call), returning its Problem.
// deadline, if not nil, is the deadline shared by the evaluations of one
// check (see startClock).
func (e *evaluation) run(ctx context.Context, c *Checker, out *Outcome, sender string, id Identity, domain string, deadline *monoTime) error {
	*out = Outcome{
		Identity: id,
		ClientIP: e.env.ip,
		HELO:     e.env.helo,
		Sender:   sender,
		Receiver: e.env.receiver,
	}
	if ctx == nil {
		ctx = context.Background() // documented on Checker.Check
	}
	if !e.env.ip.IsValid() {
		out.Result = PermError
		out.Problem = fmt.Errorf("%w: no client IP address", ErrInvalidInput)
		return out.Problem
	}
	e.memoryFirst()
	if e.prefetch {
		e.pf.init(ctx, c.Timeout, e)
		e.pfUsed = true
		defer e.pf.stop()
		// Prefetching starts with the first query that has to wait; a
		// check whose answers are all in a cache never needs it.
		// Without a cache every query waits, but a resolver that
		// measures its round trips (DNSResolver) still gets the
		// adaptive delay: at a fast resolver's speed, prefetching
		// only costs CPU and queries.
		e.missed = e.peek == nil && e.pf.pacer == nil
	}
	if e.startClock(c, deadline) {
		defer e.stopClock(deadline)
	}
	e.ctx = ctx
	if t := traceOf(ctx, e.trace); t != nil { // else e.trace is nil already
		e.trace = t // WithTrace's, for this check only
	}

	d, ok := normalizeDomain(domain)
	out.Domain = d
	if !ok {
		// RFC 7208 section 4.3: a malformed domain gives none at once.
		out.Result = None
		e.emit(Event{Kind: EventResult, Domain: d, Result: None})
		return nil
	}
	r := e.checkHost(d, 0, !e.resultOnly)
	out.Result = r.result
	out.Problem = r.err
	out.Mechanism, out.MechanismDomain = r.mech, r.mechDomain
	out.Explanation, out.ExplanationFromDomain = r.exp, r.fromDomain
	out.Lookups, out.VoidLookups = e.lookups, e.voids
	out.Authenticated = e.authenticated
	out.LocalRule = r.local
	return out.Problem
}

// checkHost is check_host() of RFC 7208 section 4 for a valid domain.
// depth counts the includes and redirects above it; wantExp is false
// inside include, whose explanations are never used (section 6.2).
func (e *evaluation) checkHost(domain string, depth int, wantExp bool) (r hostResult) {
	saved := e.env.domain
	e.env.domain = domain
	defer func() {
		e.env.domain = saved
		if e.trace != nil { // no Event built without a trace
			e.emit(Event{Kind: EventResult, Depth: depth, Domain: domain, Term: r.mech, Result: r.result, Err: r.err})
		}
	}()

	var terms []Term
	if depth == 0 && e.guess != nil {
		terms = e.guess
	} else {
		var r hostResult
		var ok bool
		if terms, r, ok = e.selectRecord(domain, depth); !ok {
			return r
		}
	}
	if e.prefetch {
		e.frames = append(e.frames, frame{domain: domain, terms: terms})
		defer func() { e.frames = e.frames[:len(e.frames)-1] }()
		if e.missed {
			e.prefetchFrames()
		}
	}
	if r, ok := e.evalMechanisms(terms, domain, depth, wantExp); ok {
		return r
	}
	if depth == 0 && e.local != nil {
		if r, ok := e.localRules(domain); ok { // localrules.go
			return r
		}
	}
	if r, ok := e.evalRedirect(terms, domain, depth, wantExp); ok {
		return r
	}
	// Section 4.7: no match and no redirect is neutral.
	return hostResult{result: Neutral}
}

// selectRecord finds the SPF record of domain (RFC 7208 sections 4.4 to
// 4.6), parsed; where there is none or it cannot be evaluated, ok is
// false and r is the result of check_host().
func (e *evaluation) selectRecord(domain string, depth int) (terms []Term, r hostResult, ok bool) {
	// Section 4.4: the TXT lookup of the domain's records. It does not
	// count against the limit of DNS-querying terms; a temporary failure
	// is a temperror, no such name or no data is none.
	resp, void, err := e.query(depth, TypeTXT, domain)
	if err != nil {
		return nil, hostResult{result: TempError, err: err}, false
	}
	if void {
		return nil, hostResult{result: None}, false
	}
	// Section 4.5: keep the records that start with "v=spf1"; more than
	// one is a permerror.
	found, text, terms, err := resp.spfRecordScratch(&e.terms)
	switch {
	case found == 0:
		return nil, hostResult{result: None}, false
	case found > 1:
		return nil, e.permError(fmt.Errorf("%w: %d records at %s", ErrMultipleRecords, found, domain)), false
	}
	if e.trace != nil { // no Event built without a trace
		e.emit(Event{Kind: EventRecord, Depth: depth, Domain: domain, Record: text})
	}

	// Section 4.6: a syntax error anywhere in the record is a permerror
	// before any term is evaluated.
	if err != nil {
		return nil, e.permError(fmt.Errorf("%w (record of %s)", err, domain)), false
	}
	return terms, hostResult{}, true
}

// evalMechanisms evaluates the mechanisms of domain's record (RFC 7208
// section 4.6.2): in order, the first that matches gives the result. ok
// is false where none matched and nothing ended the evaluation.
func (e *evaluation) evalMechanisms(terms []Term, domain string, depth int, wantExp bool) (r hostResult, ok bool) {
	for i := range terms {
		t := &terms[i]
		if !t.Kind.IsMechanism() {
			continue
		}
		if r := e.expired(domain); r != nil {
			return *r, true
		}
		if t.Kind == KindAll && depth == 0 && e.local != nil {
			if r, ok := e.localRules(domain); ok { // localrules.go
				return r, true
			}
		}
		if t.Kind.QueriesDNS() {
			if r, over := e.countLookup(depth, domain, t); over {
				return r, true
			}
		}
		matched, fail := e.match(t, domain, depth)
		if e.trace != nil { // no Event built without a trace
			e.emit(Event{Kind: EventTerm, Depth: depth, Domain: domain, Term: t.Text, TermKind: t.Kind, Matched: matched, Err: errOf(fail)})
		}
		if fail != nil {
			return *fail, true
		}
		if matched {
			r := hostResult{result: t.Qualifier.Result(), mech: t.Text, mechDomain: domain}
			if r.result == Fail && wantExp {
				r.exp, r.fromDomain = e.explain(terms, depth)
			}
			return r, true
		}
	}
	return hostResult{}, false
}

// evalRedirect follows the redirect modifier of domain's record, if any
// (RFC 7208 section 6.1): with no match, it replaces the record (it is
// never present beside "all", which always matches). ok is false where
// there is none, or its target matches nothing (a non-ASCII local part in
// %{l} or %{s}, RFC 8616 section 4): the record then ends as if it had
// none.
func (e *evaluation) evalRedirect(terms []Term, domain string, depth int, wantExp bool) (r hostResult, ok bool) {
	for i := range terms {
		t := &terms[i]
		if t.Kind != KindRedirect {
			continue
		}
		if r, over := e.countLookup(depth, domain, t); over {
			return r, true
		}
		if e.env.matchesNothing(t.Domain) {
			// The record ends as if it had no redirect.
			if e.trace != nil { // no Event built without a trace
				e.emit(Event{Kind: EventTerm, Depth: depth, Domain: domain, Term: t.Text, TermKind: t.Kind})
			}
			return hostResult{}, false
		}
		target, ok := e.expandDomain(t.Domain)
		if r := e.expired(domain); r != nil {
			return *r, true // also where %{p} ran out of time
		}
		if e.trace != nil { // no Event built without a trace
			e.emit(Event{Kind: EventTerm, Depth: depth, Domain: domain, Term: t.Text, TermKind: t.Kind, Matched: true})
		}
		if !ok || !multiLabel(target) {
			// Section 4.3: a malformed or single-label target is "none"
			// at once, which redirect turns into a permerror (6.1).
			return e.permError(fmt.Errorf("%w: %s names %q, not a valid domain", ErrNoTargetRecord, clip(t.Text, maxQuotedTerm), target)), true
		}
		r := e.checkHost(target, depth+1, wantExp)
		if r.result == None {
			return e.permError(fmt.Errorf("%w: %s (from %s)", ErrNoTargetRecord, clip(t.Text, maxQuotedTerm), domain)), true
		}
		return r, true
	}
	return hostResult{}, false
}

func errOf(r *hostResult) error {
	if r == nil {
		return nil
	}
	return r.err
}

func (e *evaluation) permError(err error) hostResult {
	return hostResult{result: PermError, err: err}
}

// countLookup counts a DNS-querying term; over is true, with the
// permerror to return, when the term is one too many (section 4.6.4).
func (e *evaluation) countLookup(depth int, domain string, t *Term) (r hostResult, over bool) {
	e.lookups++
	if e.lookups <= e.maxLookups {
		return r, false
	}
	e.lookups-- // the term is not evaluated
	err := fmt.Errorf("%w: %q in the record of %s would be number %d of %d", ErrTooManyLookups, clip(t.Text, maxQuotedTerm), domain, e.lookups+1, e.maxLookups)
	e.emit(Event{Kind: EventLimit, Depth: depth, Domain: domain, Term: t.Text, TermKind: t.Kind, Err: err})
	return e.permError(err), true
}

// countVoid counts a lookup that found no such name or no data; it
// returns the permerror when there is one too many (section 4.6.4).
func (e *evaluation) countVoid(depth int, domain string, t *Term) *hostResult {
	e.voids++
	if e.voids <= e.maxVoids {
		return nil
	}
	err := fmt.Errorf("%w: %q in the record of %s is void lookup number %d of %d", ErrTooManyVoidLookups, clip(t.Text, maxQuotedTerm), domain, e.voids, e.maxVoids)
	e.emit(Event{Kind: EventLimit, Depth: depth, Domain: domain, Term: t.Text, TermKind: t.Kind, Err: err})
	r := e.permError(err)
	return &r
}

// match evaluates one mechanism (RFC 7208 section 5). A non-nil fail is a
// temperror or permerror that ends the evaluation.
func (e *evaluation) match(t *Term, domain string, depth int) (matched bool, fail *hostResult) {
	ip := e.env.ip
	switch t.Kind {
	case KindAll:
		return true, nil
	case KindIP4:
		return ip.Is4() && t.Network.Contains(ip), nil
	case KindIP6:
		return ip.Is6() && t.Network.Contains(ip), nil
	case KindInclude:
		return e.matchInclude(t, domain, depth)
	}

	target := domain
	if t.Domain != "" {
		if e.env.matchesNothing(t.Domain) {
			return false, nil
		}
		var ok bool
		target, ok = e.expandDomain(t.Domain)
		if r := e.expired(domain); r != nil {
			return false, r // also where %{p} ran out of time
		}
		if !ok {
			// Not a name DNS could hold: no query, so no match and no
			// void lookup (section 4.6.4 counts queries that found
			// nothing).
			return false, nil
		}
	}
	switch t.Kind {
	case KindA:
		resp, void, err := e.query(depth, addrType(ip), target)
		if err != nil {
			return false, &hostResult{result: TempError, err: err}
		}
		if void {
			return false, e.countVoid(depth, domain, t)
		}
		return containsAddr(resp.Addrs, ip, t), nil
	case KindMX:
		return e.matchMX(t, domain, target, depth)
	case KindPTR:
		return e.matchPTR(t, domain, target, depth)
	case KindExists:
		// Section 5.7: an A query whatever the client's address family.
		resp, void, err := e.query(depth, TypeA, target)
		if err != nil {
			return false, &hostResult{result: TempError, err: err}
		}
		if void {
			return false, e.countVoid(depth, domain, t)
		}
		return len(resp.Addrs) > 0, nil
	}
	return false, nil
}

// matchInclude evaluates include (section 5.2): the target's pass is a
// match, its fail, softfail and neutral are not, its errors are ours, and
// a target with no record is a permerror.
func (e *evaluation) matchInclude(t *Term, domain string, depth int) (bool, *hostResult) {
	if e.env.matchesNothing(t.Domain) {
		return false, nil
	}
	target, ok := e.expandDomain(t.Domain)
	if r := e.expired(domain); r != nil {
		return false, r // also where %{p} ran out of time
	}
	if !ok || !multiLabel(target) {
		// Section 4.3: a malformed or single-label target is "none" at
		// once, which include turns into a permerror (section 5.2).
		r := e.permError(fmt.Errorf("%w: %s names %q, not a valid domain", ErrNoTargetRecord, clip(t.Text, maxQuotedTerm), target))
		return false, &r
	}
	r := e.checkHost(target, depth+1, false)
	switch r.result {
	case Pass:
		return true, nil
	case Fail, SoftFail, Neutral:
		return false, nil
	case None:
		r = e.permError(fmt.Errorf("%w: %s (in the record of %s)", ErrNoTargetRecord, clip(t.Text, maxQuotedTerm), domain))
	}
	return false, &hostResult{result: r.result, err: r.err}
}

// matchMX evaluates mx (section 5.4).
func (e *evaluation) matchMX(t *Term, domain, target string, depth int) (bool, *hostResult) {
	resp, void, err := e.query(depth, TypeMX, target)
	if err != nil {
		return false, &hostResult{result: TempError, err: err}
	}
	if void {
		return false, e.countVoid(depth, domain, t)
	}
	if len(resp.Names) > e.maxMX {
		err := fmt.Errorf("%w: %q at %s gives %d MX names, more than %d", ErrTooManyMXNames, clip(t.Text, maxQuotedTerm), target, len(resp.Names), e.maxMX)
		e.emit(Event{Kind: EventLimit, Depth: depth, Domain: domain, Term: t.Text, TermKind: t.Kind, Err: err})
		r := e.permError(err)
		return false, &r
	}
	var tempErr error
	typ := addrType(e.env.ip)
	started := false
	for i, host := range resp.Names {
		if host == "" || host == "." {
			continue // a null MX (RFC 7505) names no host
		}
		if r := e.expired(domain); r != nil {
			return false, r
		}
		if !started && e.mustWait(host, typ) {
			e.pf.hosts(resp.Names[i:], "") // look them up at once, use them in order
			started = true
		}
		hresp, void, err := e.query(depth, typ, host)
		switch {
		case err != nil:
			if tempErr == nil {
				tempErr = err
			}
		case !void && containsAddr(hresp.Addrs, e.env.ip, t):
			return true, nil
		}
	}
	if tempErr != nil {
		return false, &hostResult{result: TempError, err: tempErr}
	}
	return false, nil
}

// matchPTR evaluates ptr (section 5.5): a validated name of the client
// that is target or a subdomain of it. Names that could not match are not
// validated, which changes no result and saves their queries; DNS errors
// while validating skip the name. A time limit that runs out is not such
// a DNS error but a temperror (section 4.6.4), in the PTR query too.
func (e *evaluation) matchPTR(t *Term, domain, target string, depth int) (bool, *hostResult) {
	names, void, err := e.clientPTR(depth)
	if err != nil {
		if r := e.expiredNow(domain); r != nil {
			return false, r
		}
		return false, nil // section 5.5: a DNS error is no match
	}
	if void {
		return false, e.countVoid(depth, domain, t)
	}
	started := false
	for i, name := range names {
		if !isSubdomain(name, target) {
			continue
		}
		if r := e.expired(domain); r != nil {
			return false, r
		}
		if !started && e.mustWait(name, addrType(e.env.ip)) {
			e.pf.hosts(names[i:], target)
			started = true
		}
		if e.validate(depth, name) {
			return true, nil
		}
	}
	if r := e.expiredNow(domain); r != nil {
		return false, r // a validation lookup ran out of time
	}
	return false, nil
}

// clientPTR queries the PTR names of the client: at most maxPTR of them,
// the rest are ignored (section 4.6.4). void and err are as for query.
func (e *evaluation) clientPTR(depth int) (names []string, void bool, err error) {
	resp, void, err := e.query(depth, TypePTR, e.reverseName())
	if err != nil || void {
		return nil, void, err
	}
	names = resp.Names
	if len(names) > e.maxPTR {
		names = names[:e.maxPTR]
	}
	return names, false, nil
}

// validate reports whether name has an address record that is the
// client's address (section 5.5). Errors count as no; the callers look at
// the time limit.
func (e *evaluation) validate(depth int, name string) bool {
	resp, void, err := e.query(depth, addrType(e.env.ip), name)
	if err != nil || void {
		return false
	}
	for _, a := range resp.Addrs {
		if a.Unmap() == e.env.ip {
			return true
		}
	}
	return false
}

// validatedName is %{p} (section 7.3): a validated name of the client,
// preferring the current domain, then a subdomain of it, else any.
func (e *evaluation) validatedName() string {
	if !e.ptrDone {
		e.ptrDone = true
		names, _, err := e.clientPTR(0)
		if err == nil {
			for _, name := range names {
				if e.timeUp() != nil {
					break // the caller's expired() gives the temperror
				}
				if e.validate(0, name) {
					e.ptrNames = append(e.ptrNames, name)
				}
			}
		}
		// A time limit that ran out here makes the term that expands
		// %{p} a temperror (see expired), not a name of "unknown".
		e.ptrLate = e.timeUp() != nil
	}
	domain := e.env.domain
	best := ""
	for _, name := range e.ptrNames {
		switch {
		case equalFold(name, domain):
			return name
		case best == "" || isSubdomain(name, domain) && !isSubdomain(best, domain):
			best = name
		}
	}
	if best == "" {
		return "unknown"
	}
	return best
}

// reverseName returns the client's reverse name, made once a check for
// all its ptr terms and %{p}. It must not use e.buf: %{p} asks for it in
// the middle of an expansion into e.buf.
func (e *evaluation) reverseName() string {
	if e.rev == "" {
		e.rev = ReverseName(e.env.ip)
	}
	return e.rev
}

// isSubdomain reports whether name is domain or a subdomain of it, in
// any case and with or without trailing dots.
func isSubdomain(name, domain string) bool {
	name = strings.TrimSuffix(name, ".")
	domain = strings.TrimSuffix(domain, ".")
	if len(name) < len(domain) {
		return false
	}
	if !equalFold(name[len(name)-len(domain):], domain) {
		return false
	}
	return len(name) == len(domain) || name[len(name)-len(domain)-1] == '.'
}

func addrType(ip netip.Addr) RRType {
	if ip.Is4() {
		return TypeA
	}
	return TypeAAAA
}

// containsAddr reports whether ip is in the network of one of addrs
// with the prefix length of t for ip's family (sections 5.3 and 5.4).
func containsAddr(addrs []netip.Addr, ip netip.Addr, t *Term) bool {
	bits := int(t.CIDR6)
	if ip.Is4() {
		bits = int(t.CIDR4)
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() != ip.Is4() {
			continue
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(ip) {
			return true
		}
	}
	return false
}

// explain returns the explanation of a fail (section 6.2): the expanded
// TXT record at the exp= domain, or the default explanation when there is
// no exp=, its domain is invalid, it has not exactly one TXT record, or
// that record is not a valid macro string. Either is cut to
// explanationCap bytes and made printable US-ASCII.
func (e *evaluation) explain(terms []Term, depth int) (string, bool) {
	for i := range terms {
		if terms[i].Kind != KindExp {
			continue
		}
		if e.env.matchesNothing(terms[i].Domain) {
			break
		}
		target, ok := e.expandDomain(terms[i].Domain)
		if !ok {
			break
		}
		resp, void, err := e.query(depth, TypeTXT, target)
		if err != nil || void || len(resp.TXT) != 1 {
			break
		}
		text := resp.TXT[0]
		if _, msg := checkMacroString(text, true); msg != "" {
			break
		}
		e.buf = e.env.expandText(e.buf[:0], text, explanationCap)
		return string(printableExplanation(e.buf)), true
	}
	if e.defaultExp == DefaultExplanation {
		e.buf = e.env.appendDefaultExplanation(e.buf[:0], explanationCap)
	} else if _, msg := checkMacroString(e.defaultExp, true); msg != "" {
		e.buf = append(e.buf[:0], e.defaultExp[:min(len(e.defaultExp), explanationCap)]...)
	} else {
		e.buf = e.env.expandText(e.buf[:0], e.defaultExp, explanationCap)
	}
	return string(printableExplanation(e.buf)), false
}

// expandDomain expands a domain-spec (section 7.3) into a name to query:
// truncated to 253 bytes from the left, without a trailing dot, with ASCII
// letters in lower case. ok is false when the result is not a name DNS
// can hold (the name is then cut to the window of macroEnv.expand). Its
// cost does not grow with the length of the macro values.
func (e *evaluation) expandDomain(spec string) (name string, ok bool) {
	if strings.IndexByte(spec, '%') < 0 {
		name = spec
	} else {
		e.buf = e.env.expand(e.buf[:0], spec)
		name = string(e.buf)
	}
	return domain.FoldQueryable(truncateDomain(name)) // ASCII only (RFC 4343)
}

// multiLabel reports whether name, a valid query name without a trailing
// dot, has more than one label, as the domain of check_host() must
// (section 4.3).
func multiLabel(name string) bool {
	return strings.IndexByte(name, '.') > 0
}

// validQueryName reports whether name can be queried (see
// [domain.Queryable]).
func validQueryName(name string) bool { return domain.Queryable(name) }

// query sends one DNS query. void reports no such name or no data; err is
// a temporary failure, wrapping ErrDNS.
func (e *evaluation) query(depth int, typ RRType, name string) (resp *Response, void bool, err error) {
	var start time.Time
	if e.trace != nil {
		start = time.Now()
	}
	var found bool
	if e.peek != nil {
		resp, found, err = e.peek.LookupCached(name, typ)
	}
	if !found && e.prefetch {
		if !e.missed {
			switch d := e.pf.delay(); {
			case d < 0:
				// The resolver is busy: no prefetching for now.
				resp, err = e.res.Lookup(e.waitCtx(), name, typ)
				found = true
				e.pf.answered(name, typ, resp, err, false)
			case d > 0:
				// Prefetching begins only if this query waits longer
				// than a fast resolver takes (see prefetchPacer).
				var env macroEnv
				var terms []Term
				if len(e.frames) > 0 {
					env, terms = e.env, e.frames[0].terms
					env.domain = e.frames[0].domain
				}
				e.pf.arm(d, env, terms, name, typ)
				resp, err = e.res.Lookup(e.waitCtx(), name, typ)
				found = true
				e.missed = e.pf.disarm()
				e.pf.answered(name, typ, resp, err, e.missed)
			default:
				e.missed = true
				e.prefetchFrames()
			}
		}
		if !found {
			resp, found, err = e.pf.wait(e.waitCtx(), name, typ)
		}
	}
	if !found {
		resp, err = e.res.Lookup(e.waitCtx(), name, typ)
	}
	switch {
	case err != nil && errors.Is(err, ErrNotFound):
		resp, err, void = nil, nil, true
	case err != nil && e.timeUp() != nil:
		resp, err = nil, fmt.Errorf("%w: %s %s: %w: %w", ErrDNS, typ, name, ErrTimeout, err)
	case err != nil:
		resp, err = nil, fmt.Errorf("%w: %s %s: %w", ErrDNS, typ, name, err)
	case resp.Len() == 0:
		void = true
	}
	if err == nil && (resp == nil || !resp.Authenticated) {
		e.authenticated = false
	}
	if e.trace != nil {
		e.emit(Event{Kind: EventQuery, Depth: depth, Name: name, Type: typ, Response: resp, Err: err, Elapsed: time.Since(start)})
	}
	return resp, void, err
}

// waitCtx returns the context for a query that may wait on DNS: the
// caller's, bounded by the time limit from the first such query on.
func (e *evaluation) waitCtx() context.Context {
	if !e.limited && !e.memory && e.limit > 0 {
		ahead := e.deadline == 0
		if ahead {
			e.deadline = deadlineIn(e.limit) // the clock just read
		}
		// A limitCtx of its own for every check, never reused: a
		// resolver may keep the context past its Lookup (a lookup
		// left to finish for a cache, say), and must never see the
		// next check's in it.
		e.lim = newLimitCtx(e.ctx, e.deadline, ahead, &e.limitCtxs)
		e.ctx, e.limited = e.lim, true
	}
	return e.ctx
}

// prefetchFrames starts prefetching from the first record under
// evaluation (see prefetcher); later calls do nothing.
func (e *evaluation) prefetchFrames() {
	if len(e.frames) == 0 {
		return
	}
	env := e.env
	env.domain = e.frames[0].domain
	e.pf.begin(env, e.frames[0].terms)
}

// mustWait reports whether prefetching is on and the answer to a query is
// not at hand, so that queries after it are worth starting at once.
func (e *evaluation) mustWait(name string, typ RRType) bool {
	if !e.prefetch || !e.missed {
		return false // prefetching has not begun: the queries go through its gate
	}
	if e.peek == nil {
		return true
	}
	_, found, _ := e.peek.LookupCached(name, typ)
	return !found
}

// emit sends ev to the trace, if there is one. The calls on the paths of
// every check test e.trace first: the Event, large, is built before the
// call even when emit is inlined.
func (e *evaluation) emit(ev Event) {
	if e.trace == nil {
		return
	}
	ev.Lookups, ev.VoidLookups = e.lookups, e.voids
	e.trace(ev)
}
