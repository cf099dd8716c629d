package received

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf/internal/domain"
)

// Limits on hostile input. A field longer than MaxFieldLen bytes is
// rejected with [ErrTooLong] before it is looked at; comments nested
// deeper than maxDepth are an error. [ReadHeader] and [Analyzer.Analyze]
// bound a whole header section (see MaxHeaderBytes, MaxFields and
// MaxHops).
const (
	// MaxFieldLen is the longest Received or Received-SPF field, in
	// bytes, that the parsers accept (RFC 5322 allows 998 bytes a line;
	// folded fields are longer, rarely past a few hundred).
	MaxFieldLen = 8 << 10
	// maxDepth is the deepest comment nesting accepted.
	maxDepth = 32
	// maxMisses is how many unbalanced "(" glued to a word a field may
	// hold (each costs a scan to the end of the field): more than an
	// SMTP command line (512 bytes) can put in a HELO name.
	maxMisses = 512
)

// Errors the parsers return, wrapped with the context of the failure.
var (
	// ErrNotReceived is returned for input that is not a Received field
	// (another field name, or no from, by or date part).
	ErrNotReceived = errors.New("received: not a Received field")
	// ErrNotReceivedSPF is returned for input that is not a Received-SPF
	// field.
	ErrNotReceivedSPF = errors.New("received: not a Received-SPF field")
	// ErrSyntax is returned for a field that cannot be read.
	ErrSyntax = errors.New("received: syntax error")
	// ErrTooLong is returned for a field longer than MaxFieldLen, or a
	// header section past its limits.
	ErrTooLong = errors.New("received: input too long")
)

// A Hop is one Received field (RFC 5321 section 4.4) reduced to what
// it says of one transfer: the client that connected and the host that
// received it. Fields the Received field does not give are empty.
type Hop struct {
	// IP is the client's address as the receiving host recorded it;
	// IPv4-mapped addresses are unmapped and zones dropped.
	IP netip.Addr
	// RDNS is the client's reverse DNS name as recorded ("unknown" and
	// the like are left out), without a trailing dot.
	RDNS string
	// HELO is the name the client gave in HELO or EHLO, as recorded.
	HELO string
	// By is the receiving host, as it named itself.
	By string
	// ByIP is the receiving host's address where recorded (Microsoft
	// Exchange writes it).
	ByIP netip.Addr
	// EnvelopeFrom is the MAIL FROM address where the field records it
	// (Exim's "(envelope-from <a@b>)", qmail's "(envelope-sender <a@b>)",
	// Sendmail's "(from a@b)"), without angle brackets.
	EnvelopeFrom string
	// ID is the queue id (the id clause).
	ID string
	// For is the recipient (the for clause).
	For string
	// With is the protocol (the with clause: "ESMTPS", "esmtpsa",
	// "Microsoft SMTP Server", ...).
	With string
	// Auth is non-empty exactly when the field records that the client
	// authenticated: the user name where it is recorded
	// ("(Authenticated sender: alice)", Courier's "(AUTH: LOGIN alice)"),
	// else the word that says so: the with protocol of RFC 3848
	// ("ESMTPSA", "ESMTPA", "LMTPSA", ...) or "authenticated".
	Auth string
}

// Authenticated reports whether the client authenticated (see Auth).
func (h *Hop) Authenticated() bool { return h.Auth != "" }

// ParseReceived parses one Received field: its value, or the whole
// field with its name ("Received: from ..."), folded or not. Anything
// that is not a Received field (another field name, no from, by or ";"
// date part) is an error wrapping [ErrNotReceived]; an unbalanced or too
// deeply nested comment is an error wrapping [ErrSyntax].
//
// It reads the layouts of Postfix, Exim, Sendmail, qmail, Courier,
// MDaemon, Microsoft Exchange and Microsoft 365, Gmail and others: the
// clauses from, by, via, with, id and for of RFC 5321 section 4.4, the
// TCP-info comment after from ("(rdns [ip])", "([ip] helo=name)",
// "(HELO name) (ip)", "(ip)"), address literals "[IPv6:2001:db8::1]",
// and the comments that record the envelope sender and authentication.
func ParseReceived(field string) (Hop, error) {
	v, err := fieldValue(field, "Received", ErrNotReceived)
	if err != nil {
		return Hop{}, err
	}
	toks, err := tokenize(v)
	if err != nil {
		return Hop{}, fmt.Errorf("received: Received field %.40q: %w", v, err)
	}
	h, ok := buildHop(toks)
	if !ok {
		return Hop{}, fmt.Errorf("%w: %.40q has no from, by or date part", ErrNotReceived, v)
	}
	return h, nil
}

