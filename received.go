package spf

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/escape"
)

// A HeaderParam is an extension key-value pair for a Received-SPF header
// field: Key is an "x-" name (RFC 7208 section 9.1, key = "x-" name) and
// Value any text, written as a dot-atom or a quoted-string.
type HeaderParam struct {
	// Key is an "x-" name.
	Key string
	// Value is any text.
	Value string
}

// ReceivedSPF returns the Received-SPF header field of the outcome (RFC
// 7208 section 9.1), "Received-SPF: " and its value, folded with CRLF and
// a tab where it would pass 78 characters, without a trailing CRLF.
//
// The value is the result, a comment that names the receiver and says in
// plain words what happened, and the keys client-ip, envelope-from, helo,
// receiver, identity, mechanism ("default" where no mechanism matched) and
// problem, each where it applies. identity is "helo" for a check of the
// HELO identity and for a null sender. envelope-from is the MAIL FROM
// address, postmaster@<HELO> for a null sender (RFC 7208 section 2.4); a
// check of [Checker.CheckHELO] has none, since no MAIL FROM was checked.
//
// The receiver's border settings add to it (see [Checker]): a skipped
// check is "none" with a comment saying it was skipped and why, and the
// key x-skipped; a match of a local rule has "local rule" in its comment
// and in mechanism=; a best guess adds x-bestguess and an allowed sender
// x-allowed.
//
// Whatever the inputs hold, the field is one well-formed header field of
// printable ASCII with lines of at most 998 bytes: a character outside it
// (CR, LF, other controls, non-ASCII) becomes "?" or a space, a value
// that is not a dot-atom (and a helo value not made of letters, digits,
// "-", "_" and dots) is a quoted-string with "\" and `"` escaped, the
// comment never holds "(", ")", "\", `"`, ";" or "=", and long values are
// cut, so no input can add a key or a header field. A domain with
// non-ASCII labels is written as A-labels.
func (o *Outcome) ReceivedSPF() string {
	return o.ReceivedSPFWith()
}

// ReceivedSPFWith is [Outcome.ReceivedSPF] with extension keys added after
// the standard ones (RFC 7208 section 9.1). A param whose Key is not an
// "x-" name (ALPHA, DIGIT, "-", "_" and "." after the "x-", at most 64
// bytes) is left out.
func (o *Outcome) ReceivedSPFWith(ext ...HeaderParam) string {
	var f folder
	f.start("Received-SPF")
	f.word(resultToken(o.Result))
	f.comment(o.Receiver, o.describeHeader()) // border.go

	var pairs []HeaderParam
	add := func(k, v string) { pairs = append(pairs, HeaderParam{k, v}) }
	if o.ClientIP.IsValid() {
		add("client-ip", o.ClientIP.String())
	}
	if from := o.envelopeFrom(); from != "" {
		add("envelope-from", from)
	}
	if o.HELO != "" {
		add("helo", asciiName(o.HELO))
	}
	if o.Receiver != "" {
		add("receiver", o.Receiver)
	}
	add("identity", o.Identity.String())
	switch o.Result {
	case Pass, Fail, SoftFail, Neutral:
		switch {
		case o.Mechanism != "":
			add("mechanism", o.mechanismText()) // border.go
		case o.Result == Neutral:
			// Section 9.1: "if no mechanisms matched, substitute the
			// word 'default'".
			add("mechanism", "default")
		}
	}
	if o.Problem != nil {
		add("problem", o.Problem.Error())
	}
	pairs = append(pairs, o.borderParams()...) // border.go
	for _, p := range ext {
		if isExtensionKey(p.Key) {
			pairs = append(pairs, p)
		}
	}
	for i, p := range pairs {
		limit := maxHeaderValue
		if p.Key == "problem" {
			limit = maxProblemValue
		}
		w := make([]byte, 0, len(p.Key)+len(p.Value)+4)
		w = append(w, p.Key...)
		w = append(w, '=')
		if p.Key == "helo" && !domain.RawText(p.Value) {
			// A HELO name is written raw only when it is made of the
			// characters of a name.
			w = append(w, escape.HeaderQuoted(p.Value, limit)...)
		} else {
			w = append(w, escape.HeaderValue(p.Value, limit)...)
		}
		if i < len(pairs)-1 {
			w = append(w, ';')
		}
		f.word(string(w))
	}
	return string(f.b)
}

// ReceivedSPFValue returns the value of the Received-SPF header field,
// without "Received-SPF: ": [Outcome.ReceivedSPF] from the result on, with
// the same folding.
func (o *Outcome) ReceivedSPFValue() string {
	return strings.TrimPrefix(o.ReceivedSPF(), "Received-SPF: ")
}

// Limits of what a header field holds of one input, in bytes after
// sanitizing; longer text is cut and ends in "...". With them no line of a
// header field can pass RFC 5322's 998 characters.
const (
	maxHeaderValue  = 256
	maxProblemValue = 400
)

