package spf

import (
	"context"
	"net/netip"
	"strings"

	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/escape"
)

// This file holds what a receiver sets at its border around check_host():
// the connections it does not check (trusted relays, trusted forwarders,
// trusted HELO names), the allow-list on SPF pass, the bounce question
// and report-only verdicts. Local rules are in localrules.go and the best
// guess in bestguess.go.

// A SkipReason says why a check was skipped (see [Outcome].Skipped).
type SkipReason uint8

// The reasons a check is skipped. The zero value NotSkipped is in no Skip
// that a Checker makes: a check that was made has Outcome.Skipped nil.
const (
	NotSkipped       SkipReason = iota
	SkipTrustedRelay            // the client is in Checker.TrustedRelays
	SkipTrustedHELO             // the HELO name is in Checker.TrustedHELONames and passes SPF
	SkipForwarderSPF            // a domain of Checker.TrustedForwarders authorizes the client by SPF
	SkipForwarderPTR            // the client's validated PTR name is under a domain of Checker.TrustedForwarderNames
)

// A Skip reports a check that was not made because the receiver trusts
// the connection (Outcome.Skipped). Only Reason and the field it names are
// set.
type Skip struct {
	// Reason says why the check was skipped.
	Reason SkipReason
	// Relay is the prefix of Checker.TrustedRelays that holds the client.
	Relay netip.Prefix
	// Domain is the trusted forwarder's domain or the trusted HELO name
	// that matched, in lower-case A-label form.
	Domain string
	// Name is the client's validated PTR name that is Domain or under it
	// (SkipForwarderPTR).
	Name string
}

// String says why the check was skipped, in words that start with
// "trusted relay", "trusted forwarder" or "trusted HELO name", such as
// "trusted relay 192.0.2.0/24", "trusted forwarder example.net by SPF
// pass" or "trusted forwarder example.net by PTR name mx.example.net";
// "" for nil.
func (s *Skip) String() string {
	if s == nil {
		return ""
	}
	switch s.Reason {
	case SkipTrustedRelay:
		return "trusted relay " + s.Relay.String()
	case SkipTrustedHELO:
		return "trusted HELO name " + s.Domain + " by SPF pass"
	case SkipForwarderSPF:
		return "trusted forwarder " + s.Domain + " by SPF pass"
	case SkipForwarderPTR:
		return "trusted forwarder " + s.Domain + " by PTR name " + s.Name
	}
	return ""
}

// check is the check of Check and CheckHELO with the receiver's border
// settings around check_host(): the skips first, then the evaluation with
// the local rules, then the best guess and the allow-list. All of them
// together stay within the one time limit of the check, Checker.Timeout.
// It fills in *out, and returns its Problem.
func (c *Checker) check(ctx context.Context, out *Outcome, ip netip.Addr, helo, sender string, id Identity, local, domain string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var deadline monoTime // set by the first evaluation that reads the clock
	if skip := c.skip(ctx, ip, helo, sender, &deadline); skip != nil {
		d, _ := normalizeDomain(domain)
		*out = Outcome{
			Result:   None,
			Identity: id,
			ClientIP: ip.Unmap(),
			HELO:     helo,
			Sender:   sender,
			Domain:   d,
			Receiver: c.receiverName(),
			Skipped:  skip,
		}
		return nil
	}
	err := c.evaluate(ctx, out, ip, helo, sender, id, local, domain, &deadline)
	if out.Result == None && c.BestGuess != nil {
		c.bestGuess(ctx, out, local, domain, &deadline)
	}
	out.Allowed = c.allowed(out)
	return err
}

// receiverName is the receiver's name, as %{r} expands it and outcomes
// report it: Checker.Receiver, or "unknown" (RFC 7208 section 7.3).
func (c *Checker) receiverName() string {
	if c.Receiver == "" {
		return "unknown"
	}
	return c.Receiver
}

