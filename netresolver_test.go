package spf_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestNetResolver runs NetResolver on Go's resolver pointed at an
// spftest.Server, and shows its documented limits.
func TestNetResolver(t *testing.T) {
	srv := spftest.NewServerFromText(t, resolverZone)
	srv.Zone().AddTXT("with space.example.com", "v=spf1 +all")
	res := spf.NetResolver{
		Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr)
		}},
		TTL: time.Minute,
	}
	tests := []struct {
		name string
		qn   string
		typ  spf.RRType
		want *spf.Response
		void bool
	}{
		{"txt", "example.com", spf.TypeTXT, &spf.Response{TXT: []string{"v=spf1 mx -all"}, TTL: time.Minute}, false},
		{"raw bytes", "raw.example.com", spf.TypeTXT, &spf.Response{TXT: []string{
			"v=spf1 exp=caf\u00e9 \"quoted\" back\\slash -all", "two strings"}, TTL: time.Minute}, false},
		{"mx", "example.com", spf.TypeMX, &spf.Response{Names: []string{"mx1.example.com", "mx2.example.com"}, TTL: time.Minute}, false},
		{"a", "mx1.example.com", spf.TypeA, &spf.Response{Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10")}, TTL: time.Minute}, false},
		{"ptr", "10.2.0.192.in-addr.arpa", spf.TypePTR, &spf.Response{Names: []string{"mx1.example.com"}, TTL: time.Minute}, false},
		{"nxdomain", "nowhere.example.com", spf.TypeTXT, nil, true},
		// A limit: Go's resolver refuses the name, where DNSResolver
		// finds its record.
		{"name with space", "with space.example.com", spf.TypeTXT, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := res.Lookup(context.Background(), tc.qn, tc.typ)
			if tc.void {
				if !errors.Is(err, spf.ErrNotFound) && (err != nil || got.Len() != 0) {
					t.Errorf("Lookup(%q) = %v, %v; want a void lookup", tc.qn, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tc.qn, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{}), cmpopts.IgnoreUnexported(spf.Response{})); diff != "" {
				t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", tc.qn, diff)
			}
		})
	}
}
