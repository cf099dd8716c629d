package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf-go/spf/spftest"
)

// TestCompare measures spf-policyd against Debian's Python policyd-spf
// (postfix-policyd-spf-python) on the same stream of requests, answered
// by the same loopback DNS zone: requests per second, latency and CPU
// time per request, cold (every domain asked for the first time) and
// warm (the same senders again, in new messages). It runs only with
// SPF_POLICYD_COMPARE=1 (root, for port 53 on 127.0.0.2 and the
// resolv.conf the Python daemon reads, bind-mounted in its own mount
// namespace by unshare(1)); see the README for the command.
//
// Both daemons run in spawn mode, one request at a time over a pipe, as
// spawn(8) runs them for one smtpd. Each request is a message with one
// recipient, a HELO check that passes and a MAIL FROM check through an
// include, half of them failing (rejected).
func TestCompare(t *testing.T) {
	if os.Getenv("SPF_POLICYD_COMPARE") != "1" {
		t.Skip("set SPF_POLICYD_COMPARE=1 to compare with postfix-policyd-spf-python")
	}
	python, err := exec.LookPath("policyd-spf")
	if err != nil {
		t.Fatal("apt-get install postfix-policyd-spf-python")
	}
	domains := envInt("SPF_POLICYD_DOMAINS", 500)
	dir := t.TempDir()
	var zone strings.Builder
	zone.WriteString("$ORIGIN .\n$TTL 3600\n")
	zone.WriteString("_spf.provider.example. TXT \"v=spf1 ip4:198.51.100.0/24 ~all\"\n")
	zone.WriteString("mta.provider.example. TXT \"v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.0/24 -all\"\n")
	for i := range domains {
		fmt.Fprintf(&zone, "d%d.bench.example. TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.provider.example -all\"\n", i)
	}
	z, err := spftest.ParseZone(strings.NewReader(zone.String()), "", "bench zone")
	must(t, err)
	srv, err := spftest.StartServerAt("127.0.0.2:53", z)
	must(t, err)
	defer srv.Close()

	resolv := filepath.Join(dir, "resolv.conf")
	must(t, os.WriteFile(resolv, []byte("nameserver 127.0.0.2\n"), 0o644))
	pyConf := filepath.Join(dir, "py.conf")
	must(t, os.WriteFile(pyConf, []byte("debugLevel = 1\nHELO_reject = Fail\nMail_From_reject = Fail\n"), 0o644))
	bin := filepath.Join(dir, "spf-policyd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	stream := func(round int) []string {
		reqs := make([]string, domains)
		for i := range reqs {
			ip := fmt.Sprintf("198.51.100.%d", i%250+1)
			if i%2 == 1 {
				ip = fmt.Sprintf("203.0.113.%d", i%250+1)
			}
			reqs[i] = policyRequest(fmt.Sprintf("%d.%d", round, i), ip, "mta.provider.example",
				fmt.Sprintf("u%d@d%d.bench.example", i, i), "x@rcpt.example")
		}
		return reqs
	}
	type row struct {
		name       string
		cold, warm phase
	}
	var rows []row
	for _, d := range []struct {
		name  string
		argv  []string
		warmN int
	}{
		{"spf-policyd", []string{bin, "-o", "DNS_Servers=127.0.0.2", "-o", "Log_File=/dev/null"}, 20},
		{"policyd-spf (Python)", []string{"unshare", "-m", "sh", "-c",
			"mount --bind " + resolv + " /etc/resolv.conf && exec " + python + " " + pyConf}, 2},
	} {
		p := startProc(t, d.argv)
		// One request first, of a sender outside the stream, so that
		// the start of the process is not counted as a cold check.
		p.run(t, []string{policyRequest("start", "198.51.100.1", "mta.provider.example", "a@provider.example", "x@rcpt.example")})
		r := row{name: d.name, cold: p.run(t, stream(0))}
		var warm []string
		for k := 1; k <= d.warmN; k++ {
			warm = append(warm, stream(k)...)
		}
		r.warm = p.run(t, warm)
		p.stop(t)
		rows = append(rows, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| daemon | phase | requests | requests/s | p50 | p99 | CPU per request |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		for _, ph := range []struct {
			name string
			p    phase
		}{{"cold", r.cold}, {"warm", r.warm}} {
			fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %s |\n", r.name, ph.name, ph.p.n,
				float64(ph.p.n)/ph.p.wall.Seconds(), ph.p.pct(50), ph.p.pct(99), ph.p.cpu/time.Duration(ph.p.n))
		}
	}
	ratio := (float64(rows[0].warm.n) / rows[0].warm.wall.Seconds()) / (float64(rows[1].warm.n) / rows[1].warm.wall.Seconds())
	fmt.Fprintf(&b, "\nwarm requests/s: spf-policyd / policyd-spf = %.0fx\n", ratio)
	conns := envInt("SPF_POLICYD_CONNS", 8)
	lp := listenerPhase(t, bin, conns, stream)
	fmt.Fprintf(&b, "\nspf-policyd -listen, %d connections at once, warm: %d requests, %.0f requests/s, p50 %s, p99 %s, CPU per request %s\n",
		conns, lp.n, float64(lp.n)/lp.wall.Seconds(), lp.pct(50), lp.pct(99), lp.cpu/time.Duration(lp.n))
	t.Log("\n" + b.String())
	if out := os.Getenv("SPF_POLICYD_COMPARE_OUT"); out != "" {
		must(t, os.WriteFile(out, []byte(b.String()), 0o644))
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// A phase is the measures of one run of requests.
type phase struct {
	n    int
	wall time.Duration
	cpu  time.Duration // user and system time of the daemon's process
	rtts []time.Duration
}

func (p phase) pct(q int) time.Duration {
	s := slices.Clone(p.rtts)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*q/100)].Round(time.Microsecond)
}

