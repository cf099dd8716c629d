package spf_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// hostileChain returns the records of an attacker's chain that stays
// inside every limit of RFC 7208: ten records of about 64 KB, each one
// include whose domain-spec repeats macro (such as "%{s}") and ends in the
// name of the next record. Each record's include expands to megabytes
// before truncation to 253 bytes when the sender's local part is long.
// The records are keyed by the name they are published at; the sender
// domain is hostile.example, whose record is the first. next names the
// record after record i, as truncation leaves it.
func hostileChain(macro string, next func(i int) string) map[string]string {
	recs := make(map[string]string)
	name := "hostile.example"
	for i := 1; i <= 10; i++ {
		tail := ".c" + strconv.Itoa(i) + ".hostile.example -all"
		n := (64000 - len("v=spf1 include:") - len(tail)) / len(macro)
		recs[name] = "v=spf1 include:" + strings.Repeat(macro, n) + tail
		name = next(i)
	}
	recs[name] = "v=spf1 ip4:192.0.2.0/24 -all"
	return recs
}

// hostileLocal is a 2,000-byte local part without dots or hyphens, which
// MTAs such as Postfix and go-smtp accept.
var hostileLocal = strings.Repeat("x", 2000)

// hostileChains are the chains of the hostile benchmarks and tests: the
// plain %{s} chain, and one with transformers. With hostileLocal, the
// truncated expansion of each include is the name of the next record.
var hostileChains = []struct {
	name string
	recs map[string]string
}{
	{"s", hostileChain("%{s}", func(i int) string { return "example.c" + strconv.Itoa(i) + ".hostile.example" })},
	{"transformers", hostileChain("%{s2r}%{l1-}", func(i int) string { return "c" + strconv.Itoa(i) + ".hostile.example" })},
}

// hostileClient is in no record of the chain: the check is a fail after
// all ten includes.
var hostileClient = netip.MustParseAddr("198.51.100.1")

func hostileZone(recs map[string]string) *spftest.Zone {
	z := &spftest.Zone{}
	for name, txt := range recs {
		z.AddTXT(name, txt)
	}
	return z
}

// coldResolver answers from recs with a fresh Response each time, so
// that every check parses every record again (nothing is memoised).
func coldResolver(recs map[string]string) spf.Resolver {
	return spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		txt, ok := recs[name]
		if !ok || typ != spf.TypeTXT {
			return nil, spf.ErrNotFound
		}
		return &spf.Response{TXT: []string{txt}}, nil
	})
}

// BenchmarkHostile measures one check of a hostile chain (see
// hostileChain) with a 2,000-byte local part: cold, every record parsed
// again (a resolver that returns fresh answers, prefetching on as by
// default), and warm (an in-memory Zone, whose answers keep their parsed
// records).
func BenchmarkHostile(b *testing.B) {
	ctx := context.Background()
	sender := hostileLocal + "@hostile.example"
	for _, ch := range hostileChains {
		for _, mode := range []string{"cold", "warm"} {
			b.Run("chain="+ch.name+"/"+mode, func(b *testing.B) {
				c := &spf.Checker{Resolver: hostileZone(ch.recs)}
				if mode == "cold" {
					c.Resolver = coldResolver(ch.recs)
				}
				out, err := c.Check(ctx, hostileClient, "mail.example.net", sender)
				if out.Result != spf.Fail || out.Lookups != 10 {
					b.Fatalf("Check = %v (%d lookups), %v; want fail after 10 lookups", out.Result, out.Lookups, errors.Is(err, spf.ErrNoTargetRecord))
				}
				b.ReportAllocs()
				for b.Loop() {
					if out, _ := c.Check(ctx, hostileClient, "mail.example.net", sender); out.Result != spf.Fail {
						b.Fatal(out.Result)
					}
				}
			})
		}
	}
}

