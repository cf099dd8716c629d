package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// startZone starts the DNS server of testdata/cases.zone, with the
// queries of temp.example dropped.
func startZone(t testing.TB) *spftest.Server {
	t.Helper()
	text, err := os.ReadFile("testdata/cases.zone")
	if err != nil {
		t.Fatal(err)
	}
	srv := spftest.NewServerFromText(t, string(text))
	srv.SetFault("temp.example", spftest.Fault{Drop: true})
	return srv
}

// syncBuffer is a log destination tests read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon runs a daemon with the configuration conf (file text) on
// a loopback listener and returns its address and its log.
func startDaemon(t *testing.T, dns *spftest.Server, conf string) (string, *syncBuffer, *daemon) {
	t.Helper()
	cfg := defaultConfig()
	conf += "\nDNS_Servers = " + dns.Addr + "\nReceiver = mx.test.example\n"
	if err := cfg.parse(strings.NewReader(conf), "test.conf"); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d := newDaemon(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	d.engine.Store(newEngine(cfg, newCache(cfg)))
	d.request = 500 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return l.Addr().String(), logs, d
}

// policyClient is one smtpd's connection to the daemon.
type policyClient struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *policyClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &policyClient{c: c, r: bufio.NewReader(c)}
}

// ask sends raw request text and returns the reply's action.
func (p *policyClient) ask(t *testing.T, raw string) string {
	t.Helper()
	p.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	line, err := p.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if empty, err := p.r.ReadString('\n'); err != nil || empty != "\n" {
		t.Fatalf("after %q: %q, %v; want the empty line", line, empty, err)
	}
	action, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "action=")
	if !ok {
		t.Fatalf("reply %q", line)
	}
	return action
}

// policyRequest returns the request Postfix sends at RCPT TO.
func policyRequest(instance, ip, helo, sender, rcpt string) string {
	return fmt.Sprintf("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"+
		"client_address=%s\nclient_name=unknown\nhelo_name=%s\nsender=%s\nrecipient=%s\n"+
		"queue_id=\ninstance=%s\nsize=0\n\n", ip, helo, sender, rcpt, instance)
}

func TestDecisions(t *testing.T) {
	dns := startZone(t)
	const conf = "skip_addresses =\nWhitelist = 198.18.0.0/24\nLocal_Rules = ip4:198.51.100.0/24\nTempError_Defer = True\nLookup_Time = 1\n"
	addr, logs, _ := startDaemon(t, dns, conf)
	tests := []struct {
		name, ip, helo, sender string
		want                   string // the action's prefix
		second                 string // the action for a second recipient
	}{
		{"pass", "192.0.2.10", "goodhelo.example", "a@pass.example",
			"PREPEND Received-SPF: pass (mx.test.example: domain of pass.example designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; envelope-from=\"a@pass.example\"; helo=goodhelo.example; receiver=mx.test.example; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"", "DUNNO"},
		{"fail with the domain's explanation", "203.0.113.7", "goodhelo.example", "a@fail.example",
			"550 5.7.23 ", "550 5.7.23 "},
		{"softfail is accepted", "203.0.113.7", "goodhelo.example", "a@soft.example", "PREPEND Received-SPF: softfail", "DUNNO"},
		{"temperror is deferred", "192.0.2.10", "goodhelo.example", "a@temp.example", "451 4.7.24 ", "451 4.7.24 "},
		{"HELO fail", "192.0.2.10", "badhelo.example", "a@pass.example", "550 5.7.23 ", "550 5.7.23 "},
		{"null sender judged by HELO", "192.0.2.10", "goodhelo.example", "", "PREPEND Received-SPF: pass", "DUNNO"},
		{"null sender with a failing HELO", "203.0.113.9", "fail.example", "", "550 5.7.23 ", "550 5.7.23 "},
		{"trusted relay", "198.18.0.9", "badhelo.example", "a@fail.example", "PREPEND Received-SPF: none", "DUNNO"},
		{"local rule", "198.51.100.5", "goodhelo.example", "a@fail.example", "PREPEND Received-SPF: pass", "DUNNO"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			inst := fmt.Sprintf("inst.%d", i)
			got := c.ask(t, policyRequest(inst, tt.ip, tt.helo, tt.sender, "x@rcpt.example"))
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("first recipient: %q, want %q...", got, tt.want)
			}
			got2 := c.ask(t, policyRequest(inst, tt.ip, tt.helo, tt.sender, "y@rcpt.example"))
			if !strings.HasPrefix(got2, tt.second) {
				t.Errorf("second recipient: %q, want %q...", got2, tt.second)
			}
		})
	}
	t.Run("explanation in the reply", func(t *testing.T) {
		got := dial(t, addr).ask(t, policyRequest("e", "203.0.113.7", "goodhelo.example", "a@fail.example", "x@rcpt.example"))
		if !strings.Contains(got, "203.0.113.7 may not send mail for fail.example") {
			t.Errorf("%q lacks the explanation", got)
		}
	})
	t.Run("one check per message", func(t *testing.T) {
		n := strings.Count(logs.String(), "instance=inst.0 ")
		if n != 2 || !strings.Contains(logs.String(), "instance=inst.0 client_address=192.0.2.10 client_name=unknown helo=goodhelo.example sender=a@pass.example recipient=y@rcpt.example helo_result=pass mailfrom_result=pass action=DUNNO reused=true") {
			t.Errorf("log of inst.0 (%d lines):\n%s", n, logs)
		}
	})
}

