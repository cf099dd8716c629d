package why

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestSpendCapRedirect explains a check of a receiver with a raised
// lookup limit, against a record with more lookup terms than Spend keeps
// before its redirect: the redirect's entry is not kept, and the lookups
// of its target must not be added to an entry that does not exist.
func TestSpendCapRedirect(t *testing.T) {
	z := &spftest.Zone{}
	terms := []string{"v=spf1"}
	for i := range 70 {
		name := fmt.Sprintf("h%d.example.com", i)
		z.AddIP(name, netip.MustParseAddr("192.0.2.1"))
		terms = append(terms, "a:"+name)
	}
	z.AddTXT("example.com", strings.Join(append(terms, "redirect=r.example.com"), " "))
	z.AddTXT("r.example.com", "v=spf1 a:h0.example.com -all")
	c := &spf.Checker{Resolver: z, MaxLookups: 100}
	e, _ := Explain(context.Background(), c, Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "mail.example.com", Sender: "a@example.com"})
	if e.Result != "fail" || len(e.Spend) != 64 {
		t.Errorf("result %s with %d Spend entries, want fail with 64", e.Result, len(e.Spend))
	}
}
