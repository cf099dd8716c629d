package spf_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestPrefetchIPMatchCut checks at a DNS server answering after 20 ms, so
// that prefetching runs, that prefetching sends no query past an ip4 or
// ip6 term that matches the client: nothing after it in its record, and
// nothing after the include that led there when that include matches.
// Where the terms after the match are in the matching record, the queries
// are exactly those of a sequential evaluation; terms after an include
// may be prefetched while its record is not found yet (see prefetcher),
// but not what only a walk past the match would send: the addresses of
// MX hosts, the records of includes there.
func TestPrefetchIPMatchCut(t *testing.T) {
	const zone = `$ORIGIN cut.example.
$TTL 300
; An include whose record fails the client at once: the include does not
; match, evaluation goes on in the including record, and none of the
; terms after the ip4 is ever needed, of whatever kind.
fail       TXT "v=spf1 include:inc.fail.cut.example -all"
inc.fail   TXT "v=spf1 -ip4:192.0.2.10 a:h1.cut.example mx:h2.cut.example exists:h3.cut.example ptr include:x.cut.example redirect=r.cut.example"
; A chain of "+" includes that matches at an ip6 term: the check ends
; there, and the terms after each include are never needed.
plus       TXT "v=spf1 include:inc.plus.cut.example a:h4.cut.example -all"
inc.plus   TXT "v=spf1 include:deep.plus.cut.example mx:h2.cut.example ~all"
deep.plus  TXT "v=spf1 ip6:2001:db8::/32 a:h1.cut.example include:x.cut.example ~all"
; A "?" include that matches: its record ends with neutral, so the
; terms after it there are never needed; the top record goes on.
neutral    TXT "v=spf1 include:inc.neutral.cut.example a:h4.cut.example -all"
inc.neutral TXT "v=spf1 ?include:deep.neutral.cut.example mx:h2.cut.example ~all"
deep.neutral TXT "v=spf1 ip4:0.0.0.0/0 -all"
; A redirect target that matches: any qualifier ends the check.
redir      TXT "v=spf1 redirect=target.redir.cut.example"
target.redir TXT "v=spf1 ?ip4:192.0.2.0/24 include:x.cut.example a:h1.cut.example -all"
x          TXT "v=spf1 ip4:198.51.100.0/24 ~all"
r          TXT "v=spf1 -all"
h1         A   198.51.100.1
h1         AAAA 2001:db8:1::1
h2         MX  10 h1
h3         A   127.0.0.2
h4         A   198.51.100.4
`
	for _, tc := range []struct {
		domain, client string
		result         spf.Result
		sequential     bool     // exactly the sequential queries
		never          []string // queries never sent
	}{
		{"fail.cut.example", "192.0.2.10", spf.Fail, true, nil},
		{"plus.cut.example", "2001:db8::1", spf.Pass, false, []string{"AAAA h1.cut.example", "TXT x.cut.example"}},
		{"neutral.cut.example", "192.0.2.10", spf.Fail, false, []string{"A h1.cut.example"}},
		{"redir.cut.example", "192.0.2.10", spf.Neutral, true, nil},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			z, err := spftest.ParseZone(strings.NewReader(zone), "", "cut")
			if err != nil {
				t.Fatal(err)
			}
			ip := netip.MustParseAddr(tc.client)
			var want []string
			seq := &spf.Checker{Resolver: z, NoPrefetch: true, Trace: func(ev spf.Event) {
				if ev.Kind == spf.EventQuery {
					want = append(want, ev.Type.String()+" "+ev.Name)
				}
			}}
			if out, _ := seq.Check(context.Background(), ip, "client.example", "a@"+tc.domain); out.Result != tc.result {
				t.Fatalf("sequential: %v, want %v", out.Result, tc.result)
			}
			srv := spftest.NewServer(t, z)
			srv.SetDelay(20 * time.Millisecond)
			c := &spf.Checker{Resolver: srv.Resolver(2 * time.Second)}
			out, _ := c.Check(context.Background(), ip, "client.example", "a@"+tc.domain)
			if out.Result != tc.result {
				t.Errorf("with prefetching: %v, want %v", out.Result, tc.result)
			}
			// Queries prefetched by the check may land after it: wait
			// until none has come for a while.
			for n := -1; n != srv.Total(); {
				n = srv.Total()
				time.Sleep(100 * time.Millisecond)
			}
			var got []string
			for _, q := range srv.Queries() {
				got = append(got, q.Type.String()+" "+strings.ToLower(q.Name))
			}
			// A query sent again (a datagram lost, an answer slower
			// than the retransmission timeout) is the same query.
			slices.Sort(got)
			got = slices.Compact(got)
			slices.Sort(want)
			if tc.sequential && !slices.Equal(got, want) {
				t.Errorf("queries with prefetching:\n%q\nsequential:\n%q", got, want)
			}
			for _, q := range tc.never {
				if slices.Contains(got, q) {
					t.Errorf("prefetching sent %s; queries %q", q, got)
				}
			}
		})
	}
}
