package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// BenchmarkWarmRequest measures one request with a warm cache, from the
// request's bytes to the reply's, with the decision logged (to
// io.Discard): a HELO check and a MAIL FROM check through a cache hit.
func BenchmarkWarmRequest(b *testing.B) {
	dns := startZone(b)
	cfg := defaultConfig()
	cfg.dnsServers = []string{dns.Addr}
	d := newDaemon(slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.engine.Store(newEngine(cfg, newCache(cfg)))
	var in strings.Builder
	for i := range b.N + 1 {
		in.WriteString(policyRequest(fmt.Sprint(i), "192.0.2.10", "goodhelo.example", "a@pass.example", "x@y"))
	}
	r := bufio.NewReader(strings.NewReader(in.String()))
	req, _ := readRequest(r) // warms the cache
	d.decide(context.Background(), d.engine.Load(), req)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req, err := readRequest(r)
		if err != nil {
			b.Fatal(err)
		}
		writeReply(io.Discard, d.decide(context.Background(), d.engine.Load(), req))
	}
}
