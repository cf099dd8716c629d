package spf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/spf-go/spf/internal/dnstext"
)

// DefaultDNSTimeout is how long a [DNSResolver] with no Timeout waits for
// one server to answer one query.
const DefaultDNSTimeout = 2 * time.Second

// DefaultDNSAttempts is how many times a [DNSResolver] with no Attempts
// goes through its list of servers for one query.
const DefaultDNSAttempts = 2

// ednsSize is the UDP payload size a DNSResolver advertises with EDNS0
// (RFC 6891): the size the DNS flag day 2020 settled on, which avoids IP
// fragmentation.
const ednsSize = 1232

// maxCNAMEHops bounds the CNAME chain followed inside one answer.
const maxCNAMEHops = 16

// A DNSResolver is a [Resolver] that sends its queries to recursive DNS
// servers itself, with github.com/miekg/dns, and reduces their answers to
// what SPF needs (RFC 7208 sections 4.4, 4.6.4 and 5):
//
//   - Queries go over UDP with EDNS0 (RFC 6891, a 1232-byte buffer) and
//     the AD bit set (RFC 6840 section 5.7); a truncated answer is asked
//     again over TCP (RFC 7766). A server that fails (no answer in
//     Timeout, a network error, SERVFAIL, REFUSED or any other error
//     code) is followed by the next one.
//   - Each query has a fresh random ID; an answer whose ID, question or
//     flags do not match the query is discarded, not trusted, and the
//     resolver goes on waiting for the real one (RFC 5452).
//   - A CNAME chain inside the answer is followed to the records of its
//     end (RFC 1034 section 3.6.2). NXDOMAIN and NOERROR with no records
//     of the type asked for (NODATA) are both void: Lookup returns an
//     empty [Response] whose TTL is the negative-caching TTL of the SOA in
//     the authority section (RFC 2308 section 5), or zero without one.
//   - TXT character-strings are joined as raw bytes (RFC 7208 section
//     3.3), never in the \DDD presentation form; names with bytes that
//     are special in presentation form (spaces, quotes, backslashes,
//     non-ASCII), which macros can produce, are queried as they are.
//   - Response.TTL is the smallest TTL of the records used, and
//     Response.Authenticated is the answer's AD bit: trust it only when
//     the path to a validating resolver is itself trusted (RFC 4035
//     section 4.9.3), such as a resolver on the loopback interface.
//
// A timeout, a network error or an error code is returned as an error
// that is not [ErrNotFound]: a temporary failure, which check_host()
// turns into temperror. A Lookup ends when the caller's context ends,
// whatever its own timeouts.
//
// The zero DNSResolver asks the servers of /etc/resolv.conf. A
// DNSResolver is safe for concurrent use; do not change its fields once
// it is in use. It does no caching: put a [Cache] in front of it.
type DNSResolver struct {
	// Servers are the addresses, "host:port", of the recursive DNS
	// servers to ask, in order, such as "127.0.0.1:53" or "[::1]:53". If
	// empty, the nameserver lines of ConfigFile are used.
	Servers []string
	// ConfigFile is the resolv.conf file Servers default to; if empty,
	// "/etc/resolv.conf". It is read on first use and again, at most
	// every 5 seconds, when it changed or could not be read. Its options
	// are ignored.
	ConfigFile string
	// Timeout bounds each exchange with one server: the wait for the UDP
	// answer, and then, after a truncated UDP answer, the TCP connection
	// and its answer, which get a full Timeout of their own; if zero,
	// DefaultDNSTimeout. Servers are tried in order, each failure (no
	// answer in time, a network error, an error code) passing on to the
	// next, and the whole list is tried Attempts times. A whole Lookup
	// therefore takes at most about 2 × Timeout × len(Servers) ×
	// Attempts: 8 seconds with the defaults and one server, 24 seconds
	// with three. It never takes longer than its context allows: give
	// it a deadline (a [Checker]'s Timeout does) to bound it tighter.
	Timeout time.Duration
	// Attempts is how many times the servers are tried in turn, which
	// makes up for lost UDP packets; if zero, DefaultDNSAttempts.
	Attempts int

	conf  resolvConf // the servers of ConfigFile (resolvconf.go)
	pace  pacer      // round trips measured, prefetch queries in flight
	calls calls      // identical Lookups in flight, merged
}

