package spf_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestNoQueryForUnusableNames checks that terms that match nothing send no
// query at all, with prefetching on and off, counted at a real DNS server:
// terms using the local part of a sender whose local part is not ASCII
// (RFC 8616 section 4), and expanded names that are not valid DNS names.
func TestNoQueryForUnusableNames(t *testing.T) {
	const zone = `
eai.example.        TXT "v=spf1 a:%{l}.a.eai.example exists:%{s}.s.eai.example mx:%{L}.m.eai.example include:%{l1r-}.i.eai.example ptr:%{l}.p.eai.example a:%{o}.o.eai.example -all"
eai-r.example.      TXT "v=spf1 ip4:198.51.100.1 redirect=%{l}.r.eai.example"
bad.example.        TXT "v=spf1 a:%{l}.a.bad.example exists:%{l}.e.bad.example mx:%{l}.m.bad.example a:n1.bad.example a:n2.bad.example ip4:192.0.2.1 -all"
`
	tests := []struct {
		name, sender string
		want         spf.Result
		queries      int // the TXT query of the domain and those expected
	}{
		// Only the TXT query and a:%{o}, which does not use the local part.
		{"non-ASCII local part", "müller@eai.example", spf.Fail, 2},
		// Only the TXT query: the redirect is not followed.
		{"non-ASCII local part, redirect", "müller@eai-r.example", spf.Neutral, 1},
		// An empty label in every %{l} name: only the TXT query and the two
		// real void lookups, which stay within the limit of two.
		{"invalid names", "a..b@bad.example", spf.Pass, 3},
	}
	for _, tt := range tests {
		for _, prefetch := range []bool{true, false} {
			name := tt.name
			if !prefetch {
				name += "/no prefetch"
			}
			t.Run(name, func(t *testing.T) {
				srv := spftest.NewServerFromText(t, zone)
				c := &spf.Checker{Resolver: srv.Resolver(0), NoPrefetch: !prefetch}
				out, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "mail.example.net", tt.sender)
				if out.Result != tt.want {
					t.Errorf("result %v (problem %v), want %v", out.Result, out.Problem, tt.want)
				}
				if got := srv.Total(); got != tt.queries {
					t.Errorf("%d queries sent, want %d: %v", got, tt.queries, srv.Queries())
				}
			})
		}
	}
}

// TestQueryNamesFoldASCIIOnly checks that names sent to DNS are lower-cased
// in ASCII only (RFC 4343): a validated PTR name holding the Kelvin sign
// (U+212A) and upper-case ASCII is queried with the Kelvin sign kept.
func TestQueryNamesFoldASCIIOnly(t *testing.T) {
	const kelvin = "\u212a"
	z := &spftest.Zone{}
	z.AddTXT("fold.example", "v=spf1 exists:%{p}.x.fold.example -all")
	ip := netip.MustParseAddr("192.0.2.7")
	z.AddPTR(spf.ReverseName(ip), "Host"+kelvin+".fold.example")
	z.AddIP("host"+kelvin+".fold.example", ip)
	z.AddIP("host"+kelvin+".fold.example.x.fold.example", netip.MustParseAddr("127.0.0.2"))
	z.AddIP("hostk.fold.example.x.fold.example", netip.MustParseAddr("127.0.0.2")) // what Unicode folding would ask
	var asked []string
	res := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		asked = append(asked, name)
		return z.Lookup(ctx, name, typ)
	})
	c := &spf.Checker{Resolver: res, NoPrefetch: true}
	out, _ := c.Check(context.Background(), ip, "mail.example.net", "user@fold.example")
	if out.Result != spf.Pass {
		t.Fatalf("result %v (problem %v), want pass", out.Result, out.Problem)
	}
	want := "host" + kelvin + ".fold.example.x.fold.example"
	found := false
	for _, n := range asked {
		if n == "hostk.fold.example.x.fold.example" {
			t.Errorf("queried %q: the Kelvin sign was folded to k", n)
		}
		found = found || n == want
	}
	if !found {
		t.Errorf("queries %q do not include %q", asked, want)
	}
}
