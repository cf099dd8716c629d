package spf

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

// TestLimitCtx checks that the lazy context of a check's time limit
// behaves as context.WithDeadline would: its deadline, the parent's
// cancellation and values, its own end, with and without Done asked for.
func TestLimitCtx(t *testing.T) {
	type key struct{}
	far := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Second)
	tests := []struct {
		name     string
		deadline time.Time
		cancel   bool // the parent is cancelled
		stop     bool // the check ends
		done     bool // Done is asked for first
		want     error
	}{
		{"running", far, false, false, false, nil},
		{"running-done", far, false, false, true, nil},
		{"expired", past, false, false, false, context.DeadlineExceeded},
		{"expired-done", past, false, false, true, context.DeadlineExceeded},
		{"parent-cancelled", far, true, false, false, context.Canceled},
		{"parent-cancelled-done", far, true, false, true, context.Canceled},
		{"stopped", far, false, true, false, context.Canceled},
		{"stopped-done", far, false, true, true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			defer cancel()
			l := newLimitCtx(parent, monoAt(tt.deadline), false, new([]limitCtx))
			var ctx context.Context = l
			if tt.done {
				ctx.Done()
			}
			if tt.cancel {
				cancel()
			}
			if tt.stop {
				l.stop()
			}
			if d, ok := ctx.Deadline(); !ok || !d.Equal(tt.deadline) {
				t.Errorf("Deadline() = %v, %v; want %v", d, ok, tt.deadline)
			}
			if got := ctx.Value(key{}); got != "v" {
				t.Errorf("Value = %v, want the parent's", got)
			}
			if tt.want != nil && tt.done {
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
					t.Fatal("Done not closed")
				}
			}
			if err := ctx.Err(); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Err() = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !tt.done {
				// Asked for after the end, Done is closed at once.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
					t.Fatal("Done not closed")
				}
				if err := ctx.Err(); !errors.Is(err, tt.want) {
					t.Errorf("Err() after Done = %v, want %v", err, tt.want)
				}
			}
			if !tt.stop {
				l.stop()
			}
		})
	}
}

// TestLimitCtxParentDeadline checks that the earlier of the parent's
// deadline and the limit's is reported.
func TestLimitCtxParentDeadline(t *testing.T) {
	soon := time.Now().Add(time.Minute)
	parent, cancel := context.WithDeadline(context.Background(), soon)
	defer cancel()
	l := newLimitCtx(parent, monoAt(soon.Add(time.Hour)), false, new([]limitCtx))
	if d, ok := l.Deadline(); !ok || !d.Equal(soon) {
		t.Errorf("Deadline() = %v, %v; want the parent's %v", d, ok, soon)
	}
	l.stop()
}

// TestDeadlineIn checks that deadlineIn(d) is time.Now().Add(d), on the
// monotonic clock and, near enough, on the wall clock.
func TestDeadlineIn(t *testing.T) {
	const d = 20 * time.Second
	before := time.Now().Add(d)
	got := deadlineIn(d).time()
	after := time.Now().Add(d)
	if got.Before(before) || got.After(after) {
		t.Errorf("deadlineIn(%v) = %v, want between %v and %v", d, got, before, after)
	}
	if u := time.Until(got); u <= 0 || u > d {
		t.Errorf("time.Until(deadlineIn(%v)) = %v", d, u)
	}
	if diff := got.Round(0).Sub(after.Round(0)); diff > time.Second || diff < -time.Second-d {
		t.Errorf("wall clock of deadlineIn(%v) is %v from time.Now().Add", d, diff)
	}
}

