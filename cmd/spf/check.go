package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/internal/escape"
)

const checkUsage = `Usage: spf check [flags] IP SENDER [HELO]
       spf check [flags] --helo-only IP HELO
       spf check [flags] --ip IP --sender ADDR --helo NAME
       spf check [flags] --batch < queries.jsonl

Check evaluates SPF (RFC 7208) for a message from the client at IP with
MAIL FROM SENDER after HELO NAME, and prints the result, the explanation
of a fail, the mechanism that decided it and the Received-SPF header.
An empty sender (--sender "") is the null sender: the HELO identity is
checked, as RFC 7208 section 2.4 says.

The exit status is the result: pass 0, fail 1, softfail 2, neutral 3,
permerror 4, temperror 5, none 6; 255 for bad usage. With --batch it is
0 unless the input cannot be read.

With --batch, each line of standard input is a JSON query such as
  {"ip":"192.0.2.1","helo":"mail.example.org","sender":"a@example.org"}
(with optional "helo_only": true, and "id", any JSON value copied into
the answer), and each answer is a line of JSON, in the order of the
input. A line that is not a valid query gets an answer with "error".

The receiver's settings (--trusted-relay, --forwarder, --local-rules,
--best-guess, --allow, --report-only) are those of a mail server: a
skipped check is none with the reason in "skipped", and a best guess is
reported beside the result, never as it.

Example:
  spf check --zone testdata/demo.zone --ip 198.51.100.7 --sender alice@example.com --helo mail.example.com

Flags:
`

// queryFlags are the inputs of one check, shared by check and trace.
type queryFlags struct {
	dnsFlags
	ip, sender, helo string
	heloOnly         bool
	receiver         string
	senderSet        bool // --sender was given, even if empty
}

func (q *queryFlags) register(fs *flag.FlagSet) {
	q.dnsFlags.register(fs, "time limit of the check, DNS queries included (RFC 7208 section 4.6.4)")
	fs.StringVar(&q.ip, "ip", "", "the client's `IP` address")
	fs.StringVar(&q.sender, "sender", "", "the MAIL FROM `ADDRESS` (empty for the null sender)")
	fs.StringVar(&q.helo, "helo", "", "the `NAME` the client gave in HELO/EHLO")
	fs.BoolVar(&q.heloOnly, "helo-only", false, "check the HELO identity instead of MAIL FROM")
	fs.StringVar(&q.receiver, "receiver", "", "this host's `NAME`, for %{r} and the Received-SPF header")
}

// checker returns a Checker on the resolver the flags choose, with their
// receiver and time limit; watch is that of [dnsFlags.resolver].
func (q *queryFlags) checker() (c *spf.Checker, watch *watchResolver, err error) {
	res, watch, err := q.resolver()
	if err != nil {
		return nil, nil, err
	}
	return &spf.Checker{Resolver: res, Receiver: q.receiver, Timeout: q.timeout}, watch, nil
}

// query is one validated check to make.
type query struct {
	ip       netip.Addr
	sender   string
	helo     string
	heloOnly bool
}

// query completes the flags with the positional arguments IP SENDER
// [HELO] and validates them.
func (q *queryFlags) query(fs *flag.FlagSet, args []string) (query, error) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "sender" {
			q.senderSet = true
		}
	})
	pos := []*string{&q.ip, &q.sender, &q.helo}
	want := "IP SENDER [HELO]"
	if q.heloOnly && len(args) == 2 {
		// --helo-only IP HELO: there is no sender to give.
		pos, want = []*string{&q.ip, &q.helo}, "IP HELO"
	}
	for i, a := range args {
		switch {
		case i >= len(pos):
			return query{}, usagef("too many arguments: %q (want %s)", strings.Join(args[len(pos):], " "), want)
		case *pos[i] != "" || (pos[i] == &q.sender && q.senderSet):
			return query{}, usagef("argument %q: give %s either as flags or as arguments, not both", a, want)
		}
		*pos[i] = a
		if pos[i] == &q.sender {
			q.senderSet = true
		}
	}
	return newQuery(q.ip, q.sender, q.helo, q.heloOnly, q.senderSet, cliInputs())
}

// inputNames says how the user gives each input of a check, for error
// messages: on the command line or in a --batch line.
type inputNames struct {
	ip, sender, helo, heloOnly string
}

// cliInputs are the names of the inputs on the command line.
func cliInputs() inputNames {
	return inputNames{ip: "--ip or IP", sender: "--sender or SENDER", helo: "--helo or HELO", heloOnly: "--helo-only"}
}