// envelopeFrom returns the MAIL FROM mailbox whose domain was checked: the
// sender as given, or postmaster@<HELO> for the null sender (RFC 7208
// section 2.4); "" for a check of the HELO identity alone. Non-ASCII
// domains are written as A-labels.
func (o *Outcome) envelopeFrom() string {
	if o.Sender != "" {
		i := strings.LastIndexByte(o.Sender, '@')
		if i < 0 {
			return asciiName(o.Sender)
		}
		return o.Sender[:i+1] + asciiName(o.Sender[i+1:])
	}
	if o.NullSender && o.HELO != "" {
		return "postmaster@" + asciiName(o.HELO)
	}
	return ""
}

// describeResult says in plain words what the check found, as the comments of
// Received-SPF and Authentication-Results and the replies of a [Verdict]
// write it. The words taken from the outcome are safe for a comment (made so by
// escape.Comment).
func (o *Outcome) describeResult() string {
	d := o.Domain
	if d == "" {
		d = o.checkedDomain()
	}
	name := escape.Comment(d, maxHeaderValue)
	ip := "unknown"
	if o.ClientIP.IsValid() {
		ip = o.ClientIP.String()
	}
	if o.Result == PermError && errors.Is(o.Problem, ErrInvalidInput) {
		return "no check was made: the receiver gave invalid input"
	}
	switch o.Result {
	case Pass:
		return "domain of " + name + " designates " + ip + " as permitted sender"
	case Fail:
		return "domain of " + name + " does not designate " + ip + " as permitted sender"
	case SoftFail:
		return "domain of transitioning " + name + " does not designate " + ip + " as permitted sender"
	case Neutral:
		return ip + " is neither permitted nor denied by domain of " + name
	case TempError:
		return "temporary error in processing during lookup of " + name
	case None:
		switch {
		case strings.TrimSpace(name) == "":
			return "no domain to check"
		case !domain.Valid(d):
			return name + " is not a domain that can publish SPF policy"
		}
		return "domain of " + name + " does not designate permitted sender hosts"
	}
	return "permanent error in processing domain of " + name
}

// checkedDomain returns the domain of the identity for an outcome built
// without Domain: the sender's domain, or the HELO name.
func (o *Outcome) checkedDomain() string {
	if o.Identity == IdentityHELO || o.Sender == "" {
		return asciiName(o.HELO)
	}
	_, d := splitSender(o.Sender)
	return asciiName(d)
}

// resultToken returns the result's name, or "permerror" for a value that
// is not a Result.
func resultToken(r Result) string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return resultNames[PermError]
}

// asciiName returns a domain name with non-ASCII labels as lower-case
// A-labels (IDNA), or name itself when it is ASCII or not a domain.
func asciiName(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			if a, ok := normalizeDomain(name); ok {
				return a
			}
			return name
		}
	}
	return name
}

// isExtensionKey reports whether key is "x-" name (RFC 7208 sections 7.1
// and 9.1), name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ), at most 64
// bytes.
func isExtensionKey(key string) bool {
	if len(key) < 3 || len(key) > 64 || !equalFold(key[:2], "x-") || !isAlpha(key[2]) {
		return false
	}
	for i := 3; i < len(key); i++ {
		c := key[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// foldWidth is the length of a header line, CRLF not counted, that a
// folder keeps to where the words allow (RFC 5322 section 2.1.1).
const foldWidth = 78

// A folder writes a header field word by word, separated by spaces, and
// folds it (CRLF and a tab, RFC 5322 section 2.2.3) before a word that
// would make the line longer than foldWidth. Words are never split, so a
// fold only ever replaces a space between words.
type folder struct {
	b         []byte
	line      int  // bytes on the current line
	forceFold bool // fold before the next word
	started   bool // a word follows the field name
}

// start writes the field name and its colon.
func (f *folder) start(name string) {
	f.b = append(f.b, name...)
	f.b = append(f.b, ':')
	f.line = len(name) + 1
}

// word writes w after a space or a fold. The first word always follows
// the field name on its line.
func (f *folder) word(w string) {
	if f.started && (f.forceFold || f.line+1+len(w) > foldWidth) {
		f.b = append(f.b, "\r\n\t"...)
		f.line = 1
	} else {
		f.b = append(f.b, ' ')
		f.line++
	}
	f.forceFold, f.started = false, true
	f.b = append(f.b, w...)
	f.line += len(w)
}

// comment writes "(receiver: text)", or "(text)" without a receiver, word
// by word; the receiver is made safe for a comment, text must be.
func (f *folder) comment(receiver, text string) {
	words := strings.Fields(text)
	if r := escape.Comment(receiver, maxHeaderValue); strings.TrimSpace(r) != "" {
		words = append(strings.Fields(r+":"), words...)
	}
	if len(words) == 0 {
		return
	}
	words[0] = "(" + words[0]
	words[len(words)-1] += ")"
	for _, w := range words {
		f.word(w)
	}
}