func TestReportOnly(t *testing.T) {
	dns := startZone(t)
	addr, logs, _ := startDaemon(t, dns, "TestOnly = 0\nTempError_Defer = True\nLookup_Time = 1\ndebugLevel = 4\n")
	c := dial(t, addr)
	for _, sender := range []string{"a@fail.example", "a@temp.example"} {
		got := c.ask(t, policyRequest("r-"+sender, "203.0.113.7", "goodhelo.example", sender, "x@rcpt.example"))
		if !strings.HasPrefix(got, "PREPEND Received-SPF: ") {
			t.Errorf("%s: %q, want PREPEND", sender, got)
		}
	}
	for _, want := range []string{"would=reject would_reply=\"550 5.7.23 ", "would=defer would_reply=\"451 4.7.24 ",
		"attributes.sender=a@fail.example", "level=DEBUG msg="} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestHeaderTypes(t *testing.T) {
	dns := startZone(t)
	tests := []struct{ conf, want string }{
		{"Header_Type = AR\nAuthserv_Id = mx.example.net", "PREPEND Authentication-Results: mx.example.net; spf=pass (mx.test.example: domain of pass.example designates 192.0.2.10 as permitted sender) smtp.mailfrom=a@pass.example"},
		{"Header_Type = None", "DUNNO"},
		{"Hide_Receiver = Yes", "PREPEND Received-SPF: pass (unknown: domain"},
	}
	for _, tt := range tests {
		t.Run(tt.conf, func(t *testing.T) {
			addr, _, _ := startDaemon(t, dns, tt.conf)
			got := dial(t, addr).ask(t, policyRequest("h", "192.0.2.10", "", "a@pass.example", "x@rcpt.example"))
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("%q, want %q...", got, tt.want)
			}
		})
	}
}

// TestBadInput sends what Postfix never sends: each gets DUNNO or a
// closed connection, and a log line, and the daemon goes on serving.
func TestBadInput(t *testing.T) {
	dns := startZone(t)
	addr, logs, _ := startDaemon(t, dns, "")
	tests := []struct {
		name, raw, log string
	}{
		{"no request attribute", "client_address=192.0.2.1\n\n", "not an smtpd_access_policy request"},
		{"bad client address", "request=smtpd_access_policy\nclient_address=300.1.1.1\n\n", "without a valid client_address"},
		{"missing everything", "request=smtpd_access_policy\n\n", "without a valid client_address"},
		{"line without =", "request=smtpd_access_policy\nclient_address\n\n", "a line without name=value"},
		{"not UTF-8", "request=smtpd_access_policy\nsender=\xff@x\n\n", "not UTF-8"},
		{"overlong line", "request=smtpd_access_policy\nsender=" + strings.Repeat("a", 10000) + "\n\n", "longer than 4096"},
		{"too many attributes", strings.Repeat("x=y\n", 150) + "\n", "more than 100 attributes"},
		{"control characters in the sender", policyRequest("c", "192.0.2.10", "goodhelo.example", "a\x01b@pass.example", "x@y"), "decision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			got := c.ask(t, tt.raw)
			if got != "DUNNO" && !strings.HasPrefix(got, "PREPEND ") {
				t.Errorf("%q, want DUNNO", got)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, logs)
			}
			// The connection still serves.
			if got := c.ask(t, policyRequest("after-"+tt.name, "192.0.2.10", "goodhelo.example", "a@pass.example", "x@y")); !strings.HasPrefix(got, "PREPEND") {
				t.Errorf("next request: %q", got)
			}
		})
	}
	t.Run("stalled connection is closed", func(t *testing.T) {
		c := dial(t, addr)
		c.c.Write([]byte("request=smtpd_access_policy\n"))
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.r.ReadString('\n'); err == nil {
			t.Error("the stalled connection got a reply")
		}
		if !strings.Contains(logs.String(), "connection stalled, closed") {
			t.Errorf("no log line of the stall:\n%s", logs)
		}
	})
	t.Run("endless line closes the connection", func(t *testing.T) {
		c := dial(t, addr)
		go c.c.Write(bytes.Repeat([]byte("z"), maxRequestBytes+8192))
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.r.ReadString('\n'); err == nil {
			t.Error("the endless line got a reply")
		}
	})
}

