package spftest_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// resp is the part of a Response a test compares.
type resp = struct {
	TXT   []string
	Addrs []netip.Addr
	Names []string
}

func TestParseZone(t *testing.T) {
	const text = `
$ORIGIN example.org.
$TTL 60
@          TXT   "v=spf1 " "mx -all"
@          MX    20 mx2
@          MX    10 mx1.example.org.
mx1        A     192.0.2.1
mx1        AAAA  2001:db8::1
mx2        CNAME mx1
raw        TXT   "caf\195\169 \"quoted\" back\\slash"
legacy     SPF   "v=spf1 -all"
both       SPF   "v=spf1 ?all"
both       TXT   "v=spf1 ~all"
1.2.0.192.in-addr.arpa. PTR mx1
macro\032mania\.x TXT  "v=spf1 a:sp\\ ace -all"
Mixed\067ase  MX    5 ex\099hange\032one
alias\033     CNAME mx\049
k\226\132\170     A     192.0.2.9
`
	z, err := spftest.ParseZone(strings.NewReader(text), "", "test.zone")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		typ  spf.RRType
		want resp
	}{
		{"example.org", spf.TypeTXT, resp{TXT: []string{"v=spf1 mx -all"}}},
		{"EXAMPLE.org.", spf.TypeMX, resp{Names: []string{"mx1.example.org", "mx2.example.org"}}},
		{"mx1.example.org", spf.TypeA, resp{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}},
		{"mx2.example.org", spf.TypeAAAA, resp{Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}},
		{"raw.example.org", spf.TypeTXT, resp{TXT: []string{"caf\xc3\xa9 \"quoted\" back\\slash"}}},
		{"both.example.org", spf.TypeTXT, resp{TXT: []string{"v=spf1 ~all"}}},
		// Presentation escapes in owner names and targets are decoded.
		{"macro mania.x.example.org", spf.TypeTXT, resp{TXT: []string{"v=spf1 a:sp\\ ace -all"}}},
		{"mixedcase.example.org", spf.TypeMX, resp{Names: []string{"exchange one.example.org"}}},
		{"alias!.example.org", spf.TypeA, resp{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}},
		// Names are case-insensitive in ASCII only (RFC 4343): the Kelvin
		// sign U+212A is not the letter k.
		{"k\u212a.example.org", spf.TypeA, resp{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.9")}}},
		{spf.ReverseName(netip.MustParseAddr("192.0.2.1")), spf.TypePTR, resp{Names: []string{"mx1.example.org"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.typ.String(), func(t *testing.T) {
			got, err := z.Lookup(ctx, tt.name, tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			want := &spf.Response{TXT: tt.want.TXT, Addrs: tt.want.Addrs, Names: tt.want.Names, TTL: got.TTL}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmpopts.IgnoreUnexported(spf.Response{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := z.Lookup(ctx, "nothing.example.org", spf.TypeTXT); !errors.Is(err, spf.ErrNotFound) {
		t.Errorf("missing name: %v, want ErrNotFound", err)
	}
	if _, err := z.Lookup(ctx, "mx1.example.org", spf.TypeTXT); !errors.Is(err, spf.ErrNotFound) {
		t.Errorf("missing type: %v, want ErrNotFound", err)
	}
	// An SPF (type 99) record is not a TXT record: RFC 7208 checkers never
	// query it (section 4.4), so a name with only that publishes no policy.
	if _, err := z.Lookup(ctx, "legacy.example.org", spf.TypeTXT); !errors.Is(err, spf.ErrNotFound) {
		t.Errorf("type 99 record served as TXT: %v, want ErrNotFound", err)
	}
	if _, err := z.Lookup(ctx, "kk.example.org", spf.TypeA); !errors.Is(err, spf.ErrNotFound) {
		t.Errorf("k\\u212a folded to k: %v, want ErrNotFound", err)
	}
}

func TestParseZoneError(t *testing.T) {
	_, err := spftest.ParseZone(strings.NewReader("example.org. IN A not-an-address\n"), "", "bad.zone")
	if err == nil || !strings.Contains(err.Error(), "bad.zone") {
		t.Errorf("error %v does not name the file", err)
	}
}

func TestZoneFaults(t *testing.T) {
	z := &spftest.Zone{}
	z.AddCNAME("a.example", "b.example")
	z.AddCNAME("b.example", "a.example")
	z.AddTXT("partial.example", "v=spf1 -all")
	z.SetTimeout("partial.example")
	z.SetTimeout("mx.example", spf.TypeMX)
	ctx := context.Background()
	if _, err := z.Lookup(ctx, "a.example", spf.TypeTXT); err == nil || errors.Is(err, spf.ErrNotFound) {
		t.Errorf("CNAME loop: %v, want a temporary error", err)
	}
	if _, err := z.Lookup(ctx, "partial.example", spf.TypeTXT); err != nil {
		t.Errorf("TXT beside a timeout: %v", err)
	}
	if _, err := z.Lookup(ctx, "partial.example", spf.TypeA); err == nil || errors.Is(err, spf.ErrNotFound) {
		t.Errorf("A of a timing-out name: %v, want a timeout", err)
	}
	if _, err := z.Lookup(ctx, "mx.example", spf.TypeA); !errors.Is(err, spf.ErrNotFound) {
		t.Errorf("A beside an MX timeout: %v, want ErrNotFound", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := z.Lookup(cancelled, "partial.example", spf.TypeTXT); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestReverseName(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.1", "1.2.0.192.in-addr.arpa"},
		{"::ffff:192.0.2.1", "1.2.0.192.in-addr.arpa"},
		{"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
	} {
		if got := spf.ReverseName(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("ReverseName(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// TestZoneChangesAfterLookup checks that every kind of change made after
// a lookup is seen by the next one (Lookup reads a copy of the records
// that a change replaces), also while other goroutines look up.
func TestZoneChangesAfterLookup(t *testing.T) {
	ctx := context.Background()
	z := &spftest.Zone{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // lookups all along, for the race detector
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				z.Lookup(ctx, "example.org", spf.TypeTXT)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	tests := []struct {
		name   string
		change func()
		lookup string
		typ    spf.RRType
		check  func(*spf.Response, error) bool
	}{
		{"txt", func() { z.AddTXT("example.org", "v=spf1 -all") }, "example.org", spf.TypeTXT,
			func(r *spf.Response, err error) bool { return err == nil && len(r.TXT) == 1 }},
		{"second txt", func() { z.AddTXT("example.org", "v=spf1 +all") }, "example.org", spf.TypeTXT,
			func(r *spf.Response, err error) bool { return err == nil && len(r.TXT) == 2 }},
		{"ip", func() { z.AddIP("mail.example.org", netip.MustParseAddr("192.0.2.1")) }, "mail.example.org", spf.TypeA,
			func(r *spf.Response, err error) bool { return err == nil && len(r.Addrs) == 1 }},
		{"cname", func() { z.AddCNAME("alias.example.org", "mail.example.org") }, "alias.example.org", spf.TypeA,
			func(r *spf.Response, err error) bool { return err == nil && len(r.Addrs) == 1 }},
		{"timeout", func() { z.SetTimeout("slow.example.org") }, "slow.example.org", spf.TypeTXT,
			func(r *spf.Response, err error) bool { return err != nil && !errors.Is(err, spf.ErrNotFound) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z.Lookup(ctx, tt.lookup, tt.typ) // a view made before the change
			tt.change()
			if r, err := z.Lookup(ctx, tt.lookup, tt.typ); !tt.check(r, err) {
				t.Errorf("after the change, Lookup(%s, %v) = %+v, %v", tt.lookup, tt.typ, r, err)
			}
		})
	}
}
