package spf

import "strings"

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
// its local part is a dot-atom, else only its domain. With no outcome the
// value is "<authserv-id>; none". A skipped check (Outcome.Skipped) gives
// no resinfo, since no authentication was made (RFC 8601 section 2.2);
// where no other outcome is left the value is "<authserv-id>; none" with a
// comment saying why the check was skipped.
//
// The output is printable ASCII whatever the inputs hold, and simple
// enough for readers that split at ";" and white space: comments never
// hold "(", ")", "\", `"`, ";" or "=", domains are written as A-labels,
// and a property value that is not a valid domain or address has every
// character outside printable ASCII, white space, ";", "(", ")", "\" and
// `"` replaced by "?", and is quoted unless it is an RFC 2045 token.
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
	id := authresValue(authservID)
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
// 2.2): local-part "@" domain-name where the local part is a dot-atom and
// the domain valid, the domain alone where only the domain is valid, and
// the sender made safe by authresValue otherwise.
func authresMailFrom(sender string) string {
	i := strings.LastIndexByte(sender, '@')
	if d, ok := normalizeDomain(sender[i+1:]); ok {
		if local := sender[:max(i, 0)]; isDotAtom(local) {
			return local + "@" + d
		}
		return d
	}
	return authresValue(sender)
}

// authresDomain returns the pvalue of smtp.helo: the name as a lower-case
// A-label domain where it is a valid domain, and the name made safe by
// authresValue otherwise (an address literal, say).
func authresDomain(name string) string {
	if d, ok := normalizeDomain(name); ok {
		return d
	}
	return authresValue(name)
}

// authresValue returns s as an RFC 8601 value (an RFC 2045 token or a
// quoted-string) that readers splitting at ";" and white space read
// whole: printable ASCII, with white space, ";", "(", ")", "\" and `"`
// replaced by "?".
func authresValue(s string) string {
	b := []byte(printableASCII(s, maxHeaderValue))
	for i, c := range b {
		switch c {
		case ' ', ';', '(', ')', '\\', '"':
			b[i] = '?'
		}
	}
	if isToken(b) {
		return string(b)
	}
	return string(appendQuoted(nil, string(b)))
}

// isToken reports whether s is an RFC 2045 token: one or more ASCII
// characters other than space, controls and tspecials.
func isToken(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}