var _ Resolver = (*DNSResolver)(nil)

// servers returns the servers to ask.
func (r *DNSResolver) servers() ([]string, error) {
	if len(r.Servers) > 0 {
		return r.Servers, nil
	}
	return r.conf.servers(r.ConfigFile) // resolvconf.go
}

// Lookup implements [Resolver]: it asks the servers in turn for the
// records of type typ at name. Identical Lookups in flight at the same
// time share one query.
func (r *DNSResolver) Lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	r.pace.active.Add(1)
	defer r.pace.active.Add(-1)
	return r.calls.do(ctx, r, name, typ)
}

// lookup is Lookup without the merging of identical queries.
func (r *DNSResolver) lookup(ctx context.Context, name string, typ RRType) (*Response, error) {
	qname, ok := questionName(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q cannot be a DNS name", ErrNotFound, name)
	}
	servers, err := r.servers()
	if err != nil {
		return nil, err
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultDNSTimeout
	}
	attempts := r.Attempts
	if attempts <= 0 {
		attempts = DefaultDNSAttempts
	}
	var last error
	for range attempts {
		for _, server := range servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			in, err := exchange(ctx, server, qname, typ, timeout, &r.pace)
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return nil, cerr
				}
				last = err
				continue
			}
			switch in.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				return readAnswer(in, qname, typ)
			}
			last = &rcodeError{name: name, typ: typ, server: server, rcode: in.Rcode}
		}
	}
	return nil, last
}

// An rcodeError is an answer with an error code other than NXDOMAIN.
type rcodeError struct {
	name   string
	typ    RRType
	server string
	rcode  int
}

func (e *rcodeError) Error() string {
	rc, ok := dns.RcodeToString[e.rcode]
	if !ok {
		rc = "RCODE" + strconv.Itoa(e.rcode)
	}
	return "spf: DNS query " + e.typ.String() + " " + strconv.Quote(e.name) + " to " + e.server + ": " + rc
}

// Temporary reports true: error codes other than NXDOMAIN are temporary
// failures for SPF (RFC 7208 section 5).
func (e *rcodeError) Temporary() bool { return true }

// errTruncated is what reading a UDP answer returns when the answer has
// the TC bit set but does not unpack whole.
var errTruncated = errors.New("spf: truncated DNS answer")

// exchange sends one query to server and returns its answer: over UDP,
// then over TCP if the UDP answer is truncated. pace measures the UDP
// round trips and paces retransmissions.
func exchange(ctx context.Context, server, qname string, typ RRType, timeout time.Duration, pace *pacer) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.Id = uint16(rand.Uint32())
	q.RecursionDesired = true
	q.AuthenticatedData = true
	q.Question = []dns.Question{{Name: qname, Qtype: uint16(typ), Qclass: dns.ClassINET}}
	q.SetEdns0(ednsSize, false)
	wire, err := q.Pack()
	if err != nil {
		return nil, fmt.Errorf("spf: DNS query for %q: %w", qname, err)
	}
	in, err := exchangeOver(ctx, "udp", server, q, wire, timeout, pace)
	if errors.Is(err, errTruncated) || (err == nil && in.Truncated) {
		q.Id = uint16(rand.Uint32())
		if wire, err = q.Pack(); err != nil {
			return nil, err
		}
		in, err = exchangeOver(ctx, "tcp", server, q, wire, timeout, nil)
	}
	return in, err
}

// longAgo is a deadline in the past, which makes blocked reads return.
var longAgo = time.Unix(1, 0)