// skip decides whether the receiver trusts the connection, in the order
// of policyd-spf: trusted relays (no DNS query), trusted HELO names,
// forwarders by SPF, forwarders by PTR name. Each SPF check of a HELO name
// or forwarder is a check_host() of its own, with its own lookup limits
// but the check's deadline; a result other than pass, an error included,
// is no match.
func (c *Checker) skip(ctx context.Context, ip netip.Addr, helo, sender string, deadline *monoTime) *Skip {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return nil
	}
	for _, p := range c.TrustedRelays {
		if p.Contains(ip) {
			return &Skip{Reason: SkipTrustedRelay, Relay: p.Masked()}
		}
	}
	if h, ok := c.trustedHELO(helo); ok {
		// The sender "" is postmaster@<h> (see checkHost), built only
		// if a macro asks for it.
		if o, _ := c.checkHost(ctx, ip, h, "", deadline, true); o.Result == Pass {
			return &Skip{Reason: SkipTrustedHELO, Domain: h}
		}
	}
	for _, f := range c.TrustedForwarders {
		d, ok := normalizeDomain(f)
		if !ok {
			continue
		}
		if o, _ := c.checkHost(ctx, ip, d, sender, deadline, true); o.Result == Pass {
			return &Skip{Reason: SkipForwarderSPF, Domain: d}
		}
	}
	if len(c.TrustedForwarderNames) > 0 {
		return c.skipByPTR(ctx, ip, helo, sender, deadline)
	}
	return nil
}

// trustedHELO returns helo, normalised, if it is one of
// c.TrustedHELONames; with none set it does nothing at all.
func (c *Checker) trustedHELO(helo string) (string, bool) {
	if len(c.TrustedHELONames) == 0 {
		return "", false
	}
	h, ok := normalizeDomain(helo)
	if !ok {
		return "", false
	}
	for _, name := range c.TrustedHELONames {
		if n, _ := normalizeDomain(name); n == h {
			return h, true
		}
	}
	return "", false
}

// skipByPTR finds a validated PTR name of the client (as the ptr
// mechanism does, RFC 7208 section 5.5) that is a domain of
// Checker.TrustedForwarderNames or under it.
func (c *Checker) skipByPTR(ctx context.Context, ip netip.Addr, helo, sender string, deadline *monoTime) *Skip {
	local, senderDomain := splitSender(sender)
	e := c.newEvaluation(ip, helo, sender, local, senderDomain)
	defer e.release()
	e.prefetch = false
	e.memoryFirst()
	if e.startClock(c, deadline) {
		defer e.stopClock(deadline)
	}
	e.ctx = ctx
	e.trace = traceOf(ctx, e.trace) // WithTrace's too, as run does
	names, _, err := e.clientPTR(0)
	if err != nil {
		return nil
	}
	for _, name := range names {
		// A name from DNS must be a valid domain name before it is
		// reported: it goes into headers and logs.
		n := strings.ToLower(strings.TrimSuffix(name, "."))
		if !domain.Raw(n) {
			continue
		}
		for _, f := range c.TrustedForwarderNames {
			d, ok := normalizeDomain(f)
			if !ok || !isSubdomain(n, d) {
				continue
			}
			if e.validate(0, name) { // once a name, whatever matches it
				return &Skip{Reason: SkipForwarderPTR, Domain: d, Name: n}
			}
			break
		}
	}
	return nil
}

// allowed returns the pattern of Checker.AllowOnPass that the sender of
// out matches, where the MAIL FROM result is a pass that the domain's own
// record gave (not a local rule), and "" otherwise.
func (c *Checker) allowed(out *Outcome) string {
	if len(c.AllowOnPass) == 0 || out.Result != Pass || out.Identity != IdentityMailFrom || out.LocalRule || out.Sender == "" {
		return ""
	}
	local, _ := splitSender(out.Sender)
	for _, p := range c.AllowOnPass {
		if matchAllowPattern(p, local, out.Domain) {
			return p
		}
	}
	return ""
}

// matchAllowPattern reports whether the address local@domain (domain in
// lower-case A-label form) matches pattern: "*@example.com" (any local
// part at example.com), "*@*.example.com" (any local part at a subdomain
// of example.com, not example.com itself), "news@example.org" (that
// address; the local part compared exactly, the domain in any case).
func matchAllowPattern(pattern, local, domain string) bool {
	i := strings.LastIndexByte(pattern, '@')
	if i < 0 {
		return false
	}
	pl, pd := pattern[:i], pattern[i+1:]
	if pl != "*" && pl != local {
		return false
	}
	if rest, ok := strings.CutPrefix(pd, "*."); ok {
		d, valid := normalizeDomain(rest)
		return valid && len(domain) > len(d) && isSubdomain(domain, d)
	}
	d, valid := normalizeDomain(pd)
	return valid && d == domain
}

