// Package spf evaluates the Sender Policy Framework (SPF, RFC 7208) for mail
// receivers: given the IP address of an SMTP client, the name it gave in
// HELO and the MAIL FROM address, it finds whether the sending domain
// authorizes the client.
//
// A mail server calls [Check] (or [Checker.Check] with its own settings) at
// SMTP time and turns the [Outcome] into a reply and a trace header. The
// result is always set; an error is returned exactly when the result is
// [TempError] or [PermError], and a match is never reported as an error.
//
// # Where we depart from or interpret RFC 7208
//
//   - Only the address family of the client is looked up for a and mx (A
//     for IPv4 clients, AAAA for IPv6), as section 5 allows.
//   - An IPv4-mapped IPv6 client (::ffff:192.0.2.1) is an IPv4 client
//     throughout: ip4 matches it, %{i} and %{v} take IPv4 forms.
//   - Void lookups (section 4.6.4) are counted per term: the query of an
//     a, exists, mx (the MX query itself) or ptr (the PTR query itself)
//     that ends in NXDOMAIN or no data. The TXT query of an include or
//     redirect target that finds nothing is not counted: such a target is
//     a permerror anyway (sections 5.2 and 6.1). The address lookups of MX
//     hosts and of PTR names are not void lookups, and do not count
//     against the limit of 10 DNS-querying terms.
//   - An MX answer with more than 10 names is a permerror before any host
//     is looked up; a PTR answer with more than 10 names has the rest
//     ignored.
//   - If an address lookup of an MX host fails temporarily, the mx
//     mechanism is a temperror unless another of its hosts matches.
//   - An MX record whose exchange is "." (a null MX, RFC 7505) names no
//     host.
//   - %{p} looks up at most 10 PTR names; its queries count against no
//     limit; a DNS error while finding it gives "unknown".
//   - A time limit that runs out ([Checker.Timeout], 20 s by default,
//     section 4.6.4) is a temperror wherever it happens, also in
//     a ptr mechanism, its validation lookups or %{p}, whose other DNS
//     errors mean no match or "unknown" (section 5.5).
//   - The explanation (exp= or the default) is cut to 1,024 bytes, and
//     every byte that is not printable US-ASCII (section 6.2) becomes "?".
//   - An expanded domain that is not a valid name because its last label
//     is longer than 253 bytes appears in error messages cut to its last
//     512 bytes: expansion keeps no more (see "Hostile records" in the README).
//   - An expanded domain that is not a valid DNS name (an empty label, a
//     label over 63 bytes) makes a, mx, ptr and exists not match; no query
//     is sent, so it is not a void lookup. An include or redirect target
//     that is not a valid multi-label domain is "none" (section 4.3), so a
//     permerror (sections 5.2 and 6.1), and is not queried.
//   - When the local part of the sender holds non-ASCII characters, a term
//     whose domain-spec uses the l or s macro (either case, any
//     transformer) matches nothing and sends no query (RFC 8616 section
//     4); a redirect= of that kind is not followed (the record ends as if
//     it had none, so neutral), and an exp= of that kind gives the default
//     explanation.
//   - %{s}, %{l} and %{o} are the sender as the client spelled it (a
//     U-label domain part in A-label form): MAIL FROM Info@S.Example.COM
//     gives %{s} = Info@S.Example.COM. The domain evaluated and %{d} are
//     in lower-case A-label form. %{h} of a non-ASCII HELO name is its
//     A-label form (RFC 8616 section 4).
//   - Names sent to DNS are lower-cased in ASCII only (RFC 4343); other
//     bytes, such as those of a PTR name, are sent as they are.
//   - Zone files (spftest.ParseZone, spf check --zone): an SPF (type 99)
//     record is not served as TXT, since checkers never query type 99
//     (section 4.4); the openspf suite's convention of publishing SPF
//     records as TXT lives in the suite loader only.
//   - A null MAIL FROM is checked as postmaster@<HELO> with the identity
//     "helo" (sections 2.4 and 4.3); a sender without "@" is a domain with
//     local part "postmaster".
//   - Domains are turned into lower-case A-labels (IDNA, UTS 46) once, at
//     the edge; a name that does not convert gives none.
//   - %{i} writes the nibbles of an IPv6 address in upper case, as the
//     openspf suite expects (the example of section 7.4 has lower case;
//     DNS names are case-insensitive, so only explanation text differs).
//   - Explanation text is checked against the grammar of section 7.1; text
//     that does not follow it, or an exp= domain without exactly one TXT
//     record, falls back to [Checker.DefaultExplanation].
//   - Receiver settings (trusted relays and forwarders, local rules, the
//     best guess, see "At the border" below) are outside RFC 7208: all are
//     off by default, and CheckHost never applies them. A skipped check is
//     reported as none with Outcome.Skipped, never as a result that was
//     computed.
//   - Header fields and SMTP replies replace non-ASCII and control
//     characters from the client or DNS with "?" or a space and cut long
//     values (lines stay within 998 bytes); a name is written raw in a
//     header only when it is a valid domain of letters, digits, "-", "_"
//     and dots, and every other Authentication-Results value is quoted
//     with white space, ";", quotes and parentheses replaced by "?", which
//     its common parsers do not unquote.
//   - Angle brackets around the sender are removed; a sender with a
//     control character, or white space or an angle bracket in its domain
//     ("a@x SIZE=100"), and an invalid client IP are the caller's mistake:
//     permerror wrapping [ErrInvalidInput], which [Policy.Verdict] defers
//     with 451 4.3.0.
package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/swar"
)

