package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// An evaluation is the state of one check: the inputs, the counters of
// RFC 7208 section 4.6.4 shared by every record it visits, and buffers
// reused from record to record. It is the only code that queries DNS.
type evaluation struct {
	ctx   context.Context
	res   Resolver
	trace func(Event)
	env   macroEnv

	maxLookups, maxVoids, maxMX, maxPTR int
	lookups, voids                      int
	authenticated                       bool
	defaultExp                          string

	buf []byte // macro expansion

	ptrDone  bool     // ptrNames holds the validated names of the client
	ptrNames []string // for %{p}

	prefetch bool           // pf is in use (Checker.NoPrefetch is false)
	peek     CachedResolver // res, if it can answer at once from memory
	missed   bool           // a query had to wait: prefetching is on
	frames   []frame        // the records under evaluation, outermost first
	pf       prefetcher
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
}

// evaluations keeps evaluations, with their buffers, for reuse: a check
// that finds its answers in memory then allocates almost nothing.
var evaluations = sync.Pool{New: func() any { return new(evaluation) }}

// newEvaluation returns an evaluation from the pool, set up for one check;
// release returns it.
func (c *Checker) newEvaluation(ip netip.Addr, helo, sender, local, senderDomain string) *evaluation {
	e := evaluations.Get().(*evaluation)
	*e = evaluation{
		buf:           e.buf[:0],
		frames:        e.frames[:0],
		ptrNames:      e.ptrNames[:0],
		res:           c.Resolver,
		trace:         c.Trace,
		maxLookups:    orDefault(c.MaxLookups, DefaultMaxLookups),
		maxVoids:      orDefault(c.MaxVoidLookups, DefaultMaxVoidLookups),
		maxMX:         orDefault(c.MaxMXNames, DefaultMaxMXNames),
		maxPTR:        orDefault(c.MaxPTRNames, DefaultMaxPTRNames),
		defaultExp:    c.DefaultExplanation,
		authenticated: true,
		prefetch:      !c.NoPrefetch,
	}
	if e.res == nil {
		e.res = systemResolver
	}
	if e.defaultExp == "" {
		e.defaultExp = DefaultExplanation
	}
	e.env = macroEnv{
		local:    local,
		ip:       ip.Unmap(),
		helo:     helo,
		receiver: c.Receiver,
		now:      c.Now,
	}
	if e.env.receiver == "" {
		e.env.receiver = "unknown"
	}
	if e.env.now == nil {
		e.env.now = time.Now
	}
	e.env.validated = e
	if d, ok := normalizeDomain(senderDomain); ok {
		senderDomain = d
	}
	e.env.senderDomain = senderDomain
	if len(sender) == len(local)+1+len(senderDomain) && strings.HasPrefix(sender, local) &&
		sender[len(local)] == '@' && strings.HasSuffix(sender, senderDomain) {
		e.env.sender = sender // already local@domain: spare the allocation
	} else {
		e.env.sender = local + "@" + senderDomain
	}
	return e
}

