package bench

import (
	"context"
	"net"
	"testing"

	blitiri "blitiri.com.ar/go/spf"
	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
)

// A library is one SPF implementation under test. prepare returns a
// function that runs the check of w and returns its result token; it does
// beforehand the work that is not part of a check (converting the
// address to the library's type, building options), so that the
// benchmarks time only the checks.
type library struct {
	name    string
	prepare func(w Workload) func() (string, error)
}

// libraries returns ours and blitiri's, each with its in-memory resolver
// on the records of ZoneFile.
func libraries(tb testing.TB) []library {
	tb.Helper()
	zone, err := NewZone()
	if err != nil {
		tb.Fatal(err)
	}
	res, err := NewMapResolver(zone)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	checker := &spf.Checker{Resolver: zone}
	// fresh answers every query with a new Response, so that the parse of
	// a record, which spf-go keeps with a cached Response, is done again
	// by every check, as blitiri does.
	fresh := &spf.Checker{Resolver: spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		r, err := zone.Lookup(ctx, name, typ)
		if err != nil {
			return nil, err
		}
		return &spf.Response{TXT: r.TXT, Addrs: r.Addrs, Names: r.Names, TTL: r.TTL}, nil
	}), NoPrefetch: true}
	opts := []blitiri.Option{blitiri.WithResolver(res), blitiri.WithContext(ctx)}
	return []library{
		{"spf-go", func(w Workload) func() (string, error) {
			return func() (string, error) {
				out, err := checker.Check(ctx, w.IP, HELO, w.Sender)
				return out.Result.String(), err
			}
		}},
		{"spf-go-fresh", func(w Workload) func() (string, error) {
			return func() (string, error) {
				out, err := fresh.Check(ctx, w.IP, HELO, w.Sender)
				return out.Result.String(), err
			}
		}},
		{"blitiri", func(w Workload) func() (string, error) {
			ip := net.IP(w.IP.AsSlice())
			return func() (string, error) {
				r, err := blitiri.CheckHostWithSender(ip, HELO, w.Sender, opts...)
				return string(r), err
			}
		}},
	}
}

// TestSameResults checks that both libraries give the expected result on
// every workload, so that the benchmarks compare the same work.
func TestSameResults(t *testing.T) {
	libs := libraries(t)
	for _, w := range Workloads {
		t.Run(w.Name, func(t *testing.T) {
			want := map[string]string{}
			got := map[string]string{}
			for _, lib := range libs {
				want[lib.name] = w.Want
				got[lib.name], _ = lib.prepare(w)()
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("results of %s from %s (-want +got):\n%s", w.Sender, w.IP, diff)
			}
		})
	}
}

// TestResolversAgree checks that MapResolver holds the records of the
// zone it was built from.
func TestResolversAgree(t *testing.T) {
	zone, err := NewZone()
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewMapResolver(zone)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range zone.Names() {
		zr, zerr := zone.Lookup(ctx, name, spf.TypeTXT)
		txt, merr := res.LookupTXT(ctx, name+".")
		if (zerr == nil) != (merr == nil) {
			t.Errorf("TXT %s: zone error %v, map error %v", name, zerr, merr)
			continue
		}
		if zerr == nil {
			if diff := cmp.Diff(zr.TXT, txt); diff != "" {
				t.Errorf("TXT %s (-zone +map):\n%s", name, diff)
			}
		}
		var want []string
		for _, typ := range []spf.RRType{spf.TypeA, spf.TypeAAAA} {
			if r, err := zone.Lookup(ctx, name, typ); err == nil {
				for _, a := range r.Addrs {
					want = append(want, a.String())
				}
			}
		}
		ips, _ := res.LookupIPAddr(ctx, name)
		var got []string
		for _, ip := range ips {
			got = append(got, ip.String())
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("addresses of %s (-zone +map):\n%s", name, diff)
		}
	}
}
