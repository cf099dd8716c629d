package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// wildcard64K is an SPF record of 64 KB with as many terms as fit: the
// record a hostile domain publishes under a wildcard, so that every
// sender domain is a new cache entry.
func wildcard64K() string {
	var b strings.Builder
	b.WriteString("v=spf1")
	for b.Len() < 65000 {
		b.WriteString(" a")
	}
	b.WriteString(" -all")
	return b.String()
}

// freshResolver answers every TXT query with a copy of txt, as a
// resolver that decodes each DNS answer anew does, and every other query
// with no data.
func freshResolver(txt string) Resolver {
	return ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		if typ != TypeTXT {
			return nil, ErrNotFound
		}
		return &Response{TXT: []string{strings.Clone(txt)}, TTL: time.Hour}, nil
	})
}

// TestCacheHeapBounded feeds the wildcard 64 KB record of many sender
// domains through a Cache and checks that the live heap it leaves stays
// under MaxBytes plus a small constant. Without a byte bound it would be
// about 100 × (64 KB + the parsed record).
func TestCacheHeapBounded(t *testing.T) {
	// Not parallel: the heap is measured for the whole process.
	const maxBytes = 2 << 20
	const slack = 1 << 20
	c := &Cache{Resolver: freshResolver(wildcard64K()), MaxBytes: maxBytes}
	checker := &Checker{Resolver: c}
	ip := netip.MustParseAddr("192.0.2.1")
	ctx := context.Background()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const domains = 100
	for i := range domains {
		out, err := checker.Check(ctx, ip, "helo.example", fmt.Sprintf("a@s%d.wild.example", i))
		if out.Result != PermError || err == nil {
			t.Fatalf("check %d: %v, %v; want permerror", i, out.Result, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	st := c.Stats()
	t.Logf("live heap grew %d bytes; cache holds %d entries, %d bytes", grown, st.Entries, st.Bytes)
	if grown > maxBytes+slack {
		t.Errorf("live heap grew %d bytes, more than MaxBytes %d + %d", grown, maxBytes, slack)
	}
	if st.Bytes > maxBytes {
		t.Errorf("Stats().Bytes = %d, more than MaxBytes %d", st.Bytes, maxBytes)
	}
	if st.Entries < 10 {
		t.Errorf("only %d entries kept: the test proves nothing", st.Entries)
	}
	runtime.KeepAlive(c)
}

// TestCacheBytes checks what an entry is counted as against MaxBytes.
func TestCacheBytes(t *testing.T) {
	t.Parallel()
	spf200 := "v=spf1" + strings.Repeat(" ip4:192.0.2.1", 200) + " -all" // 2,810 bytes, 201 terms
	txt200 := "x" + spf200[1:]                                           // as long, not SPF
	spf400 := "v=spf1" + strings.Repeat(" a", 400)                       // 806 bytes, over maxMemoTerms
	tests := []struct {
		name     string
		typ      RRType
		resp     *Response
		err      error
		atLeast  int  // bytes the entry must be counted as, at least
		memoized bool // whether the parsed record is kept with it
	}{
		{"txt", TypeTXT, &Response{TXT: []string{txt200}}, nil, len(txt200), false},
		{"spf", TypeTXT, &Response{TXT: []string{spf200}}, nil, len(spf200) + 201*sizeTerm, true},
		{"spf too many terms", TypeTXT, &Response{TXT: []string{spf400}}, nil, len(spf400), false},
		{"spf too long", TypeTXT, &Response{TXT: []string{spf200 + spf200[6:]}}, nil, 2 * len(spf200), false},
		{"addrs", TypeA, &Response{Addrs: make([]netip.Addr, 300)}, nil, 300 * sizeAddr, false},
		{"names", TypeMX, &Response{Names: []string{strings.Repeat("m", 250), strings.Repeat("n", 250)}}, nil, 500, false},
		{"failure", TypeTXT, nil, errors.New(strings.Repeat("e", 1000)), 1000, false},
		{"nxdomain", TypeTXT, nil, ErrNotFound, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.resp != nil {
				tc.resp.TTL = time.Hour
			}
			res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
				return tc.resp, tc.err
			})
			c, _ := newTestCache(res)
			c.Lookup(context.Background(), "x.example", tc.typ)
			st := c.Stats()
			if st.Entries != 1 {
				t.Fatalf("%d entries, want 1", st.Entries)
			}
			// The overhead of a small entry: the map slot, the name, the
			// Response and its slice headers, the error.
			const overhead = 512
			if st.Bytes < tc.atLeast || st.Bytes > tc.atLeast+overhead+tc.atLeast/8 {
				t.Errorf("counted %d bytes, want %d to %d", st.Bytes, tc.atLeast, tc.atLeast+overhead+tc.atLeast/8)
			}
			if tc.resp != nil {
				rec := tc.resp.spf.Load()
				if got := rec != nil && rec.terms != nil; got != tc.memoized {
					t.Errorf("parsed record memoized: %v, want %v", got, tc.memoized)
				}
			}
		})
	}
}