// The problems of a temperror or permerror, which [Outcome.Problem] and
// the error of [Checker.Check] wrap. Use [errors.Is] to tell them apart.
// [ErrSyntax] (a record that does not parse) is one of them too.
var (
	// ErrTooManyLookups: more than Checker.MaxLookups (10) DNS-querying
	// terms (RFC 7208 section 4.6.4). A permerror.
	ErrTooManyLookups = errors.New("spf: too many DNS-querying terms")
	// ErrTooManyVoidLookups: more than Checker.MaxVoidLookups (2) lookups
	// that found no such name or no data (section 4.6.4). A permerror.
	ErrTooManyVoidLookups = errors.New("spf: too many void lookups")
	// ErrTooManyMXNames: an mx mechanism met more than Checker.MaxMXNames
	// (10) MX names (section 4.6.4). A permerror.
	ErrTooManyMXNames = errors.New("spf: too many MX names")
	// ErrMultipleRecords: a domain publishes more than one SPF record
	// (section 4.5). A permerror.
	ErrMultipleRecords = errors.New("spf: more than one SPF record")
	// ErrNoTargetRecord: the target of an include or redirect has no SPF
	// record, or is not a valid domain (sections 5.2 and 6.1). A permerror.
	ErrNoTargetRecord = errors.New("spf: include or redirect target has no SPF record")
	// ErrDNS: a DNS query failed for a reason other than "no such name or
	// data" (a timeout, SERVFAIL, a network error). A temperror.
	ErrDNS = errors.New("spf: DNS lookup failed")
	// ErrTimeout: the time limit of the check (Checker.Timeout, by default
	// DefaultTimeout) ran out or its context was cancelled (RFC 7208
	// section 4.6.4). A temperror. A DNS query cut short by it wraps both
	// ErrDNS and ErrTimeout, and the context's error.
	ErrTimeout = errors.New("spf: time limit reached")
	// ErrInvalidInput: the caller gave an invalid client IP address (the
	// zero netip.Addr) or a sender that no address can be, such as one
	// with white space or controls ("a@x SIZE=100"). A permerror, since
	// no check could be made; [Policy.Verdict] answers it with a local
	// error (451 4.3.0), not with a reject.
	ErrInvalidInput = errors.New("spf: invalid input")
)

