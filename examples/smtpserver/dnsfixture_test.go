package main

import (
	"bytes"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf-go/spf"
)

// fixtureZone is the zone "spf serve" answers from in TestDNSFixture,
// with its fault directives.
const fixtureZone = `example.com.      TXT "v=spf1 ip4:127.0.0.0/8 -all"
mail.example.com. TXT "v=spf1 a -all"
mail.example.com. A   127.0.0.1
broken.example.   TXT "v=spf1 -all"
big.example.      TXT "v=spf1 ip4:127.0.0.1 -all"
; spf-serve: servfail broken.example
; spf-serve: truncate big.example
`

// TestDNSFixture is the test a mail server in any language can have: it
// runs "spf serve" as a separate program, asks it with dig (a DNS client
// not written in Go), and then checks SPF in SMTP transactions with this
// server's resolver (a Cache in front of a DNSResolver) pointed at it.
func TestDNSFixture(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig is not installed (Debian: apt-get install dnsutils); skipping the test of spf serve with a DNS client not written in Go")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; cannot build spf serve")
	}
	dir := t.TempDir()
	spfBin := filepath.Join(dir, "spf")
	if out, err := exec.Command(goTool, "build", "-o", spfBin, "github.com/spf-go/spf/cmd/spf").CombinedOutput(); err != nil {
		t.Fatalf("go build spf: %v\n%s", err, out)
	}
	zoneFile := filepath.Join(dir, "fixture.zone")
	if err := os.WriteFile(zoneFile, []byte(fixtureZone), 0o666); err != nil {
		t.Fatal(err)
	}
	addr, port := startSPFServe(t, spfBin, zoneFile)

	tests := []struct {
		name string
		args []string
		want string // a regular expression dig's output must match
	}{
		{"txt over udp", []string{"+short", "TXT", "example.com"}, `(?m)^"v=spf1 ip4:127\.0\.0\.0/8 -all"$`},
		{"txt over tcp", []string{"+tcp", "+short", "TXT", "example.com"}, `(?m)^"v=spf1 ip4:127\.0\.0\.0/8 -all"$`},
		{"a", []string{"+short", "A", "mail.example.com"}, `(?m)^127\.0\.0\.1$`},
		{"nxdomain", []string{"TXT", "nowhere.example"}, `status: NXDOMAIN`},
		{"servfail directive", []string{"TXT", "broken.example"}, `status: SERVFAIL`},
		{"truncate directive", []string{"+ignore", "TXT", "big.example"}, `flags:[a-z ]* tc[ ;]`},
		{"truncated answer is whole over tcp", []string{"+tcp", "+short", "TXT", "big.example"}, `(?m)^"v=spf1 ip4:127\.0\.0\.1 -all"$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"@127.0.0.1", "-p", port, "+time=2", "+tries=1"}, tt.args...)
			out, err := exec.Command(dig, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if !regexp.MustCompile(tt.want).Match(out) {
				t.Errorf("dig %s: output does not match %s:\n%s", strings.Join(args, " "), tt.want, out)
			}
		})
	}

	// The SMTP server, its resolver pointed at spf serve.
	res, err := newResolver("", addr)
	if err != nil {
		t.Fatal(err)
	}
	cache, ok := res.(*spf.Cache)
	if !ok {
		t.Fatalf("newResolver returned a %T, want a *spf.Cache in front of the DNS client", res)
	}
	smtpAddr, _ := startServerChecker(t, spf.Policy{}, &spf.Checker{Resolver: res, Receiver: "mx.example.org"})
	// Two connections: the second one's checks are answered from the Cache.
	sessions := [][]struct {
		line string
		code int
	}{
		{{"EHLO mail.example.com", 250}, {"MAIL FROM:<alice@example.com>", 250}},
		{{"EHLO mail.example.com", 250}, {"MAIL FROM:<alice@example.com>", 250}, {"RSET", 250},
			{"MAIL FROM:<bob@broken.example>", 451}}, // SERVFAIL: temperror, 4.7.24
	}
	var first uint64 // queries sent to spf serve by the first connection
	for i, steps := range sessions {
		conn, err := textproto.Dial("tcp", smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := conn.ReadResponse(220); err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if err := conn.PrintfLine("%s", s.line); err != nil {
				t.Fatal(err)
			}
			code, msg, err := conn.ReadResponse(0)
			if code != s.code {
				t.Errorf("connection %d, %s: %d %s (%v), want %d", i+1, s.line, code, msg, err, s.code)
			}
		}
		conn.PrintfLine("QUIT")
		conn.Close()
		if i == 0 {
			first = cache.Stats().Queries
		}
	}
	// The second connection sent one query only: broken.example's.
	if st := cache.Stats(); first == 0 || st.Queries != first+1 {
		t.Errorf("queries sent to spf serve: %d by the first connection, %d in all (want one more, for broken.example): the Cache did not answer the repeated checks", first, st.Queries)
	}
}

// startSPFServe runs "spf serve" on a free loopback port until the test
// ends, then stops it with SIGINT and checks that it stopped cleanly.
func startSPFServe(t *testing.T, spfBin, zoneFile string) (addr, port string) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	var stdout, stderr bytes.Buffer
	c := exec.Command(spfBin, "serve", "--zone", zoneFile, "--addr-file", addrFile)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("spf serve: %v\nstderr: %s", err, &stderr)
			}
			if !strings.Contains(stdout.String(), "stopped after") {
				t.Errorf("spf serve did not say it stopped:\n%s", &stdout)
			}
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-done // reaped, so that no process outlives the test
			t.Errorf("spf serve did not stop on SIGINT")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil {
			addr = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spf serve wrote no address: %v\nstderr: %s", err, &stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("spf serve wrote %q, not host:port", addr)
	}
	return addr, addr[i+1:]
}
