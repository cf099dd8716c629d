package spf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// zipfWorkload returns n lookups of names drawn from a Zipf distribution
// over universe names (a few large senders and a long tail), with a fixed
// seed. With scan > 0, that fraction of the lookups is of names never
// seen before, as a wildcard record makes every sender domain new.
func zipfWorkload(n, universe int, s, scan float64) []string {
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, s, 1, uint64(universe-1))
	names := make([]string, universe)
	for i := range names {
		names[i] = fmt.Sprintf("d%d.example", i)
	}
	out := make([]string, n)
	for i := range out {
		if scan > 0 && r.Float64() < scan {
			out[i] = fmt.Sprintf("u%d.wild.example", i)
			continue
		}
		out[i] = names[z.Uint64()]
	}
	return out
}

// BenchmarkCacheHitRatio measures the share of lookups a Cache of 4,096
// entries answers from memory on Zipf-distributed workloads of 200,000
// lookups over 100,000 names; "hit%" is the figure to compare between
// eviction policies.
func BenchmarkCacheHitRatio(b *testing.B) {
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		return &Response{TXT: []string{"v=spf1 -all"}, TTL: time.Hour}, nil
	})
	for _, w := range []struct {
		name string
		s    float64
		scan float64
	}{
		{"zipf1.1", 1.1, 0},
		{"zipf1.01", 1.01, 0},
		{"zipf1.1+scan30%", 1.1, 0.3},
	} {
		b.Run(w.name, func(b *testing.B) {
			lookups := zipfWorkload(200_000, 100_000, w.s, w.scan)
			var ratio float64
			for b.Loop() {
				c := &Cache{Resolver: res, MaxEntries: 4096}
				ctx := context.Background()
				for _, name := range lookups {
					c.Lookup(ctx, name, TypeTXT)
				}
				st := c.Stats()
				ratio = float64(st.Hits) / float64(st.Hits+st.Misses)
			}
			b.ReportMetric(100*ratio, "hit%")
		})
	}
}

// TestCacheKeepsHotNames checks that names asked again and again stay in
// a full cache while a stream of names asked once (the sender domains of
// a wildcard record) passes through it.
func TestCacheKeepsHotNames(t *testing.T) {
	t.Parallel()
	res := ResolverFunc(func(ctx context.Context, name string, typ RRType) (*Response, error) {
		return &Response{TXT: []string{"v=spf1 -all"}, TTL: time.Hour}, nil
	})
	c, _ := newTestCache(res)
	c.MaxEntries = 1000
	ctx := context.Background()
	const hot = 200
	hotName := func(i int) string { return fmt.Sprintf("hot%d.example", i) }
	// Each hot name is asked again after 400 names asked once, fewer
	// than the cache holds.
	for i := range 20_000 {
		c.Lookup(ctx, hotName(i%hot), TypeTXT)
		c.Lookup(ctx, fmt.Sprintf("once%d.wild.example", 2*i), TypeTXT)
		c.Lookup(ctx, fmt.Sprintf("once%d.wild.example", 2*i+1), TypeTXT)
	}
	kept := 0
	for i := range hot {
		if _, found, _ := c.LookupCached(hotName(i), TypeTXT); found {
			kept++
		}
	}
	if st := c.Stats(); st.Entries > c.MaxEntries || st.Evictions == 0 {
		t.Errorf("Stats() = %+v with MaxEntries %d", st, c.MaxEntries)
	}
	if kept < hot*9/10 {
		t.Errorf("%d of %d hot names kept, want at least 90%%", kept, hot)
	}
}
