package spf

import (
	"context"
)

// DefaultBestGuess is the usual best-guess record for domains without an
// SPF record: their A and MX hosts' /24 networks and their validated PTR
// names, and neutral for anything else.
const DefaultBestGuess = "v=spf1 a/24 mx/24 ptr ?all"

// DefaultBestGuessRecord returns [DefaultBestGuess] parsed, for
// Checker.BestGuess.
func DefaultBestGuessRecord() *Record {
	r, err := Parse(DefaultBestGuess)
	if err != nil {
		panic("spf: DefaultBestGuess does not parse: " + err.Error()) // a constant: cannot happen
	}
	return r
}

// bestGuess evaluates Checker.BestGuess for the domain of out, whose
// result is none, as if the domain published it: with the Checker's
// resolver for every other query, its own lookup limits but the check's
// deadline, and no local rules. It sets out.Guessed and out.BestGuess,
// made neutral where the guess gives fail or softfail: a guess is never
// evidence against a sender.
func (c *Checker) bestGuess(ctx context.Context, out *Outcome, local, domain string, deadline *monoTime) {
	d, ok := normalizeDomain(domain)
	if !ok || out.Domain == "" {
		return // not a domain: nothing to guess for
	}
	// The Checker's settings; the border settings are not used by an
	// evaluation of its own (evaluate adds the local rules).
	g := *c
	g.NoPrefetch = true
	e := g.newEvaluation(out.ClientIP, out.HELO, out.Sender, local, domain)
	defer e.release()
	e.guess = c.BestGuess.Terms // evaluated as the domain's record, parsed once
	e.resultOnly = true         // only its result is reported
	var o Outcome
	e.run(ctx, &g, &o, out.Sender, out.Identity, d, deadline)
	out.Guessed, out.BestGuess = true, o.Result
	if o.Result == Fail || o.Result == SoftFail {
		out.BestGuess = Neutral
	}
}
