package spf_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/miekg/dns"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
	"go.uber.org/goleak"
)

const resolverZone = `
$ORIGIN example.com.
$TTL 300
@          TXT   "v=spf1 mx -all"
@          MX    20 mx2
@          MX    10 mx1
mx1        A     192.0.2.10
mx2        A     192.0.2.11
mx1        AAAA  2001:db8::10
raw        TXT   "v=spf1 exp=caf\195\169 \"quoted\" back\\slash -all"
raw        TXT   "two " "strings"
alias      CNAME mid
mid        CNAME example.com.
dangling   CNAME nowhere
10.2.0.192.in-addr.arpa. PTR mx1
`

func TestDNSResolverAnswers(t *testing.T) {
	srv := spftest.NewServerFromText(t, resolverZone)
	long := string(make([]byte, 600)) // 600 zero bytes: three character-strings on the wire
	srv.Zone().AddTXT("long.example.com", long)
	srv.Zone().AddTXT("with space.example.com", "v=spf1 +all")
	res := srv.Resolver(time.Second)
	addr := netip.MustParseAddr

	tests := []struct {
		name string
		qn   string
		typ  spf.RRType
		want *spf.Response
	}{
		{"txt", "example.com", spf.TypeTXT, &spf.Response{TXT: []string{"v=spf1 mx -all"}, TTL: 300 * time.Second}},
		{"raw bytes", "raw.example.com", spf.TypeTXT, &spf.Response{TXT: []string{
			"v=spf1 exp=caf\u00e9 \"quoted\" back\\slash -all", "two strings"}, TTL: 300 * time.Second}},
		{"long txt joined", "long.example.com", spf.TypeTXT, &spf.Response{TXT: []string{long}, TTL: 300 * time.Second}},
		{"mx by preference", "example.com", spf.TypeMX, &spf.Response{Names: []string{"mx1.example.com", "mx2.example.com"}, TTL: 300 * time.Second}},
		{"a", "mx1.example.com", spf.TypeA, &spf.Response{Addrs: []netip.Addr{addr("192.0.2.10")}, TTL: 300 * time.Second}},
		{"aaaa", "mx1.example.com", spf.TypeAAAA, &spf.Response{Addrs: []netip.Addr{addr("2001:db8::10")}, TTL: 300 * time.Second}},
		{"ptr", "10.2.0.192.in-addr.arpa", spf.TypePTR, &spf.Response{Names: []string{"mx1.example.com"}, TTL: 300 * time.Second}},
		{"cname chain", "alias.example.com", spf.TypeTXT, &spf.Response{TXT: []string{"v=spf1 mx -all"}, TTL: 300 * time.Second}},
		{"case", "EXAMPLE.COM", spf.TypeTXT, &spf.Response{TXT: []string{"v=spf1 mx -all"}, TTL: 300 * time.Second}},
		{"trailing dot", "example.com.", spf.TypeTXT, &spf.Response{TXT: []string{"v=spf1 mx -all"}, TTL: 300 * time.Second}},
		{"name with space", "with space.example.com", spf.TypeTXT, &spf.Response{TXT: []string{"v=spf1 +all"}, TTL: 300 * time.Second}},
		{"nodata", "mx2.example.com", spf.TypeAAAA, &spf.Response{TTL: spftest.NegativeTTL}},
		{"nxdomain", "nowhere.example.com", spf.TypeTXT, &spf.Response{TTL: spftest.NegativeTTL}},
		{"cname to nothing", "dangling.example.com", spf.TypeTXT, &spf.Response{TTL: spftest.NegativeTTL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := res.Lookup(context.Background(), tc.qn, tc.typ)
			if err != nil {
				t.Fatalf("Lookup(%q, %v): %v", tc.qn, tc.typ, err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{}), cmpopts.IgnoreUnexported(spf.Response{})); diff != "" {
				t.Errorf("Lookup(%q, %v) mismatch (-want +got):\n%s", tc.qn, tc.typ, diff)
			}
		})
	}
	if n := srv.Count("with space.example.com", spf.TypeTXT); n != 1 {
		t.Errorf("the server got %d queries for the name with a space, want 1", n)
	}
}

