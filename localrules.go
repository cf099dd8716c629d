package spf

import (
	"fmt"
	"strings"
)

// LocalRules are SPF terms a receiver trusts for every domain ("SPF local
// rules"), such as "ip4:203.0.113.2 a:relay.example.net
// include:spf.antispam.example", for the mail its own gateways and
// secondary MXs relay. Make them with [ParseLocalRules] and put them in
// Checker.LocalRules.
//
// They apply to the top-level record of the checked domain only, never
// inside the targets of include or redirect. They are evaluated just
// before the first "all" of that record, or after its last mechanism (so
// before a redirect) where it has no "all", and so only when no term of
// the record matched first. A local term that matches decides the result:
// pass, or the result of the qualifier written on it, with
// Outcome.LocalRule set. When none matches, evaluation goes on with the
// record's own "all" or redirect: a published fail stays fail. A domain
// with no record, or whose record is a permerror or temperror before that
// point, never reaches them.
//
// Their DNS-querying terms and void lookups have limits of their own,
// those of the Checker (RFC 7208 section 4.6.4) counted apart from the
// record's, so that a domain at exactly 10 lookups is not pushed into
// permerror by the receiver's rules. A temperror or permerror of a local
// term (a DNS failure, a limit, an include without a record) is no match.
type LocalRules struct {
	text string
	list []Term
}

// ParseLocalRules parses local rules: mechanisms of RFC 7208 section 5
// separated by spaces, optionally after "v=spf1". "all" and modifiers are
// not allowed: local rules never decide for a record that would not reach
// them. A syntax error is a [*SyntaxError], wrapping [ErrSyntax], whose
// Record starts with "v=spf1 ".
func ParseLocalRules(text string) (*LocalRules, error) {
	rec := strings.TrimSpace(text)
	if !IsRecord(rec) {
		rec = "v=spf1 " + rec
	}
	r, err := Parse(rec)
	if err != nil {
		return nil, fmt.Errorf("spf: local rules: %w", err)
	}
	for _, t := range r.Terms {
		if !t.Kind.IsMechanism() || t.Kind == KindAll {
			err := &SyntaxError{Record: rec, Term: t.Text, Offset: int(t.Offset), Msg: "local rules take mechanisms other than all"}
			return nil, fmt.Errorf("spf: local rules: %w", err)
		}
	}
	return &LocalRules{text: r.String(), list: r.Terms}, nil
}

// String returns the rules in canonical form, as a record: "v=spf1" and
// the terms.
func (l *LocalRules) String() string {
	if l == nil {
		return ""
	}
	return l.text
}

// terms returns the rules' terms; nil for nil rules.
func (l *LocalRules) terms() []Term {
	if l == nil || len(l.list) == 0 {
		return nil
	}
	return l.list
}

// localRules evaluates e.local for the top-level record of domain, with
// lookup counters of their own. ok reports a match, whose result r is.
func (e *evaluation) localRules(domain string) (r hostResult, ok bool) {
	lookups, voids := e.lookups, e.voids
	e.lookups, e.voids = 0, 0
	defer func() { e.lookups, e.voids = lookups, voids }()
	for i := range e.local {
		t := &e.local[i]
		if t.Kind.QueriesDNS() {
			if _, over := e.countLookup(0, domain, t); over {
				return r, false
			}
		}
		matched, fail := e.match(t, domain, 0)
		if e.trace != nil {
			e.emit(Event{Kind: EventTerm, Domain: domain, Term: "local rule " + t.Text, TermKind: t.Kind, Matched: matched && fail == nil, Err: errOf(fail)})
		}
		if fail != nil || !matched {
			continue
		}
		r = hostResult{result: t.Qualifier.Result(), mech: t.Text, local: true}
		if r.result == Fail {
			// The domain did not decide: its exp= is not used.
			r.exp, r.fromDomain = e.explain(nil, 0)
		}
		return r, true
	}
	return r, false
}