// fieldValue returns the value of field: field itself, or what follows
// "name:" when it starts with a field name, which must then be name. It
// checks the length and that the value is not empty.
func fieldValue(field, name string, notIt error) (string, error) {
	if len(field) > MaxFieldLen {
		return "", fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLong, len(field), MaxFieldLen)
	}
	if i := fieldNameEnd(field); i >= 0 {
		if !strings.EqualFold(field[:i], name) {
			return "", fmt.Errorf("%w: field %.40q", notIt, field[:i])
		}
		field = field[i+1:]
	}
	field = strings.TrimSpace(field)
	if field == "" {
		return "", fmt.Errorf("%w: empty value", notIt)
	}
	return field, nil
}

// fieldNameEnd returns the index of the colon ending a leading field
// name (RFC 5322 section 3.6.8: printable ASCII except ":"), or -1.
func fieldNameEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if i == 0 {
				return -1
			}
			return i
		case c <= ' ' || c >= 0x7f:
			return -1
		}
	}
	return -1
}

// A token is a word, a comment (text without its outer parentheses) or a
// semicolon of a structured header field.
type token struct {
	kind byte // 'w' word, 'c' comment, ';'
	text string
	// v[end:glued] is the text glued to the token (see tokenize), added
	// to text once at the end: adding each piece as it comes copies the
	// text again for every "()" and is quadratic in the field's length.
	end, glued int
}

// tokenize splits v into tokens. Quoted strings and angle addresses
// stay inside their word; comments may nest to
// maxDepth. CR, LF and tabs count as spaces (unfolding).
func tokenize(v string) ([]token, error) {
	var toks []token
	misses := 0 // unbalanced "(" taken as text; each costs a scan
	miss := func() error {
		if misses++; misses > maxMisses {
			return fmt.Errorf("%w: more than %d unbalanced \"(\"", ErrSyntax, maxMisses)
		}
		return nil
	}
	i := 0
	for i < len(v) {
		c := v[i]
		switch {
		case isSpace(c):
			i++
		case c == ';':
			toks = append(toks, token{kind: ';', text: ";"})
			i++
		case c == '(':
			glued := len(toks) > 0 && toks[len(toks)-1].kind != ';' && !isSpace(v[i-1])
			end, err := commentEnd(v, i)
			switch {
			case glued && err != nil:
				// An unbalanced "(" glued to a comment ("(HELO x)(")
				// is part of it.
				if err := miss(); err != nil {
					return nil, err
				}
				toks[len(toks)-1].glued = i + 1
				i++
				continue
			case err != nil:
				return nil, err
			case glued:
				// A comment glued to what comes before is part of it:
				// MTAs put white space before their comments, and a
				// client can put "x(authenticated)" in its HELO name.
				toks[len(toks)-1].glued = end + 1
			default:
				toks = append(toks, token{kind: 'c', text: collapse(v[i+1 : end]), end: end + 1, glued: end + 1})
			}
			i = end + 1
		default:
			// A word. A ")" in it (EHLO "x)") is part of it, and so is
			// a "(" that no ")" closes (EHLO "x("); a balanced comment
			// glued to it ends it and is merged by the case above.
			j := i
		word:
			for j < len(v) && !isSpace(v[j]) && v[j] != ';' {
				switch v[j] {
				case '"':
					j = closing(v, j, '"')
				case '<':
					j = closing(v, j, '>')
				case '(':
					if _, err := commentEnd(v, j); err == nil {
						break word
					}
					if err := miss(); err != nil {
						return nil, err
					}
				}
				j++
			}
			j = min(j, len(v))
			toks = append(toks, token{kind: 'w', text: v[i:j], end: j, glued: j})
			i = j
		}
	}
	for k := range toks {
		if t := &toks[k]; t.glued > t.end {
			t.text += v[t.end:t.glued]
		}
	}
	return toks, nil
}

// closing returns the index of the byte c that closes the quote or
// bracket opened at v[i] ("\" escapes in quoted strings), or len(v)-1.
func closing(v string, i int, c byte) int {
	for j := i + 1; j < len(v); j++ {
		switch v[j] {
		case '\\':
			if c == '"' {
				j++
			}
		case c:
			return j
		}
	}
	return len(v) - 1
}

// commentEnd returns the index of the ")" that closes the comment opened
// at v[i], honouring nesting and quoted pairs (RFC 5322 section 3.2.2).
// An angle address inside ("(envelope-from <a@b>)") is skipped whole,
// quoted strings in it included, so that a client's MAIL FROM
// <"x) (authenticated"@b> cannot close the comment and open another.
func commentEnd(v string, i int) (int, error) {
	depth := 0
	for j := i; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '<':
			if k := angleEnd(v, j); k > 0 {
				j = k
			}
		case '(':
			depth++
			if depth > maxDepth {
				return 0, fmt.Errorf("%w: comments nested deeper than %d", ErrSyntax, maxDepth)
			}
		case ')':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unterminated comment at offset %d", ErrSyntax, i)
}