func TestDNSResolverInvalidNames(t *testing.T) {
	srv := spftest.NewServer(t, &spftest.Zone{})
	res := srv.Resolver(time.Second)
	long := string(make([]byte, 64))
	for _, name := range []string{"", ".", "a..b", long + ".example", "x." + string(make([]byte, 260))} {
		if _, err := res.Lookup(context.Background(), name, spf.TypeTXT); !errors.Is(err, spf.ErrNotFound) {
			t.Errorf("Lookup(%q) = %v, want ErrNotFound", name, err)
		}
	}
	if n := srv.Total(); n != 0 {
		t.Errorf("%d queries sent for invalid names", n)
	}
}

func TestDNSResolverAuthenticated(t *testing.T) {
	srv := spftest.NewServerFromText(t, resolverZone)
	c := &spf.Checker{Resolver: srv.Resolver(time.Second)}
	ip := netip.MustParseAddr("192.0.2.10")
	for _, ad := range []bool{false, true} {
		srv.SetAuthenticated(ad)
		out, err := c.Check(context.Background(), ip, "mx1.example.com", "a@example.com")
		if out.Result != spf.Pass || out.Authenticated != ad {
			t.Errorf("AD bit %v: result %v (%v), Authenticated %v", ad, out.Result, err, out.Authenticated)
		}
	}
}

// checkWithin runs a check against res and fails unless it gives want
// within limit.
func checkWithin(t *testing.T, res spf.Resolver, want spf.Result, limit time.Duration) spf.Outcome {
	t.Helper()
	c := &spf.Checker{Resolver: res}
	start := time.Now()
	out, err := c.Check(context.Background(), netip.MustParseAddr("192.0.2.10"), "mx1.example.com", "a@example.com")
	if d := time.Since(start); d > limit {
		t.Errorf("check took %v, want at most %v", d, limit)
	}
	if out.Result != want {
		t.Errorf("result %v (%v), want %v", out.Result, err, want)
	}
	return out
}

