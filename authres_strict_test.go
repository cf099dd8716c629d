package spf

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf/internal/escape"
)

// parseAuthResStrict reads an Authentication-Results header field strictly
// after the ABNF of RFC 8601 section 2.2 (with CFWS, comments and
// quoted-strings of RFC 5322), and returns its authserv-id, whether it is
// "none", and each resinfo as an arWant. It fails on anything the grammar
// does not allow, on a method other than spf, on a property other than
// smtp.mailfrom and smtp.helo, and on a resinfo with not exactly one
// property.
//
//	authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//	                  ( no-result / 1*resinfo ) [CFWS]
//	resinfo  = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//	propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//	pvalue   = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
func parseAuthResStrict(field string) (id string, none bool, results []arWant, err error) {
	rest, ok := strings.CutPrefix(field, "Authentication-Results:")
	if !ok {
		return "", false, nil, errors.New("not an Authentication-Results field")
	}
	s := &hdrScanner{s: strings.ReplaceAll(rest, "\r\n", "")}
	s.cfws()
	if id, err = s.value(); err != nil {
		return "", false, nil, fmt.Errorf("authserv-id: %w", err)
	}
	s.cfws()
	if s.peek() != ';' {
		return "", false, nil, fmt.Errorf("no ; after the authserv-id at %d in %q", s.i, s.s)
	}
	for !s.done() {
		if s.peek() != ';' {
			return "", false, nil, fmt.Errorf("no ; at %d in %q", s.i, s.s)
		}
		s.i++
		s.cfws()
		method := s.keyword()
		s.cfws()
		if method == "none" && results == nil && s.done() {
			return id, true, nil, nil
		}
		if method != "spf" {
			return "", false, nil, fmt.Errorf("method %q at %d in %q", method, s.i, s.s)
		}
		if s.peek() != '=' {
			return "", false, nil, fmt.Errorf("no = after the method at %d in %q", s.i, s.s)
		}
		s.i++
		s.cfws()
		var r arWant
		if r.Value = s.keyword(); r.Value == "" {
			return "", false, nil, fmt.Errorf("no result at %d in %q", s.i, s.s)
		}
		props := 0
		for {
			s.cfws()
			if s.done() || s.peek() == ';' {
				break
			}
			ptype := s.keyword()
			s.cfws()
			if ptype == "reason" {
				if s.peek() != '=' {
					return "", false, nil, errors.New("no = after reason")
				}
				s.i++
				s.cfws()
				if r.Reason, err = s.value(); err != nil {
					return "", false, nil, fmt.Errorf("reason: %w", err)
				}
				continue
			}
			if ptype != "smtp" || s.peek() != '.' {
				return "", false, nil, fmt.Errorf("ptype %q at %d in %q", ptype, s.i, s.s)
			}
			s.i++
			s.cfws()
			prop := s.keyword()
			s.cfws()
			if s.peek() != '=' {
				return "", false, nil, fmt.Errorf("no = after smtp.%s at %d in %q", prop, s.i, s.s)
			}
			s.i++
			s.cfws()
			v, err := s.pvalue()
			if err != nil {
				return "", false, nil, fmt.Errorf("smtp.%s: %w in %q", prop, err, s.s)
			}
			switch prop {
			case "mailfrom":
				r.From = v
			case "helo":
				r.Helo = v
			default:
				return "", false, nil, fmt.Errorf("property smtp.%s", prop)
			}
			props++
		}
		if props != 1 {
			return "", false, nil, fmt.Errorf("%d properties in a resinfo of %q", props, s.s)
		}
		results = append(results, r)
	}
	if results == nil {
		return "", false, nil, errors.New("no resinfo")
	}
	return id, false, results, nil
}

// keyword reads a Keyword (RFC 8601: an ldh-str of RFC 5321) and returns
// it, or "" where there is none.
func (s *hdrScanner) keyword() string {
	k := s.while(func(c byte) bool { return isAlnum(c) || c == '-' })
	if k != "" && (k[0] == '-' || k[len(k)-1] == '-') {
		return ""
	}
	return k
}