// TestLimitCtxNotReused checks that a resolver may keep the context of a
// query past its Lookup, as one that finishes a lookup for a cache does:
// the context stays that of its own check (its deadline and values), and
// is cancelled once the check is over, however many checks come after.
func TestLimitCtxNotReused(t *testing.T) {
	var kept []context.Context
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		kept = append(kept, ctx) // without ever calling Done
		return &Response{TXT: []string{"v=spf1 -all"}}, nil
	})
	ip := netip.MustParseAddr("192.0.2.1")
	type key struct{}
	var deadlines []time.Time
	for i, timeout := range []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour} {
		c := &Checker{Resolver: res, NoPrefetch: true, Timeout: timeout}
		ctx := context.WithValue(context.Background(), key{}, i)
		if _, err := c.Check(ctx, ip, "mail.example.org", "a@example.org"); err != nil {
			t.Fatal(err)
		}
		if len(kept) != i+1 {
			t.Fatalf("%d queries after %d checks", len(kept), i+1)
		}
		d, ok := kept[i].Deadline()
		if !ok {
			t.Fatal("no deadline")
		}
		deadlines = append(deadlines, d)
	}
	for i, ctx := range kept {
		if d, _ := ctx.Deadline(); !d.Equal(deadlines[i]) {
			t.Errorf("check %d: its context's deadline became %v, was %v", i, d, deadlines[i])
		}
		if v := ctx.Value(key{}); v != i {
			t.Errorf("check %d: its context's value became %v", i, v)
		}
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("check %d: its context's Err() = %v after the check, want Canceled", i, err)
		}
	}
}

// TestLimitCtxChunk checks that newLimitCtx hands out distinct contexts,
// allocating a chunk once in limitCtxChunk calls.
func TestLimitCtxChunk(t *testing.T) {
	var chunk []limitCtx
	seen := make(map[*limitCtx]bool, limitCtxChunk*8)
	allocs := testing.AllocsPerRun(limitCtxChunk*4, func() {
		l := newLimitCtx(context.Background(), 0, true, &chunk)
		if seen[l] {
			t.Fatal("a context handed out twice")
		}
		seen[l] = true
	})
	if allocs > 1.0/limitCtxChunk+0.01 {
		t.Errorf("%.3f allocations a context, want 1/%d", allocs, limitCtxChunk)
	}
}

// TestLimitCtxSize keeps a limitCtx small: every check that queries a
// resolver not in memory makes one (see limitCtx).
func TestLimitCtxSize(t *testing.T) {
	if size := unsafe.Sizeof(limitCtx{}); unsafe.Sizeof(uintptr(0)) == 8 && size > 40 {
		t.Errorf("a limitCtx is %d bytes, want at most 40", size)
	}
}

// monoAt returns t, which has a monotonic reading, as a monoTime.
func monoAt(t time.Time) monoTime { return monoTime(t.Sub(clockBase)) }

// TestLimitCtxErrClock checks when Err reads the clock before Done is
// asked for: every errClockEvery-th call, so that a deadline that passes
// is seen at most errClockEvery-1 calls late, and then for good; and
// that a context made with a deadline already past, by a caller that
// did not just read the clock, is expired from the start.
func TestLimitCtxErrClock(t *testing.T) {
	l := newLimitCtx(context.Background(), monoAt(time.Now().Add(time.Hour)), true, new([]limitCtx))
	defer l.stop()
	l.deadline = monoAt(time.Now().Add(-time.Second)) // as if the hour had passed
	for call := 1; call < errClockEvery; call++ {
		if err := l.Err(); err != nil {
			t.Fatalf("Err() call %d = %v, want nil: no clock read", call, err)
		}
	}
	for call := errClockEvery; call < 3*errClockEvery; call++ {
		if err := l.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err() call %d = %v, want DeadlineExceeded", call, err)
		}
	}
	l.stop()
	if err := l.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err() after stop = %v, want DeadlineExceeded still", err)
	}

	past := newLimitCtx(context.Background(), monoAt(time.Now().Add(-time.Second)), false, new([]limitCtx))
	defer past.stop()
	if err := past.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("first Err() of a context made past its deadline = %v, want DeadlineExceeded", err)
	}
}
