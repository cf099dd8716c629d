package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// A delivery is a message the server accepted.
type delivery struct {
	from string
	to   []string
	msg  string
}

// startServer runs the server on 127.0.0.1:0 with DNS answered by a zone,
// and returns its address and the messages it delivers.
func startServer(t *testing.T, p spf.Policy) (addr string, delivered func() []delivery) {
	t.Helper()
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:127.0.0.0/8 -all")
	zone.AddTXT("forged.example", "v=spf1 ip4:192.0.2.0/24 -all exp=why.forged.example")
	zone.AddTXT("why.forged.example", "%{i} is not one of %{d}'s mail servers")
	zone.AddTXT("mail.example.com", "v=spf1 a -all")
	zone.AddIP("mail.example.com", netip.MustParseAddr("127.0.0.1"))
	zone.AddTXT("bad-helo.example", "v=spf1 -all")
	zone.SetTimeout("down.example")
	return startServerChecker(t, p, &spf.Checker{Resolver: zone, Receiver: "mx.example.org"})
}

// startServerChecker is startServer with the checks made by c.
func startServerChecker(t *testing.T, p spf.Policy, c *spf.Checker) (addr string, delivered func() []delivery) {
	t.Helper()
	var mu sync.Mutex
	var msgs []delivery
	cfg := &config{
		checker:  c,
		policy:   p,
		hostname: "mx.example.org",
		logf:     t.Logf,
		deliver: func(from string, to []string, msg []byte) error {
			mu.Lock()
			defer mu.Unlock()
			msgs = append(msgs, delivery{from, to, string(msg)})
			return nil
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String(), func() []delivery {
		mu.Lock()
		defer mu.Unlock()
		return append([]delivery(nil), msgs...)
	}
}

// send runs a whole transaction with net/smtp and returns the message the
// server delivered.
func send(t *testing.T, p spf.Policy, helo, from string) string {
	t.Helper()
	addr, delivered := startServer(t, p)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from); err != nil {
		t.Fatalf("MAIL FROM: %v", err)
	}
	if err := c.Rcpt("bob@example.org"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: hello\r\n\r\nHi Bob.\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	msgs := delivered()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(msgs))
	}
	return msgs[0].msg
}

// TestPassAccepted sends a message whose sender authorizes 127.0.0.1 and
// checks the header fields the server adds.
func TestPassAccepted(t *testing.T) {
	msg := send(t, spf.Policy{}, "mail.example.com", "alice@example.com")
	// Compare unfolded: folding CRLF + tab read as one space.
	unfolded := strings.ReplaceAll(msg, "\r\n\t", " ")
	want := "Authentication-Results: mx.example.org; " +
		"spf=pass (mx.example.org: domain of example.com designates 127.0.0.1 as permitted sender) smtp.mailfrom=alice@example.com; " +
		"spf=pass (mx.example.org: domain of mail.example.com designates 127.0.0.1 as permitted sender) smtp.helo=mail.example.com\r\n" +
		"Received-SPF: pass (mx.example.org: domain of example.com designates 127.0.0.1 as permitted sender) " +
		`client-ip=127.0.0.1; envelope-from="alice@example.com"; helo=mail.example.com; receiver=mx.example.org; ` +
		`identity=mailfrom; mechanism="ip4:127.0.0.0/8"` + "\r\n" +
		"Subject: hello\r\n\r\nHi Bob.\r\n"
	if unfolded != want {
		t.Errorf("message\n%s\nwant\n%s", unfolded, want)
	}
}

// traceSummary returns, for each trace field at the top of msg, its name
// and the identities it records: smtp.mailfrom and smtp.helo for
// Authentication-Results, identity= for Received-SPF.
func traceSummary(msg string) []string {
	var got []string
	header, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n\t", " "), "\r\n\r\n")
	for _, line := range strings.Split(header, "\r\n") {
		name, value, _ := strings.Cut(line, ": ")
		var ids []string
		for _, word := range strings.Fields(value) {
			word = strings.TrimSuffix(word, ";")
			for _, key := range []string{"smtp.mailfrom=", "smtp.helo=", "identity="} {
				if strings.HasPrefix(word, key) {
					ids = append(ids, word)
				}
			}
		}
		got = append(got, name+" "+strings.Join(ids, " "))
	}
	return got
}

