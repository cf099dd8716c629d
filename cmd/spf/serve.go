package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf-go/spf/spftest"
)

const serveUsage = `Usage: spf serve --zone FILE [--listen ADDR] [--addr-file FILE] [fault flags]

Serve answers DNS queries from a zone file, over UDP and TCP on the same
port, as an authoritative server of every name in it: a DNS fixture for
the tests of any mail server, whatever its language. Point the mail
server's resolver (or dig) at the address it prints, run the tests, and
stop it with SIGINT (Ctrl-C) or SIGTERM.

It listens on 127.0.0.1 on a free port unless --listen says otherwise
(such as --listen 127.0.0.1:5353); the first line of standard output is
  listening on ADDR
and --addr-file writes ADDR alone to a file (whole, once listening), for
scripts. With --log, it lists the queries it received when it stops (the
first 1,048,576), one a line: "query TYPE NAME udp|tcp" (a name with
other than printable ASCII is quoted, with Go escapes). Listening beyond
the loopback interface lets anyone who can reach the port query the
zone.

Faults are injected per name, from flags or from directive comments in
the zone file, one a line:
  ; spf-serve: drop NAME             leave queries unanswered (a timeout)
  ; spf-serve: servfail NAME         answer SERVFAIL
  ; spf-serve: refused NAME          answer REFUSED
  ; spf-serve: truncate NAME         answer UDP with TC set and no records,
                                     so that clients retry over TCP
  ; spf-serve: delay NAME DURATION   hold every answer back, such as 2s
  ; spf-serve: forge NAME            send two forged UDP answers first
NAME is exact (not the names under it) and case-insensitive; "*" is
every name without a fault of its own. The flags --drop, --servfail,
--refused, --truncate and --forge take NAME, and --delay NAME=DURATION;
each may be repeated. Faults of one name add up (delay and truncate).

The exit status is 0 after a signal, 255 if the zone, a fault or the
address is bad.

Example:
  spf serve --zone testdata/demo.zone --servfail example.org --delay example.com=1s

Flags:
`

// maxServeDelay bounds --delay, so that a typo does not hang a test suite.
const maxServeDelay = 10 * time.Minute

func runServe(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

// serve runs the server until ctx ends.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	zonePath := fs.String("zone", "", "answer from the zone `FILE` (required)")
	listen := fs.String("listen", "127.0.0.1:0", "listen on `ADDR`, host:port, for UDP and TCP; port 0 picks a free port")
	addrFile := fs.String("addr-file", "", "write the address listened on to `FILE`")
	logQueries := fs.Bool("log", false, "when stopping, list every query received, in order")
	var faults faultFlags
	for _, f := range []struct{ kind, usage string }{
		{"drop", "leave the queries for `NAME` unanswered"},
		{"servfail", "answer the queries for `NAME` with SERVFAIL"},
		{"refused", "answer the queries for `NAME` with REFUSED"},
		{"truncate", "answer the UDP queries for `NAME` with TC set and no records"},
		{"forge", "send two forged UDP answers to the queries for `NAME` first"},
	} {
		fs.Var(&faultFlag{faults: &faults, kind: f.kind}, f.kind, f.usage+" (repeatable; * for every name)")
	}
	fs.Var(&faultFlag{faults: &faults, kind: "delay"}, "delay", "hold back the answers for a name: `NAME=DURATION` (repeatable)")
	pos, help, err := parseArgs(fs, args, stdout, serveUsage)
	if help {
		return 0
	}
	if err != nil {
		return fail(stderr, "serve", err)
	}
	if len(pos) > 0 {
		return fail(stderr, "serve", usagef("unexpected argument %q (the zone is given with --zone FILE)", pos[0]))
	}
	if *zonePath == "" {
		return fail(stderr, "serve", usagef("no zone file (give --zone FILE)"))
	}
	data, err := readZoneFile(*zonePath)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	zone, err := parseZone(*zonePath, data)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	fromFile, err := zoneFaults(*zonePath, data)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	// The file's directives first, so that flags add to them.
	all := append(fromFile, faults...)

	srv, err := spftest.StartServerAt(*listen, zone)
	if err != nil {
		return fail(stderr, "serve", usagef("--listen %s: %v", *listen, strings.TrimPrefix(err.Error(), "spftest: ")))
	}
	defer srv.Close()
	for name, f := range mergeFaults(all) {
		srv.SetFault(name, f)
	}
	if *addrFile != "" {
		if err := writeFileWhole(*addrFile, srv.Addr+"\n"); err != nil {
			return fail(stderr, "serve", usagef("--addr-file: %v", err))
		}
	}
	fmt.Fprintf(stdout, "listening on %s\n", srv.Addr)
	if ap, err := netip.ParseAddrPort(srv.Addr); err == nil && !ap.Addr().IsLoopback() {
		fmt.Fprintf(stderr, "spf serve: warning: %s is not a loopback address: anyone who can reach it can query the zone\n", ap.Addr())
	}
	for _, f := range all {
		fmt.Fprintf(stdout, "fault: %s\n", f)
	}
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "spf serve: stopping: %v\n", err)
	}
	if *logQueries {
		for _, q := range srv.Queries() {
			network := "udp"
			if q.TCP {
				network = "tcp"
			}
			fmt.Fprintf(stdout, "query %s %s %s\n", q.Type, printableName(q.Name), network)
		}
	}
	fmt.Fprintf(stdout, "stopped after %d queries\n", srv.Total())
	return 0
}

