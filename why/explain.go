// Package why explains an SPF (RFC 7208) outcome in plain words, for the
// sender whose mail was refused and for the owner of the domain, and serves
// the explanation as a "Why?" web page that a receiver can host (see
// [Handler]).
//
// An [Explanation] is built from an [spf.Outcome] and the [spf.Event]
// stream of its check: who received what from whom, what the domain's
// policy says about the client's address, and what the domain's owner can
// do about it. [Explain] runs one check and builds it; [New] builds it from
// an outcome and events the caller collected.
//
// Every string in an Explanation that comes from the SMTP client or from
// DNS is cut to a bounded length and has control and non-ASCII bytes
// replaced with "?", so its text form can be written to a terminal as is;
// the HTML page escapes it again with html/template.
//
// The package is apart from package spf so that a program that only checks
// SPF compiles none of net/http.
package why

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
)

// The caps on the strings of an [Explanation] (in bytes, after cleaning).
const (
	maxName   = 320  // a sender address, a domain or HELO name, a term
	maxRecord = 1024 // an SPF record or an explanation from DNS
	maxEvents = 4096 // events kept from one check
)

// An Explanation is an SPF outcome in plain words, with the facts it was
// built from. The JSON names are part of the API. Every string is printable
// US-ASCII.
type Explanation struct {
	// Result is the result's name ("fail", "none", ...).
	Result string `json:"result"`
	// Identity is the identity checked, "mailfrom" or "helo".
	Identity string `json:"identity"`
	// Receiver is the name of the receiving host (%{r}), "unknown" where
	// it was not configured.
	Receiver string `json:"receiver"`
	// ClientIP is the SMTP client's address.
	ClientIP string `json:"client_ip"`
	// HELO is the name the client gave in HELO/EHLO.
	HELO string `json:"helo,omitempty"`
	// Sender is the MAIL FROM address, empty for the null sender.
	Sender string `json:"sender,omitempty"`
	// Domain is the domain whose policy was checked.
	Domain string `json:"domain"`
	// Record is Domain's SPF record, empty where it has none, or more
	// than one.
	Record string `json:"record,omitempty"`
	// Records lists the SPF records of Domain when it publishes more
	// than one (RFC 7208 section 4.5).
	Records []string `json:"records,omitempty"`
	// Term is the term that decided the result.
	Term string `json:"term,omitempty"`
	// TermDomain is the domain whose record holds Term.
	TermDomain string `json:"term_domain,omitempty"`
	// DefaultAll is true when Term is an "all" that applied because no
	// other term matched.
	DefaultAll bool `json:"default_all,omitempty"`
	// DomainExplanation is the explanation of a fail: the domain's own
	// (exp=, RFC 7208 section 6.2) or the receiver's default.
	DomainExplanation string `json:"domain_explanation,omitempty"`
	// ExplanationFromDomain reports that DomainExplanation is the
	// domain's own.
	ExplanationFromDomain bool `json:"explanation_from_domain,omitempty"`
	// Problem is the error of a temperror or permerror.
	Problem string `json:"problem,omitempty"`
	// Cause is a short name of Problem: "syntax", "too-many-lookups",
	// "too-many-void-lookups", "too-many-mx-names", "multiple-records",
	// "no-target-record", "dns", "invalid-input" or "other".
	Cause string `json:"cause,omitempty"`
	// ProblemTerm is the term a permerror points at, where one does.
	ProblemTerm string `json:"problem_term,omitempty"`
	// FailedLookup is the DNS query that failed in a temperror, such as
	// "TXT example.com".
	FailedLookup string `json:"failed_lookup,omitempty"`
	// Lookups counts the DNS-querying terms at the end of the check (RFC
	// 7208 section 4.6.4).
	Lookups int `json:"lookups"`
	// MaxLookups is the limit of Lookups.
	MaxLookups int `json:"max_lookups"`
	// VoidLookups counts the lookups that found nothing at the end of the
	// check (RFC 7208 section 4.6.4).
	VoidLookups int `json:"void_lookups"`
	// MaxVoidLookups is the limit of VoidLookups.
	MaxVoidLookups int `json:"max_void_lookups"`
	// Spend lists the terms of Domain's record (and of a redirect's
	// target) that made DNS-querying lookups, with how many each spent,
	// includes counting those of the records they include.
	Spend []Spend `json:"spend,omitempty"`
	// VoidTerms lists the terms whose lookups found nothing.
	VoidTerms []string `json:"void_terms,omitempty"`
	// Summary says who received what from whom, in plain English.
	Summary string `json:"summary"`
	// Policy says what the domain's policy says about the client, in
	// plain English.
	Policy string `json:"policy"`
	// Advice says what the domain's owner (or the sender) can do, in
	// plain English sentences.
	Advice []string `json:"advice"`
}