// allocated returns the bytes allocated while f ran. The tests that call
// it are not parallel, so the figure is f's, give or take a few KB.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileChain checks the hostile chains of BenchmarkHostile: the
// outcome is the one RFC 7208 gives (fail after following all ten
// includes, each to the name that truncation leaves), and one check
// allocates kilobytes, not the hundreds of megabytes of an expansion
// built whole (483 MB warm, 2.4 GB cold before the window).
func TestHostileChain(t *testing.T) {
	sender := hostileLocal + "@hostile.example"
	for _, ch := range hostileChains {
		for _, mode := range []string{"cold", "warm"} {
			t.Run(ch.name+"/"+mode, func(t *testing.T) {
				c := &spf.Checker{Resolver: hostileZone(ch.recs)}
				if mode == "cold" {
					c.Resolver = coldResolver(ch.recs)
				}
				var out spf.Outcome
				var err error
				n := allocated(func() {
					out, err = c.Check(context.Background(), hostileClient, "mail.example.net", sender)
				})
				got := []any{out.Result, out.Lookups, out.VoidLookups, out.Mechanism, out.MechanismDomain, out.Explanation, err}
				want := []any{spf.Fail, 10, 0, "-all", "hostile.example", "hostile.example does not designate 198.51.100.1 as permitted sender", nil}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}
				if n > 4<<20 {
					t.Errorf("one check allocated %d bytes, want at most 4 MiB", n)
				}
			})
		}
	}
}

// TestHostileExplanation checks that an explanation is capped and
// printable whatever the exp= record and the client give it: 12,000 %{s}
// with a 2,000-byte local part (24 MB expanded whole), control
// characters from a PTR name through %{p}, 8-bit bytes from the sender.
func TestHostileExplanation(t *testing.T) {
	z := &spftest.Zone{}
	ip := netip.MustParseAddr("192.0.2.7")
	z.AddTXT("big.example", "v=spf1 -all exp=exp.big.example")
	z.AddTXT("exp.big.example", strings.Repeat("%{s}", 12000))
	z.AddTXT("ptr.example", "v=spf1 -all exp=exp.ptr.example")
	z.AddTXT("exp.ptr.example", "from %{p} for %{l}: %{c}")
	evil := "evil\r\nX-Injected: 1\x00\x1b[31m.ptr.example"
	z.AddPTR(spf.ReverseName(ip), evil)
	z.AddIP(evil, ip)
	tests := []struct {
		name, sender, want string
	}{
		{"capped", hostileLocal + "@big.example", (hostileLocal + "@big.example")[:1024]},
		{"control and 8-bit", "j\xc3\xb6rg@ptr.example", "from evil??X-Injected: 1??[31m.ptr.example for j??rg: 192.0.2.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &spf.Checker{Resolver: z}
			out, _ := c.Check(context.Background(), ip, "h.example", tt.sender)
			if out.Result != spf.Fail || !out.ExplanationFromDomain {
				t.Fatalf("result %v (from domain %v), want fail with the domain's explanation", out.Result, out.ExplanationFromDomain)
			}
			if diff := cmp.Diff(tt.want, out.Explanation); diff != "" {
				t.Errorf("explanation (-want +got):\n%s", diff)
			}
			for i := 0; i < len(out.Explanation); i++ {
				if c := out.Explanation[i]; c < 0x20 || c > 0x7e {
					t.Fatalf("explanation byte %d is %#x", i, c)
				}
			}
		})
	}
}

// blockingResolver answers from z, except that queries of the given
// type wait until their context ends; other queries ignore the context,
// as a cache answering from memory does.
func blockingResolver(z *spftest.Zone, block func(name string, typ spf.RRType) bool) spf.Resolver {
	return spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		if block(name, typ) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		resp, _, err := z.LookupCached(name, typ)
		return resp, err
	})
}