// DefaultExplanation is the explanation a [Checker] gives with a fail when
// the domain gives none and Checker.DefaultExplanation is empty. It is a
// macro string (RFC 7208 section 7).
const DefaultExplanation = "%{o} does not designate %{c} as permitted sender"

// DefaultTimeout is the time limit of a check when Checker.Timeout is
// zero, as for [Check]: RFC 7208 section 4.6.4 says a receiver SHOULD
// impose one of at least 20 seconds.
const DefaultTimeout = 20 * time.Second

// The defaults of the lookup limits, RFC 7208 section 4.6.4.
const (
	DefaultMaxLookups     = 10
	DefaultMaxVoidLookups = 2
	DefaultMaxMXNames     = 10
	DefaultMaxPTRNames    = 10
)

// An Identity names which identity a check authorized (RFC 7208 section 2).
type Identity uint8

// The identities. The zero value is IdentityMailFrom.
const (
	IdentityMailFrom Identity = iota // the MAIL FROM identity (section 2.4)
	IdentityHELO                     // the HELO identity (section 2.3)
)

// String returns "mailfrom" or "helo", as Received-SPF writes them.
func (id Identity) String() string {
	if id == IdentityHELO {
		return "helo"
	}
	return "mailfrom"
}

// An Outcome is what a check found. Result is always set.
type Outcome struct {
	// Result is the result of the check (RFC 7208 section 2.6).
	Result Result
	// Identity is the identity checked: MAIL FROM, or HELO (for
	// [Checker.CheckHELO] and for a null sender).
	Identity Identity
	// ClientIP is the client's address, an input of the check, with an
	// IPv4-mapped address unmapped.
	ClientIP netip.Addr
	// HELO is the HELO name as given, an input of the check; client
	// text: escape it wherever it is written.
	HELO string
	// Sender is the MAIL FROM address as given, without angle brackets,
	// an input of the check; empty for the null sender and for
	// [Checker.CheckHELO]. Client text: escape it wherever it is written.
	Sender string
	// NullSender reports a check of an empty MAIL FROM (the null
	// reverse-path), made for the HELO identity with the sender
	// postmaster@<HELO> (RFC 7208 section 2.4). It is false for
	// [Checker.CheckHELO], which has no MAIL FROM: the Received-SPF of such
	// an outcome has no envelope-from.
	NullSender bool
	// Domain is the domain whose policy was checked, in lower-case A-label
	// form: the sender's domain, or the HELO name.
	Domain string
	// Mechanism is the term that decided the result, as written in its
	// record; empty where no term matched (the default neutral result, or
	// none, temperror and permerror). DNS text.
	Mechanism string
	// MechanismDomain is the domain whose record holds Mechanism: Domain,
	// or the target of a redirect; empty with Mechanism. DNS text, and
	// Domain client text.
	MechanismDomain string
	// Explanation is set with a fail: the domain's explanation (exp=,
	// RFC 7208 section 6.2) when it gave one, else the Checker's default,
	// both macro-expanded; ExplanationFromDomain says which. It carries
	// text from the SMTP client (the sender, the HELO name) and from DNS
	// (the exp= record, PTR names through %{p}), cleaned and capped: it is
	// printable US-ASCII (every other byte, such as CR, LF, NUL, ESC or
	// 8-bit, is replaced by "?") and at most 1,024 bytes, cut there if
	// longer. Escape it still for the place it goes to (a header, HTML, a
	// quoted string).
	Explanation string
	// ExplanationFromDomain reports that Explanation is the domain's own
	// (exp=, RFC 7208 section 6.2) rather than the Checker's default.
	ExplanationFromDomain bool
	// Problem is what caused a temperror or permerror; nil otherwise. It
	// wraps one of the package's Err values, such as [ErrSyntax]; its text
	// may quote client and DNS text. A Problem that wraps
	// [ErrInvalidInput] is the caller's mistake, not the sender's.
	Problem error
	// Lookups counts the DNS-querying terms evaluated (RFC 7208 section
	// 4.6.4).
	Lookups int
	// VoidLookups counts the lookups that found nothing (RFC 7208 section
	// 4.6.4).
	VoidLookups int
	// Authenticated reports that every DNS answer the check used was
	// authenticated by DNSSEC (see [Response]).
	Authenticated bool
	// Receiver is the receiver's name, as %{r} expands it.
	Receiver string

	// The receiver's border settings (border.go) add these.
	//
	// Skipped is not nil, with Result None and nothing else evaluated,
	// when the check was not made because the receiver trusts the
	// connection (Checker.TrustedRelays and the fields after it). None is
	// the only result of RFC 7208 that claims nothing; the header fields
	// say "skipped" and a [Policy] accepts.
	Skipped *Skip
	// LocalRule reports that the deciding term, Mechanism, came from
	// Checker.LocalRules rather than from a record; MechanismDomain is
	// then empty.
	LocalRule bool
	// Guessed reports that the result was none and Checker.BestGuess was
	// evaluated. The guess is never the Result, and no Verdict depends on
	// it.
	Guessed bool
	// BestGuess is the result of Checker.BestGuess where Guessed is set,
	// never Fail or SoftFail.
	BestGuess Result
	// Allowed is the pattern of Checker.AllowOnPass that the sender
	// matched with a pass; "" otherwise.
	Allowed string
}