// A Spend is one term and the DNS-querying lookups it spent of the limit
// of 10 (RFC 7208 section 4.6.4).
type Spend struct {
	// Term is the term, as written in its record.
	Term string `json:"term"`
	// Domain is the domain whose record holds Term.
	Domain string `json:"domain"`
	// Lookups is how many lookups Term spent.
	Lookups int `json:"lookups"`
}

// A Query is one check to explain: the client at IP that said HELO, with
// the MAIL FROM address Sender, or with HELOOnly the HELO identity alone.
type Query struct {
	// IP is the client's address.
	IP netip.Addr
	// HELO is the name the client gave in HELO/EHLO.
	HELO string
	// Sender is the MAIL FROM address; empty for the null sender.
	Sender string
	// HELOOnly checks the HELO identity alone.
	HELOOnly bool
}

// Explain runs one check of q with a copy of c (the zero Checker if c is
// nil) whose Trace collects the events, and explains the outcome. A Trace
// of c is still called with every event. The error is that of the check:
// non-nil exactly for a temperror or permerror, which the Explanation
// explains too.
func Explain(ctx context.Context, c *spf.Checker, q Query) (*Explanation, error) {
	var cc spf.Checker
	if c != nil {
		cc = *c
	}
	var events []spf.Event
	outer := cc.Trace
	cc.Trace = func(ev spf.Event) {
		if len(events) < maxEvents {
			events = append(events, ev)
		}
		if outer != nil {
			outer(ev)
		}
	}
	var (
		out spf.Outcome
		err error
	)
	if q.HELOOnly {
		out, err = cc.CheckHELO(ctx, q.IP, q.HELO)
	} else {
		out, err = cc.Check(ctx, q.IP, q.HELO, q.Sender)
	}
	e := New(&out, events)
	e.MaxLookups, e.MaxVoidLookups = limit(c, true), limit(c, false)
	return e, err
}

// limit returns the lookup limit (or, with !all, the void lookup limit)
// of c.
func limit(c *spf.Checker, all bool) int {
	switch {
	case c != nil && all && c.MaxLookups > 0:
		return c.MaxLookups
	case c != nil && !all && c.MaxVoidLookups > 0:
		return c.MaxVoidLookups
	case all:
		return spf.DefaultMaxLookups
	}
	return spf.DefaultMaxVoidLookups
}

// New explains out, using events, the trace of its check in the order
// [spf.Checker.Trace] reported them (nil gives an explanation with fewer
// details). It assumes the default lookup limits; [Explain] sets those of
// its Checker.
func New(out *spf.Outcome, events []spf.Event) *Explanation {
	e := &Explanation{
		Result:                out.Result.String(),
		Identity:              out.Identity.String(),
		Receiver:              clean(out.Receiver, maxName),
		HELO:                  clean(out.HELO, maxName),
		Sender:                clean(out.Sender, maxName),
		Domain:                clean(out.Domain, maxName),
		Term:                  clean(out.Mechanism, maxName),
		TermDomain:            clean(out.MechanismDomain, maxName),
		DomainExplanation:     clean(out.Explanation, maxRecord),
		ExplanationFromDomain: out.ExplanationFromDomain,
		Lookups:               out.Lookups,
		MaxLookups:            spf.DefaultMaxLookups,
		VoidLookups:           out.VoidLookups,
		MaxVoidLookups:        spf.DefaultMaxVoidLookups,
	}
	if e.Receiver == "" {
		e.Receiver = "unknown"
	}
	if out.ClientIP.IsValid() {
		e.ClientIP = out.ClientIP.String()
	}
	e.readEvents(out, events)
	if out.Problem != nil {
		e.Problem = clean(strings.TrimPrefix(out.Problem.Error(), "spf: "), maxRecord)
		e.Cause, e.ProblemTerm = cause(out.Problem)
	}
	if e.Term != "" && isAll(e.Term) {
		e.DefaultAll = true
	}
	e.Summary = e.summary()
	e.Policy = e.policy()
	e.Advice = e.advice()
	return e
}

