package spf

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxPrefetchDelay bounds how long a query of a check waits before the
// check starts prefetching: a fast local resolver answers from its cache
// well within it, and at any latency where prefetching pays, waiting this
// long first costs little.
const maxPrefetchDelay = 2 * time.Millisecond

// maxPrefetchInFlight caps the prefetch queries a DNSResolver has in
// flight, over all the checks that use it: beyond it prefetch queries
// are not sent (evaluation sends its own when it needs them), so that
// bursts do not overflow a server's receive queue, and a busy resolver
// (where checks are many and queries wait on CPU, not on the network)
// gets few speculative queries.
const maxPrefetchInFlight = 8

// busyInFlight is how many Lookups a DNSResolver has in progress when it
// is busy: many checks run at once, and they keep the resolver and the
// network as busy as prefetching would, so none of them prefetches, which
// would only cost CPU and queries.
const busyInFlight = 16

// A prefetchPacer is a resolver that measures its round trips and paces
// prefetching (see DNSResolver).
type prefetchPacer interface {
	// prefetchDelay is how long a query waits on DNS before its check
	// starts prefetching; negative for not now.
	prefetchDelay() time.Duration
	// acquirePrefetch reports whether a prefetch query may be sent now;
	// if so, releasePrefetch must be called when it is done.
	acquirePrefetch() bool
	releasePrefetch()
	// checkBegin and checkEnd bracket a check that may prefetch.
	checkBegin()
	checkEnd()
}

var _ prefetchPacer = (*DNSResolver)(nil)

// A pacer holds a DNSResolver's measures: an estimate of its fast round
// trips (answers from a resolver's cache, the lower values of the
// samples), and the prefetch queries in flight.
type pacer struct {
	fastRTT    atomic.Int64 // nanoseconds; 0 before the first sample
	inFlight   atomic.Int32 // prefetch queries
	active     atomic.Int32 // Lookups in progress, merged ones included
	checks     atomic.Int32 // checks in progress that may prefetch
	retries    atomic.Int64 // UDP queries sent again
	prefetches atomic.Int64 // prefetch queries allowed

	mu           sync.Mutex
	srtt, rttvar time.Duration // RFC 6298 section 2; srtt 0 before the first sample
}

// minRTO is the least interval after which an unanswered UDP query is
// sent again, whatever the round trips measured: time for a loaded
// machine to answer over loopback.
const minRTO = 20 * time.Millisecond

// initialRTO is the retransmission timeout before any round trip is
// measured: enough for a recursive resolver to resolve most names.
const initialRTO = 250 * time.Millisecond

// rto returns how long to wait for an answer before sending a UDP query
// again (RFC 6298 section 2: SRTT + 4 RTTVAR, at least minRTO, and at
// least twice SRTT: with steady round trips RTTVAR falls towards zero, and
// an answer a little slower than the mean would be asked for again);
// before any measure, initialRTO (at most half of timeout).
func (p *pacer) rto(timeout time.Duration) time.Duration {
	p.mu.Lock()
	srtt, rttvar := p.srtt, p.rttvar
	p.mu.Unlock()
	if srtt == 0 {
		return max(min(timeout/2, initialRTO), minRTO)
	}
	return max(srtt+max(4*rttvar, srtt), minRTO)
}

// sample records the round trip of one answered query: in the smoothed
// round trip and its variation of RFC 6298, and in the estimate of fast
// round trips, which falls fast towards a smaller sample and rises slowly
// towards a larger one, so that it follows the fast answers.
func (p *pacer) sample(d time.Duration) {
	p.mu.Lock()
	if p.srtt == 0 {
		p.srtt, p.rttvar = d, d/2
	} else {
		p.rttvar += ((p.srtt - d).Abs() - p.rttvar) / 4
		p.srtt += (d - p.srtt) / 8
	}
	p.mu.Unlock()
	s := int64(d)
	for {
		old := p.fastRTT.Load()
		next := s
		if old != 0 {
			if s < old {
				next = old + (s-old)/4
			} else {
				next = old + (s-old)/32
			}
		}
		if p.fastRTT.CompareAndSwap(old, next) {
			return
		}
	}
}

