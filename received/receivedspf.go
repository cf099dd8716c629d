package received

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf-go/spf"
)

// A ReceivedSPF is one Received-SPF field (RFC 7208 section 9.1) as
// read back: the result, the comment and the key-value pairs. Keys the
// field does not give are empty.
type ReceivedSPF struct {
	// Result is the result; the RFC 4408 names "error" and "unknown"
	// read as temperror and permerror, in any case ("Pass").
	Result spf.Result
	// Comment is the text of the comment after the result, white space
	// collapsed, nested parentheses kept.
	Comment string
	// ClientIP is the key client-ip (RFC 7208 section 9.1).
	ClientIP netip.Addr
	// EnvelopeFrom is the key envelope-from.
	EnvelopeFrom string
	// HELO is the key helo.
	HELO string
	// Receiver is the key receiver: what the writer put there, a host
	// name, or the recipient's address for the Postfix policy servers.
	Receiver string
	// Identity is the key identity, lower case as written ("mailfrom",
	// "helo", Mail::SPF's older "mfrom").
	Identity string
	// Mechanism is the key mechanism.
	Mechanism string
	// Problem is the key problem.
	Problem string
	// Params are all the key-value pairs in order, known keys and
	// others ("x-..." and unknown ones) alike, keys in lower case.
	Params []spf.HeaderParam
}

// MailFrom reports whether the field states a MAIL FROM result: its
// identity is "mailfrom" (or Mail::SPF's "mfrom"). A field without an
// identity key states neither; see [Analyzer] for how such a field is
// trusted.
func (r *ReceivedSPF) MailFrom() bool {
	return r.Identity == "mailfrom" || r.Identity == "mfrom"
}

// ParseReceivedSPF parses one Received-SPF field: its value, or the
// whole field with its name, folded or not. It reads the layouts of
// this module's writer ([spf.Outcome.ReceivedSPF]), pyspf, Mail::SPF
// (comments with nested parentheses), libspf2 (a trailing ";"), the
// Postfix policy servers (capitalised results, "receiver=<UNKNOWN>" or
// the recipient) and older writers with only a result and a comment.
//
// Values may be dot-atoms, quoted strings or any run of characters
// other than white space and ";" (policyd-spf writes addresses
// unquoted), and may follow "=" after folding white space. An unknown
// result, an unbalanced comment, a key without "=", an unterminated
// quoted string, a repeated key or a client-ip that is not an address is
// an error wrapping [ErrSyntax]; another field name wraps
// [ErrNotReceivedSPF].
func ParseReceivedSPF(field string) (ReceivedSPF, error) {
	v, err := fieldValue(field, "Received-SPF", ErrNotReceivedSPF)
	if err != nil {
		return ReceivedSPF{}, err
	}
	r, err := parseReceivedSPF(v)
	if err != nil {
		return ReceivedSPF{}, fmt.Errorf("received: Received-SPF field %.40q: %w", v, err)
	}
	return r, nil
}

func parseReceivedSPF(v string) (ReceivedSPF, error) {
	var r ReceivedSPF
	i := 0
	for i < len(v) && isTokenChar(v[i]) {
		i++
	}
	res := v[:i]
	switch strings.ToLower(res) {
	case "error":
		res = "temperror"
	case "unknown":
		res = "permerror"
	}
	result, err := spf.ParseResult(res)
	if err != nil {
		return r, fmt.Errorf("%w: unknown result %.20q", ErrSyntax, v[:i])
	}
	r.Result = result
	i = skipSpace(v, i)
	if i < len(v) && v[i] == '(' {
		end, err := commentEnd(v, i)
		if err != nil {
			return r, err
		}
		r.Comment = collapse(v[i+1 : end])
		i = skipSpace(v, end+1)
	}
	seen := map[string]bool{}
	for i < len(v) {
		if v[i] == ';' {
			i = skipSpace(v, i+1)
			continue
		}
		if v[i] == '(' { // a comment between pairs
			end, err := commentEnd(v, i)
			if err != nil {
				return r, err
			}
			i = skipSpace(v, end+1)
			continue
		}
		k := i
		for i < len(v) && isKeyChar(v[i]) {
			i++
		}
		key := strings.ToLower(v[k:i])
		i = skipSpace(v, i)
		if key == "" || i >= len(v) || v[i] != '=' {
			return r, fmt.Errorf("%w: expected key=value at offset %d", ErrSyntax, k)
		}
		i = skipSpace(v, i+1)
		var val string
		val, i, err = readValue(v, i)
		if err != nil {
			return r, err
		}
		if seen[key] {
			return r, fmt.Errorf("%w: key %q given twice", ErrSyntax, key)
		}
		seen[key] = true
		r.Params = append(r.Params, spf.HeaderParam{Key: key, Value: val})
		switch key {
		case "client-ip":
			a, ok := parseIP(val)
			if !ok {
				return r, fmt.Errorf("%w: client-ip %.50q is not an IP address", ErrSyntax, val)
			}
			r.ClientIP = a
		case "envelope-from":
			r.EnvelopeFrom = strings.TrimSuffix(strings.TrimPrefix(val, "<"), ">")
		case "helo":
			r.HELO = val
		case "receiver":
			r.Receiver = val
		case "identity":
			r.Identity = strings.ToLower(val)
		case "mechanism":
			r.Mechanism = val
		case "problem":
			r.Problem = val
		}
		i = skipSpace(v, i)
		if i < len(v) && v[i] != ';' && v[i] != '(' {
			return r, fmt.Errorf("%w: expected \";\" at offset %d", ErrSyntax, i)
		}
	}
	return r, nil
}

// readValue reads a value at v[i]: a quoted string (returned unquoted)
// or a run of characters other than white space, ";" and "(".
func readValue(v string, i int) (string, int, error) {
	if i < len(v) && v[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(v); j++ {
			switch v[j] {
			case '\\':
				j++
				if j < len(v) {
					b.WriteByte(v[j])
				}
			case '"':
				return b.String(), j + 1, nil
			case '\r', '\n':
			default:
				b.WriteByte(v[j])
			}
		}
		return "", 0, fmt.Errorf("%w: unterminated quoted string at offset %d", ErrSyntax, i)
	}
	j := i
	for j < len(v) && !strings.ContainsRune(" \t\r\n;(", rune(v[j])) {
		j++
	}
	return v[i:j], j, nil
}

func skipSpace(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n') {
		i++
	}
	return i
}

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isKeyChar(c byte) bool {
	return isTokenChar(c) || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}