// exchangeOver sends the query q, packed as wire, to server over network
// ("udp" or "tcp") and reads the answer. Over UDP, with pace, a query
// left unanswered is sent again (same ID, same socket) after pace's
// retransmission timeout, doubled each time, until the deadline.
func exchangeOver(ctx context.Context, network, server string, q *dns.Msg, wire []byte, timeout time.Duration, pace *pacer) (*dns.Msg, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, network, server)
	if err != nil {
		return nil, queryError(q, network, server, err)
	}
	defer conn.Close()
	// The context's end interrupts reads and writes at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, queryError(q, network, server, err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var in *dns.Msg
	if network == "udp" && pace != nil {
		in, err = readUDPPaced(ctx, conn, q, wire, deadline, pace)
	} else if network == "udp" {
		in, err = readUDP(conn, q, wire)
	} else {
		in, err = readTCP(conn, q, wire)
	}
	if err != nil && !errors.Is(err, errTruncated) {
		return nil, queryError(q, network, server, err)
	}
	return in, err
}

func queryError(q *dns.Msg, network, server string, err error) error {
	qq := q.Question[0]
	name := dnstext.Name(qq.Name)
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return fmt.Errorf("spf: DNS query %s %q to %s over %s: %w", RRType(qq.Qtype), name, server, network,
			&timeoutError{name: name})
	}
	return fmt.Errorf("spf: DNS query %s %q to %s over %s: %w", RRType(qq.Qtype), name, server, network, err)
}

// udpBuffers holds buffers for UDP answers, as large as a datagram can
// be: a server may send more than the EDNS0 size it was told.
var udpBuffers = sync.Pool{New: func() any {
	b := make([]byte, dns.MaxMsgSize)
	return &b
}}

// readUDP sends a query and waits for its answer, discarding datagrams
// that are not the answer to it until the deadline.
func readUDP(conn net.Conn, q *dns.Msg, wire []byte) (*dns.Msg, error) {
	if _, err := conn.Write(wire); err != nil {
		return nil, err
	}
	bp := udpBuffers.Get().(*[]byte)
	defer udpBuffers.Put(bp)
	buf := *bp
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		in := new(dns.Msg)
		if err := in.Unpack(buf[:n]); err != nil {
			// A truncated answer may be cut in the middle of a record.
			if n >= 12 && binary.BigEndian.Uint16(buf) == q.Id && buf[2]&0x80 != 0 && buf[2]&0x02 != 0 {
				return nil, errTruncated
			}
			continue
		}
		if answers(in, q) {
			return in, nil
		}
	}
}

// readUDPPaced is readUDP that sends the query again each time pace's
// retransmission timeout passes without an answer (doubling it), until
// deadline. It measures the round trip from the first sending, which
// overstates it when a copy was answered: a slow server then sees fewer
// copies.
func readUDPPaced(ctx context.Context, conn net.Conn, q *dns.Msg, wire []byte, deadline time.Time, pace *pacer) (*dns.Msg, error) {
	rto := pace.rto(time.Until(deadline))
	first := time.Now()
	for {
		next := time.Now().Add(rto)
		if next.After(deadline) {
			next = deadline
		}
		if err := conn.SetReadDeadline(next); err != nil {
			return nil, err
		}
		in, err := readUDP(conn, q, wire)
		var nerr net.Error
		if err == nil {
			pace.sample(time.Since(first))
		}
		if err == nil || !errors.As(err, &nerr) || !nerr.Timeout() || !next.Before(deadline) || ctx.Err() != nil {
			return in, err
		}
		pace.retries.Add(1)
		rto *= 2
	}
}

// readTCP sends a query on a TCP connection and reads its answer.
func readTCP(conn net.Conn, q *dns.Msg, wire []byte) (*dns.Msg, error) {
	out := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(out, uint16(len(wire)))
	copy(out[2:], wire)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	in := new(dns.Msg)
	if err := in.Unpack(buf); err != nil {
		return nil, err
	}
	if !answers(in, q) {
		return nil, errors.New("the answer does not match the query")
	}
	return in, nil
}

