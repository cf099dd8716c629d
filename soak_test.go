package spf_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
	"go.uber.org/goleak"
)

// TestSoak runs many checks from 64 goroutines through one Cache, with
// prefetching, against an spftest server whose answers are delayed,
// dropped, truncated (so that the client asks again over TCP) or
// SERVFAIL, at random (seeded) and changing every few milliseconds. Every
// answer must be the right result, or a temperror within the check's
// deadline; the live heap stays bounded; no goroutine is left behind.
// The scenarios are the latency zones without ptr terms, whose DNS errors
// are no match rather than temperror (RFC 7208 section 5.5).
// 50,000 checks; 2,000 with -short, 500 under the race detector.
func TestSoak(t *testing.T) {
	checks := 50000
	// Scheduling on a busy machine (64 goroutines on two cores, with other
	// tests running) can delay an answer by hundreds of milliseconds; what
	// the test must catch is a check that waits out a DNS timeout (2 s)
	// or hangs past its deadline.
	const slack = time.Second
	switch {
	case raceEnabled:
		checks = 500
	case testing.Short():
		checks = 2000
	}
	const (
		workers  = 64
		timeout  = 300 * time.Millisecond
		heapMax  = 64 << 20
		seed     = 9
		rotation = 5 * time.Millisecond
		maxTime  = time.Minute // stop early on a very slow machine
	)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	type job struct {
		ip     netip.Addr
		sender string
		want   spf.Result
	}
	var jobs []job
	var text []byte
	for _, sc := range latencyScenarios {
		if sc.zone == "kitchen.zone" {
			continue // ptr
		}
		b, err := os.ReadFile(filepath.Join("testdata", "latency", sc.zone))
		if err != nil {
			t.Fatal(err)
		}
		text = append(append(text, b...), '\n')
		z := loadLatencyZone(t, sc.zone)
		for _, client := range sc.clients {
			ip := netip.MustParseAddr(client)
			out, _ := (&spf.Checker{Resolver: z}).Check(context.Background(), ip, "client.example", sc.sender)
			jobs = append(jobs, job{ip, sc.sender, out.Result})
		}
	}
	zone, err := spftest.ParseZone(bytes.NewReader(text), "", "soak")
	if err != nil {
		t.Fatal(err)
	}
	names := zone.Names()
	srv, err := spftest.StartServer(zone)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	// The faults change every few milliseconds until the checks are done.
	stop := make(chan struct{})
	var faultsDone sync.WaitGroup
	faultsDone.Add(1)
	go func() {
		defer faultsDone.Done()
		rng := rand.New(rand.NewPCG(seed, seed))
		tick := time.NewTicker(rotation)
		defer tick.Stop()
		for {
			for _, n := range names {
				var f spftest.Fault
				switch x := rng.IntN(100); {
				case x < 10:
					f.Delay = time.Duration(rng.IntN(20)) * time.Millisecond
				case x < 14:
					f.Truncate = true
				case x < 16:
					f.RCode = 2 // SERVFAIL
				case x < 18:
					f.Drop = true
				}
				srv.SetFault(n, f)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	// A small cache, so that answers are evicted and asked for again.
	cache := &spf.Cache{Resolver: srv.Resolver(timeout / 3), MaxEntries: 16, NegativeTTL: time.Second}
	c := &spf.Checker{Resolver: cache, Timeout: timeout}
	var next, wrong, temp atomic.Int64
	var maxHeap atomic.Uint64
	var wg sync.WaitGroup
	runtime.GC() // what earlier tests left is not this test's heap
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	begin := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(checks) || time.Since(begin) > maxTime {
					return
				}
				j := jobs[i%int64(len(jobs))]
				start := time.Now()
				out, err := c.Check(context.Background(), j.ip, "client.example", j.sender)
				elapsed := time.Since(start)
				switch {
				case out.Result == spf.TempError:
					temp.Add(1)
					if elapsed > timeout+slack {
						t.Errorf("temperror after %v, deadline %v: %v", elapsed, timeout, err)
					}
				case out.Result != j.want:
					if wrong.Add(1) <= 5 {
						t.Errorf("%v %s: %v (%v), want %v", j.ip, j.sender, out.Result, err, j.want)
					}
				}
				if i%1000 == 0 {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					for old := maxHeap.Load(); ms.HeapAlloc > old && !maxHeap.CompareAndSwap(old, ms.HeapAlloc); old = maxHeap.Load() {
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	faultsDone.Wait()
	st := cache.Stats()
	t.Logf("%d checks in %v: %d temperror, %d wrong; max heap %d KiB; cache %+v; server %d queries", min(next.Load(), int64(checks)), time.Since(begin).Round(time.Millisecond), temp.Load(), wrong.Load(), maxHeap.Load()>>10, st, srv.Total())
	// The bound is on what stays live, measured after a collection: the
	// samples above (logged) also count garbage, and the allocations of
	// tests that run in parallel with this one.
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("live heap after the soak: %+d KiB", live>>10)
	if live > heapMax {
		t.Errorf("live heap grew by %d bytes, bound %d", live, heapMax)
	}
	runtime.KeepAlive(cache)
	if temp.Load() >= min(next.Load(), int64(checks)) {
		t.Errorf("every check was a temperror")
	}
	// Prefetch queries may outlive their checks by at most the timeout.
	time.Sleep(timeout)
	srv.Close()
}
