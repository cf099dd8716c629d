package main

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf-go/spf"
)

// An engine is a configuration ready to check: it is replaced whole on
// SIGHUP, so that a request sees one configuration from start to end.
type engine struct {
	cfg     *config
	checker *spf.Checker
	trace   bool // log each step of an evaluation (debugLevel 3 and more)
}

// A decision is what the checks of one message found.
type decision struct {
	heloOut *spf.Outcome
	mailOut *spf.Outcome
	verdict spf.Verdict
}

// A memo is what is kept of a decision for the other requests
// (recipients) of the same message: the inputs it is for, the action of
// a later request, and what a decision's log line says.
type memo struct {
	inputs                 inputsDigest // of the client, HELO name and sender
	heloResult, mailResult string
	later, laterKind       string
	would, reply, problem  string
}

func newMemo(dec *decision, inputs inputsDigest) *memo {
	m := &memo{inputs: inputs,
		heloResult: resultName(dec.heloOut), mailResult: resultName(dec.mailOut)}
	v := dec.verdict
	switch {
	case v.ReportOnly:
		m.would, m.reply = v.Would.String(), replyText(v)
	case v.Action != spf.Accept:
		m.reply = replyText(v)
	}
	// The problem of a temperror or permerror, also where it was
	// accepted.
	for _, o := range []*spf.Outcome{v.Outcome, dec.mailOut, dec.heloOut} {
		if o != nil && o.Problem != nil {
			m.problem = clip(o.Problem.Error())
			break
		}
	}
	return m
}

// decide answers one policy request with the action to reply. It logs
// the decision, one line.
func (d *daemon) decide(ctx context.Context, e *engine, req request) string {
	start := time.Now()
	d.stats.requests.Add(1)
	attrs := []slog.Attr{
		slog.String("queue_id", clip(req["queue_id"])),
		slog.String("instance", clip(req["instance"])),
		slog.String("client_address", clip(req["client_address"])),
		slog.String("client_name", clip(req["client_name"])),
		slog.String("helo", clip(req["helo_name"])),
		slog.String("sender", clip(req["sender"])),
		slog.String("recipient", clip(req["recipient"])),
	}
	if req["request"] != "smtpd_access_policy" {
		d.stats.bad.Add(1)
		d.log.LogAttrs(ctx, slog.LevelWarn, "not an smtpd_access_policy request",
			append(attrs, slog.String("request", clip(req["request"])), slog.String("action", "DUNNO"))...)
		return "DUNNO"
	}
	ip, err := netip.ParseAddr(req["client_address"])
	if err != nil {
		d.stats.bad.Add(1)
		d.log.LogAttrs(ctx, slog.LevelWarn, "request without a valid client_address",
			append(attrs, slog.String("action", "DUNNO"))...)
		return "DUNNO"
	}
	ip = ip.Unmap()
	helo, sender := req["helo_name"], req["sender"]

	// One digest of the inputs, made outside the table's lock, for the
	// lookup and for the memo of a new decision.
	inputs := digestInputs(ip, helo, sender)
	m, reused := d.instances.get(req["instance"], inputs)
	action, kind := "", ""
	if reused {
		d.stats.reused.Add(1)
		action, kind = m.later, m.laterKind
	} else {
		dec := d.check(ctx, e, ip, helo, sender)
		d.stats.checks.Add(1)
		action, kind = actionOf(e, dec)
		m = newMemo(dec, inputs)
		// The later requests of the message get the same reject or
		// defer, and no second header.
		m.later, m.laterKind = action, kind
		if kind == "PREPEND" {
			m.later, m.laterKind = "DUNNO", "DUNNO"
		}
		d.instances.put(req["instance"], m)
	}
	d.stats.count(kind)
	attrs = append(attrs,
		slog.String("helo_result", m.heloResult),
		slog.String("mailfrom_result", m.mailResult),
		slog.String("action", kind),
		slog.Bool("reused", reused),
	)
	if m.would != "" {
		attrs = append(attrs, slog.String("would", m.would), slog.String("would_reply", m.reply))
	} else if m.reply != "" {
		attrs = append(attrs, slog.String("reply", m.reply))
	}
	if m.problem != "" {
		attrs = append(attrs, slog.String("problem", m.problem))
	}
	attrs = append(attrs, slog.Duration("elapsed", time.Since(start)))
	d.log.LogAttrs(ctx, slog.LevelInfo, "decision", attrs...)
	return action
}