// TestHostileSlowPTR checks that a time limit that runs out during a ptr
// mechanism, its validation lookups or %{p} gives temperror (RFC 7208
// section 4.6.4), not the no-match of a DNS error (section 5.5), which
// would turn a retryable 451 into a 550.
func TestHostileSlowPTR(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.9")
	rev := spf.ReverseName(ip)
	z := &spftest.Zone{}
	z.AddTXT("ptr.example", "v=spf1 ptr -all")
	z.AddTXT("p.example", "v=spf1 exists:%{p}.p.example -all")
	z.AddPTR(rev, "host.ptr.example")
	z.AddPTR(rev, "host.p.example")
	z.AddIP("host.ptr.example", ip)
	z.AddIP("host.p.example", ip)
	ptrQuery := func(name string, typ spf.RRType) bool { return typ == spf.TypePTR }
	validation := func(name string, typ spf.RRType) bool { return strings.HasPrefix(name, "host.") }
	tests := []struct {
		name   string
		block  func(string, spf.RRType) bool
		sender string
	}{
		{"ptr query", ptrQuery, "a@ptr.example"},
		{"ptr validation", validation, "a@ptr.example"},
		{"%{p} query", ptrQuery, "a@p.example"},
		{"%{p} validation", validation, "a@p.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, prefetch := range []bool{false, true} {
				c := &spf.Checker{Resolver: blockingResolver(z, tt.block), Timeout: 50 * time.Millisecond, NoPrefetch: !prefetch}
				start := time.Now()
				out, err := c.Check(context.Background(), ip, "h.example", tt.sender)
				if out.Result != spf.TempError || !errors.Is(err, spf.ErrTimeout) {
					t.Errorf("prefetch %v: result %v, error %v; want temperror with ErrTimeout", prefetch, out.Result, err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("prefetch %v: took %v", prefetch, d)
				}
			}
		})
	}
	// Without a time limit running out, the same records match.
	c := &spf.Checker{Resolver: z}
	for _, sender := range []string{"a@ptr.example", "a@p.example"} {
		if out, err := c.Check(context.Background(), ip, "h.example", sender); out.Result != spf.Fail && out.Result != spf.Pass {
			t.Errorf("%s: %v, %v", sender, out.Result, err)
		}
	}
}

// cpuChain is a cycle of records that keeps a check with a raised
// MaxLookups busy on the CPU: each record holds about 2,900 ip4 terms
// that do not match and an include of the next.
func cpuChain() *spftest.Zone {
	z := &spftest.Zone{}
	var ip4 strings.Builder
	for i := 0; ip4.Len() < 60000; i++ {
		fmt.Fprintf(&ip4, " ip4:203.0.%d.%d/32", i/250, i%250)
	}
	const n = 50
	for i := range n {
		z.AddTXT(fmt.Sprintf("c%d.cpu.example", i), "v=spf1"+ip4.String()+fmt.Sprintf(" include:c%d.cpu.example -all", (i+1)%n))
	}
	return z
}

// TestHostileCPUBound checks that Checker.Timeout bounds a check that
// never waits on DNS (an in-memory zone) but keeps the CPU busy: it
// returns temperror soon after its 200 ms. (Without the checks between
// terms it returns permerror after 20,000 includes, seconds later.)
// BenchmarkHostile is the proof that real records cannot keep it busy
// that long; this test needs MaxLookups raised to do it.
func TestHostileCPUBound(t *testing.T) {
	z := cpuChain()
	for _, res := range []struct {
		name string
		r    spf.Resolver
	}{
		{"zone", z},
		{"memory ignoring ctx", blockingResolver(z, func(string, spf.RRType) bool { return false })},
	} {
		t.Run(res.name, func(t *testing.T) {
			c := &spf.Checker{Resolver: res.r, Timeout: 200 * time.Millisecond, MaxLookups: 20000, NoPrefetch: true}
			start := time.Now()
			out, err := c.Check(context.Background(), hostileClient, "h.example", "a@c0.cpu.example")
			d := time.Since(start)
			if out.Result != spf.TempError || !errors.Is(err, spf.ErrTimeout) {
				t.Errorf("result %v after %d lookups, error %v; want temperror with ErrTimeout", out.Result, out.Lookups, err)
			}
			if d > 500*time.Millisecond {
				t.Errorf("took %v with a 200 ms time limit", d)
			}
		})
	}
}