// release returns e to the pool. The outcome of its check holds nothing
// of e's buffers. An evaluation whose prefetcher sent queries is left to
// the garbage collector instead: those queries may outlive the check.
func (e *evaluation) release() {
	if cap(e.buf) > 4096 || e.pf.sent() {
		return
	}
	e.ctx, e.res, e.trace, e.env, e.peek = nil, nil, nil, macroEnv{}, nil
	clear(e.ptrNames)
	clear(e.frames[:cap(e.frames)])
	evaluations.Put(e)
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// run evaluates check_host() for domain and fills in the outcome.
func (e *evaluation) run(ctx context.Context, c *Checker, sender string, id Identity, domain string) (Outcome, error) {
	out := Outcome{
		Identity: id,
		ClientIP: e.env.ip,
		HELO:     e.env.helo,
		Sender:   sender,
		Receiver: e.env.receiver,
	}
	if !e.env.ip.IsValid() {
		out.Result = PermError
		out.Problem = fmt.Errorf("%w: no client IP address", ErrInvalidInput)
		return out, out.Problem
	}
	if _, ok := e.res.(inMemory); ok {
		e.prefetch = false
	}
	if e.prefetch {
		e.pf.init(ctx, c.Timeout, e)
		defer e.pf.stop()
		// Prefetching starts with the first query that has to wait; a
		// check whose answers are all in a cache never needs it.
		e.peek, _ = e.res.(CachedResolver)
		e.missed = e.peek == nil
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	e.ctx = ctx

	d, ok := normalizeDomain(domain)
	out.Domain = d
	if !ok {
		// RFC 7208 section 4.3: a malformed domain gives none at once.
		out.Result = None
		e.emit(Event{Kind: EventResult, Domain: d, Result: None})
		return out, nil
	}
	r := e.checkHost(d, 0, true)
	out.Result = r.result
	out.Problem = r.err
	out.Mechanism, out.MechanismDomain = r.mech, r.mechDomain
	out.Explanation, out.FromDomain = r.exp, r.fromDomain
	out.Lookups, out.VoidLookups = e.lookups, e.voids
	out.Authenticated = e.authenticated
	return out, out.Problem
}

// checkHost is check_host() of RFC 7208 section 4 for a valid domain.
// depth counts the includes and redirects above it; wantExp is false
// inside include, whose explanations are never used (section 6.2).
func (e *evaluation) checkHost(domain string, depth int, wantExp bool) (r hostResult) {
	saved := e.env.domain
	e.env.domain = domain
	defer func() {
		e.env.domain = saved
		e.emit(Event{Kind: EventResult, Depth: depth, Domain: domain, Term: r.mech, Result: r.result, Err: r.err})
	}()

	// Section 4.4: the TXT lookup of the domain's records. It does not
	// count against the limit of DNS-querying terms; a temporary failure
	// is a temperror, no such name or no data is none.
	resp, void, err := e.query(depth, TypeTXT, domain)
	if err != nil {
		return hostResult{result: TempError, err: err}
	}
	if void {
		return hostResult{result: None}
	}
	// Section 4.5: keep the records that start with "v=spf1"; more than
	// one is a permerror.
	rec := resp.spfRecord()
	switch {
	case rec.found == 0:
		return hostResult{result: None}
	case rec.found > 1:
		return e.permError(fmt.Errorf("%w: %d records at %s", ErrMultipleRecords, rec.found, domain))
	}
	e.emit(Event{Kind: EventRecord, Depth: depth, Domain: domain, Record: rec.text})

	// Section 4.6: a syntax error anywhere in the record is a permerror
	// before any term is evaluated.
	if rec.err != nil {
		return e.permError(fmt.Errorf("%w (record of %s)", rec.err, domain))
	}
	terms := rec.terms
	if e.prefetch {
		e.frames = append(e.frames, frame{domain: domain, terms: terms})
		defer func() { e.frames = e.frames[:len(e.frames)-1] }()
		if e.missed {
			e.prefetchFrames()
		}
	}

	// Section 4.6.2: mechanisms are evaluated in order; the first that
	// matches gives the result.
	for i := range terms {
		t := &terms[i]
		if !t.Kind.IsMechanism() {
			continue
		}
		if t.Kind.QueriesDNS() {
			if r, over := e.countLookup(depth, domain, t); over {
				return r
			}
		}
		matched, fail := e.match(t, domain, depth)
		e.emit(Event{Kind: EventTerm, Depth: depth, Domain: domain, Term: t.Text, Matched: matched, Err: errOf(fail)})
		if fail != nil {
			return *fail
		}
		if matched {
			r := hostResult{result: t.Qualifier.Result(), mech: t.Text, mechDomain: domain}
			if r.result == Fail && wantExp {
				r.exp, r.fromDomain = e.explain(terms, depth)
			}
			return r
		}
	}

	// Section 6.1: with no match, a redirect modifier (never present
	// beside "all", which always matches) replaces this record.
	for i := range terms {
		t := &terms[i]
		if t.Kind != KindRedirect {
			continue
		}
		if r, over := e.countLookup(depth, domain, t); over {
			return r
		}
		target, ok := e.expandDomain(t.Domain)
		e.emit(Event{Kind: EventTerm, Depth: depth, Domain: domain, Term: t.Text, Matched: true})
		if !ok {
			return e.permError(fmt.Errorf("%w: %s names %q, not a valid domain", ErrNoTargetRecord, t.Text, target))
		}
		r := e.checkHost(target, depth+1, wantExp)
		if r.result == None {
			return e.permError(fmt.Errorf("%w: %s (from %s)", ErrNoTargetRecord, t.Text, domain))
		}
		return r
	}
	// Section 4.7: no match and no redirect is neutral.
	return hostResult{result: Neutral}
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
	err := fmt.Errorf("%w: %q in the record of %s would be number %d of %d", ErrTooManyLookups, t.Text, domain, e.lookups+1, e.maxLookups)
	e.emit(Event{Kind: EventLimit, Depth: depth, Domain: domain, Term: t.Text, Err: err})
	return e.permError(err), true
}

// countVoid counts a lookup that found no such name or no data; it
// returns the permerror when there is one too many (section 4.6.4).
func (e *evaluation) countVoid(depth int, domain string, t *Term) *hostResult {
	e.voids++
	if e.voids <= e.maxVoids {
		return nil
	}
	err := fmt.Errorf("%w: %q in the record of %s is void lookup number %d of %d", ErrTooManyVoidLookups, t.Text, domain, e.voids, e.maxVoids)
	e.emit(Event{Kind: EventLimit, Depth: depth, Domain: domain, Term: t.Text, Err: err})
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
		var ok bool
		if target, ok = e.expandDomain(t.Domain); !ok {
			// Not a name DNS could hold: nothing can match (see the
			// package documentation).
			return false, e.countVoid(depth, domain, t)
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
	target, ok := e.expandDomain(t.Domain)
	if !ok {
		r := e.permError(fmt.Errorf("%w: %s names %q, not a valid domain", ErrNoTargetRecord, t.Text, target))
		return false, &r
	}
	r := e.checkHost(target, depth+1, false)
	switch r.result {
	case Pass:
		return true, nil
	case Fail, SoftFail, Neutral:
		return false, nil
	case None:
		r = e.permError(fmt.Errorf("%w: %s (in the record of %s)", ErrNoTargetRecord, t.Text, domain))
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
		err := fmt.Errorf("%w: %q at %s gives %d MX names, more than %d", ErrTooManyMXNames, t.Text, target, len(resp.Names), e.maxMX)
		e.emit(Event{Kind: EventLimit, Depth: depth, Domain: domain, Term: t.Text, Err: err})
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
// while validating skip the name.
func (e *evaluation) matchPTR(t *Term, domain, target string, depth int) (bool, *hostResult) {
	resp, void, err := e.query(depth, TypePTR, e.reverseName())
	if err != nil {
		return false, nil // section 5.5: a DNS error is no match
	}
	if void {
		return false, e.countVoid(depth, domain, t)
	}
	names := resp.Names
	if len(names) > e.maxPTR {
		names = names[:e.maxPTR] // section 4.6.4: the rest are ignored
	}
	started := false
	for i, name := range names {
		if !isSubdomain(name, target) {
			continue
		}
		if !started && e.mustWait(name, addrType(e.env.ip)) {
			e.pf.hosts(names[i:], target)
			started = true
		}
		if e.validate(depth, name) {
			return true, nil
		}
	}
	return false, nil
}

// validate reports whether name has an address record that is the
// client's address (section 5.5). Errors count as no.
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
		resp, void, err := e.query(0, TypePTR, e.reverseName())
		if err == nil && !void {
			names := resp.Names
			if len(names) > e.maxPTR {
				names = names[:e.maxPTR]
			}
			for _, name := range names {
				if e.validate(0, name) {
					e.ptrNames = append(e.ptrNames, name)
				}
			}
		}
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

// reverseName returns the client's reverse name. It must not use e.buf:
// %{p} asks for it in the middle of an expansion into e.buf.
func (e *evaluation) reverseName() string {
	return ReverseName(e.env.ip)
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
	bits := t.CIDR6
	if ip.Is4() {
		bits = t.CIDR4
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
// that record is not a valid macro string.
func (e *evaluation) explain(terms []Term, depth int) (string, bool) {
	for i := range terms {
		if terms[i].Kind != KindExp {
			continue
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
		e.buf = e.env.expand(e.buf[:0], text)
		return string(e.buf), true
	}
	if _, msg := checkMacroString(e.defaultExp, true); msg != "" {
		return e.defaultExp, false
	}
	e.buf = e.env.expand(e.buf[:0], e.defaultExp)
	return string(e.buf), false
}

// expandDomain expands a domain-spec (section 7.3) into a name to query:
// truncated to 253 bytes from the left, without a trailing dot, in lower
// case. ok is false when the result is not a name DNS can hold.
func (e *evaluation) expandDomain(spec string) (name string, ok bool) {
	if strings.IndexByte(spec, '%') < 0 {
		name = spec
	} else {
		e.buf = e.env.expand(e.buf[:0], spec)
		name = string(e.buf)
	}
	name = strings.ToLower(truncateDomain(name))
	return name, validQueryName(name)
}

// validQueryName reports whether name can be queried: 1 to 253 bytes in
// labels of 1 to 63 bytes.
func validQueryName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - start; n == 0 || n > 63 {
				return false
			}
			start = i + 1
		}
	}
	return true
}

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
				resp, err = e.res.Lookup(e.ctx, name, typ)
				found = true
			case d > 0:
				// Prefetching begins only if this query waits longer
				// than a fast resolver takes (see prefetchPacer).
				var env macroEnv
				var terms []Term
				if len(e.frames) > 0 {
					env, terms = e.env, e.frames[0].terms
					env.domain = e.frames[0].domain
				}
				disarm := e.pf.beginAfter(d, env, terms)
				resp, err = e.res.Lookup(e.ctx, name, typ)
				found = true
				e.missed = disarm()
			default:
				e.missed = true
				e.prefetchFrames()
			}
		}
		if !found {
			resp, found, err = e.pf.wait(e.ctx, name, typ)
		}
	}
	if !found {
		resp, err = e.res.Lookup(e.ctx, name, typ)
	}
	switch {
	case err != nil && errors.Is(err, ErrNotFound):
		resp, err, void = nil, nil, true
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
	if !e.prefetch {
		return false
	}
	if e.peek == nil {
		return true
	}
	_, found, _ := e.peek.LookupCached(name, typ)
	return !found
}

func (e *evaluation) emit(ev Event) {
	if e.trace == nil {
		return
	}
	ev.Lookups, ev.VoidLookups = e.lookups, e.voids
	e.trace(ev)
}
