package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
)

// borderFlags are the receiver's settings around check_host() (the
// border settings of spf.Checker and spf.Policy).
type borderFlags struct {
	relays     []netip.Prefix
	forwarders []string
	localRules *spf.LocalRules
	bestGuess  *spf.Record
	allow      []string
	reportOnly bool
}

func (b *borderFlags) register(fs *flag.FlagSet) {
	fs.Func("trusted-relay", "do not check clients in `PREFIX` (a secondary MX, a gateway); repeatable", func(s string) error {
		p, ok := parsePrefixOrAddr(s) // message.go
		if !ok {
			return fmt.Errorf("not a prefix or address: %q", s)
		}
		b.relays = append(b.relays, p)
		return nil
	})
	fs.Func("forwarder", "trust clients that `DOMAIN`'s SPF record passes or whose validated PTR name is under it; repeatable", func(s string) error {
		b.forwarders = append(b.forwarders, s)
		return nil
	})
	fs.Func("local-rules", "SPF `TERMS` trusted for every domain, evaluated before the record's first all", func(s string) error {
		l, err := spf.ParseLocalRules(s)
		if err != nil {
			return err
		}
		b.localRules = l
		return nil
	})
	fs.Var(bestGuessFlag{&b.bestGuess}, "best-guess", "for a domain without a record, evaluate a guess (--best-guess=RECORD, or \""+spf.DefaultBestGuess+"\") and report it beside the result, never as the result")
	fs.Func("allow", "report a sender that matches `PATTERN` (*@example.com, *@*.example.com, news@example.org) and passes; repeatable", func(s string) error {
		if i := strings.LastIndexByte(s, '@'); i <= 0 || i == len(s)-1 {
			return fmt.Errorf("not an address pattern: %q", s)
		}
		b.allow = append(b.allow, s)
		return nil
	})
	fs.BoolVar(&b.reportOnly, "report-only", false, "print the verdict of a report-only policy: accept, and what it would have done")
}

// configure sets the Checker's border settings.
func (b *borderFlags) configure(c *spf.Checker) {
	c.TrustedRelays = b.relays
	c.TrustedForwarders = b.forwarders
	c.TrustedForwarderNames = b.forwarders
	c.LocalRules = b.localRules
	c.BestGuess = b.bestGuess
	c.AllowOnPass = b.allow
}

// bestGuessFlag is --best-guess, alone or with =RECORD.
type bestGuessFlag struct{ r **spf.Record }

func (f bestGuessFlag) IsBoolFlag() bool { return true }

func (f bestGuessFlag) String() string {
	if f.r == nil || *f.r == nil {
		return ""
	}
	return (*f.r).String()
}

func (f bestGuessFlag) Set(s string) error {
	switch s {
	case "true":
		*f.r = spf.DefaultBestGuessRecord()
	case "false":
		*f.r = nil
	default:
		r, err := spf.Parse(s)
		if err != nil {
			return err
		}
		*f.r = r
	}
	return nil
}

// A borderAnswer is what the border settings add to an answer.
type borderAnswer struct {
	// Skipped is why the check was skipped: "" or a reason that starts
	// with "trusted relay", "trusted forwarder" or "trusted HELO name".
	Skipped string `json:"skipped"`
	// LocalRule is true when the deciding term came from --local-rules.
	LocalRule bool `json:"local_rule"`
	// BestGuess is the result of the guess, only when one was made.
	BestGuess string `json:"best_guess,omitempty"`
	// Allowed is the --allow pattern that allowed the sender.
	Allowed string `json:"allowed"`
	// Verdict is the verdict of a report-only policy (--report-only).
	Verdict *reportVerdict `json:"verdict,omitempty"`
}

// reportVerdict is a verdict under spf.Policy.ReportOnly.
type reportVerdict struct {
	Action string `json:"action"`
	Would  string `json:"would"`
	Reply  string `json:"reply"`
}

// newBorderAnswer returns the border part of the answer of out; with
// reportOnly, the verdict of a report-only default policy too.
func newBorderAnswer(out *spf.Outcome, reportOnly bool) *borderAnswer {
	b := &borderAnswer{Skipped: out.Skipped.String(), LocalRule: out.LocalRule, Allowed: out.Allowed}
	if out.Guessed {
		b.BestGuess = out.BestGuess.String()
	}
	if reportOnly {
		v := spf.Policy{ReportOnly: true}.Verdict(nil, out)
		if out.Identity == spf.IdentityHELO && out.Sender == "" && out.HELO != "" {
			v = spf.Policy{ReportOnly: true}.Verdict(out, nil)
		}
		would := v.Action
		if v.ReportOnly {
			would = v.Would
		}
		b.Verdict = &reportVerdict{Action: v.Action.String(), Would: would.String(), Reply: v.WouldReply()}
	}
	return b
}

// borderOf returns the border part of an answer where the outcome has
// something to say (batch and trace answers), else nil.
func borderOf(out *spf.Outcome) *borderAnswer {
	if out.Skipped == nil && !out.LocalRule && !out.Guessed && out.Allowed == "" {
		return nil
	}
	return newBorderAnswer(out, false)
}

// writeText writes the border lines of the text output.
func (b *borderAnswer) writeText(line func(name, value string)) {
	if b == nil {
		return
	}
	line("skipped", b.Skipped)
	if b.LocalRule {
		line("local rule", "yes, the deciding term is one of --local-rules")
	}
	line("best guess", b.BestGuess)
	line("allowed", b.Allowed)
	if v := b.Verdict; v != nil {
		line("verdict", v.Action+" (report-only; would "+v.Would+")")
		line("would reply", strings.TrimSpace(strings.ReplaceAll(v.Reply, "\r\n", " | ")))
	}
}
