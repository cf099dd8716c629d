package spf

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf-go/spf/internal/escape"
)

// WhyExplanation is a default explanation (a macro string, RFC 7208
// section 7) that points the sender at the SPF project's "Why?" page with
// the sender, the client's IP address and the receiver filled in,
// URL-escaped. Put it in [Checker].DefaultExplanation to have every fail
// that the domain does not explain itself carry the link; a [Verdict]
// writes the explanation into its reply.
const WhyExplanation = "%{o} does not designate %{c} as permitted sender;" +
	" see https://www.open-spf.org/Why?id=%{S}&ip=%{C}&r=%{R}"

// An Action is what a receiver does with a message at SMTP time.
type Action uint8

// The actions of a [Verdict].
const (
	Accept Action = iota // go on with the transaction
	Reject               // refuse it with a 5xx reply (RFC 7208 section 8)
	Defer                // refuse it for now with a 4xx reply (section 8.6)
)

// String returns "accept", "reject" or "defer".
func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Defer:
		return "defer"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// A RejectLevel selects which results of pass, fail, softfail, neutral and
// none a [Policy] rejects (RFC 7208 sections 8.1 to 8.5); temperror and
// permerror have settings of their own.
type RejectLevel uint8

// The reject levels. The zero value is RejectFail.
const (
	RejectFail     RejectLevel = iota // fail only
	RejectSoftFail                    // fail and softfail
	RejectNotPass                     // every result but pass
	RejectNever                       // no result
)

func (l RejectLevel) rejects(r Result) bool {
	switch r {
	case Fail:
		return l != RejectNever
	case SoftFail:
		return l == RejectSoftFail || l == RejectNotPass
	case Neutral, None:
		return l == RejectNotPass
	}
	return false
}

// A Policy turns the results of the checks of one SMTP transaction into a
// [Verdict]: what the receiver does and replies. The zero Policy is the
// common one: reject fail, defer temperror, accept every other result; a
// HELO fail rejects on its own.
type Policy struct {
	// MailFrom selects the MAIL FROM results that are rejected, with 550
	// 5.7.23 for a fail (RFC 7208 section 8.4, RFC 7372 section 3.2) and
	// 550 5.7.1 for another result (RFC 3463). For a null
	// sender, the HELO result is judged in their place (RFC 7208 section
	// 2.4). The zero value RejectFail rejects fail only; RejectSoftFail
	// adds softfail, RejectNotPass everything but pass.
	MailFrom RejectLevel
	// HELO selects the HELO results that reject on their own, whatever
	// the MAIL FROM result (RFC 7208 section 2.3), with 550 5.7.23 for a
	// fail and 550 5.7.1 for another result. The
	// zero value RejectFail rejects a HELO fail; RejectNever leaves the
	// HELO result to count only for a null sender. A HELO temperror or
	// permerror never rejects on its own.
	HELO RejectLevel
	// RejectPermError rejects a permerror with 550 5.7.24 (RFC 7208
	// section 8.7, RFC 7372). By default a permerror is accepted.
	RejectPermError bool
	// AcceptTempError accepts a temperror. By default a temperror is
	// deferred with 451 4.7.24 (RFC 7208 section 8.6, RFC 7372).
	AcceptTempError bool
	// ReportOnly makes every verdict Accept, while a verdict that would
	// have been Reject or Defer says so (Verdict.ReportOnly and Would) and
	// keeps its code and lines: for an operator who logs and counts what
	// SPF would reject before enforcing it.
	ReportOnly bool
}

// A Verdict is what a receiver does about SPF at one step of an SMTP
// transaction, and the reply it gives (RFC 7208 section 8).
type Verdict struct {
	// Action is what the receiver does: Accept, Reject or Defer.
	Action Action
	// Code is the SMTP reply code: 550 for Reject, 451 for Defer, 0 for
	// Accept (the caller replies as it would without SPF).
	Code int
	// EnhancedCode is the enhanced status code (RFC 3463) of the reply:
	// 5.7.23 for a rejected fail, 5.7.1 for another rejected result,
	// 5.7.24 for a rejected permerror, 4.7.24 for a deferred temperror (RFC
	// 7372 section 3.2), 4.3.0 for a check the caller gave invalid input
	// (a local error); zero for Accept.
	// Its type converts to go-smtp's EnhancedCode.
	EnhancedCode [3]int
	// Lines is the text of the reply, a line each, without codes: which
	// check failed and why, with the domain's explanation (exp=) marked as
	// the domain's. Each line is printable ASCII and fits in a reply line
	// of 512 bytes with its codes (RFC 5321 section 4.5.3.1.5). Empty for
	// Accept.
	Lines []string
	// Outcome is the check that decided a Reject or Defer; nil for Accept.
	Outcome *Outcome
	// ReportOnly is set when Policy.ReportOnly turned a Reject or Defer
	// into this Accept: Code, EnhancedCode, Lines and Outcome are then
	// those of the verdict an enforcing Policy would have given (see
	// [Verdict.WouldReply]).
	ReportOnly bool
	// Would is the action an enforcing Policy would have taken where
	// ReportOnly is set; Accept otherwise.
	Would Action
}

