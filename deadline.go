package spf

import (
	"context"
	"sync/atomic"
	"time"
)

// clockBase is a time read once, when the package is initialised, and
// never changed: a monoTime is measured from it.
var clockBase = time.Now()

// A monoTime is an instant on the monotonic clock, as the time since
// clockBase: one read of the clock makes it (time.Since of a time that
// has a monotonic reading), not two (the wall clock as well), and it
// holds no pointer, unlike a time.Time, so storing it costs no write
// barrier. The zero monoTime is no instant: a deadline not set yet.
type monoTime time.Duration

// deadlineIn returns the instant d from now, d > 0. It reads the clock.
func deadlineIn(d time.Duration) monoTime {
	return monoTime(time.Since(clockBase) + d)
}

// passed reports whether t is past. It reads the clock.
func (t monoTime) passed() bool { return time.Since(clockBase) >= time.Duration(t) }

// time returns t as a time.Time, whose wall reading follows the monotonic
// clock from clockBase, which is what deadlines are measured by
// (time.Until and net.Conn deadlines use the monotonic reading).
func (t monoTime) time() time.Time { return clockBase.Add(time.Duration(t)) }

// A limitCtx is the context a check's queries get once the time limit
// has a deadline (see evaluation.waitCtx): its parent bounded by the
// deadline, as context.WithDeadline gives, except that the timer and
// channel of a real context.WithDeadline are made only when a resolver
// asks for Done, to wait: a resolver that answers at once (from memory,
// without looking at Done) thus costs no timer, and a part of one small
// allocation (see newLimitCtx). It is safe for concurrent use (prefetch
// goroutines share it), the parent's cancellation and values go through,
// and each check has its own, never reused, so that a resolver may keep
// it past its Lookup.
//
// Until Done is asked for, Err reads the clock on every errClockEvery-th
// call only: a resolver calls Err once a Lookup, and a clock read can
// cost as much as a lookup from memory. A Lookup that waits must wait on
// Done, as context-aware code does; one that only polls Err sees the
// deadline at most errClockEvery-1 calls late, as a real context's Err
// turns only when its timer has fired, some time after the deadline.
//
// It is small (40 bytes on 64-bit platforms), since every check that
// queries a resolver not in memory makes one: the bytes a check
// allocates set how often the garbage collector runs.
type limitCtx struct {
	parent   context.Context // set by newLimitCtx, not changed after
	deadline monoTime        // set by newLimitCtx, not changed after

	// state holds stoppedBit, expiredBit, and, from bit 2 up, the count
	// of Err's calls.
	state atomic.Uint32
	// made holds the real context once Done has made it.
	made atomic.Pointer[madeCtx]
}

// The bits of limitCtx.state.
const (
	stoppedBit = 1 << iota // the check is over: Canceled
	expiredBit             // the deadline has been seen past
	errCallOne             // one call of Err, in the count above
)

// errClockEvery is how often limitCtx.Err reads the clock (see limitCtx).
const errClockEvery = 4

// A madeCtx is the real context of a limitCtx, and its cancel.
type madeCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// limitCtxChunk is how many limitCtx values are allocated at once.
const limitCtxChunk = 8

// newLimitCtx returns parent bounded by deadline, for one check; ahead
// reports that the caller has just read the clock and found the deadline
// ahead, which the context then need not check until Err's
// errClockEvery-th call. It takes the context from *chunk, a slice of
// unused ones that the caller keeps from check to check, and allocates
// limitCtxChunk of them at a time when it is empty: one allocation for
// eight checks. A context is never handed out twice, so a resolver may
// keep it past its check; the chunk it came from then stays alive with
// it, under a kilobyte.
func newLimitCtx(parent context.Context, deadline monoTime, ahead bool, chunk *[]limitCtx) *limitCtx {
	if len(*chunk) == 0 {
		*chunk = make([]limitCtx, limitCtxChunk)
	}
	l := &(*chunk)[0]
	*chunk = (*chunk)[1:]
	l.parent, l.deadline = parent, deadline
	if !ahead && deadline.passed() {
		l.state.Store(expiredBit)
	}
	return l
}

// stop ends l with the check, as the cancel of context.WithDeadline does,
// releasing the timer of a real context if one was made.
//
// It takes no lock: Done sets made before it looks at stopped, and stop
// sets stopped before it looks at made, so that one of them, or both,
// cancels a real context made while the check ends.
func (l *limitCtx) stop() {
	l.state.Or(stoppedBit)
	if m := l.made.Load(); m != nil {
		m.cancel()
	}
}

// Deadline returns the earlier of the parent's deadline and l's.
func (l *limitCtx) Deadline() (time.Time, bool) {
	own := l.deadline.time()
	if d, ok := l.parent.Deadline(); ok && d.Before(own) {
		return d, true
	}
	return own, true
}

// Done makes the real context, if it is not made yet, and returns its
// channel.
func (l *limitCtx) Done() <-chan struct{} {
	m := l.made.Load()
	if m == nil {
		ctx, cancel := context.WithDeadline(l.parent, l.deadline.time())
		if l.made.CompareAndSwap(nil, &madeCtx{ctx, cancel}) {
			if l.state.Load()&stoppedBit != 0 {
				cancel()
			}
		} else {
			cancel() // another goroutine made it first
		}
		m = l.made.Load()
	}
	return m.ctx.Done()
}

// Err returns the parent's error, context.DeadlineExceeded once the
// deadline has been seen past (on every errClockEvery-th call, see
// limitCtx), context.Canceled once the check is over, or nil. Once Done
// has been asked for, it is the real context's, so that it is non-nil
// exactly when Done is closed.
func (l *limitCtx) Err() error {
	if m := l.made.Load(); m != nil {
		return m.ctx.Err()
	}
	if err := l.parent.Err(); err != nil {
		return err
	}
	s := l.state.Add(errCallOne)
	if s&expiredBit != 0 {
		return context.DeadlineExceeded
	}
	if (s/errCallOne)%errClockEvery == 0 && l.deadline.passed() {
		l.state.Or(expiredBit)
		return context.DeadlineExceeded
	}
	if s&stoppedBit != 0 {
		return context.Canceled
	}
	return nil
}

// Value returns the parent's value for key (the real context's, once
// made, which answers for the context package's own keys too).
func (l *limitCtx) Value(key any) any {
	if m := l.made.Load(); m != nil {
		return m.ctx.Value(key)
	}
	return l.parent.Value(key)
}

// String describes l, as the contexts of the context package do.
func (l *limitCtx) String() string {
	return "spf.limitCtx(" + l.deadline.time().String() + ")"
}
