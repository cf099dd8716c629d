package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/internal/escape"
	"github.com/spf-go/spf/received"
)

const messageUsage = `Usage: spf message [flags] [FILE|-]

Message finds the SPF result of a message behind the border, as a spam
filter or delivery agent sees it: it reads the message (or only its header
section) from FILE or standard input, finds in its Received fields the hop
that crossed into the receiver's network (--internal; loopback and
link-local addresses are always internal), reuses a Received-SPF field
that the receiver's own MTA added, and otherwise checks SPF for the border
hop's IP address, HELO name and the envelope sender (Return-Path).

A Received-SPF field is trusted only when it is above the border hop, is a
MAIL FROM result (never a HELO result), and matches the envelope sender
and the border hop's address where they are known; the oldest one wins
unless --newest is given.

The exit status is that of spf check for the result (none 6 when there is
none), 255 for bad usage or unreadable input.

Example:
  spf message --internal 10.0.0.0/8 --zone testdata/demo.zone message.eml

Flags:
`

// prefixesFlag is a repeatable network flag; an address is a /32 or /128.
type prefixesFlag []netip.Prefix

func (p *prefixesFlag) String() string { return fmt.Sprint(*p) }

func (p *prefixesFlag) Set(v string) error {
	pr, ok := parsePrefixOrAddr(v)
	if !ok {
		return fmt.Errorf("not a network or address: %q", v)
	}
	*p = append(*p, pr.Masked())
	return nil
}

// parsePrefixOrAddr parses a prefix, or an address as the prefix of that
// address alone (IPv4-mapped addresses unmapped).
func parsePrefixOrAddr(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func runMessage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("message", flag.ContinueOnError)
	var d dnsFlags
	d.register(fs, "time limit of the check, DNS queries included")
	var internal prefixesFlag
	fs.Var(&internal, "internal", "a `PREFIX` of the receiver's network (repeatable), such as 10.0.0.0/8")
	noCheck := fs.Bool("no-check", false, "only parse; make no DNS query")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of text")
	newest := fs.Bool("newest", false, "reuse the newest trusted Received-SPF field instead of the oldest")
	receiver := fs.String("receiver", "", "this host's `NAME`, for %{r} and the check")
	pos, help, err := parseArgs(fs, args, stdout, messageUsage)
	if help {
		return 0
	}
	if err != nil {
		return fail(stderr, "message", err)
	}
	if len(pos) > 1 {
		return fail(stderr, "message", usagef("too many arguments: %q (want one FILE or -)", strings.Join(pos, " ")))
	}
	in := stdin
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fail(stderr, "message", usagef("%v", err))
		}
		defer f.Close()
		in = f
	}
	az := &received.Analyzer{Internal: internal, Newest: *newest}
	var watch *watchResolver
	if !*noCheck {
		res, w, err := d.resolver()
		if err != nil {
			return fail(stderr, "message", err)
		}
		watch = w
		az.Checker = &spf.Checker{Resolver: res, Receiver: *receiver, Timeout: d.timeout}
	}
	a, err := az.AnalyzeMessage(context.Background(), in)
	if err != nil {
		return fail(stderr, "message", usagef("%v", strings.TrimPrefix(err.Error(), "received: ")))
	}
	if a.Source == received.SourceCheck {
		if err := watch.deadServer(); err != nil {
			return fail(stderr, "message", err)
		}
	}
	r := newMessageReport(a)
	if *jsonOut {
		if err := writeJSON(stdout, r); err != nil {
			return fail(stderr, "message", err)
		}
	} else {
		r.writeText(stdout)
	}
	return exitStatus(a.Outcome.Result)
}

// A messageReport is the JSON form of an analysis.
type messageReport struct {
	Hops         []hopJSON  `json:"hops"`
	Border       int        `json:"border"`
	BorderStatus string     `json:"border_status"`
	ReceivedSPF  []rspfJSON `json:"received_spf"`
	Source       string     `json:"source"`
	Result       string     `json:"result"`
	Identity     string     `json:"identity"`
	Domain       string     `json:"domain"`
	Problem      string     `json:"problem,omitempty"`
	used         int        // the index of the Received-SPF field reused, or -1
}

type hopJSON struct {
	IP           string `json:"ip"`
	RDNS         string `json:"rdns"`
	HELO         string `json:"helo"`
	By           string `json:"by"`
	EnvelopeFrom string `json:"envelope_from"`
	ID           string `json:"id"`
	With         string `json:"with"`
	Auth         string `json:"auth"`
	Internal     bool   `json:"internal"`
	Error        string `json:"error,omitempty"`
}

