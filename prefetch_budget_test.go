package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// mxRecords returns zone lines for n names under domain (prefix1 ...
// prefixN), each with hosts MX hosts that have an address not the
// client's, and the record of n "mx:" terms naming them.
func mxRecords(domain, prefix string, n, hosts int) (lines []string, record string) {
	terms := []string{"v=spf1"}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s%d.%s", prefix, i, domain)
		terms = append(terms, "mx:"+name)
		for h := 1; h <= hosts; h++ {
			host := fmt.Sprintf("h%d.%s", h, name)
			lines = append(lines, fmt.Sprintf("%s. MX %d %s.", name, h, host),
				fmt.Sprintf("%s. A 192.0.2.%d", host, h))
		}
	}
	return lines, strings.Join(terms, " ")
}

// budgetZone is the zone of issue 9's prefetching cases.
func budgetZone() string {
	var lines []string
	// include:i1 redirect=i2, where each of i1 and i2 holds nine mx terms
	// of ten hosts: a sequential evaluation uses the ten lookups on
	// include:i1 and its terms and never reaches i2.
	l1, r1 := mxRecords("i1.example", "m", 9, 10)
	l2, r2 := mxRecords("i2.example", "m", 9, 10)
	lines = append(lines, l1...)
	lines = append(lines, l2...)
	lines = append(lines,
		`disjoint.example. TXT "v=spf1 include:i1.example redirect=i2.example"`,
		`i1.example. TXT "`+r1+` ?all"`,
		`i2.example. TXT "`+r2+` -all"`,
	)
	// The same within one record: include:i1 and then nine mx terms.
	_, r3 := mxRecords("i2.example", "m", 9, 10)
	lines = append(lines, `inrecord.example. TXT "v=spf1 include:i1.example `+strings.TrimPrefix(r3, "v=spf1 ")+` -all"`)
	// Ten a terms of names that do not exist: permerror after the third
	// void lookup (section 4.6.4).
	var a []string
	for i := 1; i <= 10; i++ {
		a = append(a, fmt.Sprintf("a:n%d.void.example", i))
	}
	lines = append(lines, `void.example. TXT "v=spf1 `+strings.Join(a, " ")+` -all"`)
	// Two void lookups and then a name that exists: within the limit.
	lines = append(lines,
		`twovoid.example. TXT "v=spf1 a:n1.void.example mx:n2.void.example a:ok.example include:inc.example -all"`,
		`ok.example. A 192.0.2.200`,
		`inc.example. TXT "v=spf1 ip4:192.0.2.99 -all"`,
	)
	return strings.Join(lines, "\n") + "\n"
}

// TestPrefetchBudget counts at the spftest server the queries of checks
// whose records go beyond the limits of RFC 7208 section 4.6.4, with
// prefetching on and off, the slow answers where prefetching would run
// ahead: prefetching sends at most MaxLookups-1 a, mx, ptr or exists
// queries (terms whose number was not known yet) that the sequential
// evaluation does not send, no address query of an MX host it does not
// send, and at most MaxLookups-1 more TXT queries; the outcome is the
// same.
func TestPrefetchBudget(t *testing.T) {
	zone := budgetZone()
	tests := []struct {
		name, domain string
		slow         string // answered after the others
		want         spf.Result
	}{
		{"disjoint include and redirect, include slow", "disjoint.example", "i1.example", spf.PermError},
		{"disjoint include and redirect", "disjoint.example", "", spf.PermError},
		{"include then mx terms, include slow", "inrecord.example", "i1.example", spf.PermError},
		{"ten void a terms", "void.example", "", spf.PermError},
		{"two void lookups", "twovoid.example", "ok.example", spf.Fail},
	}
	ip := netip.MustParseAddr("198.51.100.1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var counts [2]map[spf.RRType]int
			var outs [2]spf.Outcome
			for i, noPrefetch := range []bool{true, false} {
				srv := spftest.NewServerFromText(t, zone)
				srv.SetDelay(time.Millisecond)
				if tt.slow != "" {
					srv.SetFault(tt.slow, spftest.Fault{Delay: 60 * time.Millisecond})
				}
				c := &spf.Checker{Resolver: srv.Resolver(2 * time.Second), NoPrefetch: noPrefetch}
				out, _ := c.Check(context.Background(), ip, "helo.example", "a@"+tt.domain)
				out.Problem = nil
				outs[i] = out
				// Distinct queries: a DNSResolver sends a query again
				// when its answer is late.
				counts[i] = map[spf.RRType]int{}
				seen := map[spftest.Query]bool{}
				for _, q := range srv.Queries() {
					q.Name = strings.ToLower(q.Name)
					q.TCP = false
					if !seen[q] {
						seen[q] = true
						counts[i][q.Type]++
					}
				}
			}
			seq, pre := counts[0], counts[1]
			t.Logf("queries sequential %v, prefetching %v", seq, pre)
			if outs[0].Result != tt.want {
				t.Errorf("sequential result %v, want %v", outs[0].Result, tt.want)
			}
			if outs[0] != outs[1] {
				t.Errorf("outcomes differ: sequential %+v, prefetching %+v", outs[0], outs[1])
			}
			beyond := 0
			for typ, n := range pre {
				switch {
				case typ == spf.TypeTXT && n > seq[typ]+9:
					t.Errorf("prefetching sent %d TXT queries, sequential %d: more than MaxLookups-1 beyond", n, seq[typ])
				case typ != spf.TypeTXT && n > seq[typ]:
					beyond += n - seq[typ]
				}
			}
			if beyond > 9 {
				t.Errorf("prefetching sent %d a, mx, ptr, exists or address queries beyond the sequential ones: more than MaxLookups-1", beyond)
			}
		})
	}
}
