package spf

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// A gatedResolver answers from a map at once (not from memory as far as
// a check knows: it is no MemoryResolver) and paces prefetching as a
// DNSResolver whose queries all answer within the delay: the gate never
// opens.
type gatedResolver map[zoneKey]*Response

func (g gatedResolver) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	if r := g[zoneKey{name, typ}]; r != nil {
		return r, nil
	}
	return nil, ErrNotFound
}

func (gatedResolver) prefetchDelay() time.Duration { return time.Hour }
func (gatedResolver) acquirePrefetch() bool        { return false }
func (gatedResolver) releasePrefetch()             {}
func (gatedResolver) checkBegin()                  {}
func (gatedResolver) checkEnd()                    {}

// gateZone is the zone of the gate's tests: mx, a, include and exists,
// and a client that matches at exists.
func gateZone() gatedResolver {
	return gatedResolver{
		{"gate.example", TypeTXT}:     {TXT: []string{"v=spf1 mx a include:inc.gate.example exists:x.gate.example -all"}},
		{"gate.example", TypeMX}:      {Names: []string{"mx1.gate.example", "mx2.gate.example"}},
		{"mx1.gate.example", TypeA}:   {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		{"mx2.gate.example", TypeA}:   {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}},
		{"gate.example", TypeA}:       {Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.3")}},
		{"inc.gate.example", TypeTXT}: {TXT: []string{"v=spf1 ip4:198.51.100.0/24 ~all"}},
		{"x.gate.example", TypeA}:     {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}},
	}
}

// BenchmarkPrefetchGateShut measures the CPU time of a check with
// prefetching on and off while the pacing gate stays shut (gatedResolver):
// the prefetcher's cost when it does not prefetch.
func BenchmarkPrefetchGateShut(b *testing.B) {
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.9")
	for _, noPrefetch := range []bool{false, true} {
		name := "prefetch"
		if noPrefetch {
			name = "sequential"
		}
		b.Run(name, func(b *testing.B) {
			c := &Checker{Resolver: gateZone(), NoPrefetch: noPrefetch}
			b.ReportAllocs()
			for b.Loop() {
				c.Check(ctx, ip, "mail.example.net", "a@gate.example")
			}
		})
	}
}

// TestPrefetchGateCostsNothing checks that prefetching on costs no
// allocation over prefetching off while its pacing gate stays shut: the
// gate's timer is made once per pooled evaluation, not once per query,
// and no host is looked up ahead around the gate.
func TestPrefetchGateCostsNothing(t *testing.T) {
	if raceBuild {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	res := gateZone()
	ctx := context.Background()
	ip := netip.MustParseAddr("203.0.113.9")
	allocs := func(noPrefetch bool) float64 {
		c := &Checker{Resolver: res, NoPrefetch: noPrefetch}
		check := func() {
			if out, _ := c.Check(ctx, ip, "mail.example.net", "a@gate.example"); out.Result != Pass {
				t.Fatalf("result %v, want pass", out.Result)
			}
		}
		check()
		return testing.AllocsPerRun(100, check)
	}
	off, on := allocs(true), allocs(false)
	t.Logf("allocations per check: prefetching off %v, on %v", off, on)
	if on > off {
		t.Errorf("a check allocates %v times with prefetching on and its gate shut, %v with it off", on, off)
	}
}
