package spf

import (
	"context"
	"strconv"
	"time"
)

// An EventKind says what step of an evaluation an [Event] reports.
type EventKind uint8

// The kinds of event, in the order an evaluation meets them.
const (
	// EventQuery: a DNS query was answered. Name, Type, Response (nil
	// for no such name, no data or an error), Err and Elapsed are set.
	EventQuery EventKind = iota + 1
	// EventRecord: Domain's SPF record was selected; Record is its text.
	EventRecord
	// EventTerm: a term of Domain's record was evaluated; Term is its
	// text, Matched whether it matched, Err its error if it ended the check.
	EventTerm
	// EventLimit: a limit of RFC 7208 section 4.6.4 was exceeded at Term;
	// Err says which.
	EventLimit
	// EventResult: check_host() for Domain returned Result (with Err for
	// temperror and permerror), decided by Term where one matched.
	EventResult
)

// String returns a short lower-case name of the kind, such as "query".
func (k EventKind) String() string {
	switch k {
	case EventQuery:
		return "query"
	case EventRecord:
		return "record"
	case EventTerm:
		return "term"
	case EventLimit:
		return "limit"
	case EventResult:
		return "result"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// An Event is one step of an evaluation, passed to [Checker.Trace] and
// to the trace of [WithTrace]; [SlogTrace] logs it. Its strings come from
// DNS and the SMTP client: escape them for where they go.
// Fields that do not apply to its Kind are zero.
type Event struct {
	// Kind is the kind of step, which says which other fields are set.
	Kind EventKind
	// Depth is how many include and redirect steps lie above the record
	// the event belongs to; 0 for the checked domain's own record.
	Depth int
	// Domain is the domain whose record the step belongs to; empty for
	// EventQuery.
	Domain string
	// Record is the SPF record found, for EventRecord; DNS text.
	Record string
	// Term is the term of the step, as written in its record, for
	// EventTerm and EventLimit, and for EventResult the term that
	// decided the result, if one matched; DNS text.
	Term string
	// TermKind is the kind of Term, for EventTerm and EventLimit, so
	// that a trace need not parse Term again; zero otherwise.
	TermKind Kind
	// Matched reports, for EventTerm, whether the term matched.
	Matched bool
	// Name is the name queried, for EventQuery.
	Name string
	// Type is the record type queried, for EventQuery.
	Type RRType
	// Response is the answer of an EventQuery; nil for no such name, no
	// data or an error. It is shared: do not modify it.
	Response *Response
	// Err is what failed: the query's error (EventQuery), the error that
	// ended the check (EventTerm), the limit exceeded (EventLimit), or
	// the temperror or permerror (EventResult).
	Err error
	// Elapsed is how long the query of an EventQuery took.
	Elapsed time.Duration
	// Result is the result of check_host() for the domain, for
	// EventResult.
	Result Result
	// Lookups counts the DNS-querying terms evaluated so far, after the
	// step (RFC 7208 section 4.6.4).
	Lookups int
	// VoidLookups counts the lookups that found nothing so far, after the
	// step (RFC 7208 section 4.6.4).
	VoidLookups int
}

// traceKey is the context key of [WithTrace].
type traceKey struct{}

// WithTrace returns a copy of ctx that carries trace: a check made with
// the returned context (or one derived from it) calls trace with each step
// of its evaluation, as [Checker.Trace] does, so that one check can be
// traced, such as the checks of one SMTP session, while the others are
// not. It is called in addition to Checker.Trace, after it, from the
// goroutine that called Check. A later WithTrace replaces trace; a nil
// trace leaves ctx as it is.
func WithTrace(ctx context.Context, trace func(Event)) context.Context {
	if trace == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, trace)
}

// traceOf returns the trace for a check with ctx: the Checker's, the
// context's, both or neither.
func traceOf(ctx context.Context, checker func(Event)) func(Event) {
	if ctx == nil {
		return checker
	}
	t, _ := ctx.Value(traceKey{}).(func(Event))
	switch {
	case t == nil:
		return checker
	case checker == nil:
		return t
	}
	return func(ev Event) {
		checker(ev)
		t(ev)
	}
}
