package spf_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// FuzzCheckDNS runs whole checks with a fuzzed record, sender and HELO
// over real DNS: a DNSResolver behind a Cache, against an spftest server
// that answers from a fixed zone plus the record. Prefetching on and off
// must give the same outcome, and the result/error contract holds.
func FuzzCheckDNS(f *testing.F) {
	for _, r := range []string{
		"v=spf1 -all",
		"v=spf1 a mx/24//64 ptr:fuzz.example ~all",
		"v=spf1 include:other.example ?all redirect=other.example exp=exp.%{d}",
		"v=spf1 exists:%{i}._ip.%{h}._ehlo.%{d} -all",
		"v=spf1 a:n1.fuzz.example a:n2.fuzz.example a:n3.fuzz.example a:mx.fuzz.example -all",
		"v=spf1 include:slow.fuzz.example mx:fuzz.example -all",
		"v=spf1 include:other.example redirect=big.fuzz.example",
		"v=spf1 mx ptr a:%{l}.fuzz.example -all",
	} {
		f.Add(r, "user@fuzz.example", "helo.example", "192.0.2.3")
	}
	f.Add("v=spf1 a:loop.fuzz.example include:fuzz.example -all", "", "fuzz.example", "2001:db8::1")
	f.Fuzz(func(t *testing.T, record, sender, helo, ip string) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		z := &spftest.Zone{}
		z.AddTXT("fuzz.example", record)
		z.AddTXT("other.example", "v=spf1 include:fuzz.example a:mx.fuzz.example ~all")
		z.AddTXT("big.fuzz.example", "v=spf1 mx:fuzz.example mx:fuzz.example a:n4.fuzz.example a:n5.fuzz.example -all")
		z.AddMX("fuzz.example", 10, "mx.fuzz.example")
		z.AddMX("fuzz.example", 20, "mx2.fuzz.example")
		z.AddIP("mx.fuzz.example", netip.MustParseAddr("192.0.2.3"))
		z.AddIP("fuzz.example", netip.MustParseAddr("2001:db8::1"))
		z.AddPTR("3.2.0.192.in-addr.arpa", "mx.fuzz.example")
		z.AddCNAME("loop.fuzz.example", "loop.fuzz.example")
		z.SetTimeout("slow.fuzz.example")
		srv, err := spftest.StartServer(z)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		opts := cmp.Options{cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
			cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) })}
		// A loaded machine can make a query time out in one check and not
		// in the other: a difference with a temperror is tried again.
		var diff string
		for range 3 {
			outs := checkBothWays(t, srv, addr, helo, sender)
			if diff = cmp.Diff(outs[0], outs[1], opts); diff == "" ||
				(outs[0].Result != spf.TempError && outs[1].Result != spf.TempError) {
				break
			}
		}
		if diff != "" {
			t.Fatalf("outcome with prefetching differs (-sequential +prefetching):\n%s", diff)
		}
	})
}

// checkBothWays runs one check with prefetching off and one with it on,
// each through a new Cache and DNSResolver asking srv.
func checkBothWays(t *testing.T, srv *spftest.Server, addr netip.Addr, helo, sender string) [2]spf.Outcome {
	t.Helper()
	var outs [2]spf.Outcome
	for i, noPrefetch := range []bool{true, false} {
		cache := &spf.Cache{Resolver: srv.Resolver(50 * time.Millisecond)}
		c := &spf.Checker{Resolver: cache, NoPrefetch: noPrefetch, Now: fixedNow}
		out, err := c.Check(context.Background(), addr, helo, sender)
		isErr := out.Result == spf.TempError || out.Result == spf.PermError
		if isErr != (err != nil) || (err != nil && err != out.Problem) {
			t.Fatalf("result %v with error %v (problem %v)", out.Result, err, out.Problem)
		}
		if out.Lookups > spf.DefaultMaxLookups || out.VoidLookups > spf.DefaultMaxVoidLookups+1 {
			t.Fatalf("limits exceeded: %d lookups, %d void", out.Lookups, out.VoidLookups)
		}
		outs[i] = out
	}
	return outs
}
