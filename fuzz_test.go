package spf

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var fuzzRecords = []string{
	"v=spf1",
	"v=spf1 -all",
	"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
	"v=spf1 a mx/24//64 ptr:example.org ~all",
	"v=spf1 include:_spf.example.com ?all redirect=other.example exp=exp.%{d}",
	"v=spf1 exists:%{i}._ip.%{h}._ehlo.%{d}._spf.example.net -all",
	"v=spf1 include:%{ir}.%{v}._spf.%{d2} -all x-foo=%{L1r-}",
	"V=SPF1 +A:Example.COM. -ALL ",
	"v=spf1 a:museum",
	"v=spf1 ip4:1.2.3.4/032",
	"v=spf1 a//0",
	"v=spf1 ip6:::ffff:1.2.3.4/120",
}

// FuzzParse checks that Parse never panics and that the canonical form
// round-trips: Parse(r.String()).String() == r.String().
func FuzzParse(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", text, err)
			}
			return
		}
		s := r.String()
		r2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q does not parse: %v", text, s, err)
		}
		if s2 := r2.String(); s2 != s {
			t.Fatalf("round trip of %q: %q then %q", text, s, s2)
		}
		if len(r2.Terms) != len(r.Terms) {
			t.Fatalf("round trip of %q changed the number of terms", text)
		}
	})
}

// FuzzExpand checks that every macro string the checker accepts expands
// without panicking; that the bounded expansions (expand for a
// domain-spec, expandText for an explanation) give what the whole
// expansion of refExpand gives (see checkBounded); and that their output
// and allocations are bounded by constants, whatever the lengths of the
// macro-string and the local part.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%{s}", "%{ir}.%{v}._spf.%{d2}", "%{L1R-+,/_=}", "%% %_ %-", "%{c}%{r}%{t}%{p}", "%{d0}", "%{h9999999999}", "%{s2r}%{l1-}.c1.example", "%%{s}}%-%_"} {
		f.Add(s, "strong-bad", "192.0.2.3")
	}
	f.Add("%{i}", "x", "2001:db8::1")
	f.Add("%{s}%{s}%{s}.c1.hostile.example", strings.Repeat("x", 300), "192.0.2.3")
	f.Add("%{l1-}%{l1-}%{l1-}%{lr-}", strings.Repeat("-", 500), "192.0.2.3")
	f.Fuzz(func(t *testing.T, s, local, ip string) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		e := testEnv(addr.String())
		e.local = local
		e.sender = local + "@email.example.com"
		if _, msg := checkMacroString(s, true); msg != "" {
			return
		}
		checkBounded(t, e, s)
		buf := make([]byte, 0, explanationCap+domainWindow)
		if n := testing.AllocsPerRun(3, func() { buf = e.expand(buf[:0], s) }); n > 0 {
			t.Fatalf("expand(%.80q) allocated %v times", s, n)
		}
		if n := testing.AllocsPerRun(3, func() { buf = e.expandText(buf[:0], s, explanationCap) }); n > 0 {
			t.Fatalf("expandText(%.80q) allocated %v times", s, n)
		}
	})
}

// FuzzCheck runs whole checks with a fuzzed record, sender and HELO
// against a fixed zone: no panic, and the result/error contract holds.
func FuzzCheck(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add(r, "user@fuzz.example", "helo.example", "192.0.2.3")
	}
	f.Add("v=spf1 include:fuzz.example -all", "", "fuzz.example", "2001:db8::1")
	f.Add("v=spf1 mx ptr a:%{l}.fuzz.example -all", "a.b@fuzz.example", "x", "::ffff:192.0.2.3")
	f.Fuzz(func(t *testing.T, record, sender, helo, ip string) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		z := &testZone{}
		z.AddTXT("fuzz.example", record)
		z.AddTXT("other.example", "v=spf1 include:fuzz.example ~all")
		z.AddMX("fuzz.example", 10, "mx.fuzz.example")
		z.AddIP("mx.fuzz.example", netip.MustParseAddr("192.0.2.3"))
		z.AddIP("fuzz.example", netip.MustParseAddr("2001:db8::1"))
		z.AddPTR("3.2.0.192.in-addr.arpa", "mx.fuzz.example")
		z.AddCNAME("loop.fuzz.example", "loop.fuzz.example")
		z.SetTimeout("slow.fuzz.example")
		c := &Checker{Resolver: z}
		out, err := c.Check(context.Background(), addr, helo, sender)
		isErr := out.Result == TempError || out.Result == PermError
		if isErr != (err != nil) || (err != nil && err != out.Problem) {
			t.Fatalf("result %v with error %v (problem %v)", out.Result, err, out.Problem)
		}
		if out.Lookups > DefaultMaxLookups || out.VoidLookups > DefaultMaxVoidLookups+1 {
			t.Fatalf("limits exceeded: %d lookups, %d void", out.Lookups, out.VoidLookups)
		}
	})
}

// FuzzDefaultExplanation checks that appendDefaultExplanation appends
// what expandText appends for DefaultExplanation, whatever the sender
// domain (cut at the cap when it is long) and address.
func FuzzDefaultExplanation(f *testing.F) {
	f.Add("example.com", "192.0.2.3", explanationCap)
	f.Add("", "2001:db8::1", explanationCap)
	f.Add(strings.Repeat("long.", 300)+"example", "::ffff:192.0.2.3", explanationCap)
	f.Add("example.com", "192.0.2.3", 10)
	f.Add("ex\x00ample.\xff", "192.0.2.3", 0)
	f.Fuzz(func(t *testing.T, domain, ip string, max int) {
		addr, err := netip.ParseAddr(ip)
		if err != nil || max < 0 || max > 1<<16 {
			return
		}
		e := testEnv(addr.String())
		e.senderDomain = domain
		want := e.expandText([]byte("prefix"), DefaultExplanation, max)
		got := e.appendDefaultExplanation([]byte("prefix"), max)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendDefaultExplanation(%q, %s, %d) = %q, expandText gives %q", domain, ip, max, got, want)
		}
	})
}