// proc is a policy daemon in spawn mode, talked to over pipes.
type proc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	stopped sync.Once
}

func startProc(t *testing.T, argv []string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	must(t, err)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	p := &proc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { p.stop(t) }) // also when the test fails midway
	return p
}

func (p *proc) run(t *testing.T, reqs []string) phase {
	t.Helper()
	ph := phase{n: len(reqs)}
	cpu0 := cpuTime(t, p.cmd.Process.Pid)
	start := time.Now()
	for _, r := range reqs {
		t0 := time.Now()
		if _, err := io.WriteString(p.in, r); err != nil {
			t.Fatal(err)
		}
		line, err := p.out.ReadString('\n')
		if err != nil || !strings.HasPrefix(strings.ToLower(line), "action=") {
			t.Fatalf("reply %q, %v", line, err)
		}
		p.out.ReadString('\n')
		ph.rtts = append(ph.rtts, time.Since(t0))
	}
	ph.wall = time.Since(start)
	ph.cpu = cpuTime(t, p.cmd.Process.Pid) - cpu0
	return ph
}

// stop closes the daemon's input and waits for it to exit; once.
func (p *proc) stop(t *testing.T) {
	p.stopped.Do(func() {
		p.in.Close()
		if err := p.cmd.Wait(); err != nil {
			t.Logf("%s: %v", p.cmd.Path, err)
		}
	})
}

// cpuTime returns the user and system time of process pid
// (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms).
func cpuTime(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	must(t, err)
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}

// listenerPhase runs spf-policyd as a TCP listener and sends it the
// stream from conns connections at once, as many smtpd processes do,
// after one round that warms its cache; it returns the warm phase.
func listenerPhase(t *testing.T, bin string, conns int, stream func(int) []string) phase {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin, "-listen", "127.0.0.1:"+strconv.Itoa(port), "-o", "DNS_Servers=127.0.0.2", "-o", "Log_File=/dev/null")
	must(t, cmd.Start())
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	waitPort(t, port)
	dialN := func() []*policyClient {
		var cs []*policyClient
		for range conns {
			cs = append(cs, dial(t, "127.0.0.1:"+strconv.Itoa(port)))
		}
		return cs
	}
	send := func(c *policyClient, reqs []string) ([]time.Duration, error) {
		var rtts []time.Duration
		for _, r := range reqs {
			t0 := time.Now()
			if _, err := io.WriteString(c.c, r); err != nil {
				return nil, err
			}
			if _, err := c.r.ReadString('\n'); err != nil {
				return nil, err
			}
			c.r.ReadString('\n')
			rtts = append(rtts, time.Since(t0))
		}
		return rtts, nil
	}
	cs := dialN()
	if _, err := send(cs[0], stream(1000)); err != nil {
		t.Fatal(err)
	}
	const rounds = 5
	ph := phase{}
	results := make(chan []time.Duration, conns)
	cpu0 := cpuTime(t, cmd.Process.Pid)
	start := time.Now()
	for i, c := range cs {
		go func() {
			var all []time.Duration
			for k := range rounds {
				rtts, err := send(c, stream(2000+i*rounds+k))
				if err != nil {
					t.Error(err)
					break
				}
				all = append(all, rtts...)
			}
			results <- all
		}()
	}
	for range cs {
		ph.rtts = append(ph.rtts, <-results...)
	}
	ph.wall = time.Since(start)
	ph.cpu = cpuTime(t, cmd.Process.Pid) - cpu0
	ph.n = len(ph.rtts)
	return ph
}
