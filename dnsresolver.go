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
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"
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
// servers itself, building and parsing messages with
// golang.org/x/net/dns/dnsmessage, which allocates nothing but the
// strings of the answer, and reduces the answers to what SPF needs (RFC
// 7208 sections 4.4, 4.6.4 and 5):
//
//   - Queries go over UDP with EDNS0 (RFC 6891, a 1232-byte buffer) and
//     the AD bit set (RFC 6840 section 5.7); a truncated answer (or one
//     of more than 4096 bytes) is asked again over TCP (RFC 7766). A
//     server that fails (no answer in Timeout, a network error, SERVFAIL,
//     REFUSED or any other error code) is followed by the next one.
//   - Against forged answers (RFC 5452), each query has a random ID and
//     the case of the letters of its name randomised (DNS 0x20,
//     draft-vixie-dnsext-dns0x20); an answer whose ID, flags or question
//     (name byte for byte, so with the same case, type and class) do not
//     match the query is discarded, not trusted, and the resolver goes on
//     waiting for the real one. A query whose name has 15 letters or more
//     (15 bits, as much as a random source port gives) may go out from a
//     socket kept from an earlier query, which saves half its CPU; one
//     with fewer gets a new socket, so a source port the kernel picks at
//     random. A socket serves at most 32 queries, and none after a
//     timeout, a resending or a stray datagram. Servers echo the question
//     as asked (RFC 1035 section 4.1.1); a server that answers with the
//     case of the name changed costs the query it answered (it is not
//     trusted), and turns DNS 0x20 and the pooled sockets off for the
//     DNSResolver from then on, which keeps the random port and ID.
//   - A query left unanswered is sent again, on the same socket with the
//     same ID, after a retransmission timeout computed from the round
//     trips measured (RFC 6298 section 2: SRTT + 4 RTTVAR, and at least
//     twice SRTT and 20 ms; 250 ms, at most Timeout/2, before any
//     measure), doubled at each
//     resending, until Timeout: a lost datagram costs a round trip or
//     two, not the Timeout.
//   - Identical Lookups in flight at the same time (same name and type)
//     share one query, as Go's resolver does; a caller whose context ends
//     stops waiting without ending the others'.
//   - The round trips measured also pace the prefetching of a [Checker]
//     that uses the resolver (see Checker.NoPrefetch): a check prefetches
//     only once one of its queries has waited four fast round trips (at
//     most 2 ms); the resolver has at most 8 prefetch queries in flight
//     over all checks, and none while 16 Lookups are in progress, so that
//     speculative queries neither overflow a server's receive queue nor
//     cost CPU where checks are many.
//   - A CNAME chain inside the answer is followed to the records of its
//     end (RFC 1034 section 3.6.2). NXDOMAIN and NOERROR with no records
//     of the type asked for (NODATA) are both void: Lookup returns an
//     empty [Response] whose TTL is the negative-caching TTL of the SOA in
//     the authority section (RFC 2308 section 5), or zero without one.
//   - TXT character-strings are joined as raw bytes (RFC 7208 section
//     3.3), never in the \DDD presentation form; names with bytes that
//     are special in presentation form (spaces, quotes, backslashes,
//     non-ASCII), which macros can produce, are queried as they are. An
//     answer that does not parse (such as a name with a dot inside a
//     label) is a temporary failure.
//   - Response.TTL is the smallest TTL of the records used, and
//     Response.Authenticated is the answer's AD bit: trust it only when
//     the path to a validating resolver is itself trusted (RFC 4035
//     section 4.9.3), such as a resolver on the loopback interface.
//
// A timeout, a network error or an error code is returned as an error
// that is not [ErrNotFound]: a temporary failure, which check_host()
// turns into temperror. One exchange with one server takes at most
// Timeout over UDP, resendings included, plus Timeout over TCP after a
// truncated answer; a Lookup therefore takes at most 2 × Timeout ×
// len(Servers) × Attempts, and never longer than its context allows.
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

	conf    resolvConf  // the servers of ConfigFile (resolvconf.go)
	pace    pacer       // round trips measured, prefetch queries in flight
	calls   calls       // identical Lookups in flight, merged
	sockets sockets     // idle UDP sockets
	no0x20  atomic.Bool // a server changed the case of a name: no DNS 0x20
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
	var q question
	if !q.set(name, typ) {
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
	var last error
	for range orDefault(r.Attempts, DefaultDNSAttempts) {
		for _, server := range servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			resp, rcode, err := r.exchange(ctx, server, &q, timeout)
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return nil, cerr
				}
				last = err
				continue
			}
			if resp != nil {
				return resp, nil
			}
			last = &rcodeError{name: name, typ: typ, server: server, rcode: rcode}
		}
	}
	return nil, last
}

