package spftest_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

const serverZone = `
$ORIGIN example.com.
$TTL 300
@        TXT   "v=spf1 a -all"
@        A     192.0.2.1
alias    CNAME other
other    CNAME example.com.
loop1    CNAME loop2
loop2    CNAME loop1
mx       MX    20 b
mx       MX    10 a
`

// ask sends one query to the server over network and returns the answer.
func ask(t *testing.T, srv *spftest.Server, network, name string, typ uint16, edns bool) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), typ)
	if edns {
		q.SetEdns0(1232, false)
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	in, _, err := c.Exchange(q, srv.Addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[typ], network, err)
	}
	return in
}

// summary is what the tests compare of an answer.
type summary struct {
	Rcode     string
	AA, TC    bool
	Answer    []string
	NegTTL    uint32
	HasSOA    bool
	TXTChunks []int
}

func summarize(in *dns.Msg) summary {
	s := summary{Rcode: dns.RcodeToString[in.Rcode], AA: in.Authoritative, TC: in.Truncated}
	for _, rr := range in.Answer {
		s.Answer = append(s.Answer, strings.ReplaceAll(rr.String(), "\t", " "))
		if txt, ok := rr.(*dns.TXT); ok {
			for _, c := range txt.Txt {
				s.TXTChunks = append(s.TXTChunks, len(c))
			}
		}
	}
	for _, rr := range in.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			s.HasSOA, s.NegTTL = true, soa.Minttl
		}
	}
	return s
}

func TestServerAnswers(t *testing.T) {
	srv := spftest.NewServerFromText(t, serverZone)
	long := strings.Repeat("x", 300)
	srv.Zone().AddTXT("long.example.com", long)

	tests := []struct {
		name string
		qn   string
		typ  uint16
		want summary
	}{
		{"records", "example.com", dns.TypeTXT, summary{Rcode: "NOERROR", AA: true,
			Answer: []string{`example.com. 300 IN TXT "v=spf1 a -all"`}, TXTChunks: []int{13}}},
		{"case-insensitive", "EXAMPLE.com", dns.TypeA, summary{Rcode: "NOERROR", AA: true,
			Answer: []string{`EXAMPLE.com. 300 IN A 192.0.2.1`}}}, // the owner as asked
		{"cname chain", "alias.example.com", dns.TypeA, summary{Rcode: "NOERROR", AA: true, Answer: []string{
			`alias.example.com. 300 IN CNAME other.example.com.`,
			`other.example.com. 300 IN CNAME example.com.`,
			`example.com. 300 IN A 192.0.2.1`,
		}}},
		{"cname loop", "loop1.example.com", dns.TypeA, summary{Rcode: "SERVFAIL", AA: true}},
		{"mx by preference", "mx.example.com", dns.TypeMX, summary{Rcode: "NOERROR", AA: true, Answer: []string{
			`mx.example.com. 300 IN MX 10 a.example.com.`,
			`mx.example.com. 300 IN MX 20 b.example.com.`,
		}}},
		{"nodata", "example.com", dns.TypeAAAA, summary{Rcode: "NOERROR", AA: true, HasSOA: true, NegTTL: 60}},
		{"nxdomain", "nowhere.example.com", dns.TypeTXT, summary{Rcode: "NXDOMAIN", AA: true, HasSOA: true, NegTTL: 60}},
		{"long txt split", "long.example.com", dns.TypeTXT, summary{Rcode: "NOERROR", AA: true,
			Answer:    []string{`long.example.com. 300 IN TXT "` + long[:255] + `" "` + long[255:] + `"`},
			TXTChunks: []int{255, 45}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, network := range []string{"udp", "tcp"} {
				got := summarize(ask(t, srv, network, tc.qn, tc.typ, true))
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s: answer mismatch (-want +got):\n%s", network, diff)
				}
			}
		})
	}
}

func TestServerTruncatesLargeUDPAnswers(t *testing.T) {
	srv := spftest.NewServer(t, &spftest.Zone{})
	for i := range 40 {
		srv.Zone().AddTXT("big.example", strings.Repeat(string(rune('a'+i%26)), 60))
	}
	if in := ask(t, srv, "udp", "big.example", dns.TypeTXT, false); !in.Truncated {
		t.Errorf("UDP answer of %d records without EDNS0 not truncated", len(in.Answer))
	}
	if in := ask(t, srv, "tcp", "big.example", dns.TypeTXT, false); in.Truncated || len(in.Answer) != 40 {
		t.Errorf("TCP answer: TC %v with %d records, want all 40", in.Truncated, len(in.Answer))
	}
}