// delay returns how long a query waits before prefetching begins: four
// fast round trips, at most maxPrefetchDelay (also before any sample);
// negative, for never, when the resolver is busy.
func (p *pacer) delay() time.Duration {
	if p.busy() {
		return -1
	}
	est := time.Duration(p.fastRTT.Load())
	if est == 0 {
		return maxPrefetchDelay
	}
	return min(4*est, maxPrefetchDelay)
}

// busy reports whether prefetching would cost more than it saves: the
// resolver has busyInFlight Lookups in progress, or its fast round trips
// are shorter than maxPrefetchDelay/4 (a resolver answering from its
// cache) while more checks are in progress than the Go scheduler runs at
// once. Then a query that waits longer than a few round trips waits for
// the CPU, not for DNS, and prefetched queries would only add work.
func (p *pacer) busy() bool {
	if p.active.Load() >= busyInFlight {
		return true
	}
	est := time.Duration(p.fastRTT.Load())
	return est != 0 && 4*est < maxPrefetchDelay && int(p.checks.Load()) > runtime.GOMAXPROCS(0)
}

func (r *DNSResolver) prefetchDelay() time.Duration { return r.pace.delay() }

func (r *DNSResolver) acquirePrefetch() bool {
	if r.pace.busy() {
		return false
	}
	if r.pace.inFlight.Add(1) > maxPrefetchInFlight {
		r.pace.inFlight.Add(-1)
		return false
	}
	r.pace.prefetches.Add(1)
	return true
}

func (r *DNSResolver) releasePrefetch() { r.pace.inFlight.Add(-1) }

func (r *DNSResolver) checkBegin() { r.pace.checks.Add(1) }

func (r *DNSResolver) checkEnd() { r.pace.checks.Add(-1) }

// A call is a Lookup in progress that identical Lookups wait for.
type call struct {
	done    chan struct{} // made by the first waiter, closed when over
	waiters int           // Lookups waiting for it
	resp    *Response
	err     error
}

// calls merges identical Lookups in flight on one DNSResolver.
type calls struct {
	mu   sync.Mutex
	m    map[zoneKey]*call
	free []*call // calls no one waited for, to use again
}

// maxFreeCalls bounds calls.free.
const maxFreeCalls = 64

// do returns the answer of r.lookup for (name, typ), sharing it with the
// identical calls in flight. A caller whose context ends stops waiting;
// if the call that was sending the query ended so, the others send it
// again themselves. A query no one else waits for allocates nothing
// here: its call is used again.
func (c *calls) do(ctx context.Context, r *DNSResolver, name string, typ RRType) (*Response, error) {
	k := zoneKey{name, typ}
	for {
		c.mu.Lock()
		cl := c.m[k]
		if cl == nil {
			if c.m == nil {
				c.m = make(map[zoneKey]*call)
			}
			if n := len(c.free); n > 0 {
				cl = c.free[n-1]
				c.free = c.free[:n-1]
			} else {
				cl = new(call)
			}
			c.m[k] = cl
			c.mu.Unlock()
			resp, err := r.lookup(ctx, name, typ)
			c.mu.Lock()
			delete(c.m, k)
			if cl.waiters == 0 {
				if len(c.free) < maxFreeCalls {
					c.free = append(c.free, cl)
				}
			} else {
				cl.resp, cl.err = resp, err
				close(cl.done)
			}
			c.mu.Unlock()
			return resp, err
		}
		if cl.done == nil {
			cl.done = make(chan struct{})
		}
		cl.waiters++
		done := cl.done
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if cl.err == nil || !isContextError(cl.err) {
			return cl.resp, cl.err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// isContextError reports whether err is a context's end.
func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
