// Command spf checks, traces and lints SPF policies (RFC 7208).
//
// Usage:
//
//	spf check [flags] IP SENDER [HELO]   evaluate SPF and print the result
//	spf trace [flags] IP SENDER [HELO]   show the evaluation step by step
//	spf lint [flags] DOMAIN              find what is wrong or risky in a policy
//	spf serve --zone FILE [flags]        answer DNS from a zone file (a test fixture)
//	spf why [flags] IP SENDER [HELO]     explain a result in plain words (--serve: the Why? page)
//	spf message [flags] [FILE|-]         the SPF result of a message, from its Received chain
//	spf --version
//
// Every subcommand answers DNS from the system's resolver, from the
// servers given with --server, or from a zone file given with --zone
// (offline, for reproducible bug reports). Run "spf COMMAND --help" for
// the flags of each.
//
// The exit status of check and trace follows Mail::SPF's spfquery (the
// Perl tool; libspf2's spfquery numbers the results otherwise, and pyspf's
// exits 0): pass 0, fail 1, softfail 2, neutral 3, permerror 4, temperror
// 5, none 6. Usage errors and unreadable input exit with 255; lint exits
// with 1 when it finds errors.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// The exit statuses, those of Mail::SPF's spfquery for the results.
const (
	exitPass      = 0
	exitFail      = 1
	exitSoftFail  = 2
	exitNeutral   = 3
	exitPermError = 4
	exitTempError = 5
	exitNone      = 6
	exitUsage     = 255
)

// exitStatus returns the exit status for a result.
func exitStatus(r spf.Result) int {
	switch r {
	case spf.Pass:
		return exitPass
	case spf.Fail:
		return exitFail
	case spf.SoftFail:
		return exitSoftFail
	case spf.Neutral:
		return exitNeutral
	case spf.PermError:
		return exitPermError
	case spf.TempError:
		return exitTempError
	}
	return exitNone
}

const mainUsage = `spf checks, traces and lints SPF policies (RFC 7208).

Usage:
  spf check [flags] IP SENDER [HELO]   evaluate SPF and print the result
  spf trace [flags] IP SENDER [HELO]   show the evaluation step by step
  spf lint [flags] DOMAIN              find what is wrong or risky in a policy
  spf serve --zone FILE [flags]        answer DNS from a zone file (a test fixture)
  spf why [flags] IP SENDER [HELO]     explain a result in plain words (--serve: the Why? page)
  spf message [flags] [FILE|-]         the SPF result of a message, from its Received chain
  spf --version                        print the version

Example (offline, against the demo zone of the repository):
  spf check --zone testdata/demo.zone --ip 198.51.100.7 --sender alice@example.com --helo mail.example.com

Run "spf COMMAND --help" for the flags of a command.
`

// run is the whole command: it parses args (without the program name),
// does the work and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdin, stdout, stderr)
	case "trace":
		return runTrace(args[1:], stdout, stderr)
	case "lint":
		return runLint(args[1:], stdout, stderr)
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "why":
		return runWhy(args[1:], stdout, stderr)
	case "message":
		return runMessage(args[1:], stdin, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, mainUsage)
		return 0
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "spf %s\n", version())
		return 0
	}
	fmt.Fprintf(stderr, "spf: unknown command %q (want check, trace, lint, serve, why or message; see spf --help)\n", args[0])
	return exitUsage
}

// version returns the module version the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && v == "(devel)" {
			v += " " + s.Value
		}
	}
	return v
}

// A usageError is bad input from the user: a bad flag, argument or file.
// It is reported on one line and exits with status 255.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// fail reports err on one line of stderr, prefixed with the command name,
// and returns the exit status for it.
func fail(stderr io.Writer, cmd string, err error) int {
	msg := err.Error()
	msg = strings.ReplaceAll(msg, "\n", " ")
	fmt.Fprintf(stderr, "spf %s: %s\n", cmd, msg)
	return exitUsage
}

// parseArgs parses flags and positional arguments in any order ("spf
// check 192.0.2.1 --zone z a@example.com"); everything after "--" is
// positional. help is true when -h or --help was given, and usage is then
// printed to stdout.
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer, usage string) (positional []string, help bool, err error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				printFlags(stdout, fs)
				return nil, true, nil
			}
			return nil, false, usagef("%v (see spf %s --help)", err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, false, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), false, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// printFlags lists the flags of fs, with two dashes.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + name
		}
		fmt.Fprintf(w, "  --%s%s\n        %s", f.Name, name, usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty value")
	}
	*s = append(*s, v)
	return nil
}

// dnsFlags are the flags that choose where DNS answers come from.
type dnsFlags struct {
	servers stringsFlag
	zone    string
	timeout time.Duration
}

func (d *dnsFlags) register(fs *flag.FlagSet, timeoutUsage string) {
	fs.Var(&d.servers, "server", "DNS server `HOST:PORT` to ask (repeatable); default: the system's resolver")
	fs.StringVar(&d.zone, "zone", "", "answer DNS from the zone `FILE` instead of the network")
	fs.DurationVar(&d.timeout, "timeout", 20*time.Second, timeoutUsage)
}

// resolver returns the resolver the flags choose. watch is nil for a
// zone file; for the network it tells whether a server answered.
func (d *dnsFlags) resolver() (res spf.Resolver, watch *watchResolver, err error) {
	if d.timeout <= 0 {
		return nil, nil, usagef("--timeout must be positive, not %s", d.timeout)
	}
	if d.zone != "" && len(d.servers) > 0 {
		return nil, nil, usagef("--zone and --server cannot be used together")
	}
	if d.zone != "" {
		z, err := loadZone(d.zone)
		return z, nil, err
	}
	c, w, err := networkResolver(d.servers, d.timeout)
	if err != nil {
		return nil, nil, err
	}
	return c, w, nil
}

// loadZone reads a zone file.
func loadZone(path string) (*spftest.Zone, error) {
	data, err := readZoneFile(path)
	if err != nil {
		return nil, err
	}
	return parseZone(path, data)
}

// readZoneFile reads the zone file at path; its error names the file once.
func readZoneFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, usagef("zone file %s: %v", path, err)
	}
	return data, nil
}

// parseZone parses the zone file text data read from path. Its error
// names the file once, with the line and what is wrong there.
func parseZone(path string, data []byte) (*spftest.Zone, error) {
	z, err := spftest.ParseZone(bytes.NewReader(data), "", path)
	if err != nil {
		// ParseZone says "spftest: zone PATH: " and miekg/dns "PATH: dns: ".
		msg := strings.TrimPrefix(err.Error(), "spftest: ")
		msg = strings.TrimPrefix(msg, "zone "+path+": ")
		msg = strings.TrimPrefix(msg, path+": ")
		msg = strings.TrimPrefix(msg, "dns: ")
		return nil, usagef("zone file %s: %s", path, msg)
	}
	return z, nil
}
