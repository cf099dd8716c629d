// Package domain holds the one domain-name validator and normaliser of the
// module: the rules of RFC 7208 sections 4.3 and 7.1 for a name that
// check_host() can evaluate, and the stricter rule of a name that can be
// written raw into a header field, a reply or a terminal.
package domain

import (
	"strings"

	"github.com/spf-go/spf/internal/swar"
	"golang.org/x/net/idna"
)

// MaxLength is the longest domain name, in bytes without a trailing dot
// (RFC 1035 section 2.3.4).
const MaxLength = 253

// Normalize returns name in lower-case A-label form (IDNA) without a
// trailing dot, and whether it is a domain name check_host() can evaluate
// (see [Valid]). A name whose U-labels IDNA rejects is returned as given,
// without its trailing dot, and not valid.
func Normalize(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	// The common case, an ASCII name in lower case, in one pass: what
	// Valid checks.
	ok := len(name) <= MaxLength
	labels, start := 0, 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' {
			continue // most of a name
		}
		switch {
		case c >= 0x80 || 'A' <= c && c <= 'Z':
			return normalize(name)
		case c == '.':
			if n := i - start; n == 0 || n > 63 {
				ok = false
			}
			labels++
			start = i + 1
		case c <= 0x20 || c == 0x7f:
			ok = false
		}
	}
	if n := len(name) - start; n == 0 || n > 63 {
		ok = false
	}
	return name, ok && labels >= 1 && TopLabel(name[start:])
}

// normalize is Normalize for a name that has upper-case letters or
// non-ASCII bytes, without its trailing dot.
func normalize(name string) (string, bool) {
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(name)
			if err != nil {
				return name, false
			}
			name = a
			break
		}
	}
	name = Fold(name) // ASCII only: IDNA has made the rest A-labels
	return name, Valid(name)
}

// FoldQueryable returns [Fold](name) and whether it is [Queryable], in
// one pass over a name without upper-case letters.
func FoldQueryable(name string) (string, bool) {
	if name == "" || len(name) > MaxLength {
		return Fold(name), false
	}
	ok, start := true, 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c > 'Z' {
			continue // most of a name: lower-case letters
		}
		switch {
		case 'A' <= c && c <= 'Z':
			name = Fold(name)
			return name, Queryable(name)
		case c == '.':
			if n := i - start; n == 0 || n > 63 {
				ok = false
			}
			start = i + 1
		}
	}
	if n := len(name) - start; n == 0 || n > 63 {
		ok = false
	}
	return name, ok
}

// Queryable reports whether name (without trailing dot) can be sent to
// DNS as it is: 1 to [MaxLength] bytes in labels of 1 to 63 bytes (RFC
// 1035 section 2.3.4), whatever bytes they hold. A name expanded from
// macros may hold any byte (RFC 7208 section 7.3); [Valid] is the
// stricter rule for a name check_host() starts from.
func Queryable(name string) bool {
	if name == "" || len(name) > MaxLength {
		return false
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - start; n == 0 || n > 63 {
				return false
			}
			start = i + 1
		}
	}
	return true
}

// Valid reports whether name (without trailing dot) is a domain name
// check_host() can evaluate (RFC 7208 sections 4.3 and 7.1): at most 253
// bytes, at least two labels of 1 to 63 bytes of visible ASCII, and a last
// label that is a toplabel, which rules out address literals. Labels may
// hold any visible ASCII, as DNS allows; use [Raw] before writing a name
// unquoted.
func Valid(name string) bool {
	if len(name) > MaxLength {
		return false
	}
	labels, start := 0, 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) {
			c := name[i]
			if c <= 0x20 || c >= 0x7f {
				return false
			}
			if c != '.' {
				continue
			}
		}
		if n := i - start; n == 0 || n > 63 {
			return false
		}
		labels++
		start = i + 1
	}
	return labels >= 2 && TopLabel(name[strings.LastIndexByte(name, '.')+1:])
}

// Raw reports whether name is [Valid] and made only of ASCII letters,
// digits, "-", "_" and dots: a name safe to write raw into a header field
// (an RFC 8601 pvalue, an RFC 7208 section 9.1 dot-atom), an SMTP reply or
// a terminal, since it holds nothing any of their grammars gives meaning.
func Raw(name string) bool {
	return RawText(name) && Valid(name)
}

// RawText reports whether s is not empty and holds only ASCII letters,
// digits, "-", "_" and ".": the characters of a name, which no header,
// reply or terminal grammar gives a meaning. A single-label host name
// such as "localhost" is RawText but not [Raw].
func RawText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return s != ""
}

// TopLabel reports whether s is a toplabel (RFC 7208 section 7.1):
// ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func TopLabel(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	letterOrDash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c) || c == '-':
			letterOrDash = true
		case '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return letterOrDash
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' }

// Fold returns name in lower case in ASCII only, as DNS compares names
// (RFC 4343: other bytes are kept as they are), allocating only if name
// has upper-case letters.
func Fold(name string) string {
	i := 0
	// 8 bytes at a time while none is an upper-case letter: names are
	// mostly lower case already, and a Zone folds every name it is asked.
	for ; i+8 <= len(name) && swar.Upper(swar.Load(name[i:])) == 0; i += 8 {
	}
	for ; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return name
}
