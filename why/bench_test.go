package why

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/spf-go/spf"
)

// BenchmarkExplain measures one check and its explanation against the
// in-memory zone (a fail through an include, with exp=).
func BenchmarkExplain(b *testing.B) {
	c := &spf.Checker{Resolver: testZone(b), Receiver: "mx.example.net"}
	q := Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "mail.example.com", Sender: "alice@example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Explain(context.Background(), c, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerCached measures a page answered from the cache, as
// HTML.
func BenchmarkHandlerCached(b *testing.B) {
	h := NewHandler(&spf.Checker{Resolver: testZone(b)}, &Options{Burst: 1 << 30, Rate: 1e9})
	req := httptest.NewRequest(http.MethodGet, "/Why?id=alice%40example.com&ip=198.51.100.7", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
