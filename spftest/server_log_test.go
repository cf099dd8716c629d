package spftest

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

// TestServerLogBound checks that a server flooded with queries for new
// names keeps its log and counts within maxLog, and still counts every
// query in Total.
func TestServerLogBound(t *testing.T) {
	s := NewServer(t, &Zone{})
	s.mu.Lock()
	s.maxLog = 3
	s.mu.Unlock()
	c := &dns.Client{Net: "tcp"}
	conn, err := c.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 10 {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("n%d.example.", i), dns.TypeTXT)
		if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.Queries()); got != 3 {
		t.Errorf("%d queries logged, want 3", got)
	}
	s.mu.Lock()
	counted := len(s.counts)
	s.mu.Unlock()
	if counted != 3 {
		t.Errorf("%d names counted, want 3", counted)
	}
	if got := s.Count("n0.example", 0); got != 1 {
		t.Errorf("Count of a logged name: %d, want 1", got)
	}
	if got := s.Total(); got != 10 {
		t.Errorf("Total %d, want 10", got)
	}
}

// TestServerCountFoldsASCIIOnly checks that the server tells names apart
// as DNS does: ASCII case is folded, other letters are not, so a query for
// a name with a Kelvin sign (U+212A) is not counted as one for "k".
func TestServerCountFoldsASCIIOnly(t *testing.T) {
	s := NewServer(t, &Zone{})
	c := &dns.Client{Net: "tcp"}
	for _, name := range []string{"Kk.example.", "\u212Ak.example."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTXT)
		if _, _, err := c.Exchange(m, s.Addr); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		want int
	}{
		{"kk.example", 1},
		{"KK.EXAMPLE.", 1},
		{"\u212Ak.example", 1},
	} {
		if got := s.Count(tc.name, 0); got != tc.want {
			t.Errorf("Count(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}