// check makes the checks the configuration asks for and judges them.
func (d *daemon) check(ctx context.Context, e *engine, ip netip.Addr, helo, sender string) *decision {
	dec := &decision{}
	if e.trace {
		ctx = spf.WithTrace(ctx, spf.SlogTrace(d.log, slog.LevelDebug))
	}
	if e.cfg.checkHELO && helo != "" {
		out, _ := e.checker.CheckHELO(ctx, ip, helo)
		dec.heloOut = &out
	}
	// A null sender with no HELO name has no identity to check.
	if e.cfg.checkMailFrom && (sender != "" || helo != "") {
		out, _ := e.checker.Check(ctx, ip, helo, sender)
		dec.mailOut = &out
	}
	dec.verdict = e.cfg.policy.Verdict(dec.heloOut, dec.mailOut)
	if o := dec.verdict.Outcome; o != nil && errors.Is(o.Problem, spf.ErrInvalidInput) {
		// An address Postfix passed on but the library cannot check (a
		// control character in it) is no sender's fault: do not defer.
		dec.verdict = spf.Verdict{Action: spf.Accept}
	}
	return dec
}

// actionOf returns the reply's action for a decision, and its kind for
// logs and counts: "DUNNO", "PREPEND", "REJECT" or "DEFER".
func actionOf(e *engine, dec *decision) (action, kind string) {
	v := dec.verdict
	switch v.Action {
	case spf.Reject:
		return replyText(v), "REJECT"
	case spf.Defer:
		return replyText(v), "DEFER"
	}
	h := header(e, dec.heloOut, dec.mailOut)
	if h == "" {
		return "DUNNO", "DUNNO"
	}
	return "PREPEND " + h, "PREPEND"
}

// header returns the header field of the configuration's Header_Type
// for the outcomes, unfolded to one line of at most maxActionBytes
// with "PREPEND ", or "" for none. Where the client's HELO name and
// sender make it longer, they are left out of it, the HELO name first,
// so that no field is ever cut in the middle of a quoted string.
func header(e *engine, helo, mail *spf.Outcome) string {
	if e.cfg.headerType == "None" || (helo == nil && mail == nil) {
		return ""
	}
	for drop := 0; drop < 3; drop++ {
		var outs []*spf.Outcome
		for _, o := range []*spf.Outcome{helo, mail} {
			if o == nil {
				continue
			}
			c := *o
			if drop >= 1 {
				c.HELO = ""
			}
			if drop >= 2 {
				c.Sender = ""
			}
			outs = append(outs, &c)
		}
		var h string
		if e.cfg.headerType == "AR" {
			h = spf.AuthenticationResults(e.cfg.authservID, outs...)
		} else {
			// Received-SPF: the MAIL FROM check, or HELO's without it.
			h = outs[len(outs)-1].ReceivedSPF()
		}
		if h = unfold(h); len(h)+len("PREPEND ") <= maxActionBytes {
			return h
		}
	}
	return ""
}

// replyText returns the verdict (or the verdict an enforcing policy
// would give) as the text of one reply line: "550 5.7.23 " and the
// verdict's lines joined by spaces, printable ASCII, capped so that the
// SMTP reply line stays within 512 bytes.
func replyText(v spf.Verdict) string {
	if len(v.Lines) == 0 {
		return ""
	}
	const maxReply = 510 // RFC 5321 section 4.5.3.1.5, less the CRLF
	var b strings.Builder
	b.WriteString(strconv.Itoa(v.Code))
	b.WriteByte(' ')
	b.WriteString(v.EnhancedStatus())
	for _, l := range v.Lines {
		b.WriteByte(' ')
		b.WriteString(l)
	}
	s := cleanAction(b.String())
	if len(s) > maxReply {
		s = s[:maxReply-3] + "..."
	}
	return s
}

// unfold joins the lines of a folded header field: Postfix takes the
// action as one line.
func unfold(h string) string {
	h = strings.ReplaceAll(h, "\r\n\t", " ")
	return strings.ReplaceAll(h, "\r\n ", " ")
}

func resultName(o *spf.Outcome) string {
	switch {
	case o == nil:
		return "-"
	case o.Skipped != nil:
		return "skipped"
	}
	return o.Result.String()
}

// maxLogValue bounds each value from the request in a log line, so that
// a line stays within what syslog daemons keep (8 KiB for rsyslog).
const maxLogValue = 512

// clip cuts s to maxLogValue bytes, marking the cut with "...".
func clip(s string) string {
	if len(s) <= maxLogValue {
		return s
	}
	return s[:maxLogValue-3] + "..."
}