// A Checker evaluates SPF with its settings. The zero Checker is ready to
// use with the defaults given for each field. A Checker is safe for
// concurrent use; do not change its fields while checks are running.
//
// # Prefetching
//
// Unless NoPrefetch is set, once a query of a check has to wait on DNS
// (its answer is not in the memory of a [MemoryResolver] such as
// [Cache]), the check starts the queries that the terms of the records
// under evaluation will need, concurrently, and goes on starting them for
// each record it parses. Evaluation uses the answers in the order of RFC
// 7208, so results, explanations and counters are those of a sequential
// evaluation, and the wall time is that of the longest chain of queries
// that depend on each other. The price is queries that evaluation never
// needed when an early term matches: at most MaxLookups-1 record (TXT)
// queries of include and redirect targets, MaxLookups-1 queries of a, mx,
// ptr and exists terms, and for each mx or ptr term whose number is known,
// MaxMXNames or MaxPTRNames address queries. Nothing is prefetched past an
// ip4, ip6 or all term that matches the client, nor until a query has
// waited longer than a fast local resolver takes to answer, and while a
// [DNSResolver] is busy. Queries already sent when the result is known
// are left to finish, so that a Cache keeps their answers.
type Checker struct {
	// Resolver answers DNS queries. If nil, a [DNSResolver] on the servers
	// of /etc/resolv.conf is used, or a [NetResolver] where that file cannot
	// be read; neither caches. A mail server should give a [Cache] in
	// front of a DNSResolver: &spf.Cache{Resolver: &spf.DNSResolver{}}.
	Resolver Resolver
	// Receiver is the receiver's host name, which %{r} expands to in
	// explanations. If empty, "unknown" is used (RFC 7208 section 7.3).
	Receiver string
	// DefaultExplanation is the explanation of a fail when the domain
	// gives none, a macro string that may use every macro letter. If
	// empty, the package constant [DefaultExplanation] is used.
	DefaultExplanation string
	// MaxLookups limits the DNS-querying terms of one check; if zero,
	// DefaultMaxLookups (10). RFC 7208 section 4.6.4 sets this default and
	// those of the three limits below; change them only for diagnosis.
	MaxLookups int
	// MaxVoidLookups limits the lookups that find nothing; if zero,
	// DefaultMaxVoidLookups (2).
	MaxVoidLookups int
	// MaxMXNames limits the names of one mx term (more is a permerror);
	// if zero, DefaultMaxMXNames (10).
	MaxMXNames int
	// MaxPTRNames limits the names of one ptr term or %{p} (the rest are
	// ignored); if zero, DefaultMaxPTRNames (10).
	MaxPTRNames int
	// Timeout bounds the time of one check, DNS queries and CPU time
	// included, and the checks of the border settings below (trusted HELO
	// names and forwarders, the best guess) with it: evaluation looks at it between terms and in every loop a
	// record can make long, so a check returns within milliseconds of it.
	// When it runs out (or the context given to Check ends), the result is
	// temperror with [ErrTimeout] (RFC 7208 section 4.6.4), also in the
	// middle of a ptr mechanism or of %{p}. If zero, DefaultTimeout (20
	// seconds, the RFC's suggested minimum). If negative, there is no
	// limit other than the context's.
	Timeout time.Duration
	// NoPrefetch turns prefetching off (see Prefetching in the Checker's
	// doc): a check then sends exactly the queries of a sequential
	// evaluation, one at a time.
	NoPrefetch bool
	// Trace, if not nil, is called with each step of the evaluation, in
	// order, from the goroutine that called Check. [WithTrace] sets a
	// trace for one check; [SlogTrace] logs the steps with log/slog.
	Trace func(Event)
	// Now returns the time %{t} expands to; if nil, [time.Now].
	Now func() time.Time

	// The receiver's border settings (border.go, localrules.go,
	// bestguess.go). Check and CheckHELO apply them; CheckHost does not.
	// Every zero value turns its setting off.
	//
	// TrustedRelays are the networks whose connections are not checked at
	// all (a secondary MX, an antispam gateway, internal relays): no DNS
	// query is made and the outcome has Skipped set. policyd-spf calls
	// them skip_addresses and Whitelist. Empty by default, so that a check
	// of 127.0.0.1 stays what RFC 7208 says.
	TrustedRelays []netip.Prefix
	// TrustedHELONames are HELO names whose clients are not checked when
	// the HELO name's own SPF record passes the client (policyd-spf's
	// HELO_Whitelist).
	TrustedHELONames []string
	// TrustedForwarders are domains whose own SPF record, evaluated for
	// the client with its own lookup limits, passes it: their clients are
	// not checked (policyd-spf's Domain_Whitelist). Each costs a
	// check_host() on every check that reaches it, traced by Trace like
	// the check's own evaluation.
	TrustedForwarders []string
	// TrustedForwarderNames are domains under which a validated PTR name
	// of the client (forward-confirmed, as RFC 7208 section 5.5 validates
	// it) makes the client trusted (policyd-spf's Domain_Whitelist_PTR).
	TrustedForwarderNames []string
	// LocalRules are terms the receiver trusts for every domain,
	// evaluated in the domain's top-level record before its first "all";
	// see [ParseLocalRules]. nil for none.
	LocalRules *LocalRules
	// BestGuess is a record evaluated for a domain whose result is none,
	// reported in Outcome.BestGuess, never as the result; see
	// [DefaultBestGuessRecord]. nil for no guess.
	BestGuess *Record
	// AllowOnPass are sender patterns ("*@example.com",
	// "*@*.example.com", "news@example.org") that Outcome.Allowed reports
	// when the MAIL FROM result is a pass from the domain's own record
	// (a spam filter's whitelist_from_spf). The domain is matched in any
	// case, the local part exactly.
	AllowOnPass []string
}

