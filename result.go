package spf

import "fmt"

// A Result is the outcome of check_host() (RFC 7208 section 2.6).
type Result uint8

// The results of check_host(), RFC 7208 section 2.6. The zero value is None.
const (
	// None: no syntactically valid domain, or no SPF record at it.
	None Result = iota
	// Neutral: the domain makes no assertion about the client.
	Neutral
	// Pass: the client is authorized to use the domain.
	Pass
	// Fail: the client is not authorized to use the domain.
	Fail
	// SoftFail: the client is probably not authorized (a weak Fail).
	SoftFail
	// TempError: a transient error, usually DNS, stopped the check.
	TempError
	// PermError: the domain's records could not be interpreted.
	PermError
)

var resultNames = [...]string{
	None:      "none",
	Neutral:   "neutral",
	Pass:      "pass",
	Fail:      "fail",
	SoftFail:  "softfail",
	TempError: "temperror",
	PermError: "permerror",
}

// String returns the result's name as RFC 7208 section 2.6 spells it:
// "none", "neutral", "pass", "fail", "softfail", "temperror" or "permerror".
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// MarshalText implements [encoding.TextMarshaler] with the result's name.
func (r Result) MarshalText() ([]byte, error) {
	if int(r) >= len(resultNames) {
		return nil, fmt.Errorf("spf: invalid result %d", uint8(r))
	}
	return []byte(resultNames[r]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler]; see [ParseResult].
func (r *Result) UnmarshalText(text []byte) error {
	v, err := ParseResult(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseResult returns the Result with the given name, in any case.
// It accepts the names String returns.
func ParseResult(s string) (Result, error) {
	for i, n := range resultNames {
		if len(n) == len(s) && equalFold(n, s) {
			return Result(i), nil
		}
	}
	return None, fmt.Errorf("spf: unknown result %q", s)
}

// equalFold reports whether two ASCII strings are equal ignoring case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