// A question is what a query asks: a name, fully qualified in wire form
// (raw bytes, dots between labels), and a type.
type question struct {
	name dnsmessage.Name
	typ  RRType
	// randomized: the case of the name's letters was randomised (DNS
	// 0x20), so an answer must repeat it byte for byte; else the name is
	// compared without regard to ASCII case.
	randomized bool
	// folded: an answer with the right ID repeated the name with its
	// case changed, as a server that does not preserve case does.
	folded bool
}

// set makes q the question for name, in raw bytes with dots between
// labels, and typ. It reports false for a name that cannot be in the DNS
// (RFC 1035 section 2.3.4).
func (q *question) set(name string, typ RRType) bool {
	name = strings.TrimSuffix(name, ".")
	if !validQueryName(name) {
		return false
	}
	q.name.Length = uint8(copy(q.name.Data[:], name) + 1)
	q.name.Data[len(name)] = '.'
	q.typ = typ
	return true
}

// String returns the name without its trailing dot, for errors.
func (q *question) String() string { return nameString(&q.name) }

// randomCase flips the case of the name's ASCII letters at random (DNS
// 0x20, draft-vixie-dnsext-dns0x20) and returns how many letters the
// name has: so many bits of entropy a forged answer must guess beside
// the ID, since an answer must repeat the question byte for byte.
func (q *question) randomCase() (letters int) {
	q.randomized = true
	var bits uint64
	n := 0
	for i := range int(q.name.Length) {
		c := q.name.Data[i]
		if lower(c) < 'a' || lower(c) > 'z' {
			continue
		}
		if n == 0 {
			bits, n = rand.Uint64(), 64
		}
		if bits&1 != 0 {
			q.name.Data[i] = c ^ 0x20
		}
		bits >>= 1
		n--
		letters++
	}
	return letters
}

// minCaseBits is how many letters a query's name must have for the query
// to go out from a pooled socket, whose source port earlier queries
// shared: as many bits as a fresh random port gives (Linux picks from
// 28,232 ports), so that a forger has as much to guess either way.
const minCaseBits = 15

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
// the TC bit set.
var errTruncated = errors.New("spf: truncated DNS answer")

// errMismatch is what reading a TCP answer returns when the answer is
// not the answer to the query.
var errMismatch = errors.New("the answer does not match the query")

// maxQuerySize bounds the query a DNSResolver packs: a header, a question
// of at most 255 bytes and an OPT record.
const maxQuerySize = 512

// maxUDPAnswer is the largest UDP answer a DNSResolver reads: a server
// may send more than the EDNS0 size it was told, but a datagram that
// fills the buffer may have been cut, and is asked again over TCP.
const maxUDPAnswer = 4096

// buffers holds the buffers of exchanges: a query in the first
// maxQuerySize bytes, then a UDP answer.
var buffers = sync.Pool{New: func() any {
	b := make([]byte, maxQuerySize+maxUDPAnswer)
	return &b
}}

// exchange asks server the question q: over UDP, then over TCP if the UDP
// answer is truncated. It returns the answer reduced to a Response for
// NOERROR and NXDOMAIN, or else (resp nil) the answer's error code.
func (r *DNSResolver) exchange(ctx context.Context, server string, q *question, timeout time.Duration) (resp *Response, rcode int, err error) {
	deadline := exchangeDeadline(ctx, timeout)
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	query, answer := (*bp)[:0:maxQuerySize], (*bp)[maxQuerySize:]
	// Errors name q; the query asks sent, q with its case randomised
	// unless a server of r has shown that it does not keep the case.
	sent := *q
	shared := false
	if !r.no0x20.Load() {
		shared = sent.randomCase() >= minCaseBits
	}
	id := uint16(rand.Uint32())
	if query, err = appendQuery(query, id, &sent); err != nil {
		return nil, 0, fmt.Errorf("spf: DNS query for %q: %w", q.String(), err)
	}
	network := "udp"
	n, err := r.exchangeUDP(ctx, server, query, answer, id, &sent, deadline, shared)
	if errors.Is(err, errTruncated) {
		network = "tcp"
		// RFC 7766: the TCP connection gets a Timeout of its own, and
		// the query a new ID (the first two bytes of its header).
		id = uint16(rand.Uint32())
		binary.BigEndian.PutUint16(query, id)
		answer, err = exchangeTCP(ctx, server, query, id, &sent, exchangeDeadline(ctx, timeout))
		n = len(answer)
	}
	if sent.folded {
		// The server changes the case of names: DNS 0x20 is off for r
		// from now on, and its queries go out from new sockets only,
		// with the protection of a random port and ID (RFC 5452). A
		// forger who sends such an answer gains nothing more.
		r.no0x20.Store(true)
	}
	if err != nil {
		return nil, 0, queryError(q, network, server, err)
	}
	return readAnswer(answer[:n], q)
}