func TestDNSResolverFaults(t *testing.T) {
	t.Run("no answer times out", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("example.com", spftest.Fault{Drop: true})
		res := srv.Resolver(150 * time.Millisecond)
		start := time.Now()
		_, err := res.Lookup(context.Background(), "example.com", spf.TypeTXT)
		var nerr net.Error
		if !errors.As(err, &nerr) || !nerr.Timeout() || errors.Is(err, spf.ErrNotFound) {
			t.Errorf("Lookup = %v, want a timeout", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > time.Second {
			t.Errorf("Lookup took %v, want about 150ms", d)
		}
		out := checkWithin(t, res, spf.TempError, time.Second)
		if !errors.Is(out.Problem, spf.ErrDNS) {
			t.Errorf("problem %v does not wrap ErrDNS", out.Problem)
		}
	})
	t.Run("attempts", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("example.com", spftest.Fault{Drop: true})
		res := &spf.DNSResolver{Servers: []string{srv.Addr}, Timeout: 50 * time.Millisecond, Attempts: 3}
		res.Lookup(context.Background(), "example.com", spf.TypeTXT)
		// Each attempt sends the query, and again after the
		// retransmission timeout (half the Timeout before any round
		// trip is measured) if that comes before its Timeout ends.
		if n := srv.Count("example.com", spf.TypeTXT); n < 3 || n > 6 {
			t.Errorf("%d queries with Attempts 3, want 3 attempts of 1 or 2", n)
		}
	})
	t.Run("truncated answer retried over TCP", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("", spftest.Fault{Truncate: true})
		resp, err := srv.Resolver(time.Second).Lookup(context.Background(), "example.com", spf.TypeTXT)
		if err != nil || resp.Len() != 1 {
			t.Fatalf("Lookup = %v, %v", resp, err)
		}
		want := []spftest.Query{{Name: "example.com", Type: spf.TypeTXT}, {Name: "example.com", Type: spf.TypeTXT, TCP: true}}
		got := srv.Queries()
		for i := range got {
			got[i].Name = strings.ToLower(got[i].Name) // DNS 0x20
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("queries (-want +got):\n%s", diff)
		}
		checkWithin(t, srv.Resolver(time.Second), spf.Pass, time.Second)
	})
	t.Run("servfail", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("example.com", spftest.Fault{RCode: 2})
		checkWithin(t, srv.Resolver(time.Second), spf.TempError, time.Second)
	})
	t.Run("refused", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("mx1.example.com", spftest.Fault{RCode: 5})
		checkWithin(t, srv.Resolver(time.Second), spf.TempError, time.Second)
	})
	t.Run("server down", func(t *testing.T) {
		srv, err := spftest.StartServer(&spftest.Zone{})
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
		checkWithin(t, srv.Resolver(time.Second), spf.TempError, 2*time.Second)
	})
	t.Run("failover to the next server", func(t *testing.T) {
		down, err := spftest.StartServer(&spftest.Zone{})
		if err != nil {
			t.Fatal(err)
		}
		down.Close()
		failing := spftest.NewServerFromText(t, resolverZone)
		failing.SetFault("", spftest.Fault{RCode: 2})
		good := spftest.NewServerFromText(t, resolverZone)
		res := &spf.DNSResolver{Servers: []string{down.Addr, failing.Addr, good.Addr}, Timeout: time.Second, Attempts: 1}
		checkWithin(t, res, spf.Pass, time.Second)
		if failing.Total() == 0 || good.Total() == 0 {
			t.Errorf("queries: %d to the failing server, %d to the good one", failing.Total(), good.Total())
		}
	})
	t.Run("forged answers discarded", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("", spftest.Fault{Forge: true})
		// The forged answers say "v=spf1 +all"; the real one has "-all".
		c := &spf.Checker{Resolver: srv.Resolver(time.Second)}
		out, err := c.Check(context.Background(), netip.MustParseAddr("198.51.100.1"), "h.example.com", "a@example.com")
		if out.Result != spf.Fail {
			t.Errorf("result %v (%v), want fail from the real answer", out.Result, err)
		}
	})
	t.Run("delay within timeout", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetDelay(20 * time.Millisecond)
		checkWithin(t, srv.Resolver(time.Second), spf.Pass, time.Second)
	})
	t.Run("checker timeout shorter than the resolver's", func(t *testing.T) {
		srv := spftest.NewServerFromText(t, resolverZone)
		srv.SetFault("example.com", spftest.Fault{Drop: true})
		c := &spf.Checker{Resolver: srv.Resolver(10 * time.Second), Timeout: 100 * time.Millisecond}
		start := time.Now()
		out, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.10"), "h", "a@example.com")
		if out.Result != spf.TempError || time.Since(start) > time.Second {
			t.Errorf("result %v after %v, want temperror after 100ms", out.Result, time.Since(start))
		}
	})
}

// TestDNSResolverCancel checks that a Lookup whose context is cancelled
// returns at once and leaves no goroutine behind.
func TestDNSResolverCancel(t *testing.T) {
	srv := spftest.NewServerFromText(t, resolverZone)
	srv.SetFault("", spftest.Fault{Drop: true})
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, res := range []spf.Resolver{
		srv.Resolver(10 * time.Second),
		&spf.Cache{Resolver: srv.Resolver(10 * time.Second)},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := res.Lookup(ctx, "example.com", spf.TypeTXT)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%T: Lookup = %v, want context.Canceled", res, err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%T: Lookup returned %v after the cancel", res, d-50*time.Millisecond)
		}
		// A whole check, with its prefetching, ends as promptly.
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start = time.Now()
		out, _ := (&spf.Checker{Resolver: res}).Check(ctx, netip.MustParseAddr("192.0.2.1"), "h", "a@example.com")
		if out.Result != spf.TempError || time.Since(start) > 500*time.Millisecond {
			t.Errorf("%T: check gave %v after %v", res, out.Result, time.Since(start))
		}
	}
}