// isSpace reports whether c is white space in a header field.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// angleEnd returns the index of the ">" that closes the angle address
// opened at v[i], skipping quoted strings, or -1 when there is none
// within 256 bytes (RFC 5321's longest path) or before a nested "<".
// The bound keeps commentEnd linear.
func angleEnd(v string, i int) int {
	v = v[:min(len(v), i+256)]
	for j := i + 1; j < len(v); j++ {
		switch v[j] {
		case '"':
			j = closing(v, j, '"')
		case '>':
			return j
		case '<':
			return -1
		}
	}
	return -1
}

// collapse returns s with each run of white space made one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// buildHop reads the clauses of a Received field from its tokens. ok is
// false when there is no from or by clause and no date.
func buildHop(toks []token) (h Hop, ok bool) {
	var (
		clause   string // the clause the tokens belong to
		fromWord string
		fromComs []string
		withRest bool // the with value continues ("Microsoft SMTP Server")
		exim     bool
		dated    bool
	)
	last := -1 // the ";" before the date (RFC 5321 section 4.4)
	for k, t := range toks {
		if t.kind == ';' {
			last = k
		}
	}
	for k, t := range toks {
		switch t.kind {
		case ';':
			// Only the last ";" starts the date: an earlier one comes
			// from the client (EHLO "a;") and must not end the from
			// clause before the address the MTA recorded.
			if k == last {
				clause, dated = "date", true
			}
			continue
		case 'c':
			lc := domain.Fold(t.text)
			switch {
			case strings.HasPrefix(lc, "exim "):
				exim = true
			case strings.HasPrefix(lc, "envelope-from") || strings.HasPrefix(lc, "envelope-sender"):
				// Exim "(envelope-from <a@b>)", qmail "(envelope-sender <a@b>)".
				if i := strings.IndexFunc(t.text, isSep); i >= 0 {
					h.EnvelopeFrom = mailbox(strings.TrimLeft(t.text[i:], " =:"))
				}
				continue
			case strings.HasPrefix(lc, "authenticated sender:"):
				h.Auth = firstWord(t.text[len("authenticated sender:"):], "authenticated")
				continue
			case strings.HasPrefix(lc, "auth: "):
				// Courier: "(AUTH: LOGIN alice, TLS: ...)".
				f := strings.Fields(strings.TrimSuffix(strings.SplitN(t.text, ",", 2)[0], ","))
				h.Auth = "authenticated"
				if len(f) >= 3 {
					h.Auth = f[2]
				}
				continue
			case strings.HasPrefix(lc, "authenticated") || strings.HasSuffix(lc, " authenticated"):
				// Sendmail "(authenticated bits=0)", Exchange
				// "(authenticated as alice)".
				if h.Auth == "" {
					h.Auth = "authenticated"
					if rest, found := strings.CutPrefix(lc, "authenticated as "); found {
						h.Auth = firstWord(t.text[len(t.text)-len(rest):], "authenticated")
					}
				}
				continue
			case clause == "" && k == 0 && strings.HasPrefix(lc, "from "):
				// Sendmail's local submission: "(from alice@localhost)".
				h.EnvelopeFrom = mailbox(t.text[5:])
				continue
			}
			switch clause {
			case "from":
				fromComs = append(fromComs, t.text)
			case "by":
				if a, ok := parseIP(t.text); ok && !h.ByIP.IsValid() {
					h.ByIP = a
				}
			}
			continue
		}
		w := t.text
		// The first word after from or by is the name even when it looks
		// like a keyword: EHLO "with" must not end the from clause.
		first := (clause == "from" && fromWord == "") || (clause == "by" && h.By == "")
		if kw := keyword(w); kw != "" && !first && (clause != kw || (kw == "with" && withRest)) {
			clause, withRest = kw, false
			continue
		}
		switch clause {
		case "from":
			if fromWord == "" {
				fromWord = w
			}
		case "by":
			if h.By == "" {
				h.By = strings.TrimSuffix(w, ".")
			}
		case "with":
			switch {
			case h.With == "":
				h.With = w
				withRest = strings.EqualFold(w, "Microsoft")
			case withRest:
				h.With += " " + w
			}
		case "id":
			if h.ID == "" {
				h.ID = w
			}
		case "for":
			if h.For == "" {
				h.For = strings.TrimSuffix(strings.TrimPrefix(w, "<"), ">")
			}
		}
	}
	if fromWord == "" && h.By == "" && !dated {
		return Hop{}, false
	}
	fromHop(&h, fromWord, fromComs, exim)
	if h.Auth == "" && authProtocol(h.With) {
		h.Auth = h.With
	}
	return h, true
}