// exchangeDeadline returns when an exchange begun now with the given
// timeout must end: after timeout, or at ctx's deadline if sooner.
func exchangeDeadline(ctx context.Context, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}

// appendQuery appends to buf the query for q with the given ID, recursion
// desired, the AD bit (RFC 6840 section 5.7) and EDNS0 (RFC 6891).
func appendQuery(buf []byte, id uint16, q *question) ([]byte, error) {
	b := dnsmessage.NewBuilder(buf, dnsmessage.Header{ID: id, RecursionDesired: true, AuthenticData: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: q.name, Type: dnsmessage.Type(q.typ), Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// longAgo is a deadline in the past, which makes blocked reads return.
var longAgo = time.Unix(1, 0)

// exchangeUDP sends query to server over a UDP socket of r's pool and
// reads the answer into answer, returning its size; errTruncated if it
// has the TC bit. Without shared, the socket is a new one, used for this
// query only. A query left unanswered is sent again (same ID, same
// socket) after r.pace's retransmission timeout, doubled each time,
// until deadline. It measures the round trip from the first sending,
// which overstates it when a copy was answered: a slow server then sees
// fewer copies.
func (r *DNSResolver) exchangeUDP(ctx context.Context, server string, query, answer []byte, id uint16, q *question, deadline time.Time, shared bool) (n int, err error) {
	s, err := r.sockets.get(server, shared)
	if err != nil {
		return 0, err
	}
	reuse := false
	defer func() { r.sockets.put(server, s, reuse) }()
	if ctx.Done() != nil {
		// The context's end interrupts the read at once.
		conn := s.conn
		stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(longAgo) })
		defer func() {
			if !stop() {
				reuse = false // the deadline may be set at any time
			}
		}()
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if _, err := s.conn.Write(query); err != nil {
		return 0, err
	}
	rto := r.pace.rto(time.Until(deadline))
	first := time.Now()
	resent := false
	for {
		next := time.Now().Add(rto)
		if next.After(deadline) {
			next = deadline
		}
		if err := s.conn.SetReadDeadline(next); err != nil {
			return 0, err
		}
		n, stray, err := readUDP(s.conn, answer, id, q)
		if err == nil || errors.Is(err, errTruncated) {
			r.pace.sample(time.Since(first))
			// A socket that got a stray datagram, or whose query
			// was sent twice, may still receive something: it is
			// not used again.
			reuse = shared && err == nil && !stray && !resent
			return n, err
		}
		var nerr net.Error
		if !errors.As(err, &nerr) || !nerr.Timeout() || !next.Before(deadline) || ctx.Err() != nil {
			return 0, err
		}
		r.pace.retries.Add(1)
		resent = true
		if _, err := s.conn.Write(query); err != nil {
			return 0, err
		}
		rto *= 2
	}
}

// readUDP reads datagrams from conn into buf until one is the answer to
// the query (id, q), discarding the others (RFC 5452), and returns its
// size; errTruncated if it has the TC bit or fills buf (it may have been
// cut). stray reports a datagram discarded.
func readUDP(conn udpConn, buf []byte, id uint16, q *question) (n int, stray bool, err error) {
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return 0, stray, err
		}
		h, ok := answers(buf[:n], id, q)
		if !ok {
			stray = true
			continue
		}
		if h.Truncated || n == len(buf) {
			return n, stray, errTruncated
		}
		return n, stray, nil
	}
}

// exchangeTCP sends query to server over a new TCP connection (RFC 7766)
// and returns the answer.
func exchangeTCP(ctx context.Context, server string, query []byte, id uint16, q *question, deadline time.Time) ([]byte, error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	out := make([]byte, 2+len(query))
	binary.BigEndian.PutUint16(out, uint16(len(query)))
	copy(out[2:], query)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	answer := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, answer); err != nil {
		return nil, err
	}
	if _, ok := answers(answer, id, q); !ok {
		return nil, errMismatch
	}
	return answer, nil
}