// newQuery validates the inputs of one check; in names how they are
// given.
func newQuery(ip, sender, helo string, heloOnly, senderSet bool, in inputNames) (query, error) {
	if ip == "" {
		return query{}, usagef("no client IP address (give %s)", in.ip)
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Zone() != "" {
		return query{}, usagef("invalid IP address %q", ip)
	}
	q := query{ip: addr.Unmap(), sender: sender, helo: helo, heloOnly: heloOnly}
	switch {
	case heloOnly && helo == "":
		return query{}, usagef("%s needs a HELO name (give %s)", in.heloOnly, in.helo)
	case !heloOnly && !senderSet && helo == "":
		return query{}, usagef("no sender (give %s; an empty sender is the null sender)", in.sender)
	case !heloOnly && sender == "" && helo == "":
		return query{}, usagef("the null sender needs a HELO name (give %s)", in.helo)
	}
	if strings.ContainsAny(sender+helo, "\x00\r\n") {
		return query{}, usagef("control characters in the sender or HELO name")
	}
	return q, nil
}

// do runs the check.
func (q query) do(ctx context.Context, c *spf.Checker) spf.Outcome {
	var out spf.Outcome
	if q.heloOnly {
		out, _ = c.CheckHELO(ctx, q.ip, q.helo)
	} else {
		out, _ = c.Check(ctx, q.ip, q.helo, q.sender)
	}
	return out
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var q queryFlags
	q.register(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object instead of text")
	var border borderFlags // border.go
	border.register(fs)
	batch := fs.Bool("batch", false, "read JSON queries from standard input, one a line, and answer each with a line of JSON")
	concurrency := fs.Int("concurrency", 64, "with --batch, how many checks run at once")
	pos, help, err := parseArgs(fs, args, stdout, checkUsage)
	if help {
		return 0
	}
	if err != nil {
		return fail(stderr, "check", err)
	}
	c, watch, err := q.checker()
	if err != nil {
		return fail(stderr, "check", err)
	}
	border.configure(c)
	if *batch {
		if len(pos) > 0 || q.ip != "" || q.sender != "" || q.helo != "" || q.heloOnly {
			return fail(stderr, "check", usagef("--batch reads its queries from standard input; give no IP, sender or HELO"))
		}
		if *concurrency < 1 {
			return fail(stderr, "check", usagef("--concurrency must be at least 1"))
		}
		return runBatch(c, *concurrency, stdin, stdout, stderr)
	}
	qq, err := q.query(fs, pos)
	if err != nil {
		return fail(stderr, "check", err)
	}
	out := qq.do(context.Background(), c)
	if err := watch.deadServer(); err != nil {
		return fail(stderr, "check", err)
	}
	a := newAnswer(&out)
	a.borderAnswer = newBorderAnswer(&out, border.reportOnly)
	if *jsonOut {
		if err := writeJSON(stdout, a); err != nil {
			return fail(stderr, "check", err)
		}
	} else {
		a.writeText(stdout)
	}
	return exitStatus(out.Result)
}

// An answer is the JSON form of an outcome, as --json and --batch write it.
type answer struct {
	ID              json.RawMessage `json:"id,omitempty"`
	Result          string          `json:"result"`
	Identity        string          `json:"identity"`
	IP              string          `json:"ip"`
	HELO            string          `json:"helo"`
	Sender          string          `json:"sender"`
	Domain          string          `json:"domain"`
	Mechanism       string          `json:"mechanism"`
	MechanismDomain string          `json:"mechanism_domain"`
	Explanation     string          `json:"explanation"`
	Problem         string          `json:"problem"`
	Lookups         int             `json:"lookups"`
	VoidLookups     int             `json:"void_lookups"`
	// ReceivedSPF and AuthenticationResults are the header fields of
	// RFC 7208 section 9.1 and RFC 8601, "Name: value", folded with CRLF
	// and a tab.
	ReceivedSPF           string `json:"received_spf"`
	AuthenticationResults string `json:"authentication_results"`
	// The receiver's border settings add these (border.go).
	*borderAnswer
}

func newAnswer(out *spf.Outcome) *answer {
	a := &answer{
		Result:          out.Result.String(),
		Identity:        out.Identity.String(),
		IP:              out.ClientIP.String(),
		HELO:            out.HELO,
		Sender:          out.Sender,
		Domain:          out.Domain,
		Mechanism:       out.Mechanism,
		MechanismDomain: out.MechanismDomain,
		Explanation:     out.Explanation,
		Lookups:         out.Lookups,
		VoidLookups:     out.VoidLookups,
		ReceivedSPF:     out.ReceivedSPF(),
		// The authserv-id is the receiver's name (--receiver).
		AuthenticationResults: spf.AuthenticationResults("", out),
		borderAnswer:          borderOf(out),
	}
	if out.Problem != nil {
		a.Problem = out.Problem.Error()
	}
	return a
}

// writeText writes the answer for people: one "name: value" line per
// field that has a value. Values hold client and DNS text: they go
// through the terminal escaper; the header field is printable ASCII.
func (a *answer) writeText(w io.Writer) {
	line := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "%-13s %s\n", name+":", escape.Terminal(value))
		}
	}
	line("result", a.Result)
	id := a.Identity
	if a.Domain != "" {
		id += " (domain " + a.Domain + ")"
	}
	line("identity", id)
	mech := a.Mechanism
	if mech != "" && a.MechanismDomain != "" && a.MechanismDomain != a.Domain {
		mech += " (in the record of " + a.MechanismDomain + ")"
	}
	line("mechanism", mech)
	line("explanation", a.Explanation)
	line("problem", a.Problem)
	a.borderAnswer.writeText(line) // border.go
	line("lookups", fmt.Sprintf("%d of %d, void lookups %d of %d", a.Lookups, spf.DefaultMaxLookups, a.VoidLookups, spf.DefaultMaxVoidLookups))
	if a.ReceivedSPF != "" {
		fmt.Fprintf(w, "\n%s\n", strings.ReplaceAll(a.ReceivedSPF, "\r\n", "\n"))
	}
}
