// Package dnstext turns DNS text in presentation form (RFC 1035 section
// 5.1), as github.com/miekg/dns gives names and TXT strings, back into the
// raw bytes that were on the wire.
package dnstext

import "strings"

// Unescape returns s with its \DDD (decimal byte) and \X (literal X)
// escapes replaced by the bytes they stand for.
func Unescape(s string) string { return unescape(s, false) }

// Name returns the raw bytes of a domain name in presentation form,
// without its trailing (unescaped) dot; the root name "." gives "".
func Name(s string) string { return unescape(s, true) }

func unescape(s string, name bool) string {
	if strings.IndexByte(s, '\\') < 0 {
		if name {
			return strings.TrimSuffix(s, ".")
		}
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if name && c == '.' && i == len(s)-1 {
			break
		}
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		i++
		if i+2 < len(s) && isDigit(s[i]) && isDigit(s[i+1]) && isDigit(s[i+2]) {
			if v := int(s[i]-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0'); v <= 255 {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