// TestCacheTooLarge checks that an answer larger than an eighth of a
// shard is not kept, and that the cache stays within MaxBytes.
func TestCacheTooLarge(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 20000)
	c, _ := newTestCache(freshResolver(big))
	c.MaxBytes = 128 << 10 // one shard, entries up to 16 KiB
	ctx := context.Background()
	for range 3 {
		if _, err := c.Lookup(ctx, "big.example", TypeTXT); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Entries != 0 || st.Queries != 3 {
		t.Errorf("Stats() = %+v; want nothing kept, 3 queries", st)
	}
	c2, _ := newTestCache(freshResolver(big[:10000]))
	c2.MaxBytes = 128 << 10
	for i := range 100 {
		c2.Lookup(ctx, fmt.Sprintf("n%d.example", i), TypeTXT)
	}
	if st := c2.Stats(); st.Bytes > c2.MaxBytes || st.Entries < 10 || st.Evictions == 0 {
		t.Errorf("Stats() = %+v with MaxBytes %d", st, c2.MaxBytes)
	}
}

// TestCacheFailures checks that a resolution failure is kept for
// FailureTTL, clamped to RFC 9520's bounds: one query for many lookups
// within it, a new query after it.
func TestCacheFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		failureTTL time.Duration
		kept       time.Duration // 0: not kept
		err        error
	}{
		{"default", 0, DefaultFailureTTL, errors.New("SERVFAIL")},
		{"timeout", 0, DefaultFailureTTL, &timeoutError{"x.example"}},
		{"30s", 30 * time.Second, 30 * time.Second, errors.New("SERVFAIL")},
		{"raised to 1s", time.Millisecond, MinFailureTTL, errors.New("SERVFAIL")},
		{"cut to 5m", time.Hour, MaxFailureTTL, errors.New("SERVFAIL")},
		{"never", -1, 0, errors.New("SERVFAIL")},
		{"deadline of the resolver", 0, DefaultFailureTTL, fmt.Errorf("dns: %w", context.DeadlineExceeded)},
		{"cancelled", 0, 0, fmt.Errorf("dns: %w", context.Canceled)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := &countingResolver{answers: map[string]func() (*Response, error){
				"x.example": func() (*Response, error) { return nil, tc.err },
			}}
			c, clk := newTestCache(res)
			c.FailureTTL = tc.failureTTL
			ctx := context.Background()
			const n = 20
			for range n {
				if _, err := c.Lookup(ctx, "x.example", TypeTXT); !errors.Is(err, tc.err) {
					t.Fatalf("Lookup error %v, want %v", err, tc.err)
				}
			}
			want := 1
			if tc.kept == 0 {
				want = n
			}
			if got := res.count("x.example"); got != want {
				t.Errorf("%d queries for %d lookups, want %d", got, n, want)
			}
			if tc.kept == 0 {
				return
			}
			clk.Advance(tc.kept - time.Millisecond)
			c.Lookup(ctx, "x.example", TypeTXT)
			if got := res.count("x.example"); got != 1 {
				t.Errorf("asked again before %v", tc.kept)
			}
			clk.Advance(time.Millisecond)
			c.Lookup(ctx, "x.example", TypeTXT)
			if got := res.count("x.example"); got != 2 {
				t.Errorf("%d queries after %v, want 2", got, tc.kept)
			}
		})
	}
}

// TestCacheCancelledCallerNotKept checks that a lookup cut short by its
// caller's context leaves no failure behind.
func TestCacheCancelledCallerNotKept(t *testing.T) {
	t.Parallel()
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
			return &Response{TXT: []string{"x"}, TTL: time.Minute}, nil
		}
	})
	c := &Cache{Resolver: res}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Lookup(ctx, "x.example", TypeTXT); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lookup with a cancelled context: %v", err)
	}
	// The abandoned query ends soon; until it has, lookups join or wait.
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := c.Lookup(context.Background(), "x.example", TypeTXT)
		if err == nil && resp.TXT[0] == "x" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lookup after a cancelled one = %v, %v; want a fresh answer", resp, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCacheNoResolver checks that a Cache without a Resolver answers with
// an error, whatever the context, and never panics.
func TestCacheNoResolver(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, ctx := range []context.Context{context.Background(), cancelled, nil} {
		var c Cache
		errc := make(chan error, 1)
		go func() {
			_, err := c.Lookup(ctx, "example.com", TypeTXT)
			errc <- err
		}()
		if err := <-errc; err == nil {
			t.Errorf("Lookup with context %v: no error", ctx)
		}
		if _, found, err := c.LookupCached("example.com", TypeTXT); found || err != nil {
			t.Errorf("LookupCached = %v, %v", found, err)
		}
	}
	out, err := (&Checker{Resolver: &Cache{}}).Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "h.example", "a@example.com")
	if out.Result != TempError || err == nil {
		t.Errorf("Check through a Cache without Resolver = %v, %v; want temperror", out.Result, err)
	}
}

// TestCacheNilContext checks that a nil context is taken as
// context.Background.
func TestCacheNilContext(t *testing.T) {
	t.Parallel()
	c := &Cache{Resolver: freshResolver("x")}
	//lint:ignore SA1012 a nil context is what this tests
	if resp, err := c.Lookup(nil, "x.example", TypeTXT); err != nil || resp.TXT[0] != "x" { //nolint:staticcheck
		t.Errorf("Lookup(nil, ...) = %v, %v", resp, err)
	}
}

// BenchmarkParse64K measures the memory of the wildcard 64 KB record,
// parsed, and reports the size of a Term.
func BenchmarkParse64K(b *testing.B) {
	rec := wildcard64K()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(unsafe.Sizeof(Term{})), "B/term")
}