// Check evaluates SPF for the MAIL FROM identity with the zero [Checker]
// (so with the time limit [DefaultTimeout]); see [Checker.Check].
func Check(ctx context.Context, ip netip.Addr, helo, sender string) (Outcome, error) {
	var c Checker
	return c.Check(ctx, ip, helo, sender)
}

// Check evaluates SPF for the MAIL FROM identity of a message from the
// client at ip, which said helo in HELO/EHLO and sender in MAIL FROM.
//
// Angle brackets around the sender ("<a@example.com>", "<>") are removed.
// An empty sender (the null reverse-path) is checked as
// postmaster@<helo>, with the identity "helo" (RFC 7208 sections 2.4 and
// 4.3); a sender without "@" or with an empty local part has the local
// part "postmaster". A sender that holds a control character, or white
// space or an angle bracket in its domain (such as a whole MAIL FROM
// argument, "a@x SIZE=100"), is not checked: the result is permerror with
// a Problem that wraps [ErrInvalidInput], as for an invalid ip.
//
// The outcome's Result is always set. The error is nil unless the result
// is TempError or PermError, and is then the outcome's Problem.
//
// A nil ctx is taken as [context.Background]; so it is in CheckHELO,
// CheckHost and the package's [Check]. The check's time limit is
// Checker.Timeout.
func (c *Checker) Check(ctx context.Context, ip netip.Addr, helo, sender string) (out Outcome, err error) {
	sender = trimAngles(sender)
	if err := senderError(sender); err != nil {
		return c.invalidInput(ip, helo, sender, err)
	}
	if sender == "" {
		err = c.check(ctx, &out, ip, helo, "", IdentityHELO, "postmaster", helo)
		out.NullSender = true
		return out, err
	}
	local, domain := splitSender(sender)
	err = c.check(ctx, &out, ip, helo, sender, IdentityMailFrom, local, domain)
	return out, err
}