// TestConcurrent runs many connections at once on one daemon.
func TestConcurrent(t *testing.T) {
	dns := startZone(t)
	addr, _, d := startDaemon(t, dns, "")
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for j := range 20 {
				fmt.Fprint(c, policyRequest(fmt.Sprintf("%d.%d", i, j), "203.0.113.7", "goodhelo.example", "a@fail.example", "x@y"))
				line, _ := r.ReadString('\n')
				r.ReadString('\n')
				if !strings.HasPrefix(line, "action=550 5.7.23 ") {
					errs <- line
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := d.stats.reject.Load(); got != 400 {
		t.Errorf("%d rejects counted, want 400", got)
	}
}

// TestReload changes the file under a running daemon, as SIGHUP does:
// the new configuration applies to the next request, and a file that
// does not load leaves the running one.
func TestReload(t *testing.T) {
	dns := startZone(t)
	addr, _, d := startDaemon(t, dns, "")
	path := t.TempDir() + "/policyd-spf.conf"
	opts := []string{"DNS_Servers=" + dns.Addr}
	cfg := d.engine.Load().cfg
	cache := d.engine.Load().checker.Resolver.(*spf.Cache)
	c := dial(t, addr)
	ask := func(inst string) string {
		return c.ask(t, policyRequest(inst, "203.0.113.7", "goodhelo.example", "a@fail.example", "x@y"))
	}
	if got := ask("r1"); !strings.HasPrefix(got, "550 5.7.23 ") {
		t.Fatalf("before: %q", got)
	}
	must(t, os.WriteFile(path, []byte("Mail_From_reject = False\n"), 0o644))
	cfg, cache, err := d.reload(path, opts, cfg, cache)
	must(t, err)
	if d.engine.Load().checker.Resolver != cache {
		t.Error("the cache was replaced though the DNS servers did not change")
	}
	if got := ask("r2"); !strings.HasPrefix(got, "PREPEND Received-SPF: fail") {
		t.Errorf("after the reload: %q", got)
	}
	must(t, os.WriteFile(path, []byte("Mail_From_reject = Never\n"), 0o644))
	if _, _, err := d.reload(path, opts, cfg, cache); err == nil {
		t.Error("a bad file reloaded")
	}
	if got := ask("r3"); !strings.HasPrefix(got, "PREPEND Received-SPF: fail") {
		t.Errorf("after a failed reload: %q", got)
	}
}

// TestUnixSocket serves on a unix socket, as for check_policy_service
// unix:private/..., replacing the stale socket file of a crashed run.
func TestUnixSocket(t *testing.T) {
	dns := startZone(t)
	path := t.TempDir() + "/spf-policy"
	stale, err := net.Listen("unix", path)
	must(t, err)
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	cfg := defaultConfig()
	cfg.dnsServers = []string{dns.Addr}
	d := newDaemon(slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.engine.Store(newEngine(cfg, newCache(cfg)))
	l, err := listen("unix:" + path)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.serve(ctx, l) }()
	defer func() { cancel(); must(t, <-done) }()
	c, err := net.Dial("unix", path)
	must(t, err)
	defer c.Close()
	p := &policyClient{c: c, r: bufio.NewReader(c)}
	if got := p.ask(t, policyRequest("u", "192.0.2.10", "goodhelo.example", "a@pass.example", "x@y")); !strings.HasPrefix(got, "PREPEND Received-SPF: pass") {
		t.Errorf("%q", got)
	}
}

// TestUnreadReplies is a peer that sends a request and never reads the
// reply: the write must time out and free the connection's goroutine,
// or the peer holds one of maxConns for ever and shutdown waits for it.
func TestUnreadReplies(t *testing.T) {
	d := newDaemon(slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.engine.Store(newEngine(defaultConfig(), nil))
	d.request = 100 * time.Millisecond
	server, client := net.Pipe() // synchronous: a write waits for a read
	defer client.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()
		d.serveConn(context.Background(), server, server, "pipe")
	}()
	client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(client, "request=not_a_policy_request\n\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serveConn still blocked writing a reply nobody reads")
	}
	if got := d.stats.net.Load(); got != 1 {
		t.Errorf("%d connection errors counted, want 1 (the write timeout)", got)
	}
}
