package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPostfix proves the daemon against a real Postfix: a throw-away
// instance (its own configuration, queue and data directories, loopback
// ports) whose smtpd asks spf-policyd at RCPT TO, as a TCP service
// (check_policy_service inet:) and as a spawn(8) service
// (unix:private/...), with the DNS answered by an spftest server from
// testdata/cases.zone, and SMTP sessions driven by swaks. Accepted mail
// goes to an SMTP sink run here. It needs root, postfix and swaks; it is
// skipped without them, except under CI=true, where it fails.
func TestPostfix(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Postfix")
	}
	postfix, swaks := requirePostfix(t)
	dir, err := os.MkdirTemp("", "spf-policyd-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// spawn(8) runs the daemon as nobody, who must reach the binary, its
	// configuration and its log.
	must(t, os.Chmod(dir, 0o755))
	must(t, os.Mkdir(filepath.Join(dir, "log"), 0o777))
	must(t, os.Chmod(filepath.Join(dir, "log"), 0o777))

	dns := startZone(t)
	const conf = "skip_addresses =\nWhitelist = 198.18.0.0/24\nLocal_Rules = ip4:198.51.100.0/24\nTempError_Defer = True\nLookup_Time = 1\n"
	inetAddr, inetLog, _ := startDaemon(t, dns, conf)
	reportAddr, reportLog, _ := startDaemon(t, dns, conf+"TestOnly = 0\n")
	sink := startSink(t)

	bin := filepath.Join(dir, "spf-policyd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	spawnLog := filepath.Join(dir, "log", "spawn.log")
	spawnConf := filepath.Join(dir, "spawn.conf")
	must(t, os.WriteFile(spawnConf, []byte(conf+"DNS_Servers = "+dns.Addr+"\nReceiver = mx.test.example\nLog_File = "+spawnLog+"\n"), 0o644))

	ports := map[string]int{"inet": freePort(t), "spawn": freePort(t), "report": freePort(t)}
	startPostfix(t, postfix, dir, sink.addr, ports, map[string]string{
		"inet":   "check_policy_service inet:" + inetAddr,
		"spawn":  "check_policy_service unix:private/spfpolicy",
		"report": "check_policy_service inet:" + reportAddr,
	}, bin+" "+spawnConf)

	tests := []struct {
		name, mode, ip, helo, from string
		rcpts                      string
		want                       string // in swaks's transcript
		header                     string // the delivered message's Received-SPF starts so; "" if none delivered
	}{
		{"pass", "inet", "192.0.2.10", "goodhelo.example", "a@pass.example", "x@rcpt.example,y@rcpt.example",
			"<-  250 2.0.0 Ok: queued", "Received-SPF: pass (mx.test.example: domain of pass.example designates 192.0.2.10 as permitted sender)"},
		{"fail", "inet", "203.0.113.7", "goodhelo.example", "a@fail.example", "x@rcpt.example",
			"<** 550 5.7.23 <x@rcpt.example>: Recipient address rejected: ", ""},
		{"temperror", "inet", "192.0.2.10", "goodhelo.example", "a@temp.example", "x@rcpt.example",
			"<** 451 4.7.24 <x@rcpt.example>: Recipient address rejected: ", ""},
		{"HELO fail", "inet", "192.0.2.10", "badhelo.example", "a@pass.example", "x@rcpt.example",
			"<** 550 5.7.23 ", ""},
		{"null sender, HELO pass", "inet", "192.0.2.10", "goodhelo.example", "<>", "x@rcpt.example",
			"<-  250 2.0.0 Ok: queued", "Received-SPF: pass (mx.test.example: domain of goodhelo.example designates"},
		{"null sender, HELO fail", "inet", "203.0.113.9", "fail.example", "<>", "x@rcpt.example",
			"<** 550 5.7.23 ", ""},
		{"trusted relay", "inet", "198.18.0.9", "badhelo.example", "a@fail.example", "x@rcpt.example",
			"<-  250 2.0.0 Ok: queued", "Received-SPF: none (mx.test.example: SPF check skipped for trusted relay 198.18.0.0/24)"},
		{"local rule", "inet", "198.51.100.5", "goodhelo.example", "a@fail.example", "x@rcpt.example",
			"<-  250 2.0.0 Ok: queued", "Received-SPF: pass (mx.test.example: "},
		{"report-only fail", "report", "203.0.113.7", "goodhelo.example", "a@fail.example", "x@rcpt.example",
			"<-  250 2.0.0 Ok: queued", "Received-SPF: fail"},
		{"spawn pass", "spawn", "192.0.2.10", "goodhelo.example", "b@pass.example", "x@rcpt.example,y@rcpt.example",
			"<-  250 2.0.0 Ok: queued", "Received-SPF: pass (mx.test.example: domain of pass.example designates 192.0.2.10 as permitted sender)"},
		{"spawn fail", "spawn", "203.0.113.7", "goodhelo.example", "b@fail.example", "x@rcpt.example",
			"<** 550 5.7.23 ", ""},
		{"spawn temperror", "spawn", "192.0.2.10", "goodhelo.example", "b@temp.example", "x@rcpt.example",
			"<** 451 4.7.24 ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag := strings.ReplaceAll(tt.name, " ", "-")
			cmd := exec.Command(swaks, "--server", "127.0.0.1:"+strconv.Itoa(ports[tt.mode]),
				"--xclient-addr", tt.ip, "--helo", tt.helo, "--from", tt.from, "--to", tt.rcpts,
				"--header", "X-Case: "+tag, "--timeout", "30")
			out, _ := cmd.CombinedOutput()
			transcript := string(out)
			if !strings.Contains(transcript, tt.want) {
				t.Fatalf("swaks transcript lacks %q:\n%s", tt.want, transcript)
			}
			if tt.name == "fail" && !strings.Contains(transcript, "203.0.113.7 may not send mail for fail.example") {
				t.Errorf("the rejection lacks the domain's explanation:\n%s", transcript)
			}
			if tt.header == "" {
				return
			}
			msg := sink.wait(t, "X-Case: "+tag)
			if want := strings.Count(tt.rcpts, ",") + 1; len(msg.rcpts) != want {
				t.Errorf("delivered to %v, want %d recipients", msg.rcpts, want)
			}
			if n := strings.Count(msg.data, "\nReceived-SPF:"); n != 1 {
				t.Errorf("%d Received-SPF fields, want 1:\n%s", n, msg.data)
			}
			if !strings.Contains(msg.data, "\n"+tt.header) {
				t.Errorf("message lacks %q:\n%s", tt.header, msg.data)
			}
		})
	}
	for _, c := range []struct {
		name string
		log  func() string
		want string
	}{
		{"inet daemon log", inetLog.String, "action=REJECT reused=false"},
		{"report-only log", reportLog.String, `would=reject would_reply="550 5.7.23 `},
		{"spawn daemon log", func() string { b, _ := os.ReadFile(spawnLog); return string(b) }, "mailfrom_result=pass action=PREPEND"},
	} {
		if !strings.Contains(c.log(), c.want) {
			t.Errorf("%s lacks %q:\n%s", c.name, c.want, c.log())
		}
	}
}

