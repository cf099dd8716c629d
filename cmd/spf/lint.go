package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/internal/escape"
)

const lintUsage = `Usage: spf lint [flags] DOMAIN
       spf lint [flags] --record TEXT [DOMAIN]

Lint finds what is wrong or risky in a domain's SPF policy: syntax errors
with their position, the worst-case count of DNS-querying terms over the
whole include and redirect tree against the limit of 10, void lookups,
includes of names with no record, more than one record, ptr, +all and
?all, a redirect beside all, exp= problems and records or answers too
long for one string or one UDP packet. It reads the tree itself; macros
in include and redirect targets cannot be followed and are reported.

With --record, TEXT is linted as if published at DOMAIN (default
"example.invalid"); what it includes is looked up as usual.

The exit status is 1 when lint finds errors (not only warnings), 255
for bad usage, 0 otherwise.

Example:
  spf lint --zone testdata/demo.zone toomany.example.org

Flags:
`

// The severities of lint findings.
const (
	sevError   = "error"
	sevWarning = "warning"
	sevInfo    = "info"
)

// A finding is one thing lint reports.
type finding struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Domain   string `json:"domain"`
	Term     string `json:"term,omitempty"`
	Message  string `json:"message"`
	// Record and Offset locate a syntax error.
	Record string `json:"record,omitempty"`
	Offset *int   `json:"offset,omitempty"`
}

// A lintNode is one record of the include/redirect tree.
type lintNode struct {
	Domain string `json:"domain"`
	Record string `json:"record,omitempty"`
	// Lookups is the worst-case count of DNS-querying terms of the
	// record and of everything it includes or redirects to.
	Lookups int `json:"lookups"`
	// Voids counts the lookups of the record and below that are known
	// to find nothing.
	Voids    int          `json:"void_lookups"`
	Children []*lintChild `json:"children,omitempty"`
}

// A lintChild is an include or redirect and the record it leads to (nil
// where there is none or it cannot be followed).
type lintChild struct {
	Term string    `json:"term"`
	Node *lintNode `json:"node,omitempty"`
}

// A lintReport is what lint prints with --json.
type lintReport struct {
	Domain      string     `json:"domain"`
	Lookups     int        `json:"lookups"`
	MaxLookups  int        `json:"max_lookups"`
	VoidLookups int        `json:"void_lookups"`
	MaxVoids    int        `json:"max_void_lookups"`
	Errors      int        `json:"errors"`
	Warnings    int        `json:"warnings"`
	Tree        *lintNode  `json:"tree,omitempty"`
	Findings    []*finding `json:"findings"`
}

// maxLintRecords bounds the records one lint reads.
const maxLintRecords = 200

// A linter walks a policy's tree with a Resolver.
type linter struct {
	ctx      context.Context
	res      spf.Resolver
	findings []*finding
	records  int                  // records read, against maxLintRecords
	memo     map[string]*lintNode // domains already walked
	// reported keeps findings about a domain from being repeated when
	// it is reached more than once.
	reported map[string]bool
}

