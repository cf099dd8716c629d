package spf

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// clockBase is a time read once, when the package is initialised, and
// never changed: deadlineIn reads the monotonic clock from it.
var clockBase = time.Now()

// deadlineIn returns the time d from now, as time.Now().Add(d) does, but
// with one read of the monotonic clock (time.Since of a time that has a
// monotonic reading), not two (the wall clock as well): this is done once
// a check. The wall reading of the result follows the monotonic clock
// from clockBase, which is what deadlines are measured by (time.Until
// and net.Conn deadlines use the monotonic reading).
func deadlineIn(d time.Duration) time.Time {
	return clockBase.Add(time.Since(clockBase) + d)
}

// A limitCtx is the context a check's queries get once the time limit
// has a deadline (see evaluation.waitCtx): its parent bounded by the
// deadline, as context.WithDeadline gives, except that the timer and
// channel of a real context.WithDeadline are made only when a resolver
// asks for Done, to wait: a resolver that answers at once (from memory,
// without looking at Done) thus costs one small allocation and no timer.
// It is safe for concurrent use (prefetch goroutines share it), the
// parent's cancellation and values go through, and each check has its
// own, never reused, so that a resolver may keep it past its Lookup.
type limitCtx struct {
	parent   context.Context // set by newLimitCtx, not changed after
	deadline time.Time       // set by newLimitCtx, not changed after

	stopped atomic.Bool // the check is over: Canceled
	// made is set once Done has made real and cancel, which do not
	// change after.
	made   atomic.Bool
	real   context.Context
	cancel context.CancelFunc
	mu     sync.Mutex // to make real once
}

// newLimitCtx returns parent bounded by deadline, for one check.
func newLimitCtx(parent context.Context, deadline time.Time) *limitCtx {
	return &limitCtx{parent: parent, deadline: deadline}
}

// stop ends l with the check, as the cancel of context.WithDeadline does,
// releasing the timer of a real context if one was made.
//
// It takes no lock: Done sets made before it looks at stopped, and stop
// sets stopped before it looks at made, so that one of them, or both,
// cancels a real context made while the check ends.
func (l *limitCtx) stop() {
	l.stopped.Store(true)
	if l.made.Load() {
		l.cancel()
	}
}

// Deadline returns the earlier of the parent's deadline and l's.
func (l *limitCtx) Deadline() (time.Time, bool) {
	if d, ok := l.parent.Deadline(); ok && d.Before(l.deadline) {
		return d, true
	}
	return l.deadline, true
}

// Done makes the real context, if it is not made yet, and returns its
// channel.
func (l *limitCtx) Done() <-chan struct{} {
	if l.made.Load() {
		return l.real.Done()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.made.Load() {
		l.real, l.cancel = context.WithDeadline(l.parent, l.deadline)
		l.made.Store(true)
		if l.stopped.Load() {
			l.cancel()
		}
	}
	return l.real.Done()
}

// Err returns the parent's error, context.DeadlineExceeded once the
// deadline has passed, context.Canceled once the check is over, or nil.
// Once Done has been asked for, it is the real context's, so that it is
// non-nil exactly when Done is closed.
func (l *limitCtx) Err() error {
	if l.made.Load() {
		return l.real.Err()
	}
	if err := l.parent.Err(); err != nil {
		return err
	}
	if time.Until(l.deadline) <= 0 { // the monotonic clock alone
		return context.DeadlineExceeded
	}
	if l.stopped.Load() {
		return context.Canceled
	}
	return nil
}

// Value returns the parent's value for key (the real context's, once
// made, which answers for the context package's own keys too).
func (l *limitCtx) Value(key any) any {
	if l.made.Load() {
		return l.real.Value(key)
	}
	return l.parent.Value(key)
}

// String describes l, as the contexts of the context package do.
func (l *limitCtx) String() string {
	return "spf.limitCtx(" + l.deadline.String() + ")"
}
