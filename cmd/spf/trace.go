package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/internal/escape"
)

const traceUsage = `Usage: spf trace [flags] IP SENDER [HELO]
       spf trace [flags] --helo-only IP HELO
       spf trace [flags] --ip IP --sender ADDR --helo NAME

Trace evaluates SPF like check and prints the evaluation as a tree: each
record fetched and from which name, each term with what it matched, each
DNS query with its answer and time, the lookup counters as they grow,
where a limit was hit, and the result. Paste it into bug reports.

The exit status is that of check: pass 0, fail 1, softfail 2, neutral 3,
permerror 4, temperror 5, none 6; 255 for bad usage.

Example:
  spf trace --zone testdata/demo.zone --ip 198.51.100.7 --sender alice@example.com

`

func runTrace(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	var q queryFlags
	q.register(fs)
	noTimes := fs.Bool("no-times", false, "leave out the time of each DNS query (for output that does not change)")
	jsonOut := fs.Bool("json", false, "print the tree as one JSON object (its shape is above)")
	pos, help, err := parseArgs(fs, args, stdout, traceUsage+traceJSONUsage+"\nFlags:\n")
	if help {
		return 0
	}
	if err != nil {
		return fail(stderr, "trace", err)
	}
	qq, err := q.query(fs, pos)
	if err != nil {
		return fail(stderr, "trace", err)
	}
	c, watch, err := q.checker()
	if err != nil {
		return fail(stderr, "trace", err)
	}
	var events []spf.Event
	c.Trace = func(ev spf.Event) { events = append(events, ev) }
	out := qq.do(context.Background(), c)
	if err := watch.deadServer(); err != nil {
		return fail(stderr, "trace", err)
	}
	p := &tracePrinter{w: stdout, times: !*noTimes}
	roots := p.tree(events)
	if *jsonOut {
		if err := p.json(roots, &out); err != nil {
			return fail(stderr, "trace", err)
		}
		return exitStatus(out.Result)
	}
	p.header(&out)
	for _, n := range roots {
		p.print(n, 0)
	}
	p.footer(&out)
	return exitStatus(out.Result)
}

// A traceNode is one line of the tree and the lines under it.
type traceNode struct {
	text     string
	children []*traceNode
	// ev is the event of the line; nil for a check_host() line, whose
	// domain is host, and for lines that only the text shows.
	ev     *spf.Event
	host   string
	hidden bool // in JSON only: the text shows the record in its query
}

// A traceHost is a check_host() still open while the events are read:
// the node of its domain and the lines that wait for the term they
// belong to.
type traceHost struct {
	depth     int
	node      *traceNode
	pending   []*traceNode
	lastQuery *spf.Event // the last query of this host
	lastTerm  *traceNode // the last term line, for a redirect's target
	redirect  bool       // lastTerm is a redirect
	// lookups and voids are the counters after the host's last term.
	lookups, voids int
}

type tracePrinter struct {
	w     io.Writer
	times bool
}

func (p *tracePrinter) header(out *spf.Outcome) {
	sender := out.Sender
	if sender == "" {
		sender = "postmaster@" + out.HELO
	}
	line := fmt.Sprintf("check_host(%s, %s, %s) for the %s identity", out.ClientIP, out.Domain, sender, out.Identity)
	if out.HELO != "" && out.Identity != spf.IdentityHELO {
		line += ", HELO " + out.HELO
	}
	fmt.Fprintln(p.w, escape.Terminal(line))
}

