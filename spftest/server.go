package spftest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/internal/dnstext"
	"github.com/spf-go/spf/internal/domain"
)

// NegativeTTL is the negative-caching TTL of a [Server]'s NXDOMAIN and
// NODATA answers: the TTL and MINIMUM of the SOA record it puts in their
// authority section (RFC 2308 section 3).
const NegativeTTL = 60 * time.Second

// maxChain bounds the CNAME chain a Server follows in one answer.
const maxChain = 16

// maxLog bounds the queries a [Server] logs and the names and types it
// counts, so that a server left running ("spf serve") does not grow
// without end: about a million of each, some 100 MB at most.
const maxLog = 1 << 20

// A Server is a DNS server, on 127.0.0.1 unless [StartServerAt] is given
// another address, over UDP and TCP on the same port, that answers
// authoritatively from a [Zone]: real DNS over real sockets for tests of
// DNS clients, such as [spf.DNSResolver], and of mail servers that check
// SPF with them.
//
// It answers as an authoritative server of every name would (RFC 1034
// section 4.3.2, RFC 1035 section 4.1):
//   - Records of the type asked for, with the AA bit set. A TXT string
//     longer than 255 bytes is split into several character-strings.
//   - For an alias, the CNAME record in the answer section followed by
//     the records of its target (and of the target's target...), so that
//     clients' CNAME handling is exercised; a chain longer than 16 is
//     answered with SERVFAIL.
//   - NXDOMAIN for a name the zone does not hold,
//     NOERROR with no records (NODATA) for a name with no records of the
//     type; both with an SOA record in the authority section, whose TTL
//     and MINIMUM are [NegativeTTL].
//   - No answer at all for a query the zone says times out
//     ([Zone.SetTimeout], the TIMEOUT entries of the openspf suite).
//   - Over UDP, answers larger than the client's buffer (512 bytes, or
//     its EDNS0 size) are truncated with the TC bit set (RFC 6891,
//     RFC 7766).
//
// [Server.SetFault] injects failures per name; the server logs the
// queries it receives ([Server.Queries], [Server.Count]), the first
// million or so, and counts every one ([Server.Total]). The zone may be
// changed while the server runs. A Server is safe for concurrent use.
type Server struct {
	// Addr is the server's address, "127.0.0.1:port" (or the address given
	// to [StartServerAt], with the port chosen), for UDP and TCP.
	Addr string

	zone      *Zone
	udp, tcp  *dns.Server
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	ad     bool
	faults map[string]Fault // by name; "" for every name
	log    []Query          // at most maxLog
	counts map[countKey]int // at most maxLog keys
	total  int              // queries received, logged or not
	maxLog int              // maxLog; tests lower it
}

type countKey struct {
	name string
	typ  spf.RRType
}

// A Query is one query a [Server] received.
type Query struct {
	// Name is the name asked for, in raw bytes (a "\032" in presentation
	// form is a space here), without the trailing dot, in the case the
	// client sent: an [spf.DNSResolver] randomises it (DNS 0x20), so
	// compare with [strings.EqualFold] or lower-case it first.
	Name string
	// Type is the record type asked for.
	Type spf.RRType
	// TCP reports that the query came over TCP rather than UDP.
	TCP bool
}

// A Fault is a failure a [Server] injects into the answers to one name's
// queries (or every name's); see [Server.SetFault]. The zero Fault
// injects nothing.
type Fault struct {
	// Types limits the fault to queries of these types; if empty, the
	// fault applies to every type.
	Types []spf.RRType
	// Delay holds the answer back this long (each answer, UDP or TCP).
	Delay time.Duration
	// Drop leaves queries unanswered, so that clients time out.
	Drop bool
	// RCode, if not zero, is the response code of an answer with no
	// records, such as 2 (SERVFAIL) or 5 (REFUSED) (RFC 1035 section
	// 4.1.1).
	RCode int
	// Truncate answers every UDP query with an empty answer that has the
	// TC bit set, so that clients must ask again over TCP (RFC 7766
	// section 5); TCP queries get the real answer.
	Truncate bool
	// Forge sends, before the real answer to a UDP query, two forged
	// ones that a client must discard: one with another ID, one for
	// another question. Each holds the TXT record "v=spf1 +all" for a
	// TXT query and is NXDOMAIN otherwise.
	Forge bool
}