// TestDefaultTimeout checks the time limit a check gives its queries:
// DefaultTimeout (20 s, RFC 7208 section 4.6.4) when Checker.Timeout is
// zero, Timeout when set, none when negative.
func TestDefaultTimeout(t *testing.T) {
	z := &spftest.Zone{}
	z.AddTXT("t.example", "v=spf1 -all")
	tests := []struct {
		name    string
		timeout time.Duration
		want    time.Duration // 0: no deadline
	}{
		{"zero", 0, spf.DefaultTimeout},
		{"set", 3 * time.Second, 3 * time.Second},
		{"negative", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var left time.Duration
			r := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
				if dl, ok := ctx.Deadline(); ok {
					left = time.Until(dl)
				}
				return z.Lookup(ctx, name, typ)
			})
			c := &spf.Checker{Resolver: r, Timeout: tt.timeout, NoPrefetch: true}
			if out, err := c.Check(context.Background(), hostileClient, "h.example", "a@t.example"); out.Result != spf.Fail {
				t.Fatalf("result %v, %v", out.Result, err)
			}
			if tt.want == 0 && left != 0 || tt.want != 0 && (left > tt.want || left < tt.want-time.Second) {
				t.Errorf("queries had %v left, want %v", left, tt.want)
			}
		})
	}
	if spf.DefaultTimeout < 20*time.Second {
		t.Errorf("DefaultTimeout is %v, less than the 20 s of RFC 7208 section 4.6.4", spf.DefaultTimeout)
	}
}

// TestNilContext checks that every entry point takes a nil context as
// context.Background() instead of panicking.
func TestNilContext(t *testing.T) {
	z := &spftest.Zone{}
	z.AddTXT("n.example", "v=spf1 ip4:192.0.2.1 -all")
	c := &spf.Checker{Resolver: z}
	ip := netip.MustParseAddr("192.0.2.1")
	var nilCtx context.Context
	calls := []struct {
		name string
		f    func() (spf.Outcome, error)
	}{
		{"Check", func() (spf.Outcome, error) { return c.Check(nilCtx, ip, "n.example", "a@n.example") }},
		{"CheckHELO", func() (spf.Outcome, error) { return c.CheckHELO(nilCtx, ip, "n.example") }},
		{"CheckHost", func() (spf.Outcome, error) { return c.CheckHost(nilCtx, ip, "n.example", "a@n.example") }},
		{"Check with prefetching", func() (spf.Outcome, error) {
			c := &spf.Checker{Resolver: blockingResolver(z, func(string, spf.RRType) bool { return false })}
			return c.Check(nilCtx, ip, "n.example", "a@n.example")
		}},
	}
	for _, call := range calls {
		t.Run(call.name, func(t *testing.T) {
			if out, err := call.f(); out.Result != spf.Pass {
				t.Errorf("result %v, %v; want pass", out.Result, err)
			}
		})
	}
}

// TestHostileChainParsedOnce checks that prefetching parses each record
// of a cold hostile chain once a check, however often its walk passes
// the record: such records (64 KB) are too large to be kept with their
// Response, and the walk used to parse them again on every pass (307
// allocations a check, 8.6 ms; 217 and 2.4 ms once parsed once).
func TestHostileChainParsedOnce(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	sender := hostileLocal + "@hostile.example"
	c := &spf.Checker{Resolver: coldResolver(hostileChains[0].recs)}
	check := func() {
		if out, _ := c.Check(context.Background(), hostileClient, "mail.example.net", sender); out.Result != spf.Fail {
			t.Fatal(out.Result)
		}
	}
	check()
	if n := testing.AllocsPerRun(5, check); n > 260 {
		t.Errorf("a cold check of the hostile chain allocates %v times, want at most 260", n)
	}
}