// answers reports whether in is an answer to the query q: same ID, same
// question, and the QR bit set.
func answers(in, q *dns.Msg) bool {
	if in.Id != q.Id || !in.Response || in.Opcode != dns.OpcodeQuery || len(in.Question) != 1 {
		return false
	}
	a, b := in.Question[0], q.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// readAnswer reduces a NOERROR or NXDOMAIN answer to a Response.
func readAnswer(in *dns.Msg, qname string, typ RRType) (*Response, error) {
	resp := &Response{Authenticated: in.AuthenticatedData}
	minTTL := uint32(math.MaxUint32)
	cur := qname
	var prefs []uint16
	for hops := 0; ; hops++ {
		found := false
		for _, rr := range in.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || h.Rrtype != uint16(typ) || !strings.EqualFold(h.Name, cur) {
				continue
			}
			switch rr := rr.(type) {
			case *dns.TXT:
				resp.TXT = append(resp.TXT, strings.Join(unescapeTXT(rr.Txt), ""))
			case *dns.A:
				a, ok := netip.AddrFromSlice(rr.A.To4())
				if !ok {
					continue
				}
				resp.Addrs = append(resp.Addrs, a)
			case *dns.AAAA:
				ip := rr.AAAA.To16()
				if ip == nil {
					continue
				}
				resp.Addrs = append(resp.Addrs, netip.AddrFrom16([16]byte(ip)))
			case *dns.MX:
				resp.Names = append(resp.Names, dnstext.Name(rr.Mx))
				prefs = append(prefs, rr.Preference)
			case *dns.PTR:
				resp.Names = append(resp.Names, dnstext.Name(rr.Ptr))
			default:
				continue
			}
			found = true
			minTTL = min(minTTL, h.Ttl)
		}
		if found {
			break
		}
		next := ""
		for _, rr := range in.Answer {
			if c, ok := rr.(*dns.CNAME); ok && c.Hdr.Class == dns.ClassINET && strings.EqualFold(c.Hdr.Name, cur) {
				next = c.Target
				minTTL = min(minTTL, c.Hdr.Ttl)
				break
			}
		}
		if next == "" {
			break
		}
		if hops >= maxCNAMEHops {
			return nil, fmt.Errorf("spf: DNS answer for %q: CNAME chain too long or looping", dnstext.Name(qname))
		}
		cur = next
	}
	if len(prefs) > 1 {
		sortMX(resp.Names, prefs)
	}
	if resp.Len() == 0 {
		// RFC 2308 section 5: the negative TTL is the smaller of the
		// SOA's TTL and its MINIMUM field.
		neg := uint32(0)
		for _, rr := range in.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				neg = min(soa.Hdr.Ttl, soa.Minttl)
				break
			}
		}
		if minTTL != math.MaxUint32 { // a CNAME led to nothing
			neg = min(neg, minTTL)
		}
		resp.TTL = time.Duration(neg) * time.Second
		return resp, nil
	}
	resp.TTL = time.Duration(minTTL) * time.Second
	return resp, nil
}

// sortMX orders MX exchanges by preference, keeping the order of the
// answer among equal preferences.
func sortMX(names []string, prefs []uint16) {
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(prefs[a]) - int(prefs[b]) })
	sorted := make([]string, len(names))
	for i, j := range idx {
		sorted[i] = names[j]
	}
	copy(names, sorted)
}

// questionName turns name, in raw bytes with dots between labels, into
// the fully qualified presentation form miekg/dns packs, escaping bytes
// that are special there the way miekg/dns escapes them when it unpacks
// a name, so that the question of an answer compares equal. ok is false
// for a name that cannot be in the DNS (RFC 1035 section 2.3.4).
func questionName(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return "", false
	}
	plain := true
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - start; n == 0 || n > 63 {
				return "", false
			}
			start = i + 1
			continue
		}
		if c := name[i]; nameSpecial(c) || c < ' ' || c > '~' {
			plain = false
		}
	}
	if plain {
		return name + ".", true
	}
	b := make([]byte, 0, len(name)+16)
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			b = append(b, c)
		case nameSpecial(c):
			b = append(b, '\\', c)
		case c < ' ' || c > '~':
			b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '.')), true
}

// nameSpecial reports the bytes miekg/dns escapes with a backslash in a
// name's label.
func nameSpecial(c byte) bool {
	switch c {
	case ' ', '\'', '@', ';', '(', ')', '"', '\\':
		return true
	}
	return false
}