// TestTraceFields checks that each identity is recorded once: a null
// sender's check is the HELO check, and the HELO check has a Received-SPF
// field of its own only when it fails.
func TestTraceFields(t *testing.T) {
	tests := []struct {
		name   string
		policy spf.Policy
		helo   string
		from   string
		want   []string
	}{
		{name: "pass", helo: "mail.example.com", from: "alice@example.com", want: []string{
			"Authentication-Results smtp.mailfrom=alice@example.com smtp.helo=mail.example.com",
			"Received-SPF identity=mailfrom",
			"Subject ",
		}},
		{name: "null sender", helo: "mail.example.com", from: "", want: []string{
			"Authentication-Results smtp.helo=mail.example.com",
			"Received-SPF identity=helo",
			"Subject ",
		}},
		{name: "HELO fail allowed", policy: spf.Policy{HELO: spf.RejectNever}, helo: "bad-helo.example", from: "alice@example.com", want: []string{
			"Authentication-Results smtp.mailfrom=alice@example.com smtp.helo=bad-helo.example",
			"Received-SPF identity=mailfrom",
			"Received-SPF identity=helo",
			"Subject ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := send(t, tt.policy, tt.helo, tt.from)
			if got := traceSummary(msg); !slices.Equal(got, tt.want) {
				t.Errorf("header fields\n%s\nwant\n%s\nin\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), msg)
			}
		})
	}
}

// TestFailRejected checks that a fail is refused at MAIL FROM with 550
// 5.7.23 on every line of the reply and the domain's explanation, on the
// wire.
func TestFailRejected(t *testing.T) {
	addr, delivered := startServer(t, spf.Policy{})
	conn, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	expect := func(code int) {
		t.Helper()
		if _, _, err := conn.ReadResponse(code); err != nil {
			t.Fatal(err)
		}
	}
	expect(220)
	conn.PrintfLine("EHLO mail.example.com")
	expect(250)
	conn.PrintfLine("MAIL FROM:<mallory@forged.example>")
	var lines []string
	for {
		line, err := conn.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	want := []string{
		"550-5.7.23 SPF MAIL FROM check failed:",
		"550-5.7.23 The domain forged.example explains:",
		"550 5.7.23 127.0.0.1 is not one of forged.example's mail servers",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("reply\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// The session goes on: another sender can try.
	conn.PrintfLine("MAIL FROM:<alice@example.com>")
	expect(250)
	conn.PrintfLine("QUIT")
	expect(221)
	if n := len(delivered()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

// TestVerdicts runs a transaction for each kind of verdict with net/smtp.
func TestVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		policy spf.Policy
		helo   string
		from   string
		code   int    // 0: accepted
		status string // the enhanced status code of every line
		text   string // in the reply
	}{
		{name: "pass", helo: "mail.example.com", from: "alice@example.com"},
		{name: "fail", helo: "mail.example.com", from: "mallory@forged.example", code: 550, status: "5.7.23",
			text: "127.0.0.1 is not one of forged.example's mail servers"},
		{name: "HELO fail rejects alone", helo: "bad-helo.example", from: "alice@example.com", code: 550, status: "5.7.23",
			text: "SPF HELO check failed"},
		{name: "HELO fail allowed", policy: spf.Policy{HELO: spf.RejectNever}, helo: "bad-helo.example", from: "alice@example.com"},
		{name: "null sender judged by HELO", policy: spf.Policy{HELO: spf.RejectNever}, helo: "bad-helo.example", from: "",
			code: 550, status: "5.7.23", text: "bad-helo.example does not designate 127.0.0.1 as permitted sender"},
		{name: "null sender with good HELO", helo: "mail.example.com", from: ""},
		{name: "temperror deferred", helo: "mail.example.com", from: "x@down.example", code: 451, status: "4.7.24",
			text: "try again later"},
		{name: "temperror accepted", policy: spf.Policy{AcceptTempError: true}, helo: "mail.example.com", from: "x@down.example"},
		{name: "none accepted", helo: "mail.example.com", from: "x@nowhere.example"},
		{name: "none rejected", policy: spf.Policy{MailFrom: spf.RejectNotPass}, helo: "mail.example.com", from: "x@nowhere.example",
			code: 550, status: "5.7.1", text: "gave none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := startServer(t, tt.policy)
			c, err := smtp.Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello(tt.helo); err != nil {
				t.Fatal(err)
			}
			err = c.Mail(tt.from)
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("MAIL FROM rejected: %v", err)
				}
				return
			}
			var te *textproto.Error
			if !errors.As(err, &te) {
				t.Fatalf("MAIL FROM: %v, want a %d reply", err, tt.code)
			}
			if te.Code != tt.code {
				t.Errorf("code %d, want %d: %s", te.Code, tt.code, te.Msg)
			}
			for _, line := range strings.Split(te.Msg, "\n") {
				if !strings.HasPrefix(line, tt.status+" ") {
					t.Errorf("line %q lacks the status %s", line, tt.status)
				}
			}
			if !strings.Contains(te.Msg, tt.text) {
				t.Errorf("reply %q lacks %q", te.Msg, tt.text)
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"-reject", "bogus"}, &stdout, &stderr); code != 2 {
		t.Errorf("run with a bad -reject = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `invalid -reject "bogus"`) {
		t.Errorf("stderr %q", stderr.String())
	}
}

// TestLogEscaped checks that the client's HELO name and MAIL FROM reach
// the log of a refusal escaped: an ESC in them must not drive the
// terminal that shows the log.
func TestLogEscaped(t *testing.T) {
	zone := &spftest.Zone{}
	zone.AddTXT("forged.example", "v=spf1 -all")
	var mu sync.Mutex
	var logs []string
	cfg := &config{
		checker:  &spf.Checker{Resolver: zone},
		hostname: "mx.example.org",
		logf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, fmt.Sprintf(format, args...))
		},
		deliver: func(string, []string, []byte) error { return nil },
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(cfg)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	defer func() { srv.Close(); <-done }()
	conn, err := textproto.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, step := range []struct {
		line string
		code int
	}{
		{"", 220},
		{"EHLO h\x1b[2J.example", 250},
		{"MAIL FROM:<m@forged.example>", 550},
	} {
		if step.line != "" {
			conn.PrintfLine("%s", step.line)
		}
		if _, _, err := conn.ReadResponse(step.code); err != nil {
			t.Fatalf("%q: %v", step.line, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 {
		t.Fatalf("log lines %q, want one", logs)
	}
	for _, c := range []byte(logs[0]) {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("control byte %#x in the log line %q", c, logs[0])
		}
	}
}