// tree builds the tree from the events.
//
// The evaluator reports a term after what it did (its queries, and the
// whole evaluation of an include's target), a redirect before its
// target's evaluation, and a record after the query that fetched it. The
// lines of a host wait in pending until the term they belong to arrives.
func (p *tracePrinter) tree(events []spf.Event) []*traceNode {
	b := &treeBuilder{p: p, seenErr: map[string]bool{}}
	for i := range events {
		ev := &events[i]
		switch ev.Kind {
		case spf.EventQuery:
			b.query(ev)
		case spf.EventRecord:
			b.record(ev)
		case spf.EventTerm:
			b.term(ev)
		case spf.EventLimit:
			h := b.top(ev, ev.Domain)
			b.seenErr[ev.Err.Error()] = true
			h.pending = append(h.pending, &traceNode{text: "LIMIT: " + strings.TrimPrefix(ev.Err.Error(), "spf: "), ev: ev})
		case spf.EventResult:
			b.result(ev)
		}
	}
	// Hosts still open (there should be none) are printed as they are.
	for len(b.stack) > 0 {
		h := b.stack[len(b.stack)-1]
		h.node.children = append(h.node.children, h.pending...)
		b.closeHost()
	}
	return b.roots
}

// A treeBuilder holds the state of [tracePrinter.tree]: the trees built,
// the hosts still open, innermost last, and the errors already given in
// full.
type treeBuilder struct {
	p       *tracePrinter
	roots   []*traceNode
	stack   []*traceHost
	seenErr map[string]bool
}

// errText gives an error in full where it first happens (in the order of
// the evaluation) and by its result's name after that.
func (b *treeBuilder) errText(err error, r spf.Result) string {
	msg := err.Error()
	if b.seenErr[msg] {
		return r.String()
	}
	b.seenErr[msg] = true
	return r.String() + ": " + strings.TrimPrefix(msg, "spf: ")
}

// top returns the host an event belongs to, opening a new one where the
// event is deeper than every open host. Queries made for %{p} and exp=
// report depth 0 wherever they happen; they go to the innermost host.
func (b *treeBuilder) top(ev *spf.Event, domain string) *traceHost {
	if len(b.stack) == 0 || ev.Depth > b.stack[len(b.stack)-1].depth {
		h := &traceHost{depth: ev.Depth, node: &traceNode{text: domain, host: domain}}
		if len(b.stack) > 0 {
			parent := b.stack[len(b.stack)-1]
			h.lookups, h.voids = parent.lookups, parent.voids
		}
		b.stack = append(b.stack, h)
		return h
	}
	return b.stack[len(b.stack)-1]
}

// closeHost ends the innermost host.
func (b *treeBuilder) closeHost() {
	h := b.stack[len(b.stack)-1]
	b.stack = b.stack[:len(b.stack)-1]
	if len(b.stack) == 0 {
		b.roots = append(b.roots, h.node)
		return
	}
	parent := b.stack[len(b.stack)-1]
	parent.pending = append(parent.pending, h.node)
}

func (b *treeBuilder) query(ev *spf.Event) {
	h := b.top(ev, ev.Name)
	if ev.Err != nil {
		b.seenErr[ev.Err.Error()] = true
	}
	h.pending = append(h.pending, &traceNode{text: b.p.query(ev), ev: ev})
	h.lastQuery = ev
}

func (b *treeBuilder) record(ev *spf.Event) {
	h := b.top(ev, ev.Domain)
	h.node.children = append(h.node.children, h.pending...)
	h.pending = nil
	// Show the record on a line of its own where the TXT answer held more
	// than it.
	q := h.lastQuery
	same := q != nil && q.Response != nil && len(q.Response.TXT) == 1 && q.Response.TXT[0] == ev.Record
	h.node.children = append(h.node.children, &traceNode{text: "SPF record: " + strconv.Quote(ev.Record), ev: ev, hidden: same})
	h.lookups, h.voids = ev.Lookups, ev.VoidLookups
}

