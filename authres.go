package spf

import (
	"strings"

	"github.com/spf-go/spf/internal/domain"
	"github.com/spf-go/spf/internal/escape"
)

// AuthenticationResults returns an Authentication-Results header field
// (RFC 8601) that reports the outcomes, "Authentication-Results: " and
// its value, folded with CRLF and a tab, without a trailing CRLF.
//
// authservID names the receiver's authentication service (RFC 8601
// section 2.5), usually the receiver's host name; if empty, the Receiver
// of the first outcome that has one is used. Each outcome gives one
// resinfo, on a line of its own (nil outcomes are skipped):
//
//	spf=<result> (<receiver>: <what happened>) smtp.mailfrom=<sender>
//
// or smtp.helo=<HELO name> for the HELO identity, which includes a null
// sender (RFC 8601 section 2.7.2). smtp.mailfrom is the whole address when
// its local part is a dot-atom and it fits in 256 bytes, else only its
// domain. With no outcome the value is "<authserv-id>; none".
// A skipped check (Outcome.Skipped) gives no resinfo, since no
// authentication was made (RFC 8601 section 2.2); where no other outcome
// is left the value is "<authserv-id>; none" with a comment saying why
// the check was skipped.
//
// The output is one header field of printable ASCII with lines of at most
// 998 bytes whatever the inputs hold, and simple enough for readers that
// split at ";" and white space: comments never hold "(", ")", "\", `"`,
// ";" or "=", a domain is written raw only when it is a valid domain name
// of letters, digits, "-", "_" and dots (as A-labels), and every other
// value (an authserv-id, a HELO name such as "x;dkim=pass") has every
// character outside printable ASCII, white space, ";", "(", ")", "\" and
// `"` replaced by "?" and is cut to 256 bytes; a property value is then
// quoted unless it is made of letters, digits, "-", "_" and dots (a
// single-label name such as "localhost"), the authserv-id unless it is an
// RFC 2045 token.
func AuthenticationResults(authservID string, outcomes ...*Outcome) string {
	var f folder
	f.start("Authentication-Results")
	if authservID == "" {
		for _, o := range outcomes {
			if o != nil && o.Receiver != "" {
				authservID = o.Receiver
				break
			}
		}
	}
	var n int
	var skip *Outcome // a skipped check: no resinfo (border.go)
	for _, o := range outcomes {
		switch {
		case skipped(o):
			skip = o
		case o != nil:
			n++
		}
	}
	id := escape.AuthResValue(authservID, maxHeaderValue)
	if n == 0 {
		f.word(id + ";")
		f.word("none")
		if skip != nil {
			f.comment(skip.Receiver, skip.describeHeader())
		}
		return string(f.b)
	}
	f.word(id + ";")
	for _, o := range outcomes {
		if o == nil || skipped(o) {
			continue
		}
		n--
		f.forceFold = true
		f.word("spf=" + resultToken(o.Result))
		f.comment(o.Receiver, o.describeHeader()) // border.go
		var prop string
		if o.Identity == IdentityHELO {
			prop = "smtp.helo=" + authresDomain(o.HELO)
		} else {
			prop = "smtp.mailfrom=" + authresMailFrom(o.Sender)
		}
		if n > 0 {
			prop += ";"
		}
		f.word(prop)
	}
	return string(f.b)
}

// AuthenticationResultsValue returns the value of the header field
// [AuthenticationResults] writes, without "Authentication-Results: ", with
// the same folding.
func AuthenticationResultsValue(authservID string, outcomes ...*Outcome) string {
	return strings.TrimPrefix(AuthenticationResults(authservID, outcomes...), "Authentication-Results: ")
}

// authresMailFrom returns the pvalue of smtp.mailfrom (RFC 8601 section
// 2.2): local-part "@" domain-name where the local part is a dot-atom, the
// domain a raw name (see [domain.Raw]) without "_" and the whole at most
// maxHeaderValue bytes, the domain alone where only the domain is raw,
// and the sender made safe by authresText otherwise.
func authresMailFrom(sender string) string {
	i := strings.LastIndexByte(sender, '@')
	if d, ok := normalizeDomain(sender[i+1:]); ok && domain.Raw(d) {
		// An RFC 5321 domain, as local-part "@" domain-name needs, has no
		// "_"; a name with one is written alone, as a token.
		local := sender[:max(i, 0)]
		if escape.IsDotAtom(local) && len(local)+1+len(d) <= maxHeaderValue && !strings.Contains(d, "_") {
			return local + "@" + d
		}
		return d
	}
	return authresText(sender)
}

// authresDomain returns the pvalue of smtp.helo: the name as a lower-case
// A-label domain where it is a raw name (see [domain.Raw]), and the name
// made safe by authresText otherwise (an address literal, say).
func authresDomain(name string) string {
	if d, ok := normalizeDomain(name); ok && domain.Raw(d) {
		return d
	}
	return authresText(name)
}

// authresText returns client text that is not a valid domain as a pvalue:
// raw where it holds only the characters of a name (a single-label HELO
// name such as "localhost"), and quoted by [escape.AuthResQuoted]
// otherwise, with the characters its readers split at replaced.
func authresText(s string) string {
	if domain.RawText(s) && escape.IsDotAtom(s) && len(s) <= maxHeaderValue {
		return s
	}
	return escape.AuthResQuoted(s, maxHeaderValue)
}