// NewServer starts a [Server] that answers from zone, and stops it when
// the test ends (t.Cleanup). It fails the test if the server cannot
// start.
func NewServer(t testing.TB, zone *Zone) *Server {
	t.Helper()
	s, err := StartServer(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewServerFromText is [NewServer] with a zone read from zone-file text
// by [ParseZone] (absolute names, or relative to an $ORIGIN line).
func NewServerFromText(t testing.TB, zoneText string) *Server {
	t.Helper()
	z, err := ParseZone(strings.NewReader(zoneText), "", "zone text")
	if err != nil {
		t.Fatal(err)
	}
	return NewServer(t, z)
}

// StartServer starts a [Server] on a free port of 127.0.0.1 that answers
// from zone, for use outside tests (an Example, a program); call
// [Server.Close] to stop it. In a test, [NewServer] stops it for you.
func StartServer(zone *Zone) (*Server, error) {
	return StartServerAt("127.0.0.1:0", zone)
}

// StartServerAt is [StartServer] on the address addr, "host:port", for
// UDP and TCP alike, such as "127.0.0.1:5353" or "[::1]:0". With port 0,
// a port free for both UDP and TCP is chosen. It is what "spf serve"
// runs: a DNS fixture for the tests of mail servers not written in Go.
func StartServerAt(addr string, zone *Zone) (*Server, error) {
	if zone == nil {
		zone = &Zone{}
	}
	s := &Server{
		zone:   zone,
		done:   make(chan struct{}),
		faults: make(map[string]Fault),
		counts: make(map[countKey]int),
		maxLog: maxLog,
	}
	pc, ln, err := listen(addr)
	if err != nil {
		return nil, err
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h}
	var started sync.WaitGroup
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		started.Add(1)
		srv.NotifyStartedFunc = started.Done
		go srv.ActivateAndServe()
	}
	started.Wait()
	return s, nil
}

// listen opens a UDP socket and a TCP listener on the same port of addr;
// with port 0, on a port free for both.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("spftest: %w", err)
	}
	tries := 1
	if port == "0" {
		tries = 20
	}
	var last error
	for range tries {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("spftest: %w", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		last = err
	}
	if tries == 1 {
		return nil, nil, fmt.Errorf("spftest: %w", last)
	}
	return nil, nil, fmt.Errorf("spftest: no free port for UDP and TCP: %w", last)
}

// Close stops the server: it stops listening, cuts the delays of answers
// being held back, and waits for the queries being answered.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.closeErr = errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
	})
	return s.closeErr
}

// Zone returns the zone the server answers from.
func (s *Server) Zone() *Zone { return s.zone }

// Resolver returns an [spf.DNSResolver] that asks this server only, once
// per query (Attempts 1), waiting at most timeout for each answer; a
// timeout of zero means one second.
func (s *Server) Resolver(timeout time.Duration) *spf.DNSResolver {
	if timeout <= 0 {
		timeout = time.Second
	}
	return &spf.DNSResolver{Servers: []string{s.Addr}, Timeout: timeout, Attempts: 1}
}

// SetFault makes the server inject f into its answers to the queries for
// name (case-insensitive, with or without the trailing dot; the name
// itself, not the names under it). With name "", f applies to every name,
// except for the queries a name's own fault applies to: that fault
// replaces the server-wide one whole. The zero Fault removes a fault.
func (s *Server) SetFault(name string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := canonical(name)
	if f.Delay == 0 && !f.Drop && f.RCode == 0 && !f.Truncate && !f.Forge {
		delete(s.faults, n)
		return
	}
	f.Types = slices.Clone(f.Types)
	s.faults[n] = f
}