// readEvents takes the record, the lookups each term spent, the void
// terms and the failed query from the trace.
func (e *Explanation) readEvents(out *spf.Outcome, events []spf.Event) {
	spent, voids := 0, 0
	redirect := -1 // index in e.Spend of a redirect of the top record
	for i := range events {
		ev := &events[i]
		switch ev.Kind {
		case spf.EventQuery:
			if ev.Err != nil && e.FailedLookup == "" && errors.Is(ev.Err, spf.ErrDNS) {
				e.FailedLookup = clean(ev.Type.String()+" "+ev.Name, maxName)
			}
			if ev.Depth == 0 && ev.Type == spf.TypeTXT && ev.Response != nil && strings.EqualFold(ev.Name, out.Domain) && e.Records == nil {
				for _, t := range ev.Response.TXT {
					if isSPF(t) && len(e.Records) < 8 {
						e.Records = append(e.Records, clean(t, maxRecord))
					}
				}
			}
		case spf.EventRecord:
			if ev.Depth == 0 && e.Record == "" {
				e.Record = clean(ev.Record, maxRecord)
			}
		case spf.EventTerm:
			if ev.VoidLookups > voids && len(e.VoidTerms) < 16 {
				e.VoidTerms = append(e.VoidTerms, clean(ev.Term, maxName))
			}
			voids = ev.VoidLookups
			if ev.Depth != 0 {
				continue
			}
			isRedirect := len(ev.Term) >= 9 && strings.EqualFold(ev.Term[:9], "redirect=")
			if n := ev.Lookups - spent; (n > 0 || isRedirect) && len(e.Spend) < 64 {
				if isRedirect {
					redirect = len(e.Spend)
				}
				e.Spend = append(e.Spend, Spend{Term: clean(ev.Term, maxName), Domain: clean(ev.Domain, maxName), Lookups: n})
			}
			spent = ev.Lookups
		}
	}
	// A redirect is reported before its target is evaluated: what the
	// target spent comes after its term.
	if redirect >= 0 && out.Lookups > spent {
		e.Spend[redirect].Lookups += out.Lookups - spent
	}
	if len(e.Records) < 2 {
		e.Records = nil
	}
}

// cause names the problem of a temperror or permerror, and the term it
// points at.
func cause(err error) (name, term string) {
	var syn *spf.SyntaxError
	switch {
	case errors.As(err, &syn):
		return "syntax", clean(syn.Term, maxName)
	case errors.Is(err, spf.ErrTooManyLookups):
		return "too-many-lookups", quotedTerm(err)
	case errors.Is(err, spf.ErrTooManyVoidLookups):
		return "too-many-void-lookups", quotedTerm(err)
	case errors.Is(err, spf.ErrTooManyMXNames):
		return "too-many-mx-names", quotedTerm(err)
	case errors.Is(err, spf.ErrMultipleRecords):
		return "multiple-records", ""
	case errors.Is(err, spf.ErrNoTargetRecord):
		return "no-target-record", targetTerm(err.Error())
	case errors.Is(err, spf.ErrDNS):
		return "dns", ""
	case errors.Is(err, spf.ErrInvalidInput):
		return "invalid-input", ""
	}
	return "other", ""
}

// quotedTerm returns the first double-quoted part of err's text, where the
// limit errors name their term.
func quotedTerm(err error) string {
	msg := err.Error()
	i := strings.IndexByte(msg, '"')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(msg[i+1:], '"')
	if j < 0 {
		return ""
	}
	return clean(msg[i+1:i+1+j], maxName)
}