// TestCacheFlood sends many identical checks at once through a Cache
// over DNS: each name is queried once.
func TestCacheFlood(t *testing.T) {
	srv := spftest.NewServerFromText(t, resolverZone)
	srv.SetDelay(20 * time.Millisecond) // so that the checks overlap
	cache := &spf.Cache{Resolver: srv.Resolver(2 * time.Second)}
	c := &spf.Checker{Resolver: cache}
	var wg sync.WaitGroup
	const n = 200
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			out, err := c.Check(context.Background(), netip.MustParseAddr("192.0.2.11"), "h", "a@example.com")
			if out.Result != spf.Pass {
				errs <- out.Result.String() + ": " + errString(err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	want := map[string]int{"example.com/TXT": 1, "example.com/MX": 1, "mx1.example.com/A": 1, "mx2.example.com/A": 1}
	got := map[string]int{}
	for _, q := range srv.Queries() {
		got[strings.ToLower(q.Name)+"/"+q.Type.String()]++ // DNS 0x20
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queries per name (-want +got):\n%s", diff)
	}
	st := cache.Stats()
	if st.Queries != 4 || st.Hits+st.Misses < n {
		t.Errorf("Stats() = %+v, want 4 queries and at least %d lookups", st, n)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestDNSResolverConfigFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.conf")
	if err := os.WriteFile(empty, []byte("search example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{empty, filepath.Join(dir, "missing.conf")} {
		res := &spf.DNSResolver{ConfigFile: path}
		_, err := res.Lookup(context.Background(), "example.com", spf.TypeTXT)
		if err == nil || errors.Is(err, spf.ErrNotFound) {
			t.Errorf("ConfigFile %s: Lookup = %v, want an error that is not ErrNotFound", filepath.Base(path), err)
		}
	}
}

// rawServer starts a DNS server on 127.0.0.1 over UDP whose answers
// handler writes, for answers that spftest.Server does not give.
func rawServer(t *testing.T, handler dns.HandlerFunc) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSResolverRawAnswers(t *testing.T) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	soa := rr("example.com. 100 IN SOA ns.example.com. h.example.com. 1 2 3 4 30")
	addr := rawServer(t, func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		// The resolver randomises the case of its questions (DNS 0x20).
		switch strings.ToLower(req.Question[0].Name) {
		case "ttl.example.com.":
			m.Answer = []dns.RR{
				rr("ttl.example.com. 300 IN CNAME b.example.com."),
				rr("b.example.com. 20 IN CNAME c.example.com."),
				rr("c.example.com. 60 IN TXT \"v=spf1 -all\""),
				rr("unrelated.example.com. 1 IN TXT \"v=spf1 +all\""),
			}
		case "nx.example.com.":
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{soa}
		case "nosoa.example.com.":
			m.Rcode = dns.RcodeNameError
		case "loop.example.com.":
			m.Answer = []dns.RR{
				rr("loop.example.com. 300 IN CNAME loop2.example.com."),
				rr("loop2.example.com. 300 IN CNAME loop.example.com."),
			}
		case "spoofed.example.com.":
			// An answer to another ID, then one to another question,
			// then the real one.
			bad := m.Copy()
			bad.Id++
			bad.Answer = []dns.RR{rr("spoofed.example.com. 300 IN TXT \"v=spf1 +all\"")}
			w.WriteMsg(bad)
			bad = m.Copy()
			bad.Question[0].Name = "other.example.com."
			bad.Answer = []dns.RR{rr("other.example.com. 300 IN TXT \"v=spf1 +all\"")}
			w.WriteMsg(bad)
			w.Write([]byte("garbage that is no DNS message"))
			w.Write(nil) // an empty datagram
			m.Answer = []dns.RR{rr("spoofed.example.com. 300 IN TXT \"v=spf1 -all\"")}
		case "casewrong.example.com.":
			// An answer that does not repeat the question's case: an
			// off-path forger's wrong guess.
			m.Question[0].Name = strings.Map(func(r rune) rune {
				if 'a' <= r|0x20 && r|0x20 <= 'z' {
					return r ^ 0x20 // swap case
				}
				return r
			}, m.Question[0].Name)
			m.Answer = []dns.RR{rr("casewrong.example.com. 300 IN TXT \"v=spf1 +all\"")}
		case "onlyspoofed.example.com.":
			m.Id++
			m.Answer = []dns.RR{rr("onlyspoofed.example.com. 300 IN TXT \"v=spf1 +all\"")}
		}
		w.WriteMsg(m)
	})
	res := &spf.DNSResolver{Servers: []string{addr}, Timeout: 200 * time.Millisecond, Attempts: 1}
	tests := []struct {
		name    string
		want    *spf.Response
		wantErr bool
	}{
		{"ttl.example.com", &spf.Response{TXT: []string{"v=spf1 -all"}, TTL: 20 * time.Second}, false},
		{"nx.example.com", &spf.Response{TTL: 30 * time.Second}, false},
		{"nosoa.example.com", &spf.Response{}, false},
		{"loop.example.com", nil, true},
		{"spoofed.example.com", &spf.Response{TXT: []string{"v=spf1 -all"}, TTL: 300 * time.Second}, false},
		{"onlyspoofed.example.com", nil, true},
		{"casewrong.example.com", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := res.Lookup(context.Background(), tc.name, spf.TypeTXT)
			if (err != nil) != tc.wantErr || errors.Is(err, spf.ErrNotFound) {
				t.Fatalf("Lookup(%q) error = %v, want error %v (not ErrNotFound)", tc.name, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(spf.Response{})); diff != "" {
				t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

// BenchmarkDNSResolverQuery measures the CPU and allocations of one
// Lookup (a TXT query and its answer over UDP) against a server answering
// at once (issue 16: the client's cost per query, at most 12 µs of CPU and
// 8 allocations). The "child" cases ask the spftest server run in a child
// process (see TestBenchServerProcess), so that the CPU time of this
// process, reported as cpu-µs/op (user and system, getrusage), and its
// allocations are the client's alone: for a name of 15 letters or more,
// sent from a pooled socket with DNS 0x20 ("long"), and a short name,
// which gets a socket of its own (see DNSResolver); with a context that
// has no end, and with one that has a deadline, as a check's queries
// have; one query at a time ("serial": the CPU time includes the Go
// scheduler's spinning while it waits, which grows with the server's
// latency), and from 16 goroutines, each asking its own name so that no
// Lookups merge ("parallel": the CPU is kept busy, which leaves the
// client's work). The other cases run the server in this process, its
// work included: the spftest server (miekg/dns), and a bare server that
// echoes the question in a fixed answer without allocating.
func BenchmarkDNSResolverQuery(b *testing.B) {
	ctx := context.Background()
	// A check's queries have a context with a deadline (Checker.Timeout).
	withDeadline, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for _, tc := range []struct {
		name  string
		qname string // with %d, the goroutine's number
		addr  func(*testing.B) string
		ctx   context.Context
	}{
		{"child-long", "_netblocks%d.example.com", childServer, ctx},
		{"child-short", "a%d.example.com", childServer, ctx},
		{"child-long-deadline", "_netblocks%d.example.com", childServer, withDeadline},
		{"child-short-deadline", "a%d.example.com", childServer, withDeadline},
		{"spftest", "example.com", func(b *testing.B) string { return spftest.NewServerFromText(b, resolverZone).Addr }, ctx},
		{"bare", "example.com", bareServer, ctx},
		// 15 letters or more: a pooled socket (see DNSResolver).
		{"bare-long", "_netblocks.example.com", bareServer, ctx},
	} {
		for _, parallel := range []bool{false, true} {
			name := tc.name + "/serial"
			if parallel {
				if !strings.Contains(tc.qname, "%d") {
					continue
				}
				name = tc.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				res := &spf.DNSResolver{Servers: []string{tc.addr(b)}, Timeout: 2 * time.Second, Attempts: 1}
				lookup := func(b *testing.B, qname string) {
					resp, err := res.Lookup(tc.ctx, qname, spf.TypeTXT)
					if err != nil || len(resp.TXT) != 1 {
						b.Fatal(qname, resp, err)
					}
				}
				b.ReportAllocs()
				var next atomic.Int32
				runRoundTrips(b, parallel, func(b *testing.B) (func(), func()) {
					qname := strings.ReplaceAll(tc.qname, "%d", "0")
					if parallel {
						qname = fmt.Sprintf(tc.qname, next.Add(1)%benchNames)
					}
					return func() { lookup(b, qname) }, nil
				})
				b.ReportMetric(float64(spf.DNSResolverRetries(res))/float64(b.N), "resends/op")
			})
		}
	}
}

// benchParallel is how many goroutines the parallel cases of
// BenchmarkDNSResolverQuery run.
const benchParallel = 16

// benchNames is how many names of each kind benchServerZone has.
const benchNames = 64

// benchServerEnv is the environment variable that makes the test binary,
// run again by childServer, serve DNS (TestBenchServerProcess).
const benchServerEnv = "SPF_BENCH_SERVER"

// benchServerZone returns resolverZone with the names
// BenchmarkDNSResolverQuery asks: _netblocks0 to _netblocks63, of 15
// letters or more, and a0 to a63, of fewer.
func benchServerZone() string {
	var b strings.Builder
	b.WriteString(resolverZone)
	for i := range benchNames {
		fmt.Fprintf(&b, "_netblocks%d TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n", i)
		fmt.Fprintf(&b, "a%d TXT \"v=spf1 -all\"\n", i)
	}
	return b.String()
}

// TestBenchServerProcess is no test: in the child process childServer
// starts (with SPF_BENCH_SERVER=1), it serves benchServerZone with the
// spftest server on a port of 127.0.0.1, which it prints on its standard
// output, until it is killed or its standard input is closed.
func TestBenchServerProcess(t *testing.T) {
	if os.Getenv(benchServerEnv) != "1" {
		t.Skip("the DNS server of BenchmarkDNSResolverQuery's child process")
	}
	srv := spftest.NewServerFromText(t, benchServerZone())
	fmt.Println(srv.Addr)
	io.Copy(io.Discard, os.Stdin) // until the parent goes
}

// childServer starts the test binary again as a DNS server
// (TestBenchServerProcess) and returns its address; the child is killed
// when the benchmark ends.
func childServer(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr := strings.TrimSpace(line)
	if _, perr := netip.ParseAddrPort(addr); err != nil || perr != nil {
		b.Fatalf("child server: %q, %v", line, err)
	}
	return addr
}

// bareServer starts a UDP server that answers every query with its own
// question and one TXT record, without allocating, and returns its
// address.
func bareServer(b *testing.B) string {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	txt := "v=spf1 mx -all"
	go func() {
		buf := make([]byte, 512)
		out := make([]byte, 0, 512)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			end := 12
			for end < n && buf[end] != 0 {
				end += int(buf[end]) + 1
			}
			end += 5 // the root label, type and class
			if end > n {
				continue
			}
			out = append(out[:0], buf[:end]...)
			out[2] |= 0x80        // QR
			out[6], out[7] = 0, 1 // ANCOUNT
			out[8], out[9], out[10], out[11] = 0, 0, 0, 0
			out = append(out, 0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44, 0, byte(len(txt)+1), byte(len(txt)))
			out = append(out, txt...)
			pc.WriteToUDPAddrPort(out, from)
		}
	}()
	return pc.LocalAddr().String()
}