// SetAuthenticated sets or clears the AD bit of the server's answers,
// the bit a validating resolver sets on answers it authenticated with
// DNSSEC (RFC 4035 section 3.2.3), for tests of what a client makes of
// it. By default answers do not have it.
func (s *Server) SetAuthenticated(ad bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ad = ad
}

// SetDelay holds back every answer by d: SetFault("", Fault{Delay: d}).
func (s *Server) SetDelay(d time.Duration) { s.SetFault("", Fault{Delay: d}) }

// Queries returns the queries received so far, in the order they came:
// the first 1,048,576 of them; [Server.Total] counts them all.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Count returns how many queries for name (case-insensitive) of type typ
// were received, over UDP and TCP; typ 0 counts every type. Once
// 1,048,576 names and types have been counted, new ones are not.
func (s *Server) Count(name string, typ spf.RRType) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := canonical(name)
	if typ != 0 {
		return s.counts[countKey{n, typ}]
	}
	total := 0
	for k, c := range s.counts {
		if k.name == n {
			total += c
		}
	}
	return total
}

// Total returns how many queries were received in all.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetLog forgets the queries received so far.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
	clear(s.counts)
	s.total = 0
}

// canonical returns name as the server compares names: without its
// trailing dot, lower-cased in ASCII only (RFC 4343), as the engine folds
// the names it sends, so that a Kelvin sign is not counted as a k.
func canonical(name string) string { return domain.Fold(strings.TrimSuffix(name, ".")) }

// logAndFault logs a query and returns the fault for it and whether its
// answer has the AD bit.
func (s *Server) logAndFault(name string, typ spf.RRType, tcp bool) (f Fault, ad bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := canonical(name)
	s.total++
	if len(s.log) < s.maxLog {
		s.log = append(s.log, Query{Name: name, Type: typ, TCP: tcp})
	}
	k := countKey{n, typ}
	if _, ok := s.counts[k]; ok || len(s.counts) < s.maxLog {
		s.counts[k]++
	}
	if f, ok := s.faults[n]; ok && (len(f.Types) == 0 || slices.Contains(f.Types, typ)) {
		return f, s.ad
	}
	if f, ok := s.faults[""]; ok && (len(f.Types) == 0 || slices.Contains(f.Types, typ)) {
		return f, s.ad
	}
	return Fault{}, s.ad
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	tcp := w.LocalAddr().Network() == "tcp"
	m := new(dns.Msg)
	m.SetReply(req)
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		m.Rcode = dns.RcodeNotImplemented
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := dnstext.Name(q.Name)
	typ := spf.RRType(q.Qtype)
	f, ad := s.logAndFault(name, typ, tcp)
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return
		}
	}
	if f.Drop {
		return
	}
	m.Authoritative = true
	m.AuthenticatedData = ad
	switch {
	case f.RCode != 0:
		m.Rcode = f.RCode
	case f.Truncate && !tcp:
		m.Truncated = true
	case q.Qclass != dns.ClassINET:
		m.Rcode = dns.RcodeRefused
	default:
		if !s.answer(m, name, typ) {
			return // the zone says this query times out
		}
	}
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		m.SetEdns0(uint16(min(size, 4096)), false)
	}
	if tcp {
		size = dns.MaxMsgSize
	} else if f.Forge {
		forge(w, m, typ)
	}
	m.Truncate(size)
	w.WriteMsg(m)
}

