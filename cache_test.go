package spf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingResolver answers from answers and counts the lookups per name.
type countingResolver struct {
	mu      sync.Mutex
	answers map[string]func() (*Response, error)
	counts  map[string]int
}

func (r *countingResolver) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	r.mu.Lock()
	if r.counts == nil {
		r.counts = make(map[string]int)
	}
	r.counts[name]++
	f := r.answers[name]
	r.mu.Unlock()
	if f == nil {
		return nil, ErrNotFound
	}
	return f()
}

func (r *countingResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[name]
}

func newTestCache(r Resolver) (*Cache, *fakeClock) {
	clk := &fakeClock{now: time.Unix(1_000_000, 0)}
	return &Cache{Resolver: r, now: clk.Now}, clk
}

func TestCacheTTLs(t *testing.T) {
	tempErr := errors.New("SERVFAIL")
	res := &countingResolver{answers: map[string]func() (*Response, error){
		"ttl60.example":   func() (*Response, error) { return &Response{TXT: []string{"x"}, TTL: time.Minute}, nil },
		"ttl0.example":    func() (*Response, error) { return &Response{TXT: []string{"x"}}, nil },
		"nodata.example":  func() (*Response, error) { return &Response{TTL: 30 * time.Second}, nil },
		"nottl.example":   func() (*Response, error) { return &Response{}, nil },
		"temp.example":    func() (*Response, error) { return nil, tempErr },
		"huge.example":    func() (*Response, error) { return &Response{TXT: []string{"x"}, TTL: 1000 * time.Hour}, nil },
		"timeout.example": func() (*Response, error) { return nil, &timeoutError{"timeout.example"} },
	}}
	tests := []struct {
		name string
		// kept is how long the answer is kept: it is asked again at
		// kept and not before.
		kept time.Duration
	}{
		{"ttl60.example", time.Minute},
		{"ttl0.example", 0},
		{"nodata.example", 30 * time.Second},
		{"nottl.example", DefaultNegativeTTL},
		{"nxdomain.example", DefaultNegativeTTL}, // ErrNotFound
		{"temp.example", DefaultFailureTTL},
		{"timeout.example", DefaultFailureTTL},
		{"huge.example", DefaultCacheMaxTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, clk := newTestCache(res)
			ctx := context.Background()
			var wantErr error
			if tc.name == "nxdomain.example" {
				wantErr = ErrNotFound
			}
			r1, err1 := c.Lookup(ctx, tc.name, TypeTXT)
			switch tc.name {
			case "temp.example":
				wantErr = tempErr
			case "timeout.example":
				wantErr = err1
			}
			if wantErr != nil && !errors.Is(err1, wantErr) {
				t.Fatalf("first Lookup error = %v, want %v", err1, wantErr)
			}
			if tc.kept > time.Second {
				clk.Advance(tc.kept - time.Second)
				r2, err2 := c.Lookup(ctx, tc.name, TypeTXT)
				if res.count(tc.name) != 1 {
					t.Errorf("asked again %v before expiry", time.Second)
				}
				if r2 != r1 || !errors.Is(err2, wantErr) {
					t.Errorf("cached answer %v, %v differs from %v, %v", r2, err2, r1, err1)
				}
				clk.Advance(time.Second)
			}
			n := res.count(tc.name)
			c.Lookup(ctx, tc.name, TypeTXT)
			if got := res.count(tc.name); got != n+1 {
				t.Errorf("not asked again after %v", tc.kept)
			}
		})
	}
}

func TestCacheMinMaxTTL(t *testing.T) {
	res := &countingResolver{answers: map[string]func() (*Response, error){
		"a": func() (*Response, error) { return &Response{TXT: []string{"x"}}, nil },
		"b": func() (*Response, error) { return &Response{TXT: []string{"x"}, TTL: time.Hour}, nil },
	}}
	c, clk := newTestCache(res)
	c.MinTTL, c.MaxTTL, c.NegativeTTL = 10*time.Second, time.Minute, 5*time.Second
	ctx := context.Background()
	for _, n := range []string{"a", "b", "nx"} {
		c.Lookup(ctx, n, TypeTXT)
	}
	clk.Advance(9 * time.Second) // all kept
	for _, n := range []string{"a", "b", "nx"} {
		c.Lookup(ctx, n, TypeTXT)
	}
	clk.Advance(2 * time.Second) // a (MinTTL 10s) and nx (NegativeTTL 5s, raised to MinTTL) expired
	for _, n := range []string{"a", "b", "nx"} {
		c.Lookup(ctx, n, TypeTXT)
	}
	clk.Advance(time.Minute) // b capped at MaxTTL
	c.Lookup(ctx, "b", TypeTXT)
	got := map[string]int{"a": res.count("a"), "b": res.count("b"), "nx": res.count("nx")}
	if diff := cmp.Diff(map[string]int{"a": 2, "b": 2, "nx": 2}, got); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestCacheKeys(t *testing.T) {
	res := &countingResolver{answers: map[string]func() (*Response, error){
		"example.com": func() (*Response, error) { return &Response{TXT: []string{"x"}, TTL: time.Minute}, nil },
	}}
	c, _ := newTestCache(res)
	ctx := context.Background()
	c.Lookup(ctx, "example.com", TypeTXT)
	c.Lookup(ctx, "EXAMPLE.com", TypeTXT)
	c.Lookup(ctx, "example.com", TypeA) // another type: another entry
	if n := res.count("example.com"); n != 2 {
		t.Errorf("%d lookups behind the cache, want 2", n)
	}
	if resp, found, err := c.LookupCached("Example.Com", TypeTXT); !found || err != nil || resp.Len() != 1 {
		t.Errorf("LookupCached = %v, %v, %v", resp, found, err)
	}
	if _, found, _ := c.LookupCached("example.com", TypeMX); found {
		t.Error("LookupCached found an answer never asked for")
	}
	want := CacheStats{Hits: 1, Misses: 2, Queries: 2, Entries: 2}
	if diff := cmp.Diff(want, c.Stats(), cmpopts.IgnoreFields(CacheStats{}, "Bytes")); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}
}

