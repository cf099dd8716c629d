package spf_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/spf-go/spf"
)

// parseRecords are records as large domains and their customers publish
// them, for BenchmarkParse.
var parseRecords = []struct {
	name, text string
}{
	// Google: _spf.google.com includes its netblock records.
	{"google-includes", "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all"},
	{"google-ip4", "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all"},
	{"google-ip6", "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all"},
	// Microsoft: spf.protection.outlook.com, a mixed ip4/ip6 list.
	{"outlook", "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:52.103.0.0/16 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 ip6:2a01:111:f403:8000::/51 ip6:2a01:111:f403:c000::/51 ip6:2a01:111:f403:f000::/52 -all"},
	// A small business: its own servers and two providers.
	{"small-business", "v=spf1 mx a include:spf.protection.outlook.com include:_spf.google.com ~all"},
	// Hosted, macro-heavy records.
	{"macro-exists", "v=spf1 exists:%{i}._ip.%{h}._ehlo.%{d}._spf.vali.email include:_spf.salesforce.com -all"},
	{"macro-include", "v=spf1 include:%{ir}.%{v}.%{d}.spf.has.pphosted.com ip4:192.0.2.0/24 a:mail.%{d2} ?all exp=explain.%{d}"},
}

// BenchmarkParse parses each record of parseRecords, and the whole set.
func BenchmarkParse(b *testing.B) {
	for _, r := range parseRecords {
		if _, err := spf.Parse(r.text); err != nil {
			b.Fatalf("Parse(%q): %v", r.text, err)
		}
	}
	for _, r := range parseRecords {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(r.text)))
			for b.Loop() {
				if _, err := spf.Parse(r.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for _, r := range parseRecords {
			n += len(r.text)
		}
		b.SetBytes(int64(n))
		for b.Loop() {
			for _, r := range parseRecords {
				if _, err := spf.Parse(r.text); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// checkCases are the workloads of BenchmarkCheck: a client that matches
// early, one that matches late, and one that matches nothing.
var checkCases = []struct {
	name   string
	ip     string
	sender string
	want   spf.Result
}{
	{"ip4-match", "192.0.2.25", "alice@ip4.example.com", spf.Pass},
	{"ip4-nomatch", "198.18.0.1", "alice@ip4.example.com", spf.Fail},
	{"mxinclude-match", "192.0.2.10", "alice@chain.example.org", spf.Pass},
	{"mxinclude-late", "203.0.113.5", "alice@chain.example.org", spf.Pass},
	{"mxinclude-nomatch", "198.18.0.1", "alice@chain.example.org", spf.Fail},
}

// BenchmarkCheck evaluates whole checks against an in-memory [spftest.Zone],
// with prefetching on (the default) and off. Sub-benchmarks are named
// work=<workload>/prefetch=<on|off>, so that "benchstat -col /prefetch"
// puts the two side by side.
func BenchmarkCheck(b *testing.B) {
	zone, err := loadBenchZone()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	checkers := []struct {
		name string
		c    *spf.Checker
	}{
		{"on", &spf.Checker{Resolver: zone}},
		{"off", &spf.Checker{Resolver: zone, NoPrefetch: true}},
	}
	for _, tc := range checkCases {
		ip := netip.MustParseAddr(tc.ip)
		for _, ck := range checkers {
			b.Run("work="+tc.name+"/prefetch="+ck.name, func(b *testing.B) {
				out, err := ck.c.Check(ctx, ip, "mail.example.net", tc.sender)
				if out.Result != tc.want {
					b.Fatalf("Check(%s, %s) = %v, %v; want %v", tc.ip, tc.sender, out.Result, err, tc.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					if out, _ := ck.c.Check(ctx, ip, "mail.example.net", tc.sender); out.Result != tc.want {
						b.Fatal(out.Result)
					}
				}
			})
		}
	}
}