func queryError(q *question, network, server string, err error) error {
	name := q.String()
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return fmt.Errorf("spf: DNS query %s %q to %s over %s: %w", q.typ, name, server, network,
			&timeoutError{name: name})
	}
	return fmt.Errorf("spf: DNS query %s %q to %s over %s: %w", q.typ, name, server, network, err)
}

// answers reports whether msg is an answer to the query (id, q): same ID,
// the QR bit, a standard query, and one question that is q exactly, byte
// for byte when its case was randomised, else in any ASCII case. It
// returns the answer's header, and notes in q.folded an answer that
// repeated a randomised name in another case.
func answers(msg []byte, id uint16, q *question) (dnsmessage.Header, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.ID != id || !h.Response || h.OpCode != 0 {
		return h, false
	}
	a, err := p.Question()
	if err != nil || a.Type != dnsmessage.Type(q.typ) || a.Class != dnsmessage.ClassINET ||
		a.Name.Length != q.name.Length {
		return h, false
	}
	if a.Name.Data != q.name.Data {
		same := equalName(&a.Name, &q.name)
		if !same || q.randomized {
			q.folded = q.folded || same
			return h, false
		}
	}
	if _, err := p.Question(); err != dnsmessage.ErrSectionDone {
		return h, false
	}
	return h, true
}

// errMalformed is the error of an answer that does not parse.
var errMalformed = errors.New("spf: malformed DNS answer")

// readAnswer reduces an answer to the question q (see answers) to a
// Response if its code is NOERROR or NXDOMAIN; otherwise it returns the
// code, and resp is nil.
func readAnswer(msg []byte, q *question) (resp *Response, rcode int, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, 0, fmt.Errorf("%w for %q: %w", errMalformed, q.String(), err)
	}
	if h.RCode != dnsmessage.RCodeSuccess && h.RCode != dnsmessage.RCodeNameError {
		return nil, int(h.RCode), nil
	}
	resp = newResponse(q.typ)
	resp.Authenticated = h.AuthenticData
	minTTL := uint32(math.MaxUint32)
	cur := q.name
	var prefs []uint16
	for hops := 0; ; hops++ {
		next, found, err := readRecords(&p, msg, &cur, q.typ, resp, &prefs, &minTTL)
		if err != nil {
			return nil, 0, fmt.Errorf("%w for %q: %w", errMalformed, q.String(), err)
		}
		if found || next.Length == 0 {
			break
		}
		if hops >= maxCNAMEHops {
			return nil, 0, fmt.Errorf("spf: DNS answer for %q: CNAME chain too long or looping", q.String())
		}
		cur = next
	}
	if len(prefs) > 1 {
		sortMX(resp.Names, prefs)
	}
	if resp.Len() == 0 {
		resp.TXT, resp.Addrs, resp.Names = nil, nil, nil
	}
	if resp.Len() > 0 {
		resp.TTL = time.Duration(minTTL) * time.Second
		return resp, 0, nil
	}
	// RFC 2308 section 5: the negative TTL is the smaller of the SOA's
	// TTL and its MINIMUM field.
	neg, err := negativeTTL(&p, msg)
	if err != nil {
		return nil, 0, fmt.Errorf("%w for %q: %w", errMalformed, q.String(), err)
	}
	if minTTL != math.MaxUint32 { // a CNAME led to nothing
		neg = min(neg, minTTL)
	}
	resp.TTL = time.Duration(neg) * time.Second
	return resp, 0, nil
}

// newResponse returns an empty Response for an answer of type typ,
// allocated together with room for its first record: one allocation,
// not two, for the answers of one record, the commonest.
func newResponse(typ RRType) *Response {
	switch typ {
	case TypeTXT:
		b := new(struct {
			r   Response
			one [1]string
		})
		b.r.TXT = b.one[:0]
		return &b.r
	case TypeA, TypeAAAA:
		b := new(struct {
			r   Response
			one [1]netip.Addr
		})
		b.r.Addrs = b.one[:0]
		return &b.r
	case TypeMX, TypePTR:
		b := new(struct {
			r   Response
			one [1]string
		})
		b.r.Names = b.one[:0]
		return &b.r
	}
	return new(Response)
}