// keyword returns the clause keyword w is (RFC 5321 section 4.4: from,
// by, via, with, id, for) in lower case, or "".
func keyword(w string) string {
	if len(w) > 4 {
		return ""
	}
	for _, k := range [...]string{"from", "by", "via", "with", "id", "for"} {
		if strings.EqualFold(w, k) {
			return k
		}
	}
	return ""
}

// fromHop fills the client's IP, reverse DNS name and HELO name from the
// from clause: its word and its comments. The first comment with an
// address is the MTA's TCP-info; the comments after it are not read, as
// they may quote the client (Postfix's "(Client CN "[10.0.0.1]", ...)").
func fromHop(h *Hop, word string, coms []string, exim bool) {
	literal := strings.HasPrefix(word, "[")
	h.HELO = word
	if a, ok := parseIP(word); ok {
		h.IP = a
		if !literal {
			// Yahoo and others: "from 203.0.113.5 by ...": an address,
			// not a HELO name.
			h.HELO = ""
		}
	}
	for _, c := range coms {
		if len(c) > 5 && strings.EqualFold(c[:5], "HELO ") {
			// qmail: "from rdns (HELO name) (ip)".
			h.RDNS = rdnsName(word)
			h.HELO = strings.TrimSpace(c[5:])
			continue
		}
		// Exim: "helo=name" anywhere in the comment ("([ip]:port
		// helo=name)", "(port=41234 helo=[192.168.1.5])"); taken out
		// before the address is looked for.
		eximHELO := false
		// Fold changes no length, so i indexes c too.
		if i := strings.Index(domain.Fold(c), "helo="); i >= 0 {
			rest := c[i+5:]
			end := strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
			if rest[:end] != "" {
				h.HELO, eximHELO = rest[:end], true
			}
			c = c[:i] + rest[end:]
		}
		open := strings.IndexByte(c, '[')
		close := strings.IndexByte(c, ']')
		if open >= 0 && close > open {
			a, ok := parseIP(c[open : close+1])
			if !ok {
				continue
			}
			h.IP = a
			before := strings.TrimSpace(c[:open])
			if strings.HasPrefix(domain.Fold(before), "ident:") {
				before = "" // Sendmail "(IDENT:user@[ip])"
			}
			switch {
			case before != "":
				// Postfix, Sendmail, Courier, Gmail: "(rdns [ip])".
				h.RDNS = rdnsName(strings.Fields(before)[0])
			case (exim || eximHELO) && !literal:
				// Exim: "from rdns ([ip] helo=name)"; with no helo= the
				// HELO name was the host name.
				h.RDNS = rdnsName(word)
			}
			return
		}
		// Exchange and qmail: "(10.0.0.5)", "(alice@203.0.113.5)".
		f := c
		if at := strings.LastIndexByte(f, '@'); at >= 0 {
			f = f[at+1:]
		}
		if a, ok := parseIP(f); ok {
			h.IP = a
			return
		}
	}
}

// rdnsName returns a recorded reverse DNS name, or "" for the words MTAs
// write when there is none.
func rdnsName(s string) string {
	s = strings.TrimSuffix(s, ".")
	if s == "" || s[0] == '[' || strings.EqualFold(s, "unknown") {
		return ""
	}
	return s
}

// parseIP reads an address, bare or as an address literal ("[192.0.2.1]",
// "[IPv6:2001:db8::1]", "[192.0.2.1]:25"). IPv4-mapped addresses are
// unmapped and zones dropped.
func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		s = s[1:end]
		if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
			s = s[5:]
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// mailbox returns the address in s, without angle brackets or a
// trailing comment.
func mailbox(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j >= 0 {
			return s[i+1 : i+j]
		}
	}
	return firstWord(s, "")
}

// isSep reports whether r ends the keyword of an envelope comment.
func isSep(r rune) bool { return r == ' ' || r == '=' || r == ':' }

// firstWord returns the first word of s, without a trailing ",", or def.
func firstWord(s, def string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return def
	}
	return strings.TrimSuffix(f[0], ",")
}

// authProtocol reports whether a with protocol says the client
// authenticated (RFC 3848: ESMTPA, ESMTPSA, LMTPA, LMTPSA, UTF8SMTPA,
// UTF8SMTPSA, UTF8LMTPA, UTF8LMTPSA).
func authProtocol(with string) bool {
	switch strings.ToUpper(with) {
	case "ESMTPA", "ESMTPSA", "LMTPA", "LMTPSA", "UTF8SMTPA", "UTF8SMTPSA", "UTF8LMTPA", "UTF8LMTPSA":
		return true
	}
	return false
}