func runLint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	var d dnsFlags
	d.register(fs, "time limit of the whole lint")
	record := fs.String("record", "", "lint this record `TEXT` instead of the one DOMAIN publishes")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of text")
	pos, help, err := parseArgs(fs, args, stdout, lintUsage)
	if help {
		return 0
	}
	if err != nil {
		return fail(stderr, "lint", err)
	}
	recordSet := false
	fs.Visit(func(f *flag.Flag) { recordSet = recordSet || f.Name == "record" })
	var domain string
	switch {
	case len(pos) > 1:
		return fail(stderr, "lint", usagef("too many arguments: %q (want one DOMAIN)", strings.Join(pos, " ")))
	case len(pos) == 1:
		domain = pos[0]
	case recordSet:
		domain = "example.invalid"
	default:
		return fail(stderr, "lint", usagef("no domain to lint (give DOMAIN or --record TEXT)"))
	}
	if recordSet && strings.TrimSpace(*record) == "" {
		return fail(stderr, "lint", usagef("--record is empty"))
	}
	name := strings.ToLower(strings.TrimSuffix(domain, "."))
	if !validName(name) {
		return fail(stderr, "lint", usagef("invalid domain %q", domain))
	}
	res, watch, err := d.resolver()
	if err != nil {
		return fail(stderr, "lint", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	l := &linter{ctx: ctx, res: res, memo: map[string]*lintNode{}, reported: map[string]bool{}}
	var tree *lintNode
	if recordSet {
		tree = l.lintRecord(name, *record, nil, true)
	} else {
		tree = l.walk(name, nil, "")
	}
	if err := watch.deadServer(); err != nil {
		return fail(stderr, "lint", err)
	}
	rep := &lintReport{
		Domain:     name,
		MaxLookups: spf.DefaultMaxLookups,
		MaxVoids:   spf.DefaultMaxVoidLookups,
		Tree:       tree,
	}
	if tree != nil {
		rep.Lookups, rep.VoidLookups = tree.Lookups, tree.Voids
		if tree.Lookups > spf.DefaultMaxLookups {
			l.addFirst(sevError, "too-many-lookups", name, "", fmt.Sprintf("%d DNS-querying terms in the worst case, over the limit of %d: checks that get that far end in permerror (RFC 7208 section 4.6.4)", tree.Lookups, spf.DefaultMaxLookups))
		}
		if tree.Voids > spf.DefaultMaxVoidLookups {
			l.addFirst(sevError, "too-many-void-lookups", name, "", fmt.Sprintf("%d lookups that find nothing, over the limit of %d: checks that get that far end in permerror (RFC 7208 section 4.6.4)", tree.Voids, spf.DefaultMaxVoidLookups))
		}
	}
	rep.Findings = l.findings
	if rep.Findings == nil {
		rep.Findings = []*finding{}
	}
	for _, f := range l.findings {
		switch f.Severity {
		case sevError:
			rep.Errors++
		case sevWarning:
			rep.Warnings++
		}
	}
	if *jsonOut {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fail(stderr, "lint", err)
		}
		fmt.Fprintf(stdout, "%s\n", asciiJSON(b))
	} else {
		rep.writeText(stdout)
	}
	if rep.Errors > 0 {
		return 1
	}
	return 0
}

func (l *linter) add(sev, code, domain, term, msg string) *finding {
	f := &finding{Severity: sev, Code: code, Domain: domain, Term: term, Message: msg}
	l.findings = append(l.findings, f)
	return f
}

func (l *linter) addFirst(sev, code, domain, term, msg string) {
	f := &finding{Severity: sev, Code: code, Domain: domain, Term: term, Message: msg}
	l.findings = append([]*finding{f}, l.findings...)
}

// lookup asks the resolver; found is false for no such name or no data,
// err is any other failure, reported as a finding.
func (l *linter) lookup(domain, term, name string, typ spf.RRType) (resp *spf.Response, found bool, err error) {
	resp, err = l.res.Lookup(l.ctx, name, typ)
	switch {
	case errors.Is(err, spf.ErrNotFound):
		return nil, false, nil
	case err != nil:
		l.add(sevError, "dns-error", domain, term, fmt.Sprintf("%s query for %s failed: %v; a check would give temperror", typ, name, err))
		return nil, false, err
	}
	return resp, resp.Len() > 0, nil
}

// walk lints the record of domain, reached through path (the domains
// above it) by the term via ("" for the top), and returns its node; nil
// where it has no record or cannot be read.
func (l *linter) walk(domain string, path []string, via string) *lintNode {
	for i, p := range path {
		if p == domain {
			l.add(sevError, "loop", path[len(path)-1], via, fmt.Sprintf("loop: %s; the evaluation goes round until it hits the lookup limit (permerror)", strings.Join(append(path[i:], domain), " -> ")))
			return nil
		}
	}
	if n, ok := l.memo[domain]; ok {
		return n
	}
	if l.records >= maxLintRecords {
		if !l.reported["#records"] {
			l.reported["#records"] = true
			l.add(sevWarning, "too-many-records", domain, via, fmt.Sprintf("the tree holds more than %d records; lint stopped following it", maxLintRecords))
		}
		return nil
	}
	l.records++
	parent := domain
	if len(path) > 0 {
		parent = path[len(path)-1]
	}
	resp, found, err := l.lookup(parent, via, domain, spf.TypeTXT)
	if err != nil {
		l.memo[domain] = nil
		return nil
	}
	var records []string
	if found {
		for _, t := range resp.TXT {
			if spf.IsRecord(t) {
				records = append(records, t)
			}
		}
		l.checkAnswerSize(domain, resp)
	}
	switch {
	case len(records) == 0 && via == "":
		l.add(sevError, "no-record", domain, "", "no SPF record: checks give none")
	case len(records) == 0:
		l.add(sevError, "no-target-record", parent, via, fmt.Sprintf("%s has no SPF record: a check that gets there gives permerror (RFC 7208 sections 5.2 and 6.1)", domain))
	case len(records) > 1:
		l.add(sevError, "multiple-records", domain, "", fmt.Sprintf("%d SPF records; there must be one: checks give permerror (RFC 7208 section 4.5)", len(records)))
	}
	if len(records) != 1 {
		l.memo[domain] = nil
		return nil
	}
	n := l.lintRecord(domain, records[0], path, false)
	l.memo[domain] = n
	return n
}