// requirePostfix returns the paths of postfix and swaks, or skips the
// test (fails it under CI=true) when they or root are missing.
func requirePostfix(t *testing.T) (postfix, swaks string) {
	t.Helper()
	missing := func(what string) {
		msg := what + ": the test against a real Postfix needs root and `apt-get install postfix swaks`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		missing("not root")
	}
	var err error
	if postfix, err = exec.LookPath("postfix"); err != nil {
		if postfix, err = exec.LookPath("/usr/sbin/postfix"); err != nil {
			missing("no postfix")
		}
	}
	if swaks, err = exec.LookPath("swaks"); err != nil {
		missing("no swaks")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		missing("no postfix user")
	}
	return postfix, swaks
}

// startPostfix writes main.cf and master.cf for an instance in dir with
// one smtpd per mode, listening on 127.0.0.1 on ports[mode] with the
// restriction policy[mode], a spawn service "spfpolicy" running
// spawnArgv, and relaying to the sink; it starts it and stops it (by
// the master's PID) when the test ends.
func startPostfix(t *testing.T, postfix, dir, sink string, ports map[string]int, policy map[string]string, spawnArgv string) {
	t.Helper()
	etc := filepath.Join(dir, "etc")
	data := filepath.Join(dir, "data")
	for _, d := range []string{etc, filepath.Join(dir, "queue"), data} {
		must(t, os.MkdirAll(d, 0o755))
	}
	u, err := user.Lookup("postfix")
	must(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	must(t, os.Chown(data, uid, -1))
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = rcpt.example
relay_transport = smtp:[%[2]s]:%[3]s
default_transport = error:no outbound mail
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_peername_lookup = no
smtpd_recipient_restrictions = reject_unauth_destination
spfpolicy_time_limit = 3600s
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
biff = no
`, dir, strings.Split(sink, ":")[0], strings.Split(sink, ":")[1])
	masterCF := ""
	for _, mode := range []string{"inet", "spawn", "report"} {
		masterCF += fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n  -o smtpd_recipient_restrictions=reject_unauth_destination,%s\n",
			ports[mode], strings.ReplaceAll(policy[mode], " ", ","))
	}
	masterCF += `cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
spfpolicy unix  - n n - 0 spawn
  user=nobody argv=` + spawnArgv + "\n"
	must(t, os.WriteFile(filepath.Join(etc, "main.cf"), []byte(mainCF), 0o644))
	must(t, os.WriteFile(filepath.Join(etc, "master.cf"), []byte(masterCF), 0o644))
	if out, err := exec.Command(postfix, "-c", etc, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v\n%s", err, out)
	}
	pidFile := filepath.Join(dir, "queue", "pid", "master.pid")
	t.Cleanup(func() {
		pid := readPID(pidFile)
		if out, err := exec.Command(postfix, "-c", etc, "stop").CombinedOutput(); err != nil {
			t.Errorf("postfix stop: %v\n%s", err, out)
		}
		// Wait for the master (and so its children) to be gone.
		for i := 0; pid > 0 && i < 100 && alive(pid); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if pid > 0 && alive(pid) {
			t.Errorf("the Postfix master %d is still running", pid)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Logf("maillog:\n%s", b)
		}
	})
	for _, p := range ports {
		waitPort(t, p)
	}
}

func readPID(path string) int {
	b, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive reports whether pid runs (a zombie left for init to reap does
// not count).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(after, "Z")
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("Postfix does not listen on port %d", port)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A sink is an SMTP server that accepts every message.
type sink struct {
	addr string
	mu   sync.Mutex
	msgs []sunk
}

type sunk struct {
	rcpts []string
	data  string
}

func startSink(t *testing.T) *sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	s := &sink{addr: l.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				s.session(c)
			}()
		}
	}()
	return s
}

func (s *sink) session(c net.Conn) {
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 sink ESMTP\r\n")
	var m sunk
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "RCPT":
			m.rcpts = append(m.rcpts, strings.TrimSpace(line))
			fmt.Fprint(c, "250 ok\r\n")
		case "DATA":
			fmt.Fprint(c, "354 go on\r\n")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.ReplaceAll(l, "\r\n", "\n"))
			}
			m.data = "\n" + b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			m = sunk{}
			fmt.Fprint(c, "250 queued\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		case "RSET":
			m = sunk{}
			fmt.Fprint(c, "250 ok\r\n")
		default:
			fmt.Fprint(c, "250 sink\r\n")
		}
	}
}

// wait returns the message whose data holds marker, waiting for Postfix
// to deliver it.
func (s *sink) wait(t *testing.T, marker string) sunk {
	t.Helper()
	for i := 0; i < 300; i++ {
		s.mu.Lock()
		for _, m := range s.msgs {
			if strings.Contains(m.data, marker) {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no message with %q delivered", marker)
	return sunk{}
}