// readRecords goes through the answer section of msg for the records of
// type typ owned by cur, adding them to resp (and MX preferences to
// prefs); found reports some. Without any, next is the target of cur's
// CNAME record, if it has one (else next.Length is 0).
func readRecords(p *dnsmessage.Parser, msg []byte, cur *dnsmessage.Name, typ RRType, resp *Response, prefs *[]uint16, minTTL *uint32) (next dnsmessage.Name, found bool, err error) {
	if _, err := p.Start(msg); err != nil {
		return next, false, err
	}
	if err := p.SkipAllQuestions(); err != nil {
		return next, false, err
	}
	cnameTTL := uint32(0)
	for {
		h, err := p.AnswerHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return next, false, err
		}
		if h.Class != dnsmessage.ClassINET || !equalName(&h.Name, cur) {
			if err := p.SkipAnswer(); err != nil {
				return next, false, err
			}
			continue
		}
		ok := true
		switch {
		case h.Type == dnsmessage.TypeCNAME:
			ok = false
			c, err := p.CNAMEResource()
			if err != nil {
				return next, false, err
			}
			if next.Length == 0 {
				next, cnameTTL = c.CNAME, h.TTL
			}
		case h.Type != dnsmessage.Type(typ):
			ok = false
			err = p.SkipAnswer()
		case typ == TypeTXT:
			var t dnsmessage.TXTResource
			if t, err = p.TXTResource(); err == nil {
				txt := ""
				if len(t.TXT) == 1 {
					txt = t.TXT[0]
				} else {
					txt = strings.Join(t.TXT, "")
				}
				resp.TXT = append(resp.TXT, txt)
			}
		case typ == TypeA:
			var a dnsmessage.AResource
			if a, err = p.AResource(); err == nil {
				resp.Addrs = append(resp.Addrs, netip.AddrFrom4(a.A))
			}
		case typ == TypeAAAA:
			var a dnsmessage.AAAAResource
			if a, err = p.AAAAResource(); err == nil {
				resp.Addrs = append(resp.Addrs, netip.AddrFrom16(a.AAAA))
			}
		case typ == TypeMX:
			var mx dnsmessage.MXResource
			if mx, err = p.MXResource(); err == nil {
				resp.Names = append(resp.Names, nameString(&mx.MX))
				*prefs = append(*prefs, mx.Pref)
			}
		case typ == TypePTR:
			var ptr dnsmessage.PTRResource
			if ptr, err = p.PTRResource(); err == nil {
				resp.Names = append(resp.Names, nameString(&ptr.PTR))
			}
		default:
			ok = false
			err = p.SkipAnswer()
		}
		if err != nil {
			return next, false, err
		}
		if ok {
			found = true
			*minTTL = min(*minTTL, h.TTL)
		}
	}
	if found {
		return dnsmessage.Name{}, true, nil
	}
	if next.Length != 0 {
		*minTTL = min(*minTTL, cnameTTL)
	}
	return next, false, nil
}

// negativeTTL returns the negative-caching TTL of the answer msg: that of
// the first SOA record of its authority section (RFC 2308 section 5), or
// zero without one.
func negativeTTL(p *dnsmessage.Parser, msg []byte) (uint32, error) {
	if _, err := p.Start(msg); err != nil {
		return 0, err
	}
	if err := p.SkipAllQuestions(); err != nil {
		return 0, err
	}
	if err := p.SkipAllAnswers(); err != nil {
		return 0, err
	}
	for {
		h, err := p.AuthorityHeader()
		if err == dnsmessage.ErrSectionDone {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if h.Type != dnsmessage.TypeSOA || h.Class != dnsmessage.ClassINET {
			if err := p.SkipAuthority(); err != nil {
				return 0, err
			}
			continue
		}
		soa, err := p.SOAResource()
		if err != nil {
			return 0, err
		}
		return min(h.TTL, soa.MinTTL), nil
	}
}

// equalName reports whether a and b are the same name, ASCII letters
// compared without case (RFC 4343).
func equalName(a, b *dnsmessage.Name) bool {
	if a.Length != b.Length {
		return false
	}
	for i := range int(a.Length) {
		if lower(a.Data[i]) != lower(b.Data[i]) {
			return false
		}
	}
	return true
}

// nameString returns the name n in raw bytes without its trailing dot.
func nameString(n *dnsmessage.Name) string {
	return string(n.Data[:max(int(n.Length)-1, 0)])
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
