package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestBatchOrder checks that answers come in the order of the queries
// when later checks finish first, and that bad lines do not stop the
// stream.
func TestBatchOrder(t *testing.T) {
	t.Parallel()
	zone := &spftest.Zone{}
	for i := range 50 {
		zone.AddTXT(fmt.Sprintf("d%d.example", i), fmt.Sprintf("v=spf1 ip4:192.0.2.%d -all", i))
	}
	// Early domains answer slowly, so that later checks finish first.
	slow := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		var n int
		if _, err := fmt.Sscanf(name, "d%d.example", &n); err == nil && n < 10 {
			time.Sleep(time.Duration(10-n) * time.Millisecond)
		}
		return zone.Lookup(ctx, name, typ)
	})
	var in strings.Builder
	var want []string
	for i := range 50 {
		if i%7 == 3 {
			fmt.Fprintf(&in, "{\"ip\":\"192.0.2.%d\",\"sender\":\"a@d%d.example\",\"bogus\":1}\n", i, i)
			want = append(want, fmt.Sprintf("line %d: error", i+1))
			continue
		}
		fmt.Fprintf(&in, "{\"ip\":\"192.0.2.%d\",\"sender\":\"a@d%d.example\",\"id\":%d}\n", i, i, i)
		want = append(want, fmt.Sprintf("%d: pass", i))
	}
	var out, errOut bytes.Buffer
	c := &spf.Checker{Resolver: slow}
	if code := runBatch(c, 8, strings.NewReader(in.String()), &out, &errOut); code != 0 {
		t.Fatalf("exit status %d, stderr %q", code, errOut.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var a struct {
			ID     *int
			Line   int
			Result string
			Error  string
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		switch {
		case a.Error != "":
			got = append(got, fmt.Sprintf("line %d: error", a.Line))
		case a.ID != nil:
			got = append(got, fmt.Sprintf("%d: %s", *a.ID, a.Result))
		default:
			got = append(got, "no id: "+line)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestBatchStreams checks that each answer is written before the next
// query is read: a harness can wait for the answer to each line.
func TestBatchStreams(t *testing.T) {
	t.Parallel()
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int)
	go func() {
		done <- runBatch(&spf.Checker{Resolver: zone}, 4, inR, outW, io.Discard)
		outW.Close()
	}()
	answers := bufio.NewReader(outR)
	for i := range 3 {
		fmt.Fprintf(inW, "{\"ip\":\"192.0.2.%d\",\"sender\":\"a@example.com\"}\n", i)
		line, err := answers.ReadString('\n')
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if !strings.Contains(line, `"result":"pass"`) {
			t.Errorf("answer %d: %s", i, line)
		}
	}
	inW.Close()
	if code := <-done; code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestBatchLongLine checks that an over-long line gets an error answer
// and the lines after it are still answered.
func TestBatchLongLine(t *testing.T) {
	t.Parallel()
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 -all")
	in := `{"ip":"192.0.2.1","sender":"` + strings.Repeat("a", 2*maxBatchLine) + "\"}\n" +
		`{"ip":"192.0.2.1","sender":"a@example.com"}` // no final newline
	var out bytes.Buffer
	if code := runBatch(&spf.Checker{Resolver: zone}, 2, strings.NewReader(in), &out, io.Discard); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"line":1,"error":"line longer than`) || !strings.Contains(lines[1], `"result":"fail"`) {
		t.Errorf("answers:\n%s", out.String())
	}
}

// TestBatchReadError checks the exit status when the input fails.
func TestBatchReadError(t *testing.T) {
	t.Parallel()
	r := io.MultiReader(strings.NewReader("{\"ip\":\"192.0.2.1\",\"sender\":\"a@example.com\"}\n"), errReader{})
	var out, errOut bytes.Buffer
	code := runBatch(&spf.Checker{Resolver: &spftest.Zone{}}, 2, r, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "reading standard input: disk on fire") {
		t.Errorf("exit status %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(out.String(), `"result":"none"`) {
		t.Errorf("the line before the error was not answered: %q", out.String())
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("disk on fire") }

// TestBatchBoundsConcurrency checks that no more than --concurrency
// checks run at once.
func TestBatchBoundsConcurrency(t *testing.T) {
	t.Parallel()
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 -all")
	var running, most atomic.Int32
	res := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		return zone.Lookup(ctx, name, typ)
	})
	in := strings.Repeat("{\"ip\":\"192.0.2.1\",\"sender\":\"a@example.com\"}\n", 200)
	if code := runBatch(&spf.Checker{Resolver: res}, 5, strings.NewReader(in), io.Discard, io.Discard); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if m := most.Load(); m > 5 {
		t.Errorf("%d checks ran at once, want at most 5", m)
	}
}

// BenchmarkBatch measures --batch against the demo zone, in lines per
// second.
func BenchmarkBatch(b *testing.B) {
	b.ReportAllocs()
	zone, err := loadZone(demoZone)
	if err != nil {
		b.Fatal(err)
	}
	queries := []string{
		`{"ip":"192.0.2.10","helo":"mail.example.com","sender":"alice@example.com"}`,
		`{"ip":"198.51.100.7","helo":"mail.example.com","sender":"alice@example.com"}`,
		`{"ip":"203.0.113.25","helo":"out.example.net","sender":"bob@example.com"}`,
		`{"ip":"192.0.2.1","helo":"x.example.org","sender":"a@softfail.example.org"}`,
		`{"ip":"192.0.2.1","helo":"x.example.org","sender":"a@toomany.example.org"}`,
	}
	var in strings.Builder
	const lines = 1000
	for i := range lines {
		in.WriteString(queries[i%len(queries)])
		in.WriteByte('\n')
	}
	c := &spf.Checker{Resolver: zone}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		runBatch(c, 64, strings.NewReader(in.String()), io.Discard, io.Discard)
	}
	b.ReportMetric(float64(b.N*lines)/time.Since(start).Seconds(), "lines/s")
}

// BenchmarkBatchDNS measures --batch against a DNS server on the loopback
// interface, with the cache --server puts in front of it warm after the
// first round.
func BenchmarkBatchDNS(b *testing.B) {
	b.ReportAllocs()
	zone, err := loadZone(demoZone)
	if err != nil {
		b.Fatal(err)
	}
	srv := spftest.NewServer(b, zone)
	res, _, err := networkResolver([]string{srv.Addr}, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	var in strings.Builder
	const lines = 1000
	for i := range lines {
		fmt.Fprintf(&in, "{\"ip\":\"198.51.100.%d\",\"helo\":\"mail.example.com\",\"sender\":\"alice@example.com\"}\n", i%256)
	}
	c := &spf.Checker{Resolver: res}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		runBatch(c, 64, strings.NewReader(in.String()), io.Discard, io.Discard)
	}
	b.ReportMetric(float64(b.N*lines)/time.Since(start).Seconds(), "lines/s")
}

// TestBatchErrorWording checks that a bad --batch line is answered in
// plain words: what is wrong, with the names of the JSON members, and no
// Go type or command-line flag.
func TestBatchErrorWording(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line, want string
	}{
		{"number for a string", `{"ip":1,"sender":"a@example.com"}`, `"ip" must be a string, not a number`},
		{"array for a string", `{"ip":"192.0.2.1","helo":["a"]}`, `"helo" must be a string, not an array`},
		{"string for a bool", `{"ip":"192.0.2.1","helo":"h.example","helo_only":"yes"}`, `"helo_only" must be true or false, not a string`},
		{"not an object", `[1]`, `a query must be a JSON object`},
		{"unknown member", `{"ipp":"192.0.2.1"}`, `unknown member "ipp" (a query has "ip", "sender", "helo", "helo_only" and "id")`},
		{"syntax", `{"ip" "192.0.2.1"}`, `not valid JSON at byte`},
		{"cut short", `{"ip":"192.0.2.1"`, `the JSON object is not complete`},
		{"two values", `{"ip":"192.0.2.1","sender":"a@example.com"} {}`, `the line holds more than one query`},
		{"no ip", `{"sender":"a@example.com"}`, `no client IP address (give "ip")`},
		{"no sender", `{"ip":"192.0.2.1"}`, `no sender (give "sender"; an empty sender is the null sender)`},
		{"helo_only without helo", `{"ip":"192.0.2.1","helo_only":true}`, `"helo_only": true needs a HELO name (give "helo")`},
		{"null sender without helo", `{"ip":"192.0.2.1","sender":""}`, `the null sender needs a HELO name (give "helo")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, _ := runString(t, tt.line+"\n", "check", "--zone", demoZone, "--batch")
			if code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			var got batchError
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("answer %q: %v", stdout, err)
			}
			if !strings.Contains(got.Error, tt.want) {
				t.Errorf("error %q does not contain %q", got.Error, tt.want)
			}
			for _, jargon := range []string{"json:", "Go ", "batchQuery", "struct", "--", "unmarshal"} {
				if strings.Contains(got.Error, jargon) {
					t.Errorf("error %q contains %q", got.Error, jargon)
				}
			}
		})
	}
}

// TestBatchDeadNames checks that lines on names whose server does not
// answer do not hold back the lines after them, without measuring time:
// 2,000 lines, 10 of them on dead names spread through the input. The
// resolver holds every dead lookup until all ten are under way, which
// happens only if the batch checks the lines after a waiting one; a batch
// that waited for each line in turn would hold the first dead lookup until
// the check's time limit, and the test would fail.
func TestBatchDeadNames(t *testing.T) {
	t.Parallel()
	zone := &spftest.Zone{}
	zone.AddTXT("live.example", "v=spf1 ip4:192.0.2.0/24 -all")
	var (
		mu       sync.Mutex
		started  int
		timedOut bool
		all      = make(chan struct{})
	)
	res := spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		if !strings.HasPrefix(name, "dead") {
			return zone.Lookup(ctx, name, typ)
		}
		mu.Lock()
		if started++; started == 10 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return nil, errors.New("no answer")
		case <-ctx.Done():
			mu.Lock()
			timedOut = true
			mu.Unlock()
			return nil, ctx.Err()
		}
	})
	var in strings.Builder
	var want []string
	for i := range 2000 {
		domain, result := "live.example", "pass"
		if i%200 == 100 {
			domain, result = fmt.Sprintf("dead%d.example", i/200), "temperror"
		}
		fmt.Fprintf(&in, "{\"ip\":\"192.0.2.1\",\"sender\":\"a@%s\",\"id\":%d}\n", domain, i)
		want = append(want, fmt.Sprintf("%d: %s", i, result))
	}
	c := &spf.Checker{Resolver: res, Timeout: 10 * time.Second}
	var out bytes.Buffer
	if code := runBatch(c, 64, strings.NewReader(in.String()), &out, io.Discard); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var a struct {
			ID     int
			Result string
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%d: %s", a.ID, a.Result))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if timedOut {
		t.Errorf("a dead lookup waited until the time limit: only %d of the 10 dead lines were under way at once", started)
	}
}

// TestBatchDeadNameCached checks that the resolver --server builds (a
// Cache over a DNSResolver) asks a dead name once for many lines: the
// failure is kept (RFC 9520), so the lines after it do not wait again.
func TestBatchDeadNameCached(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	zone := &spftest.Zone{}
	zone.AddTXT("live.example", "v=spf1 ip4:192.0.2.0/24 -all")
	srv := spftest.NewServer(t, zone)
	srv.SetFault("dead.example", spftest.Fault{Drop: true})
	// Each DNS lookup gives up within the check's time limit (as with
	// the defaults: 2 attempts of 2 s in 20 s), so that the Cache keeps
	// the failure.
	res, _, err := networkResolver([]string{srv.Addr}, timeout/4)
	if err != nil {
		t.Fatal(err)
	}
	// Count the lookups that reach DNS behind the Cache (one lookup may
	// send its query several times).
	var lookups atomic.Int32
	inner := res.Resolver
	res.Resolver = spf.ResolverFunc(func(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
		if name == "dead.example" {
			lookups.Add(1)
		}
		return inner.Lookup(ctx, name, typ)
	})
	var in strings.Builder
	for i := range 200 {
		domain := "live.example"
		if i%20 == 10 {
			domain = "dead.example"
		}
		fmt.Fprintf(&in, "{\"ip\":\"192.0.2.1\",\"sender\":\"a@%s\"}\n", domain)
	}
	c := &spf.Checker{Resolver: res, Timeout: timeout}
	var out bytes.Buffer
	if code := runBatch(c, 64, strings.NewReader(in.String()), &out, io.Discard); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if n := strings.Count(out.String(), `"result":"temperror"`); n != 10 {
		t.Errorf("%d temperror answers, want 10", n)
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("dead.example looked up %d times behind the Cache, want once", n)
	}
}