// CheckHELO evaluates SPF for the HELO identity (RFC 7208 section 2.3):
// the policy of the name the client gave in HELO/EHLO, with the sender
// postmaster@<helo>. Its outcome has no Sender and NullSender false, so
// that its Received-SPF has no envelope-from: no MAIL FROM was checked.
func (c *Checker) CheckHELO(ctx context.Context, ip netip.Addr, helo string) (out Outcome, err error) {
	err = c.check(ctx, &out, ip, helo, "", IdentityHELO, "postmaster", helo)
	return out, err
}

// CheckHost is RFC 7208's check_host(ip, domain, sender) (section 4): it
// evaluates domain's policy for the client at ip, with sender giving the
// %{s}, %{l} and %{o} macros. Check and CheckHELO are what most callers
// want; CheckHost is for callers that choose the domain themselves. The
// outcome's HELO is empty and its Identity IdentityMailFrom. The sender is
// taken as [Checker.Check] takes it.
func (c *Checker) CheckHost(ctx context.Context, ip netip.Addr, domain, sender string) (Outcome, error) {
	return c.checkHost(ctx, ip, domain, sender, nil, false)
}

// checkHost is CheckHost with the deadline of the check it is part of
// (see evaluation.startClock), nil for a check of its own. resultOnly is
// for a check made for its result alone (the skips of border.go): its
// outcome then has no Explanation.
func (c *Checker) checkHost(ctx context.Context, ip netip.Addr, domain, sender string, deadline *monoTime, resultOnly bool) (Outcome, error) {
	sender = trimAngles(sender)
	if err := senderError(sender); err != nil {
		return c.invalidInput(ip, "", sender, err)
	}
	local, senderDomain := splitSender(sender)
	if sender == "" {
		local, senderDomain = "postmaster", domain
	}
	e := c.newEvaluation(ip, "", sender, local, senderDomain)
	e.resultOnly = resultOnly
	var out Outcome
	err := e.run(ctx, c, &out, sender, IdentityMailFrom, domain, deadline)
	e.release()
	return out, err
}

// evaluate is the check_host() of Check and CheckHELO, with the
// receiver's local rules and the deadline of the check; border.go wraps
// it in the other settings.
// It fills in *out, and returns its Problem.
func (c *Checker) evaluate(ctx context.Context, out *Outcome, ip netip.Addr, helo, sender string, id Identity, local, domain string, deadline *monoTime) error {
	e := c.newEvaluation(ip, helo, sender, local, domain)
	e.local = c.LocalRules.terms() // localrules.go
	err := e.run(ctx, c, out, sender, id, domain, deadline)
	e.release()
	return err
}