func TestCacheBounded(t *testing.T) {
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		return &Response{TXT: []string{name}, TTL: time.Hour}, nil
	})
	for _, max := range []int{1, 10, 1000, 5000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			c, clk := newTestCache(res)
			c.MaxEntries = max
			ctx := context.Background()
			for i := range 3 * max {
				name := fmt.Sprintf("n%d.example", i)
				if r, err := c.Lookup(ctx, name, TypeTXT); err != nil || r.TXT[0] != name {
					t.Fatalf("Lookup(%s) = %v, %v", name, r, err)
				}
				if i == max {
					clk.Advance(2 * time.Hour) // the first max entries expire
				}
			}
			st := c.Stats()
			shards := len(c.shards)
			if st.Entries > max+shards-1 {
				t.Errorf("%d entries with MaxEntries %d (%d shards)", st.Entries, max, shards)
			}
			if st.Evictions == 0 {
				t.Errorf("no evictions: %+v", st)
			}
		})
	}
}

// TestCacheCollapse checks that identical concurrent lookups send one
// query, and that a waiter whose context ends leaves at once without
// cancelling the query of the others.
func TestCacheCollapse(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		calls.Add(1)
		select {
		case <-release:
			return &Response{TXT: []string{"x"}, TTL: time.Minute}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	c := &Cache{Resolver: res}
	var wg sync.WaitGroup
	const n = 50
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.Lookup(context.Background(), "example.com", TypeTXT)
			results <- err
		})
	}
	// One more waiter gives up early.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Lookup(ctx, "example.com", TypeTXT)
		done <- err
	}()
	// Every lookup must have joined the one flight before the early one
	// leaves: a miss is counted before the lookup joins, and a flight
	// whose only waiter leaves is cancelled (a second query would follow).
	waiters := func() int {
		c.init()
		c.flightMu.Lock()
		defer c.flightMu.Unlock()
		if f := c.flights[cacheKey{"example.com", TypeTXT}]; f != nil {
			return f.waiters
		}
		return 0
	}
	for waiters() < n+1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("%d lookups behind the cache, want 1", got)
	}
	if st := c.Stats(); st.Queries != 1 {
		t.Errorf("Stats().Queries = %d, want 1", st.Queries)
	}
}

// TestCacheAbandonedQuery checks that a query every waiter gave up on is
// cancelled, is not kept, and that the next lookup asks again.
func TestCacheAbandonedQuery(t *testing.T) {
	var calls atomic.Int32
	cancelled := make(chan struct{}, 1)
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		if calls.Add(1) > 1 {
			return &Response{TXT: []string{"x"}, TTL: time.Minute}, nil
		}
		<-ctx.Done()
		cancelled <- struct{}{}
		return &Response{TXT: []string{"stale"}, TTL: time.Minute}, nil
	})
	c := &Cache{Resolver: res}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Lookup(ctx, "example.com", TypeTXT); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lookup = %v, want DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the abandoned query was not cancelled")
	}
	resp, err := c.Lookup(context.Background(), "example.com", TypeTXT)
	if err != nil || resp.TXT[0] != "x" {
		t.Errorf("next Lookup = %v, %v; want a fresh answer", resp, err)
	}
}

func TestCacheHitAllocs(t *testing.T) {
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		return &Response{TXT: []string{"x"}, TTL: time.Minute}, nil
	})
	c := &Cache{Resolver: res}
	ctx := context.Background()
	c.Lookup(ctx, "example.com", TypeTXT)
	c.Lookup(ctx, "nx.example.com", TypeA)
	allocs := testing.AllocsPerRun(100, func() {
		c.Lookup(ctx, "example.com", TypeTXT)
		c.Lookup(ctx, "nx.example.com", TypeA)
		c.LookupCached("example.com", TypeTXT)
	})
	if allocs != 0 {
		t.Errorf("a cache hit allocates %v times", allocs)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		return &Response{TXT: []string{"x"}, TTL: time.Hour}, nil
	})
	c := &Cache{Resolver: res}
	ctx := context.Background()
	c.Lookup(ctx, "example.com", TypeTXT)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Lookup(ctx, "example.com", TypeTXT)
		}
	})
}