func TestServerFaults(t *testing.T) {
	srv := spftest.NewServerFromText(t, serverZone)
	srv.SetFault("example.com", spftest.Fault{Types: []spf.RRType{spf.TypeTXT}, RCode: dns.RcodeServerFailure})
	if in := ask(t, srv, "udp", "example.com", dns.TypeTXT, true); in.Rcode != dns.RcodeServerFailure {
		t.Errorf("TXT with an RCode fault: %s, want SERVFAIL", dns.RcodeToString[in.Rcode])
	}
	if in := ask(t, srv, "udp", "example.com", dns.TypeA, true); in.Rcode != dns.RcodeSuccess || len(in.Answer) != 1 {
		t.Errorf("A, which the fault does not name: %v", in)
	}

	srv.SetFault("example.com", spftest.Fault{Truncate: true})
	if in := ask(t, srv, "udp", "example.com", dns.TypeA, true); !in.Truncated || len(in.Answer) != 0 {
		t.Errorf("UDP with a Truncate fault: TC %v, %d records", in.Truncated, len(in.Answer))
	}
	if in := ask(t, srv, "tcp", "example.com", dns.TypeA, true); in.Truncated || len(in.Answer) != 1 {
		t.Errorf("TCP with a Truncate fault: TC %v, %d records", in.Truncated, len(in.Answer))
	}

	srv.SetFault("example.com", spftest.Fault{Delay: 50 * time.Millisecond})
	start := time.Now()
	ask(t, srv, "udp", "example.com", dns.TypeA, true)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answer with a 50ms Delay fault came after %v", d)
	}

	srv.SetFault("example.com", spftest.Fault{Drop: true})
	q := new(dns.Msg)
	q.SetQuestion("example.com.", dns.TypeA)
	c := &dns.Client{Timeout: 100 * time.Millisecond}
	var nerr net.Error
	if _, _, err := c.Exchange(q, srv.Addr); !errors.As(err, &nerr) || !nerr.Timeout() {
		t.Errorf("query with a Drop fault: %v, want a timeout", err)
	}

	srv.SetFault("example.com", spftest.Fault{})
	if in := ask(t, srv, "udp", "example.com", dns.TypeA, true); len(in.Answer) != 1 {
		t.Errorf("after the fault is removed: %v", in)
	}
}

func TestServerQueryLog(t *testing.T) {
	srv := spftest.NewServerFromText(t, serverZone)
	ask(t, srv, "udp", "example.com", dns.TypeTXT, true)
	ask(t, srv, "tcp", "Example.COM", dns.TypeTXT, true)
	ask(t, srv, "udp", "example.com", dns.TypeA, true)
	ask(t, srv, "udp", `with\032space.example.com`, dns.TypeA, true)
	want := []spftest.Query{
		{Name: "example.com", Type: spf.TypeTXT},
		{Name: "Example.COM", Type: spf.TypeTXT, TCP: true},
		{Name: "example.com", Type: spf.TypeA},
		{Name: "with space.example.com", Type: spf.TypeA},
	}
	if diff := cmp.Diff(want, srv.Queries()); diff != "" {
		t.Errorf("Queries() mismatch (-want +got):\n%s", diff)
	}
	counts := []struct {
		name string
		typ  spf.RRType
		want int
	}{
		{"example.com", spf.TypeTXT, 2},
		{"example.com.", 0, 3},
		{"with space.example.com", spf.TypeA, 1},
		{"other.example.com", 0, 0},
	}
	for _, c := range counts {
		if got := srv.Count(c.name, c.typ); got != c.want {
			t.Errorf("Count(%q, %v) = %d, want %d", c.name, c.typ, got, c.want)
		}
	}
	if got := srv.Total(); got != 4 {
		t.Errorf("Total() = %d, want 4", got)
	}
	srv.ResetLog()
	if got := srv.Total(); got != 0 {
		t.Errorf("Total() after ResetLog = %d", got)
	}
}

func TestServerClose(t *testing.T) {
	srv, err := spftest.StartServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetDelay(time.Hour) // Close must cut this short
	go func() {
		q := new(dns.Msg)
		q.SetQuestion("example.com.", dns.TypeA)
		(&dns.Client{Timeout: time.Second}).Exchange(q, srv.Addr)
	}()
	for srv.Total() == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestStartServerAt checks that a server listens on the address given,
// UDP and TCP, and refuses an address it cannot have.
func TestStartServerAt(t *testing.T) {
	srv, err := spftest.StartServerAt("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Zone().AddTXT("example.com", "v=spf1 -all")
	for _, network := range []string{"udp", "tcp"} {
		q := new(dns.Msg)
		q.SetQuestion("example.com.", dns.TypeTXT)
		r, _, err := (&dns.Client{Net: network, Timeout: time.Second}).Exchange(q, srv.Addr)
		if err != nil || len(r.Answer) != 1 {
			t.Errorf("%s query to %s: %v, %v", network, srv.Addr, r, err)
		}
	}
	tests := []struct{ name, addr string }{
		{"port in use", srv.Addr},
		{"no port", "127.0.0.1"},
		{"not an address of this host", "192.0.2.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := spftest.StartServerAt(tt.addr, nil)
			if err == nil {
				s.Close()
				t.Fatalf("StartServerAt(%q) started a server at %s", tt.addr, s.Addr)
			}
			if !strings.HasPrefix(err.Error(), "spftest: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}
