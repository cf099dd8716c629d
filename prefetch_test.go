package spf_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// countingResolver hides a Zone's LookupCached, so that prefetching runs
// queries in the background, optionally slowed down, and counts queries.
type countingResolver struct {
	zone    *spftest.Zone
	delay   time.Duration
	queries atomic.Int64
}

func (r *countingResolver) Lookup(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
	r.queries.Add(1)
	if r.delay > 0 {
		t := time.NewTimer(r.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return r.zone.Lookup(ctx, name, typ)
}

// TestPrefetchSameOutcome runs every test of the openspf suite and of our
// scenarios with prefetching on (over a resolver that is not a cache, so
// queries really run in the background) and off, and checks the outcomes
// are identical in every field: result, mechanism, explanation, problem
// and counters. It also checks that with prefetching the queries sent
// stay within the bound documented on Checker.NoPrefetch.
func TestPrefetchSameOutcome(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "scenarios", "*.yml"))
	if path := suitePathOrEmpty(); path != "" {
		files = append(files, path)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, file := range files {
		scenarios, err := spftest.LoadSuite(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range scenarios {
			zone, err := sc.Zone()
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range sc.Tests {
				t.Run(filepath.Base(file)+"/"+st.Name, func(t *testing.T) {
					t.Parallel()
					ip := netip.MustParseAddr(st.Host)
					seq := &countingResolver{zone: zone}
					pre := &countingResolver{zone: zone, delay: time.Millisecond}
					cs := &spf.Checker{Resolver: seq, DefaultExplanation: "DEFAULT", NoPrefetch: true, Now: fixedNow}
					cp := &spf.Checker{Resolver: pre, DefaultExplanation: "DEFAULT", Now: fixedNow}
					want, _ := cs.Check(context.Background(), ip, st.HELO, st.MailFrom)
					got, _ := cp.Check(context.Background(), ip, st.HELO, st.MailFrom)
					opts := cmp.Options{cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
						cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) })}
					if diff := cmp.Diff(want, got, opts); diff != "" {
						t.Errorf("outcome with prefetching differs (-sequential +prefetching):\n%s", diff)
					}
					// The bound of Checker.NoPrefetch: MaxLookups term
					// queries, each with up to 10 address queries.
					if extra := pre.queries.Load() - seq.queries.Load(); extra > 10*11 {
						t.Errorf("prefetching sent %d queries, sequential %d", pre.queries.Load(), seq.queries.Load())
					}
				})
			}
		}
	}
}

func fixedNow() time.Time { return time.Unix(1700000000, 0) }

func suitePathOrEmpty() string {
	p := filepath.Join("..", "shared", "spf-test-suite", "rfc7208-tests.yml")
	if s := getenv("SPF_TEST_SUITE"); s != "" {
		p = s
	}
	if fileExists(p) {
		return p
	}
	return ""
}