// lintRecord lints one record published at domain; given is true for
// the text of --record, which is not yet split into strings.
func (l *linter) lintRecord(domain, text string, path []string, given bool) *lintNode {
	n := &lintNode{Domain: domain, Record: text}
	if len(text) > 255 && given {
		l.add(sevInfo, "long-record", domain, "", fmt.Sprintf("the record is %d bytes: publish it as several strings of at most 255 bytes each, which are joined without spaces (RFC 7208 section 3.3)", len(text)))
	}
	if len(text) > 450 {
		l.add(sevWarning, "long-record", domain, "", fmt.Sprintf("the record is %d bytes; RFC 7208 section 3.4 advises keeping it under 450 so that the answer fits in 512 bytes", len(text)))
	}
	rec, err := spf.Parse(text)
	if err != nil {
		var se *spf.SyntaxError
		f := l.add(sevError, "syntax", domain, "", strings.TrimPrefix(err.Error(), "spf: ")+": checks give permerror")
		if errors.As(err, &se) {
			f.Message = fmt.Sprintf("syntax error at offset %d: %s: checks give permerror (RFC 7208 section 4.6)", se.Offset, se.Msg)
			f.Term, f.Record = se.Term, se.Record
			off := se.Offset
			f.Offset = &off
		}
		return n
	}
	path = append(path[:len(path):len(path)], domain)
	var seenAll *spf.Term
	hasRedirect := false
	for i := range rec.Terms {
		t := &rec.Terms[i]
		if seenAll != nil && t.Kind.IsMechanism() {
			l.add(sevWarning, "after-all", domain, t.Text, fmt.Sprintf("comes after %q and is never evaluated", seenAll.Text))
			continue
		}
		if t.Kind.IsMechanism() && t.Kind.QueriesDNS() {
			n.Lookups++
		}
		switch t.Kind {
		case spf.KindAll:
			seenAll = t
			switch t.Qualifier {
			case spf.QualifierPass:
				l.add(sevError, "pass-all", domain, t.Text, "passes every host on the Internet: anyone can send mail as this domain")
			case spf.QualifierNeutral:
				l.add(sevWarning, "neutral-all", domain, t.Text, "gives neutral to every other host: the policy protects nothing")
			}
		case spf.KindPTR:
			l.add(sevWarning, "ptr", domain, t.Text, "ptr is slow, unreliable and deprecated: list the addresses or names instead (RFC 7208 section 5.5)")
			l.checkDomain(n, domain, t)
		case spf.KindA, spf.KindMX, spf.KindExists:
			l.checkDomain(n, domain, t)
		case spf.KindIP4, spf.KindIP6:
			p := t.Network
			if p.Bits() == 0 {
				l.add(sevError, "pass-all", domain, t.Text, "matches every address of its family")
			} else if p.Masked() != p {
				l.add(sevInfo, "host-bits", domain, t.Text, fmt.Sprintf("has bits set beyond the prefix length; it means %s", p.Masked()))
			}
		case spf.KindInclude:
			l.follow(n, domain, t, path)
		case spf.KindRedirect:
			hasRedirect = true
		case spf.KindExp:
			l.checkExp(domain, t)
		}
	}
	for i := range rec.Terms {
		t := &rec.Terms[i]
		if t.Kind != spf.KindRedirect {
			continue
		}
		if seenAll != nil {
			l.add(sevWarning, "redirect-with-all", domain, t.Text, fmt.Sprintf("is never followed, since %q always matches (RFC 7208 section 6.1)", seenAll.Text))
			continue
		}
		n.Lookups++
		l.follow(n, domain, t, path)
	}
	if seenAll == nil && !hasRedirect {
		l.add(sevWarning, "no-all", domain, "", "no all and no redirect: hosts that match nothing get neutral, as with ?all")
	}
	return n
}