func (b *treeBuilder) term(ev *spf.Event) {
	h := b.top(ev, ev.Domain)
	kind := ev.TermKind
	if strings.HasPrefix(ev.Term, "local rule ") {
		// A local rule's lookups are counted apart from the record's (see
		// spf.Checker.LocalRules): no counters.
		kind = 0
	}
	var text string
	switch {
	case ev.Err != nil:
		r := spf.PermError
		if errors.Is(ev.Err, spf.ErrDNS) {
			r = spf.TempError
		}
		text = ev.Term + "  error: " + b.errText(ev.Err, r)
	case kind == spf.KindRedirect:
		text = ev.Term + "  followed"
	case ev.Matched:
		text = ev.Term + "  MATCH"
	default:
		text = ev.Term + "  no match"
	}
	if kind.QueriesDNS() {
		text += fmt.Sprintf("  [lookup %d/%d]", h.lookups+1, spf.DefaultMaxLookups)
	}
	if kind != spf.KindInclude && kind != spf.KindRedirect && ev.VoidLookups > h.voids {
		text += fmt.Sprintf("  [void lookup %d/%d]", ev.VoidLookups, spf.DefaultMaxVoidLookups)
	}
	t := &traceNode{text: text, children: h.pending, ev: ev}
	h.pending = nil
	h.node.children = append(h.node.children, t)
	h.lastTerm, h.redirect = t, kind == spf.KindRedirect
	h.lookups, h.voids = ev.Lookups, ev.VoidLookups
}

func (b *treeBuilder) result(ev *spf.Event) {
	h := b.top(ev, ev.Domain)
	if h.redirect && h.lastTerm != nil {
		h.lastTerm.children = append(h.lastTerm.children, h.pending...)
	} else {
		h.node.children = append(h.node.children, h.pending...)
	}
	h.pending = nil
	res := "result: " + ev.Result.String()
	if ev.Term != "" {
		res += " (by " + ev.Term + ")"
	}
	if ev.Err != nil {
		res = "result: " + b.errText(ev.Err, ev.Result)
	}
	if ev.Result == spf.None && h.lastQuery == nil && len(h.node.children) == 0 {
		res += " (not a valid domain name, RFC 7208 section 4.3)"
	}
	rn := &traceNode{text: res, ev: ev}
	// Point at a syntax error.
	var se *spf.SyntaxError
	if errors.As(ev.Err, &se) && se.Offset <= len(se.Record) {
		// The caret stands under the escaped record.
		caret := utf8.RuneCountInString(escape.Terminal(se.Record[:se.Offset]))
		rn.children = []*traceNode{{text: se.Record}, {text: strings.Repeat(" ", caret) + "^"}}
	}
	h.node.children = append(h.node.children, rn)
	if len(b.stack) > 1 {
		h.node.text += " (" + ev.Result.String() + ")"
	}
	b.closeHost()
}

// query describes a DNS query and its answer.
func (p *tracePrinter) query(ev *spf.Event) string {
	var b strings.Builder
	b.WriteString(ev.Type.String())
	b.WriteByte(' ')
	b.WriteString(ev.Name)
	switch {
	case ev.Err != nil:
		b.WriteString(": error: ")
		b.WriteString(strings.TrimPrefix(ev.Err.Error(), "spf: "))
	case ev.Response.Len() == 0:
		b.WriteString(": no such name or no data")
	default:
		b.WriteString(" = ")
		r := ev.Response
		var parts []string
		for _, t := range r.TXT {
			parts = append(parts, strconv.Quote(t))
		}
		for _, a := range r.Addrs {
			parts = append(parts, a.String())
		}
		parts = append(parts, r.Names...)
		b.WriteString(strings.Join(parts, ", "))
	}
	if p.times {
		b.WriteString(" (" + formatElapsed(ev.Elapsed) + ")")
	}
	return b.String()
}

func formatElapsed(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return "<1µs"
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	}
	return d.Round(time.Millisecond).String()
}

// print writes the tree, each line through the terminal escaper: the
// lines hold names, records and errors from DNS and the client.
func (p *tracePrinter) print(n *traceNode, indent int) {
	if n.hidden {
		return
	}
	fmt.Fprintf(p.w, "%s%s\n", strings.Repeat("  ", indent), escape.Terminal(n.text))
	for _, c := range n.children {
		p.print(c, indent+1)
	}
}

func (p *tracePrinter) footer(out *spf.Outcome) {
	fmt.Fprintln(p.w)
	a := newAnswer(out)
	a.ReceivedSPF = "" // long, and not what a trace is about
	a.writeText(p.w)
}