// forge writes two forged answers before the real answer m.
func forge(w dns.ResponseWriter, m *dns.Msg, typ spf.RRType) {
	q := m.Question[0]
	for i := range 2 {
		f := new(dns.Msg)
		f.MsgHdr = m.MsgHdr
		f.Question = []dns.Question{q}
		if i == 0 {
			f.Id = m.Id + 1
		} else {
			f.Question[0].Name = "forged." + q.Name
		}
		if typ == spf.TypeTXT {
			f.Rcode = dns.RcodeSuccess
			f.Answer = []dns.RR{&dns.TXT{
				Hdr: dns.RR_Header{Name: f.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300},
				Txt: []string{"v=spf1 +all"},
			}}
		} else {
			f.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(f)
	}
}

// answer fills m with the zone's answer to (name, typ). It returns false
// if the query must go unanswered.
func (s *Server) answer(m *dns.Msg, name string, typ spf.RRType) bool {
	cur := name
	for hops := 0; ; hops++ {
		if resp := s.zone.records(cur, typ); resp != nil {
			m.Answer = append(m.Answer, s.records(cur, typ, resp)...)
			return true
		}
		if s.zone.timesOut(cur, typ) {
			return false
		}
		target, ok := s.zone.cname(cur)
		if !ok {
			break
		}
		if hops >= maxChain {
			m.Answer = nil
			m.Rcode = dns.RcodeServerFailure
			return true
		}
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: header(cur, dns.TypeCNAME, 300), Target: presentation(target)})
		cur = target
	}
	if !s.zone.exists(cur) {
		m.Rcode = dns.RcodeNameError
	}
	neg := uint32(NegativeTTL / time.Second)
	m.Ns = []dns.RR{&dns.SOA{
		Hdr:     header("", dns.TypeSOA, neg),
		Ns:      "ns.spftest.invalid.",
		Mbox:    "hostmaster.spftest.invalid.",
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  neg,
	}}
	return true
}

// records turns a zone's Response into resource records at owner.
func (s *Server) records(owner string, typ spf.RRType, resp *spf.Response) []dns.RR {
	ttl := uint32(resp.TTL / time.Second)
	var rrs []dns.RR
	switch typ {
	case spf.TypeTXT:
		for _, t := range resp.TXT {
			rrs = append(rrs, &dns.TXT{Hdr: header(owner, dns.TypeTXT, ttl), Txt: splitTXT(t)})
		}
	case spf.TypeA, spf.TypeAAAA:
		for _, a := range resp.Addrs {
			if typ == spf.TypeA && a.Is4() {
				rrs = append(rrs, &dns.A{Hdr: header(owner, dns.TypeA, ttl), A: net.IP(a.AsSlice())})
			} else if typ == spf.TypeAAAA && !a.Is4() {
				b := a.As16()
				rrs = append(rrs, &dns.AAAA{Hdr: header(owner, dns.TypeAAAA, ttl), AAAA: net.IP(b[:])})
			}
		}
	case spf.TypeMX:
		prefs := s.zone.mxPreferences(owner)
		for i, n := range resp.Names {
			var pref uint16
			if i < len(prefs) {
				pref = prefs[i]
			}
			rrs = append(rrs, &dns.MX{Hdr: header(owner, dns.TypeMX, ttl), Preference: pref, Mx: presentation(n)})
		}
	case spf.TypePTR:
		for _, n := range resp.Names {
			rrs = append(rrs, &dns.PTR{Hdr: header(owner, dns.TypePTR, ttl), Ptr: presentation(n)})
		}
	}
	return rrs
}

func header(owner string, typ uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: presentation(owner), Rrtype: typ, Class: dns.ClassINET, Ttl: ttl}
}

// splitTXT splits the raw bytes of a TXT record into character-strings
// of at most 255 bytes (RFC 1035 section 3.3.14), in the escaped form
// miekg/dns packs.
func splitTXT(t string) []string {
	var out []string
	for {
		chunk := t
		if len(chunk) > 255 {
			chunk = chunk[:255]
		}
		var b strings.Builder
		for i := 0; i < len(chunk); i++ {
			switch c := chunk[i]; c {
			case '\\', '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		out = append(out, b.String())
		t = t[len(chunk):]
		if t == "" {
			return out
		}
	}
}

// presentation turns a raw name into the fully qualified presentation
// form miekg/dns packs; "" is the root.
func presentation(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "."
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			b.WriteByte(c)
		case c == ' ' || c == '\'' || c == '@' || c == ';' || c == '(' || c == ')' || c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('.')
	return b.String()
}