// MayBounce reports whether the receiver may later send a delivery status
// notification (a bounce, RFC 3464) to the envelope sender of a message
// it accepted with this outcome: not for a null sender (RFC 5321 section
// 4.5.5), and not after fail or softfail, where the sender is probably
// forged and the bounce would go to an innocent third party
// (backscatter). A check skipped for a trusted relay or forwarder says
// nothing against the sender, so it may bounce. The better course is to
// reject at SMTP time (see [Policy]), so that the client, not the
// receiver, tells the sender.
func (o *Outcome) MayBounce() bool {
	if o.Sender == "" || o.Identity == IdentityHELO {
		return false
	}
	return o.Result != Fail && o.Result != SoftFail
}

// describeHeader is describe with what the header comments add beside
// the result: the best guess and the allow-list, which replies leave out
// (no verdict depends on them).
func (o *Outcome) describeHeader() string {
	s := o.describe()
	if o.Skipped != nil {
		return s
	}
	if o.Guessed {
		s += ", best guess " + resultToken(o.BestGuess)
	}
	if o.Allowed != "" {
		s += ", sender allowed by " + escape.Comment(o.Allowed, maxHeaderValue)
	}
	return s
}

// describe says in plain words what the check found (see describeResult),
// as header comments and replies write it, with what the receiver's
// border settings changed: a skipped check, a match of a local rule.
func (o *Outcome) describe() string {
	if o.Skipped != nil {
		return "SPF check skipped for " + escape.Comment(o.Skipped.String(), maxHeaderValue)
	}
	if !o.LocalRule {
		return o.describeResult()
	}
	ip := o.ClientIP.String()
	domain := escape.Comment(o.Domain, maxHeaderValue)
	switch o.Result {
	case Pass:
		return ip + " is permitted for " + domain + " by a local rule of the receiver"
	case Fail, SoftFail:
		return ip + " is denied for " + domain + " by a local rule of the receiver"
	}
	return ip + " is neither permitted nor denied for " + domain + " by a local rule of the receiver"
}

// mechanismText is the mechanism= value of Received-SPF: the deciding
// term, marked where it came from the receiver's local rules.
func (o *Outcome) mechanismText() string {
	if o.LocalRule {
		return "local rule " + o.Mechanism
	}
	return o.Mechanism
}

// borderParams returns the Received-SPF keys of the border settings:
// x-skipped, x-bestguess and x-allowed, each where it applies.
func (o *Outcome) borderParams() []HeaderParam {
	var ps []HeaderParam
	if o.Skipped != nil {
		ps = append(ps, HeaderParam{"x-skipped", o.Skipped.String()})
	}
	if o.Guessed {
		ps = append(ps, HeaderParam{"x-bestguess", resultToken(o.BestGuess)})
	}
	if o.Allowed != "" {
		ps = append(ps, HeaderParam{"x-allowed", o.Allowed})
	}
	return ps
}

// skipped reports whether o is the outcome of a skipped check.
func skipped(o *Outcome) bool { return o != nil && o.Skipped != nil }

// border applies the receiver's settings to a verdict: a skipped check is
// judged as if it had not been made (so it never rejects), and under
// ReportOnly a Reject or Defer becomes an Accept that says what it would
// have been. ok is false where neither applies.
func (p Policy) border(helo, mailFrom *Outcome) (v Verdict, ok bool) {
	hs, ms := skipped(helo), skipped(mailFrom)
	if !p.ReportOnly && !hs && !ms {
		return Verdict{}, false
	}
	if hs {
		helo = nil
	}
	if ms {
		mailFrom = nil
	}
	q := p
	q.ReportOnly = false
	v = q.Verdict(helo, mailFrom)
	if p.ReportOnly && v.Action != Accept {
		v.ReportOnly, v.Would, v.Action = true, v.Action, Accept
	}
	return v, true
}

// WouldReply returns the reply of the verdict as an enforcing Policy
// would give it: [Verdict.Reply] of the verdict that Policy.ReportOnly
// turned into Accept, or Reply itself.
func (v Verdict) WouldReply() string {
	if v.ReportOnly {
		v.Action = v.Would
	}
	return v.Reply()
}