// trimAngles removes the angle brackets around a sender given as a whole
// SMTP reverse-path ("<a@example.com>", "<>", RFC 5321 section 4.1.2).
func trimAngles(sender string) string {
	if len(sender) >= 2 && sender[0] == '<' && sender[len(sender)-1] == '>' {
		return sender[1 : len(sender)-1]
	}
	return sender
}

// How much of a text an error quotes: of a caller's invalid input, and of
// a term of a record (client or DNS text, up to 64 KB). Outcome.Problem
// goes into headers, replies, logs and terminals, and its text is built
// at every call of Error: it must stay short whatever the input.
const (
	maxQuotedInput = 64
	maxQuotedTerm  = 128
)

// clip returns s cut to max bytes, with "..." added where it was cut, for
// an error to quote.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// senderError reports a sender that no address can be (RFC 5321 section
// 4.1.2): one with a control character or DEL anywhere, or with white
// space or an angle bracket in its domain (after the last "@"), such as a
// whole MAIL FROM argument ("a@x SIZE=100"). A space in the local part is
// left alone: a quoted local part can hold one, and the openspf suite
// checks "Macro Error@e8.example.com". Non-ASCII is left to the
// evaluation (RFC 6531 allows it).
func senderError(sender string) error {
	if senderOK(sender) {
		return nil
	}
	q := clip(sender, maxQuotedInput)
	return fmt.Errorf("%w: sender %q holds a control character, or white space or an angle bracket in its domain, which no address can hold", ErrInvalidInput, q)
}

// senderOK is senderError's test, 8 bytes at a time (see badSender8):
// it reads the sender of every check.
func senderOK(sender string) bool {
	at := strings.LastIndexByte(sender, '@')
	local, domain := sender[:at+1], sender[at+1:]
	for ; len(local) >= 8; local = local[8:] {
		if badSender8(swar.Load(local), false) {
			return false
		}
	}
	for ; len(domain) >= 8; domain = domain[8:] {
		if badSender8(swar.Load(domain), true) {
			return false
		}
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; c < 0x20 || c == 0x7f || c == ' ' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// badSender8 reports whether a byte of w is a control character or DEL,
// or, in a domain, a space or an angle bracket, testing the 8 at once.
func badSender8(w uint64, domain bool) bool {
	bad := swar.Below(w, 0x20) | swar.Equal(w, 0x7f)
	if domain {
		bad |= swar.Equal(w, ' ') | swar.Equal(w, '<') | swar.Equal(w, '>')
	}
	return bad != 0
}

// invalidInput returns the permerror outcome of a check that was not made
// because the caller's input was invalid.
func (c *Checker) invalidInput(ip netip.Addr, helo, sender string, err error) (Outcome, error) {
	out := Outcome{Result: PermError, ClientIP: ip.Unmap(), HELO: helo, Sender: sender, Problem: err, Receiver: c.receiverName()}
	return out, err
}

// splitSender splits a MAIL FROM address at its last "@". The local part
// is "postmaster" where it is empty or missing (RFC 7208 section 4.3).
func splitSender(sender string) (local, domain string) {
	i := strings.LastIndexByte(sender, '@')
	if i < 0 {
		return "postmaster", sender
	}
	local, domain = sender[:i], sender[i+1:]
	if local == "" {
		local = "postmaster"
	}
	return local, domain
}

// normalizeDomain returns name in lower-case A-label form without a
// trailing dot, and whether it is a valid multi-label domain name that
// check_host() can evaluate (RFC 7208 section 4.3); see [domain.Normalize].
func normalizeDomain(name string) (string, bool) { return domain.Normalize(name) }