// Reply returns the verdict as an SMTP reply, every line with the reply
// code and the enhanced status code and ending in CRLF (RFC 5321 section
// 4.2.1, RFC 2034), as "550-5.7.23 text\r\n550 5.7.23 text\r\n"; "" for
// Accept.
func (v Verdict) Reply() string {
	if v.Action == Accept || len(v.Lines) == 0 {
		return ""
	}
	var b strings.Builder
	status := v.EnhancedStatus()
	for i, line := range v.Lines {
		b.WriteString(strconv.Itoa(v.Code))
		if i < len(v.Lines)-1 {
			b.WriteByte('-')
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(status)
		b.WriteByte(' ')
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.String()
}

// Message returns the text of the reply as one string for an SMTP
// library that writes the enhanced status code (RFC 3463) on the last line
// of a multi-line reply only, as github.com/emersion/go-smtp does with an
// *smtp.SMTPError: the lines joined with "\n", every line but the last
// starting with the enhanced status code and a space. The library then
// writes the code on every line, as RFC 2034 requires:
//
//	&smtp.SMTPError{Code: v.Code, EnhancedCode: smtp.EnhancedCode(v.EnhancedCode), Message: v.Message()}
//
// gives "550-5.7.23 SPF MAIL FROM check failed:" up to "550 5.7.23 ...".
// "" for Accept, as [Verdict.Reply].
func (v Verdict) Message() string {
	r := v.Reply()
	if r == "" {
		return ""
	}
	// Reply less what go-smtp writes: "550-" before every line, and
	// "550 5.7.23 " before the last.
	lines := strings.Split(strings.TrimSuffix(r, "\r\n"), "\r\n")
	code := len(strconv.Itoa(v.Code)) + 1
	for i, line := range lines {
		lines[i] = line[code:]
	}
	last := len(lines) - 1
	lines[last] = strings.TrimPrefix(lines[last], v.EnhancedStatus()+" ")
	return strings.Join(lines, "\n")
}

// EnhancedStatus returns the enhanced status code of the reply
// ([Verdict.EnhancedCode], RFC 3463) as text, such as "5.7.23".
func (v Verdict) EnhancedStatus() string {
	c := v.EnhancedCode
	return strconv.Itoa(c[0]) + "." + strconv.Itoa(c[1]) + "." + strconv.Itoa(c[2])
}

// Verdict judges the checks of one transaction: helo is the outcome of
// [Checker.CheckHELO] and mailFrom that of [Checker.Check] for the MAIL
// FROM address; either may be nil where it was not checked (judge at HELO
// time with mailFrom nil). A mailFrom with the HELO identity is the check
// of a null sender (RFC 7208 section 2.4) and is judged by the rules of
// MAIL FROM, as well as by HELO.
//
// In order: a check whose Problem wraps [ErrInvalidInput] (an invalid
// client IP or sender from the caller) gives Defer with 451 4.3.0, a local
// error that blames no sender; a HELO result that p.HELO rejects gives
// Reject (550 5.7.23 for fail, 5.7.1 otherwise); then the MAIL FROM
// result: a permerror gives Reject (550 5.7.24) when p.RejectPermError is
// set, a temperror Defer (451 4.7.24) unless p.AcceptTempError is set,
// another result Reject (550 5.7.23 for fail, 5.7.1 otherwise) when
// p.MailFrom rejects it; anything else is Accept.
// A skipped check (Outcome.Skipped) is judged as one not made, so it
// never rejects; a best guess (Outcome.BestGuess) changes nothing. Under
// p.ReportOnly the verdict is always Accept, with ReportOnly and Would set
// where it would have been Reject or Defer.
//
// The reply of a fail carries Outcome.Explanation: the domain's own
// explanation, introduced by "The domain <domain> explains:", or the
// Checker's DefaultExplanation (see [WhyExplanation]). Text from DNS or
// from the client is made printable ASCII and wrapped into lines of at
// most 512 bytes with their codes, 12 lines at most.
func (p Policy) Verdict(helo, mailFrom *Outcome) Verdict {
	if v, ok := p.border(helo, mailFrom); ok { // border.go
		return v
	}
	for _, o := range [...]*Outcome{helo, mailFrom} {
		if o != nil && o.Result == PermError && errors.Is(o.Problem, ErrInvalidInput) {
			return Verdict{Action: Defer, Code: 451, EnhancedCode: [3]int{4, 3, 0},
				Lines: []string{"Local error in the SPF check, try again later"}, Outcome: o}
		}
	}
	nullSender := mailFrom != nil && mailFrom.Identity == IdentityHELO
	h := helo
	if h == nil && nullSender {
		h = mailFrom
	}
	if h != nil && p.HELO.rejects(h.Result) {
		return refuse(h, Reject, 550, rejectStatus(h.Result))
	}
	m := mailFrom
	if m == nil {
		return Verdict{}
	}
	switch m.Result {
	case PermError:
		if p.RejectPermError {
			return refuse(m, Reject, 550, [3]int{5, 7, 24})
		}
	case TempError:
		if !p.AcceptTempError {
			return refuse(m, Defer, 451, [3]int{4, 7, 24})
		}
	default:
		if p.MailFrom.rejects(m.Result) {
			return refuse(m, Reject, 550, rejectStatus(m.Result))
		}
	}
	return Verdict{}
}

// rejectStatus returns the enhanced status code of a rejected result:
// 5.7.23 for fail, the code RFC 7372 section 3.2 defines for "SPF
// validation failed", and 5.7.1 ("delivery not authorized", RFC 3463)
// for softfail, neutral and none, which are no SPF failure.
func rejectStatus(r Result) [3]int {
	if r == Fail {
		return [3]int{5, 7, 23}
	}
	return [3]int{5, 7, 1}
}

// Limits of a reply's text: a reply line is at most 512 bytes with its
// CRLF (RFC 5321 section 4.5.3.1.5), and "550-5.7.23 " takes 11 of them.
// Lines are wrapped at a space before replyWrap bytes where they can be.
const (
	maxReplyText  = 512 - 2 - len("550-5.7.23 ")
	replyWrap     = 76
	maxReplyLines = 12
)

// refuse builds the verdict that refuses the transaction because of o:
// action is Reject (code 550) or Defer (code 451), and the reply's lines
// say which check gave which result, and why.
func refuse(o *Outcome, action Action, code int, status [3]int) Verdict {
	check := "SPF MAIL FROM check"
	if o.Identity == IdentityHELO {
		check = "SPF HELO check"
	}
	var lines []string
	add := func(text string) {
		lines = appendReplyLines(lines, text)
	}
	switch o.Result {
	case Fail:
		add(check + " failed:")
		switch {
		case o.Explanation == "":
			add(o.describe())
		case o.ExplanationFromDomain:
			// The explanation is that of the record that gave the
			// result: the target of a redirect, if any (section 6.2).
			d := o.MechanismDomain
			if d == "" {
				d = o.Domain
			}
			add("The domain " + d + " explains:")
			add(o.Explanation)
		default:
			add(o.Explanation)
		}
	case PermError:
		add(check + " failed with a permanent error:")
		add(o.describe())
		if o.Problem != nil {
			add(o.Problem.Error())
		}
	case TempError:
		add(check + " failed with a temporary error, try again later:")
		add(o.describe())
	default:
		add(check + " gave " + resultToken(o.Result) + ", which is not accepted here:")
		add(o.describe())
	}
	if len(lines) > maxReplyLines {
		lines = lines[:maxReplyLines]
		last := lines[maxReplyLines-1]
		if len(last) > maxReplyText-3 {
			last = last[:maxReplyText-3]
		}
		lines[maxReplyLines-1] = last + "..."
	}
	return Verdict{Action: action, Code: code, EnhancedCode: status, Lines: lines, Outcome: o}
}

// appendReplyLines appends text to lines, made printable ASCII (a line
// break in it becomes a space) and wrapped: at the last space before
// replyWrap bytes, else at the first space after it if the line stays
// within maxReplyText bytes, else at maxReplyText bytes.
func appendReplyLines(lines []string, text string) []string {
	text = escape.Reply(text, maxReplyLines*maxReplyText)
	for len(text) > replyWrap {
		cut := strings.LastIndexByte(text[:replyWrap+1], ' ')
		if cut <= 0 {
			cut = strings.IndexByte(text, ' ')
			if cut < 0 || cut > maxReplyText {
				cut = min(maxReplyText, len(text))
			}
		}
		lines = append(lines, text[:cut])
		text = strings.TrimLeft(text[cut:], " ")
	}
	if text != "" {
		lines = append(lines, text)
	}
	return lines
}

// WhyExplanationURL returns a default explanation like [WhyExplanation]
// that points at the "Why?" page at base instead, such as a receiver's
// own (package github.com/spf-go/spf/why serves one): base followed by
// the parameters id (the sender, %{S}), ip (%{C}) and r (%{R}), which the
// macros URL-escape (RFC 7208 section 7.3). In base, "%" and every byte
// that is not visible ASCII are written so that they expand to
// themselves, URL-escaped. WhyExplanationURL("https://www.open-spf.org/Why")
// is WhyExplanation.
func WhyExplanationURL(base string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("%{o} does not designate %{c} as permitted sender; see ")
	for i := 0; i < len(base); i++ {
		switch c := base[i]; {
		case c == '%':
			b.WriteString("%%")
		case c <= ' ' || c >= 0x7f:
			b.WriteString("%%")
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	switch {
	case !strings.Contains(base, "?"):
		b.WriteByte('?')
	case !strings.HasSuffix(base, "?") && !strings.HasSuffix(base, "&"):
		b.WriteByte('&')
	}
	b.WriteString("id=%{S}&ip=%{C}&r=%{R}")
	return b.String()
}
