package spf_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/spf-go/spf"
)

// A plainResolver hides every method of its Resolver but Lookup, as a
// DNSResolver has no other: the resolver behind a Cache.
type plainResolver struct{ r spf.Resolver }

func (p plainResolver) Lookup(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
	return p.r.Lookup(ctx, name, typ)
}

// TestCheckAllocs is the allocation guard of Check, as netip's
// TestParsePrefixAllocs is of ParsePrefix: a check whose answers are all
// in memory (a warm Cache in front of DNS, or an in-memory zone) allocates
// nothing, except the one allocation of a fail (its explanation, built
// from the default macro string). The workloads are those of
// BenchmarkCheck, with prefetching on and off: either way a check asks
// the Cache first, and sets up the deadline of Checker.Timeout (a context
// and a timer) only before a query that must wait.
//
// The zone cases also guard spftest.Zone's InMemory marker: without it a
// Checker would set up that deadline for a zone too (4 allocations).
func TestCheckAllocs(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	if testing.Short() {
		t.Skip("short")
	}
	zone, err := loadBenchZone()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resolvers := []struct {
		name string
		res  spf.Resolver
	}{
		{"warm-cache", &spf.Cache{Resolver: plainResolver{zone}}},
		{"zone", zone},
	}
	for _, rs := range resolvers {
		for _, noPrefetch := range []bool{false, true} {
			c := &spf.Checker{Resolver: rs.res, NoPrefetch: noPrefetch}
			for _, tc := range checkCases {
				name := rs.name + "/" + tc.name
				if noPrefetch {
					name += "/noprefetch"
				}
				t.Run(name, func(t *testing.T) {
					ip := netip.MustParseAddr(tc.ip)
					check := func() {
						if out, err := c.Check(ctx, ip, "mail.example.net", tc.sender); out.Result != tc.want {
							t.Fatalf("Check(%s, %s) = %v, %v; want %v", tc.ip, tc.sender, out.Result, err, tc.want)
						}
					}
					check() // warm the cache and the records' parse
					want := 0.0
					if tc.want == spf.Fail {
						want++ // the explanation
					}
					if got := testing.AllocsPerRun(50, check); got != want {
						t.Errorf("Check allocates %v times, want %v", got, want)
					}
				})
			}
		}
	}
}

// TestCheckAllocsFresh is the allocation guard of a check whose resolver
// answers at once but hands out a new Response for every query, so that
// every record is parsed again, as bench/'s spf-go-fresh does: the check
// allocates nothing of its own (the Responses are the resolver's; a fail
// adds its explanation). The records are parsed into the evaluation's
// scratch, and the deadline of Checker.Timeout, which such a resolver
// gets, makes no timer unless the resolver waits on Done.
func TestCheckAllocsFresh(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	zone, err := loadBenchZone()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	queries := 0
	fresh := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		queries++
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := zone.Lookup(ctx, name, typ)
		if err != nil {
			return nil, err
		}
		return &spf.Response{TXT: r.TXT, Addrs: r.Addrs, Names: r.Names, TTL: r.TTL}, nil
	})
	c := &spf.Checker{Resolver: fresh, NoPrefetch: true}
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			check := func() {
				if out, err := c.Check(ctx, ip, "mail.example.net", tc.sender); out.Result != tc.want {
					t.Fatalf("Check(%s, %s) = %v, %v; want %v", tc.ip, tc.sender, out.Result, err, tc.want)
				}
			}
			check() // fill the pool of evaluations
			queries = 0
			check()
			// One Response a query that found one. The check's
			// time-limit context is its own, since a resolver may keep
			// it (TestLimitCtxNotReused), but comes from a chunk of
			// eight allocated at once: less than one allocation a
			// check, which AllocsPerRun's whole-number average drops.
			want := float64(queries)
			if tc.want == spf.Fail {
				want++ // the explanation
			}
			if got := testing.AllocsPerRun(50, check); got > want {
				t.Errorf("Check allocates %v times, want at most %v", got, want)
			}
		})
	}
}
