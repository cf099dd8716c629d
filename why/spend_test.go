package why

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
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

// TestHandlerPanicFreesSlot makes a check panic twice with one check
// allowed at a time: the first panic must give its slot back, or the
// second request is refused with 503 instead of running its check.
func TestHandlerPanicFreesSlot(t *testing.T) {
	var lookups atomic.Int64
	c := &spf.Checker{Resolver: spf.ResolverFunc(func(context.Context, string, spf.RRType) (*spf.Response, error) {
		lookups.Add(1)
		panic("resolver")
	})}
	h := NewHandler(c, &Options{MaxChecks: 1})
	for i := range 2 {
		func() {
			defer func() { recover() }()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?ip=192.0.2.1&id=a%40example.com", nil))
		}()
		if n := lookups.Load(); n != int64(i+1) {
			t.Fatalf("after request %d: %d checks ran, want %d", i+1, n, i+1)
		}
	}
}