// follow lints the target of an include or redirect and adds it to n.
func (l *linter) follow(n *lintNode, domain string, t *spf.Term, path []string) {
	c := &lintChild{Term: t.Text}
	n.Children = append(n.Children, c)
	if strings.Contains(t.Domain, "%") {
		l.add(sevInfo, "macro-target", domain, t.Text, "the target depends on macros and cannot be followed here; its lookups are not counted")
		return
	}
	target := strings.ToLower(strings.TrimSuffix(t.Domain, "."))
	if !validName(target) {
		l.add(sevError, "invalid-target", domain, t.Text, fmt.Sprintf("%q is not a valid domain name: checks that get there give permerror", target))
		return
	}
	c.Node = l.walk(target, path, t.Text)
	if c.Node != nil {
		n.Lookups += c.Node.Lookups
		n.Voids += c.Node.Voids
	}
}

// checkDomain looks up the target of a, mx, ptr or exists to find void
// lookups and, for mx, hosts without addresses.
func (l *linter) checkDomain(n *lintNode, domain string, t *spf.Term) {
	target := t.Domain
	if target == "" {
		target = domain
	}
	if strings.Contains(target, "%") {
		return // depends on the message; nothing to check statically
	}
	target = strings.ToLower(strings.TrimSuffix(target, "."))
	if !validName(target) {
		l.add(sevWarning, "invalid-target", domain, t.Text, fmt.Sprintf("%q is not a valid domain name: the term never matches and counts as a void lookup", target))
		n.Voids++
		return
	}
	key := t.Kind.String() + " " + target
	switch t.Kind {
	case spf.KindA:
		_, found4, err4 := l.lookup(domain, t.Text, target, spf.TypeA)
		_, found6, err6 := l.lookup(domain, t.Text, target, spf.TypeAAAA)
		switch {
		case err4 != nil || err6 != nil:
		case !found4 && !found6:
			n.Voids++
			l.once(key, sevWarning, "void-lookup", domain, t.Text, fmt.Sprintf("%s has no address: a void lookup that never matches (RFC 7208 section 4.6.4)", target))
		}
	case spf.KindExists:
		if _, found, err := l.lookup(domain, t.Text, target, spf.TypeA); err == nil && !found {
			n.Voids++
			l.once(key, sevWarning, "void-lookup", domain, t.Text, fmt.Sprintf("%s has no A record: a void lookup that never matches (RFC 7208 section 4.6.4)", target))
		}
	case spf.KindMX:
		resp, found, err := l.lookup(domain, t.Text, target, spf.TypeMX)
		switch {
		case err != nil:
			return
		case !found:
			n.Voids++
			l.once(key, sevWarning, "void-lookup", domain, t.Text, fmt.Sprintf("%s has no MX record: a void lookup that never matches (RFC 7208 section 4.6.4)", target))
			return
		case len(resp.Names) > spf.DefaultMaxMXNames:
			l.once(key, sevError, "too-many-mx", domain, t.Text, fmt.Sprintf("%s has %d MX names, over the limit of %d: checks that get there give permerror (RFC 7208 section 4.6.4)", target, len(resp.Names), spf.DefaultMaxMXNames))
			return
		}
		for _, host := range resp.Names {
			if host == "" || host == "." {
				continue
			}
			_, found4, err4 := l.lookup(domain, t.Text, host, spf.TypeA)
			_, found6, err6 := l.lookup(domain, t.Text, host, spf.TypeAAAA)
			if err4 == nil && err6 == nil && !found4 && !found6 {
				l.once(key+" "+host, sevWarning, "mx-no-address", domain, t.Text, fmt.Sprintf("MX host %s of %s has no address", host, target))
			}
		}
	}
}

// checkExp checks the explanation an exp= modifier points to.
func (l *linter) checkExp(domain string, t *spf.Term) {
	if strings.Contains(t.Domain, "%") {
		l.add(sevInfo, "macro-target", domain, t.Text, "the explanation's domain depends on macros and cannot be checked here")
		return
	}
	target := strings.ToLower(strings.TrimSuffix(t.Domain, "."))
	if !validName(target) {
		l.add(sevWarning, "exp", domain, t.Text, fmt.Sprintf("%q is not a valid domain name: the default explanation is used", target))
		return
	}
	resp, found, err := l.lookup(domain, t.Text, target, spf.TypeTXT)
	switch {
	case err != nil:
	case !found:
		l.add(sevWarning, "exp", domain, t.Text, fmt.Sprintf("%s has no TXT record: the default explanation is used (RFC 7208 section 6.2)", target))
	case len(resp.TXT) != 1:
		l.add(sevWarning, "exp", domain, t.Text, fmt.Sprintf("%s has %d TXT records, not one: the default explanation is used (RFC 7208 section 6.2)", target, len(resp.TXT)))
	default:
		if msg := checkExplanation(resp.TXT[0]); msg != "" {
			l.add(sevWarning, "exp", domain, t.Text, fmt.Sprintf("the explanation at %s is not a valid macro string (%s): the default explanation is used (RFC 7208 section 6.2)", target, msg))
		}
	}
}

