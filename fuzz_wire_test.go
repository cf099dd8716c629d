package spf

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"golang.org/x/net/dns/dnsmessage"
)

// A wireConn is a net.Conn that hands out one datagram, then EOF, for the
// DNSResolver's reading code; only Read and Write are used.
type wireConn struct {
	net.Conn
	data []byte
	read bool
}

func (c *wireConn) Write(b []byte) (int, error) { return len(b), nil }

func (c *wireConn) Read(b []byte) (int, error) {
	if c.read {
		return 0, io.EOF
	}
	c.read = true
	return copy(b, c.data), nil
}

// wireSeeds returns DNS answers of the kinds DNSResolver reads, packed.
func wireSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	add := func(typ uint16, rcode int, tc bool, rrs ...string) {
		q := new(dns.Msg).SetQuestion("fuzz.example.", typ)
		m := new(dns.Msg).SetRcode(q, rcode)
		m.Truncated = tc
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				tb.Fatal(err)
			}
			if _, ok := rr.(*dns.SOA); ok {
				m.Ns = append(m.Ns, rr)
			} else {
				m.Answer = append(m.Answer, rr)
			}
		}
		b, err := m.Pack()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	add(dns.TypeTXT, dns.RcodeSuccess, false, `fuzz.example. 300 IN TXT "v=spf1 " "ip4:192.0.2.0/24 -all"`, `fuzz.example. 300 IN TXT "other"`)
	add(dns.TypeA, dns.RcodeSuccess, false, "fuzz.example. 60 IN CNAME b.fuzz.example.", "b.fuzz.example. 30 IN A 192.0.2.1")
	add(dns.TypeAAAA, dns.RcodeSuccess, false, "fuzz.example. 60 IN AAAA 2001:db8::1")
	add(dns.TypeMX, dns.RcodeSuccess, false, "fuzz.example. 60 IN MX 20 b.fuzz.example.", "fuzz.example. 60 IN MX 10 a.fuzz.example.")
	add(dns.TypePTR, dns.RcodeSuccess, false, "fuzz.example. 60 IN PTR host.fuzz.example.")
	add(dns.TypeTXT, dns.RcodeNameError, false, "example. 3600 IN SOA ns.example. host.example. 1 2 3 4 60")
	add(dns.TypeTXT, dns.RcodeSuccess, true)
	add(dns.TypeA, dns.RcodeSuccess, false, "fuzz.example. 60 IN CNAME fuzz.example.")
	return out
}

// FuzzReadAnswer feeds fuzzed DNS wire answers to the DNSResolver's
// reading of a UDP answer (readUDP, then readAnswer for NOERROR and
// NXDOMAIN, as Lookup does), for a query of the type the first byte
// picks: no panic, and the Response is bounded by the message.
func FuzzReadAnswer(f *testing.F) {
	types := []RRType{TypeTXT, TypeA, TypeAAAA, TypeMX, TypePTR}
	for i, b := range wireSeeds(f) {
		f.Add(byte(i), b)
	}
	f.Fuzz(func(t *testing.T, pick byte, data []byte) {
		typ := types[int(pick)%len(types)]
		var q question
		q.set("fuzz.example", typ)
		const id = 0x1234
		if len(data) >= 2 {
			// The answer's ID is the query's, so that it is read.
			data = append([]byte{id >> 8, id & 0xff}, data[2:]...)
		}
		buf := make([]byte, len(data)+1)
		n, _, err := readUDP(&wireConn{data: data}, buf, id, &q)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, errTruncated) {
				t.Fatalf("readUDP: %v", err)
			}
			return
		}
		resp, rcode, err := readAnswer(buf[:n], &q)
		if err != nil {
			if !strings.Contains(err.Error(), "CNAME") && !errors.Is(err, errMalformed) {
				t.Fatalf("readAnswer: %v", err)
			}
			return
		}
		if resp == nil {
			if rcode == int(dnsmessage.RCodeSuccess) || rcode == int(dnsmessage.RCodeNameError) {
				t.Fatalf("no Response for RCODE %d", rcode)
			}
			return
		}
		if ancount := int(data[6])<<8 | int(data[7]); resp.Len() > ancount {
			t.Fatalf("%d records from %d in the answer", resp.Len(), ancount)
		}
		size := 0
		for _, s := range resp.TXT {
			size += len(s)
		}
		if size > len(data) {
			t.Fatalf("%d bytes of TXT from a %d-byte message", size, len(data))
		}
		for _, n := range resp.Names {
			if len(n) > 254 { // a name of 255 bytes with its trailing dot
				t.Fatalf("name of %d bytes", len(n))
			}
		}
		if resp.TTL < 0 {
			t.Fatalf("negative TTL %v", resp.TTL)
		}
	})
}