// printableName returns a name from a query as it is when it is printable
// ASCII without spaces or quotes, and quoted with Go escapes otherwise, so
// that no client can write control characters to the terminal.
func printableName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.QuoteToASCII(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}

// A serveFault is one fault for one name, from a flag or the zone file.
type serveFault struct {
	kind  string // drop, servfail, refused, truncate, delay or forge
	name  string // "*" for every name
	delay time.Duration
}

func (f serveFault) String() string {
	if f.kind == "delay" {
		return fmt.Sprintf("delay %s %s", f.name, f.delay)
	}
	return f.kind + " " + f.name
}

// newServeFault validates a fault; arg is the delay's duration.
func newServeFault(kind, name, arg string) (serveFault, error) {
	f := serveFault{kind: kind, name: name}
	if name != "*" {
		if err := checkFaultName(name); err != nil {
			return f, err
		}
	}
	switch kind {
	case "delay":
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 || d > maxServeDelay {
			return f, fmt.Errorf("the delay of %s must be a duration between 0 and %s, such as 500ms or 2s, not %q", name, maxServeDelay, arg)
		}
		f.delay = d
	case "drop", "servfail", "refused", "truncate", "forge":
		if arg != "" {
			return f, fmt.Errorf("%s takes a name only, not %q", kind, arg)
		}
	default:
		return f, fmt.Errorf("unknown fault %q (want drop, servfail, refused, truncate, delay or forge)", kind)
	}
	return f, nil
}

// checkFaultName rejects what cannot be a DNS name: the server would
// never see a query for it.
func checkFaultName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 || strings.Contains(n, "..") {
		return fmt.Errorf("%q is not a domain name", name)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%q is not a domain name", name)
		}
	}
	return nil
}

// mergeFaults turns the faults into one spftest.Fault per name.
func mergeFaults(faults []serveFault) map[string]spftest.Fault {
	m := make(map[string]spftest.Fault)
	for _, sf := range faults {
		name := sf.name
		if name == "*" {
			name = ""
		}
		f := m[name]
		switch sf.kind {
		case "drop":
			f.Drop = true
		case "servfail":
			f.RCode = 2 // RFC 1035 section 4.1.1
		case "refused":
			f.RCode = 5
		case "truncate":
			f.Truncate = true
		case "delay":
			f.Delay = sf.delay
		case "forge":
			f.Forge = true
		}
		m[name] = f
	}
	return m
}

// faultFlags collects the fault flags in the order given.
type faultFlags []serveFault

// A faultFlag is one of the fault flags.
type faultFlag struct {
	faults *faultFlags
	kind   string
}

func (f *faultFlag) String() string { return "" }

func (f *faultFlag) Set(v string) error {
	name, arg := v, ""
	if f.kind == "delay" {
		var ok bool
		name, arg, ok = strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want NAME=DURATION, such as example.com=2s")
		}
	}
	sf, err := newServeFault(f.kind, name, arg)
	if err != nil {
		return err
	}
	*f.faults = append(*f.faults, sf)
	return nil
}

// serveDirective starts a fault directive in a zone file's comment.
const serveDirective = "spf-serve:"

// zoneFaults reads the "; spf-serve: KIND NAME [ARG]" directives of a
// zone file.
func zoneFaults(path string, data []byte) ([]serveFault, error) {
	var faults []serveFault
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		comment, ok := strings.CutPrefix(line, ";")
		if !ok {
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimLeft(comment, "; \t"), serveDirective)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 2 || len(fields) > 3 {
			return nil, usagef("zone file %s, line %d: a fault is \"; %s KIND NAME\" (or \"delay NAME DURATION\")", path, n, serveDirective)
		}
		arg := ""
		if len(fields) == 3 {
			arg = fields[2]
		}
		f, err := newServeFault(fields[0], fields[1], arg)
		if err != nil {
			return nil, usagef("zone file %s, line %d: %v", path, n, err)
		}
		faults = append(faults, f)
	}
	return faults, sc.Err()
}

// writeFileWhole writes s to path so that a reader sees all of it or
// nothing: into a file beside it, then renamed.
func writeFileWhole(path, s string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".spf-serve-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(s)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
