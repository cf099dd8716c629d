package spf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// hostileRecord is an SPF record, a syntax error, with what must never
// reach a terminal or a log raw: an escape sequence, a line break, a
// right-to-left override and a C1 control.
const hostileRecord = "v=spf1 \x1b[31mred\nforged: yes \u202e\u0085 -all"

// traceZone holds a small include chain and a hostile record.
func traceZone() *spftest.Zone {
	z := &spftest.Zone{}
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all")
	z.AddTXT("_spf.example.net", "v=spf1 a:mail.example.net ~all")
	z.AddIP("mail.example.net", netip.MustParseAddr("198.51.100.1"))
	z.AddTXT("hostile.example", hostileRecord)
	return z
}

// TestWithTrace checks that a context's trace sees the steps of the
// checks made with it, and only those, beside the Checker's own.
func TestWithTrace(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr("198.51.100.1")
	var all, traced []spf.EventKind
	c := &spf.Checker{Resolver: traceZone(), Trace: func(ev spf.Event) { all = append(all, ev.Kind) }}
	ctx := spf.WithTrace(context.Background(), func(ev spf.Event) { traced = append(traced, ev.Kind) })

	if _, err := c.Check(context.Background(), ip, "", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 || len(traced) != 0 {
		t.Fatalf("a check without the context: %d events for the Checker, %d for the context's trace; want some and none", len(all), len(traced))
	}
	all = nil
	if _, err := c.Check(ctx, ip, "", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(traced) == 0 {
		t.Fatal("the context's trace saw nothing")
	}
	if diff := cmp.Diff(all, traced); diff != "" {
		t.Errorf("the context's trace saw other steps than the Checker's (-Checker +context):\n%s", diff)
	}

	// Without a Checker trace, and with a nil trace (which changes nothing).
	traced = nil
	plain := &spf.Checker{Resolver: traceZone()}
	if _, err := plain.Check(spf.WithTrace(ctx, nil), ip, "", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, traced); diff != "" {
		t.Errorf("trace of a Checker without Trace (-want +got):\n%s", diff)
	}

	// A later WithTrace replaces the earlier one.
	traced = nil
	var later []spf.EventKind
	ctx2 := spf.WithTrace(ctx, func(ev spf.Event) { later = append(later, ev.Kind) })
	if _, err := plain.Check(ctx2, ip, "", "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(traced) != 0 || len(later) != len(all) {
		t.Errorf("after a second WithTrace: %d events for the first trace, %d for the second; want 0 and %d", len(traced), len(later), len(all))
	}
}

// TestSlogTrace logs the steps of checks with hostile DNS text through
// log/slog's text and JSON handlers, and checks that no control character,
// line break, bidi override or invalid UTF-8 reaches the log raw, that the
// text is all in attributes, and that JSON gives it back exactly.
func TestSlogTrace(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr("198.51.100.1")
	senders := []string{"a@example.com", "a@hostile.example"}
	for _, handler := range []string{"text", "json"} {
		t.Run(handler, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			var h slog.Handler = slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			if handler == "json" {
				h = slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			events := 0
			c := &spf.Checker{Resolver: traceZone(), Trace: func(spf.Event) { events++ }}
			ctx := spf.WithTrace(context.Background(), spf.SlogTrace(slog.New(h), slog.LevelDebug))
			for _, s := range senders {
				c.Check(ctx, ip, "", s)
			}
			out := buf.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != events {
				t.Fatalf("%d log lines for %d events:\n%s", len(lines), events, out)
			}
			if !utf8.ValidString(out) {
				t.Errorf("invalid UTF-8 in the log")
			}
			for _, r := range strings.TrimSuffix(out, "\n") {
				if r != '\n' && (r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e') {
					t.Errorf("raw %U in the log:\n%s", r, out)
					break
				}
			}
			for _, l := range lines {
				if !strings.Contains(l, "spf ") || !strings.Contains(l, "lookups") {
					t.Errorf("line %q lacks the message or the counters", l)
				}
			}
			if handler != "json" {
				if !strings.Contains(out, `record="v=spf1 \x1b[31mred\nforged: yes \\u202e\\u0085 -all"`) {
					t.Errorf("the text handler did not quote the record as strconv.Quote does:\n%s", out)
				}
				return
			}
			var records []string
			for _, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if r, ok := m["record"].(string); ok {
					records = append(records, r)
				}
			}
			want := []string{"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all", "v=spf1 a:mail.example.net ~all",
				"v=spf1 \x1b[31mred\nforged: yes \\u202e\\u0085 -all"}
			if diff := cmp.Diff(want, records); diff != "" {
				t.Errorf("records read back from the JSON log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSlogTraceDisabled checks that a logger not enabled at the level
// logs nothing.
func TestSlogTraceDisabled(t *testing.T) { // not parallel: AllocsPerRun
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := &spf.Checker{Resolver: traceZone(), Trace: spf.SlogTrace(logger, slog.LevelDebug)}
	c.Check(context.Background(), netip.MustParseAddr("198.51.100.1"), "", "a@example.com")
	if buf.Len() != 0 {
		t.Errorf("logged at a disabled level: %q", buf.String())
	}
	// The handler drops the records anyway: what SlogTrace must show is
	// that it builds nothing for them, as its doc says.
	if raceDetector {
		return
	}
	trace := spf.SlogTrace(logger, slog.LevelDebug)
	ev := spf.Event{Kind: spf.EventRecord, Domain: "example.com", Record: "v=spf1 -all", Err: spf.ErrSyntax}
	if n := testing.AllocsPerRun(100, func() { trace(ev) }); n != 0 {
		t.Errorf("%v allocations for a disabled event, want 0", n)
	}
}

// stringAddr is a net.Addr of another kind than the net package's.
type stringAddr string

func (a stringAddr) Network() string { return "test" }
func (a stringAddr) String() string  { return string(a) }

func TestAddrFromNet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     net.Addr
		want   string
		wantOK bool
	}{
		{"tcp ipv4", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 25}, "192.0.2.1", true},
		{"tcp ipv4 4 bytes", &net.TCPAddr{IP: net.IP{192, 0, 2, 1}.To4(), Port: 25}, "192.0.2.1", true},
		{"tcp ipv4-mapped", &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 25}, "192.0.2.1", true},
		{"tcp ipv6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25}, "2001:db8::1", true},
		{"tcp ipv6 zone", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 25}, "fe80::1", true},
		{"udp", &net.UDPAddr{IP: net.ParseIP("::ffff:198.51.100.7"), Port: 53}, "198.51.100.7", true},
		{"ip", &net.IPAddr{IP: net.ParseIP("2001:db8::2")}, "2001:db8::2", true},
		{"other host:port", stringAddr("[::ffff:192.0.2.9]:2525"), "192.0.2.9", true},
		{"other address", stringAddr("2001:db8::3%lo"), "2001:db8::3", true},
		{"unix", &net.UnixAddr{Name: "/run/smtp.sock", Net: "unix"}, "invalid IP", false},
		{"tcp without ip", &net.TCPAddr{Port: 25}, "invalid IP", false},
		{"nil tcp", (*net.TCPAddr)(nil), "invalid IP", false},
		{"nil", nil, "invalid IP", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := spf.AddrFromNet(tt.in)
			if got.String() != tt.want || ok != tt.wantOK {
				t.Errorf("AddrFromNet(%v) = %v, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// The steps of one check, logged with log/slog: WithTrace traces this
// check only, whatever the Checker's Trace.
func ExampleSlogTrace() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	// A text handler without the time, for output that does not change.
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "elapsed" {
				return slog.Attr{}
			}
			return a
		},
	})
	ctx := spf.WithTrace(context.Background(), spf.SlogTrace(slog.New(h), slog.LevelDebug))
	c := &spf.Checker{Resolver: zone}
	c.Check(ctx, netip.MustParseAddr("192.0.2.7"), "mail.example.com", "alice@example.com")
	// Output:
	// level=DEBUG msg="spf query" depth=0 name=example.com type=TXT answer="[v=spf1 ip4:192.0.2.0/24 -all]" lookups=0 void_lookups=0
	// level=DEBUG msg="spf record" depth=0 domain=example.com record="v=spf1 ip4:192.0.2.0/24 -all" lookups=0 void_lookups=0
	// level=DEBUG msg="spf term" depth=0 domain=example.com term=ip4:192.0.2.0/24 matched=true lookups=0 void_lookups=0
	// level=DEBUG msg="spf result" depth=0 domain=example.com result=pass term=ip4:192.0.2.0/24 lookups=0 void_lookups=0
}

// A server gets the client's address from its connection.
func ExampleAddrFromNet() {
	// What conn.RemoteAddr() returns for an IPv4 client of a server
	// listening on "[::]:25".
	remote := &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 40123}
	ip, ok := spf.AddrFromNet(remote)
	fmt.Println(ip, ok)
	// Output: 192.0.2.7 true
}

// TestSlogTraceCapsValues checks that a long record from DNS reaches the
// log cut to about 1 KB, with its length noted.
func TestSlogTraceCapsValues(t *testing.T) {
	t.Parallel()
	z := &spftest.Zone{}
	z.AddTXT("long.example", "v=spf1 "+strings.Repeat("a:x.example ", 5000)+"-all")
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &spf.Checker{Resolver: z, Trace: spf.SlogTrace(logger, slog.LevelDebug)}
	c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "", "a@long.example")
	for _, line := range strings.Split(buf.String(), "\n") {
		if len(line) > 4096 {
			t.Errorf("a log line of %d bytes", len(line))
		}
	}
	if !strings.Contains(buf.String(), "(60011 bytes)") {
		t.Errorf("the record's length is not noted:\n%.300s", buf.String())
	}
}