// value reads an RFC 2045 token or a quoted-string and returns its text.
func (s *hdrScanner) value() (string, error) {
	if s.peek() == '"' {
		return s.quoted()
	}
	tok := s.while(func(c byte) bool {
		return c > ' ' && c < 0x7f && strings.IndexByte(`()<>@,;:\"/[]?=`, c) < 0
	})
	if tok == "" {
		return "", fmt.Errorf("no value at %d", s.i)
	}
	return tok, nil
}

// pvalue reads the value of a property: a value (token or quoted-string)
// or [ [ local-part ] "@" ] domain-name, local-part a dot-atom or a
// quoted-string and domain-name sub-domains of RFC 5321.
func (s *hdrScanner) pvalue() (string, error) {
	var local string
	if s.peek() == '"' {
		q, err := s.quoted()
		if err != nil || s.peek() != '@' {
			return q, err
		}
		local = `"` + q + `"`
	} else {
		run := s.while(func(c byte) bool {
			return c > ' ' && c < 0x7f && strings.IndexByte(`();"`, c) < 0
		})
		at := strings.LastIndexByte(run, '@')
		if at < 0 {
			if !isTokenString(run) {
				return "", fmt.Errorf("%q is neither a token nor a domain", run)
			}
			return run, nil
		}
		local = run[:at]
		if local != "" && !escape.IsDotAtom(local) {
			return "", fmt.Errorf("local part %q is not a dot-atom", local)
		}
		s.i -= len(run) - at
	}
	s.i++ // "@"
	d := s.while(func(c byte) bool { return isAlnum(c) || c == '-' || c == '.' })
	if !isRFC5321Domain(d) {
		return "", fmt.Errorf("%q is not a domain-name", d)
	}
	return local + "@" + d, nil
}

func isTokenString(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?=`, r)
	}) < 0
}

// isRFC5321Domain reports whether d is sub-domain *("." sub-domain), each
// sub-domain Let-dig [Ldh-str] (RFC 5321 section 4.1.2).
func isRFC5321Domain(d string) bool {
	for _, l := range strings.Split(d, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return true
}

// TestParseAuthResStrict checks that the strict reader rejects what RFC
// 8601 does not allow or what we never write, so that the tests built on
// it can fail.
func TestParseAuthResStrict(t *testing.T) {
	good := map[string]arWant{
		"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=a@example.com":                          {Value: "pass", From: "a@example.com"},
		"Authentication-Results: (c) \"mx\" (d);\r\n\tspf = fail (x (nested) \\) y)\r\n\tsmtp . helo = \"x?y\"": {Value: "fail", Helo: "x?y"},
		"Authentication-Results: mx; spf=none smtp.mailfrom=@example.com":                                       {Value: "none", From: "@example.com"},
	}
	for field, want := range good {
		_, _, got, err := parseAuthResStrict(field)
		if err != nil {
			t.Errorf("%q: %v", field, err)
		} else if diff := cmp.Diff([]arWant{want}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", field, diff)
		}
	}
	for _, field := range []string{
		"Authentication-Results: mx; spf=pass smtp.helo=x;dkim=pass(c)header.d=paypal.com",
		"Authentication-Results: mx; spf=pass smtp.helo=a b",
		"Authentication-Results: mx; spf=pass smtp.helo=\"a",
		"Authentication-Results: mx; spf=pass smtp.mailfrom=a;b@example.com",
		"Authentication-Results: mx; spf=pass smtp.mailfrom=a@ex_ample.com",
		"Authentication-Results: mx; spf=pass",
		"Authentication-Results: mx; spf=pass smtp.helo=a smtp.helo=b",
		"Authentication-Results: mx; spf=pass (unterminated smtp.helo=a",
		"Authentication-Results: mx spf=pass smtp.helo=a",
		"Authentication-Results: ; spf=pass smtp.helo=a",
		"Authentication-Results: mx;",
	} {
		if _, _, got, err := parseAuthResStrict(field); err == nil {
			t.Errorf("%q read as %+v, want an error", field, got)
		}
	}
}