// targetTerm returns the include: or redirect= term an ErrNoTargetRecord
// message names.
func targetTerm(msg string) string {
	for _, f := range strings.Fields(msg) {
		l := strings.ToLower(f)
		if strings.HasPrefix(l, "include:") || strings.HasPrefix(l, "redirect=") {
			return clean(f, maxName)
		}
	}
	return ""
}

// isSPF reports whether a TXT record is an SPF record (RFC 7208 section 4.5).
func isSPF(t string) bool {
	return len(t) >= 6 && strings.EqualFold(t[:6], "v=spf1") && (len(t) == 6 || t[6] == ' ')
}

// isAll reports whether term is the all mechanism with any qualifier.
func isAll(term string) bool {
	return strings.EqualFold(strings.TrimLeft(term, "+-~?"), "all")
}

// clean returns s with every byte that is not printable US-ASCII replaced
// with "?", cut to at most max bytes (ending in "..." when cut).
func clean(s string, max int) string {
	cut := len(s) > max
	if cut {
		s = s[:max-3]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	if cut {
		b = append(b, "..."...)
	}
	return string(b)
}

// who returns the claimed identity in words.
func (e *Explanation) who() string {
	switch {
	case e.Identity == "helo":
		return "the HELO name " + e.HELO
	case e.Sender == "":
		return "the null sender"
	}
	return "the envelope sender address " + e.Sender
}

func (e *Explanation) summary() string {
	var b strings.Builder
	if e.Receiver == "unknown" {
		b.WriteString("A mail server received a message")
	} else {
		b.WriteString("The mail server " + e.Receiver + " received a message")
	}
	b.WriteString(" from the client at " + e.ClientIP)
	if e.HELO != "" {
		b.WriteString(", which introduced itself as " + e.HELO + ",")
	}
	if e.Identity == "helo" {
		b.WriteString(" and checked that HELO name with SPF.")
	} else {
		b.WriteString(" that claimed " + e.who() + ".")
	}
	if e.Cause == "invalid-input" {
		fmt.Fprintf(&b, " No SPF check could be made with that input; the answer is %q.", e.Result)
		return b.String()
	}
	fmt.Fprintf(&b, " SPF asks the domain %s whether %s may send its mail; the answer is %q.", orUnknown(e.Domain), e.ClientIP, e.Result)
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (e *Explanation) policy() string {
	d := e.Domain
	if e.Cause == "invalid-input" {
		// The caller's mistake (an invalid IP address or sender), not the
		// domain's: no policy was read.
		return "No check could be made: " + e.Problem + "."
	}
	switch e.Result {
	case "none":
		if e.Domain == "" || strings.Count(e.Domain, ".") == 0 {
			return "The name " + orUnknown(d) + " is not a domain that can publish an SPF policy."
		}
		return "The domain " + d + " has not published an SPF policy: it has no TXT record that starts with \"v=spf1\"."
	case "temperror":
		if e.FailedLookup != "" {
			return "The policy of " + d + " could not be read because the DNS lookup " + e.FailedLookup + " failed (" + e.Problem + ")."
		}
		return "The policy of " + d + " could not be read because a DNS lookup failed (" + e.Problem + ")."
	case "permerror":
		return e.permPolicy()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The domain %s publishes the SPF record \"%s\".", d, e.Record)
	in := ""
	if e.TermDomain != "" && e.TermDomain != d {
		in = " in the record of " + e.TermDomain
	}
	switch {
	case e.Term == "":
		b.WriteString(" No term of it matched " + e.ClientIP + " and it has no \"all\", so the result is neutral by default.")
	case e.DefaultAll:
		fmt.Fprintf(&b, " No term of it matched %s, so the final %q%s applied: %s.", e.ClientIP, e.Term, in, meaning(e.Result))
	default:
		fmt.Fprintf(&b, " The term %q%s matched %s: %s.", e.Term, in, e.ClientIP, meaning(e.Result))
	}
	switch {
	case e.DomainExplanation != "" && e.ExplanationFromDomain:
		fmt.Fprintf(&b, " The domain's own explanation: \"%s\"", e.DomainExplanation)
	case e.DomainExplanation != "":
		fmt.Fprintf(&b, " The receiver's explanation: \"%s\"", e.DomainExplanation)
	}
	return b.String()
}

// meaning says what a result means for the client.
func meaning(r string) string {
	switch r {
	case "pass":
		return "the client is authorized to send mail for the domain"
	case "fail":
		return "the client is not authorized to send mail for the domain"
	case "softfail":
		return "the client is probably not authorized, but the domain does not ask receivers to refuse its mail"
	case "neutral":
		return "the domain makes no statement about the client"
	}
	return r
}

func (e *Explanation) permPolicy() string {
	d := e.Domain
	s := "The SPF policy of " + d + " has an error, so receivers cannot use it (a permanent error): "
	switch e.Cause {
	case "syntax":
		if e.ProblemTerm != "" {
			return s + fmt.Sprintf("the term %q does not follow the syntax of RFC 7208 (%s).", e.ProblemTerm, e.Problem)
		}
		return s + "a record does not follow the syntax of RFC 7208 (" + e.Problem + ")."
	case "too-many-lookups":
		return s + fmt.Sprintf("checking it needs more than %d DNS-querying terms (include, a, mx, ptr, exists, redirect), the limit of RFC 7208 section 4.6.4.%s", e.MaxLookups, e.spendText())
	case "too-many-void-lookups":
		v := ""
		if len(e.VoidTerms) > 0 {
			v = " The terms that found nothing: " + strings.Join(e.VoidTerms, ", ") + "."
		}
		return s + fmt.Sprintf("more than %d of its lookups found no such name or no data, the limit of RFC 7208 section 4.6.4.%s", e.MaxVoidLookups, v)
	case "too-many-mx-names":
		return s + fmt.Sprintf("the term %q names a domain with more than 10 MX hosts, the limit of RFC 7208 section 4.6.4.", e.ProblemTerm)
	case "multiple-records":
		return s + fmt.Sprintf("it publishes %s SPF records, and RFC 7208 section 4.5 allows only one.", count(len(e.Records), "two or more"))
	case "no-target-record":
		if e.ProblemTerm != "" {
			return s + fmt.Sprintf("the term %q points at a domain that publishes no SPF record.", e.ProblemTerm)
		}
		return s + "an include or redirect points at a domain that publishes no SPF record."
	}
	return s + e.Problem + "."
}

func count(n int, zero string) string {
	if n == 0 {
		return zero
	}
	return fmt.Sprint(n)
}

// spendText lists the lookups each term spent.
func (e *Explanation) spendText() string {
	if len(e.Spend) == 0 {
		return ""
	}
	parts := make([]string, 0, len(e.Spend))
	for _, s := range e.Spend {
		parts = append(parts, fmt.Sprintf("%s %d", s.Term, s.Lookups))
	}
	t := fmt.Sprintf(" Where the lookups went before the check stopped (%d of %d): %s.", e.Lookups, e.MaxLookups, strings.Join(parts, ", "))
	if e.ProblemTerm != "" {
		t += fmt.Sprintf(" The term %q would have been one more.", e.ProblemTerm)
	}
	return t
}

func (e *Explanation) advice() []string {
	d, ip := e.Domain, e.ClientIP
	mech := "ip4:" + ip
	if strings.Contains(ip, ":") {
		mech = "ip6:" + ip
	}
	if e.Cause == "invalid-input" {
		return []string{"The check needs the client's IP address and an envelope sender that an address can be; the receiver's mail server must pass them as they were given in the SMTP session."}
	}
	switch e.Result {
	case "fail":
		return []string{
			"If " + ip + " is a server that should send mail for " + d + ", the owner of " + d + " can add it to the record (for example \"" + mech + "\" before the \"all\"), or, if it belongs to a mail provider, add the include: term the provider documents.",
			"If " + ip + " has nothing to do with " + d + ", someone else is using " + orSender(e) + ": the receiver was right to refuse the message, and nothing needs to change.",
			"If you sent the message yourself, send it through the mail servers of " + d + " (or ask its administrator why this one is not listed).",
		}
	case "softfail":
		return []string{
			"The owner of " + d + " says " + ip + " is probably not one of its servers. If it should send mail for " + d + ", add it to the record (for example \"" + mech + "\") or add the provider's include: term.",
			"If it has nothing to do with " + d + ", someone else may be using " + orSender(e) + ".",
		}
	case "neutral":
		return []string{
			"The owner of " + d + " can list " + ip + " in the record if it should send mail for the domain, and end the record with \"-all\" or \"~all\" so that receivers can tell real mail from forgeries.",
		}
	case "pass":
		return []string{
			"Nothing needs to change for SPF: " + ip + " is authorized by " + d + ". If the message was refused, the reason is not SPF.",
		}
	case "none":
		return []string{
			"The owner of " + orUnknown(d) + " can publish an SPF policy: one TXT record at " + orUnknown(d) + " that starts with \"v=spf1\", lists the servers that send its mail and ends with \"-all\" or \"~all\".",
		}
	case "temperror":
		a := []string{"This is usually temporary: the sending server will try again, and the check will run again."}
		if e.FailedLookup != "" {
			a = append(a, "If it lasts, the owner of "+d+" should check that its DNS servers answer the query "+e.FailedLookup+".")
		}
		return a
	case "permerror":
		return e.permAdvice()
	}
	return nil
}

func orSender(e *Explanation) string {
	if e.Identity == "helo" || e.Sender == "" {
		return "the name " + e.HELO
	}
	return "the address " + e.Sender
}

func (e *Explanation) permAdvice() []string {
	d := e.Domain
	switch e.Cause {
	case "syntax":
		return []string{"The owner of " + d + " should fix the record: correct or remove the term " + strconvQuote(e.ProblemTerm) + ". Until then receivers treat its mail as if it had a broken policy, and many refuse it."}
	case "too-many-lookups":
		return []string{
			fmt.Sprintf("The owner of %s should bring the record under %d DNS-querying terms: remove includes of providers it no longer uses, replace a and mx terms with ip4:/ip6: ranges, or ask a provider for a smaller include.", d, e.MaxLookups),
		}
	case "too-many-void-lookups":
		return []string{"The owner of " + d + " should remove the terms that point at names that do not exist or have no records."}
	case "too-many-mx-names":
		return []string{"The owner of " + d + " should replace the mx term with ip4:/ip6: ranges of the servers that send mail."}
	case "multiple-records":
		return []string{"The owner of " + d + " should merge the SPF records into one TXT record that starts with \"v=spf1\", and delete the others."}
	case "no-target-record":
		return []string{"The owner of " + d + " should remove the term " + strconvQuote(e.ProblemTerm) + " or fix the name it points at: the target must publish an SPF record."}
	case "invalid-input":
		return []string{"Give a valid IP address."}
	}
	return []string{"The owner of " + d + " should fix the record so that it follows RFC 7208."}
}

func strconvQuote(s string) string {
	if s == "" {
		return "that fails"
	}
	return fmt.Sprintf("%q", s)
}

// Text returns the explanation as plain text for people: the result, then
// a paragraph each for what happened, what the policy says and what can be
// done, wrapped at 76 columns. It is printable US-ASCII and newlines only.
func (e *Explanation) Text() string {
	var b strings.Builder
	e.WriteText(&b)
	return b.String()
}

// WriteText writes [Explanation.Text] to w.
func (e *Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "SPF result: %s\n\nWhat happened\n", e.Result)
	wrap(&b, e.Summary, "  ", "  ")
	fmt.Fprintf(&b, "\nWhat the policy of %s says\n", orUnknown(e.Domain))
	wrap(&b, e.Policy, "  ", "  ")
	b.WriteString("\nWhat can be done\n")
	for _, a := range e.Advice {
		wrap(&b, a, "  - ", "    ")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap writes text wrapped at 76 columns, the first line after first and
// the others after rest.
func wrap(b *strings.Builder, text, first, rest string) {
	const width = 76
	col := 0
	prefix := first
	for _, word := range strings.Fields(text) {
		if col > 0 && col+1+len(word) > width {
			b.WriteByte('\n')
			col = 0
		}
		if col == 0 {
			b.WriteString(prefix)
			col = len(prefix)
			prefix = rest
		} else {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
	}
	b.WriteByte('\n')
}