// checkExplanation checks explanation text against the grammar of RFC
// 7208 section 6.2 (macro-strings separated by spaces), through the
// parser's check of an unknown modifier's value, which is a macro-string.
func checkExplanation(text string) string {
	for _, word := range strings.Split(text, " ") {
		if word == "" {
			continue
		}
		if _, err := spf.Parse("v=spf1 x=" + word); err != nil {
			var se *spf.SyntaxError
			if errors.As(err, &se) {
				return strconv.Quote(word) + ": " + se.Msg
			}
			return err.Error()
		}
	}
	return ""
}

// checkAnswerSize warns when a TXT answer does not fit in a 512-byte
// UDP message, so that a resolver without EDNS has to retry over TCP
// (RFC 7208 section 3.4).
func (l *linter) checkAnswerSize(domain string, resp *spf.Response) {
	size := 12 + len(domain) + 2 + 4 // header and question
	for _, t := range resp.TXT {
		strs := (len(t) + 254) / 255
		if strs == 0 {
			strs = 1
		}
		size += 2 + 10 + len(t) + strs // compressed name, type..rdlength, rdata
	}
	if size > 512 {
		l.add(sevWarning, "answer-size", domain, "", fmt.Sprintf("the TXT answer for %s is about %d bytes with %d records, over 512: it needs EDNS or TCP, which some resolvers fail at (RFC 7208 section 3.4)", domain, size, len(resp.TXT)))
	}
}

// once adds a finding unless one with the same key was added already.
func (l *linter) once(key, sev, code, domain, term, msg string) {
	if l.reported[key] {
		return
	}
	l.reported[key] = true
	l.add(sev, code, domain, term, msg)
}

// validName reports whether name (lower case, no trailing dot) can be
// looked up: labels of 1 to 63 bytes of visible ASCII, at most 253 bytes,
// at least two labels.
func validName(name string) bool {
	if name == "" || len(name) > 253 || !strings.Contains(name, ".") {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if label[i] <= ' ' || label[i] >= 0x7f {
				return false
			}
		}
	}
	return true
}

// writeText writes the report for people: the tree, then the findings.
func (r *lintReport) writeText(w io.Writer) {
	if r.Tree != nil {
		writeLintNode(w, r.Tree, "", 0)
		fmt.Fprintf(w, "\nworst case: %d of %d DNS-querying terms, %d of %d void lookups\n", r.Lookups, r.MaxLookups, r.VoidLookups, r.MaxVoids)
	}
	for _, f := range r.Findings {
		where := f.Domain
		if f.Term != "" {
			where += ": " + strconv.Quote(f.Term)
		}
		fmt.Fprintf(w, "%s: %s: %s\n", f.Severity, escape.Terminal(where), escape.Terminal(f.Message))
		if f.Offset != nil && f.Record != "" {
			// The caret stands under the escaped record.
			caret := *f.Offset
			if caret <= len(f.Record) {
				caret = utf8.RuneCountInString(escape.Terminal(f.Record[:caret]))
			}
			fmt.Fprintf(w, "    %s\n    %s^\n", escape.Terminal(f.Record), strings.Repeat(" ", caret))
		}
	}
	switch {
	case r.Errors == 0 && r.Warnings == 0:
		fmt.Fprintln(w, "no problems found")
	default:
		fmt.Fprintf(w, "%s, %s\n", plural(r.Errors, "error"), plural(r.Warnings, "warning"))
	}
}

func writeLintNode(w io.Writer, n *lintNode, via string, depth int) {
	indent := strings.Repeat("  ", depth)
	name := n.Domain
	if via != "" {
		name = via
	}
	fmt.Fprintf(w, "%s%s  [%s]\n%s  %s\n", indent, escape.Terminal(name), plural(n.Lookups, "lookup"), indent, escape.Terminal(strconv.Quote(n.Record)))
	for _, c := range n.Children {
		if c.Node == nil {
			fmt.Fprintf(w, "%s  %s  (not followed)\n", indent, escape.Terminal(c.Term))
			continue
		}
		writeLintNode(w, c.Node, c.Term, depth+1)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