type rspfJSON struct {
	Result       string `json:"result"`
	Identity     string `json:"identity"`
	ClientIP     string `json:"client_ip"`
	EnvelopeFrom string `json:"envelope_from"`
	HELO         string `json:"helo"`
	Receiver     string `json:"receiver"`
	Trusted      bool   `json:"trusted"`
	Why          string `json:"why,omitempty"`
	Error        string `json:"error,omitempty"`
}

// addrString returns a's text, or "" for the zero Addr.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), "received: ")
}

func newMessageReport(a *received.Analysis) *messageReport {
	r := &messageReport{
		Hops:         []hopJSON{},
		Border:       a.Border,
		BorderStatus: a.Status.String(),
		ReceivedSPF:  []rspfJSON{},
		Source:       string(a.Source),
		Result:       a.Outcome.Result.String(),
		used:         a.Used,
	}
	for _, h := range a.Hops {
		r.Hops = append(r.Hops, hopJSON{
			IP: addrString(h.IP), RDNS: h.RDNS, HELO: h.HELO, By: h.By, EnvelopeFrom: h.EnvelopeFrom,
			ID: h.ID, With: h.With, Auth: h.Auth, Internal: h.Internal, Error: errString(h.Err),
		})
	}
	for _, f := range a.ReceivedSPF {
		j := rspfJSON{Trusted: f.Trusted, Why: f.Why, Error: errString(f.Err)}
		if f.Err == nil {
			j.Result, j.Identity, j.ClientIP = f.Result.String(), f.Identity, addrString(f.ClientIP)
			j.EnvelopeFrom, j.HELO, j.Receiver = f.EnvelopeFrom, f.HELO, f.Receiver
		}
		r.ReceivedSPF = append(r.ReceivedSPF, j)
	}
	if a.Source != received.SourceNone {
		r.Identity, r.Domain = a.Outcome.Identity.String(), a.Outcome.Domain
	}
	if a.Outcome.Problem != nil {
		r.Problem = a.Outcome.Problem.Error()
	}
	return r
}

// writeText writes the report for people. Every string from the message
// goes through escape.Terminal.
func (r *messageReport) writeText(w io.Writer) {
	for i, h := range r.Hops {
		if h.Error != "" {
			fmt.Fprintf(w, "hop %d:  unreadable: %s\n", i, escape.Terminal(h.Error))
			continue
		}
		var b strings.Builder
		add := func(label, v string) {
			if v != "" {
				fmt.Fprintf(&b, " %s %s", label, escape.Terminal(v))
			}
		}
		add("ip", h.IP)
		add("rdns", h.RDNS)
		add("helo", h.HELO)
		add("by", h.By)
		add("envelope-from", h.EnvelopeFrom)
		add("with", h.With)
		add("id", h.ID)
		add("auth", h.Auth)
		where := "outside"
		if h.Internal {
			where = "internal"
		}
		fmt.Fprintf(w, "hop %d:%s (%s)\n", i, b.String(), where)
	}
	if r.Border >= 0 {
		fmt.Fprintf(w, "border:       hop %d\n", r.Border)
	} else {
		fmt.Fprintf(w, "border:       none (%s)\n", r.BorderStatus)
	}
	for i, f := range r.ReceivedSPF {
		switch {
		case f.Error != "":
			fmt.Fprintf(w, "received-spf %d: unreadable: %s\n", i, escape.Terminal(f.Error))
		default:
			trust := "trusted"
			switch {
			case !f.Trusted:
				trust = "not trusted: " + escape.Terminal(f.Why) // it may quote the field
			case i == r.used:
				trust = "trusted, used"
			}
			var b strings.Builder
			for _, kv := range [][2]string{{"identity", f.Identity}, {"client-ip", f.ClientIP}, {"envelope-from", f.EnvelopeFrom}, {"helo", f.HELO}} {
				if kv[1] != "" {
					fmt.Fprintf(&b, " %s=%s", kv[0], escape.Terminal(kv[1]))
				}
			}
			fmt.Fprintf(w, "received-spf %d: %s%s (%s)\n", i, escape.Terminal(f.Result), b.String(), trust)
		}
	}
	fmt.Fprintf(w, "source:       %s\n", r.Source)
	fmt.Fprintf(w, "result:       %s\n", r.Result)
	if r.Identity != "" {
		fmt.Fprintf(w, "identity:     %s (domain %s)\n", r.Identity, escape.Terminal(r.Domain))
	}
	if r.Problem != "" {
		fmt.Fprintf(w, "problem:      %s\n", escape.Terminal(r.Problem))
	}
}
