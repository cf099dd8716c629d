package spf

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf/internal/escape"
)

// arWant is what a reader of an Authentication-Results field should find
// for one outcome.
type arWant struct {
	Value  string
	Reason string // never written: a reason read back was forged
	From   string
	Helo   string
}

// parseAR parses an Authentication-Results field with go-msgauth and
// returns its authserv-id and SPF results, unquoted.
func parseAR(t *testing.T, field string) (string, []arWant) {
	t.Helper()
	value, ok := strings.CutPrefix(field, "Authentication-Results:")
	if !ok {
		t.Fatalf("not an Authentication-Results field: %q", field)
	}
	value = strings.ReplaceAll(value, "\r\n", "")
	id, results, err := authres.Parse(value)
	if err != nil {
		t.Fatalf("authres.Parse: %v\n%s", err, field)
	}
	var got []arWant
	for _, r := range results {
		spf, ok := r.(*authres.SPFResult)
		if !ok {
			t.Fatalf("result %#v is not SPF\n%s", r, field)
		}
		got = append(got, arWant{string(spf.Value), spf.Reason, unquote(spf.From), unquote(spf.Helo)})
	}
	// The strict reader of RFC 8601 must read the same.
	strictID, none, strict, err := parseAuthResStrict(field)
	if err != nil {
		t.Fatalf("strict reader: %v\n%s", err, field)
	}
	if none && len(got) != 0 {
		t.Fatalf("strict reader reads \"none\", go-msgauth %v\n%s", got, field)
	}
	if strictID != unquote(id) {
		t.Errorf("strict reader: authserv-id %q, go-msgauth %q", strictID, id)
	}
	if diff := cmp.Diff(got, strict); diff != "" {
		t.Errorf("strict reader and go-msgauth differ (-msgauth +strict):\n%s\n%s", diff, field)
	}
	return unquote(id), got
}

// unquote removes the quotes of a quoted-string whose content needs no
// unescaping (authresValue never writes "\" or `"` inside).
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// TestAuthenticationResultsRoundTrip writes each golden case, and all of
// them in one field, and reads them back with go-msgauth.
func TestAuthenticationResultsRoundTrip(t *testing.T) {
	var all []*Outcome
	var allWant []arWant
	for _, hc := range headerCases {
		o := hc.check(t)
		want := arWant{Value: o.Result.String()}
		if o.Identity == IdentityHELO {
			want.Helo = unquote(authresDomain(hc.helo))
		} else {
			want.From = unquote(authresMailFrom(hc.sender))
		}
		all = append(all, o)
		allWant = append(allWant, want)
		t.Run(hc.name, func(t *testing.T) {
			field := AuthenticationResults("mx.example.org", o)
			checkField(t, field, "Authentication-Results")
			id, got := parseAR(t, field)
			if id != "mx.example.org" {
				t.Errorf("authserv-id %q", id)
			}
			if diff := cmp.Diff([]arWant{want}, got); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, field)
			}
		})
	}
	field := AuthenticationResults("", all...)
	checkField(t, field, "Authentication-Results")
	id, got := parseAR(t, field)
	if id != "mx.example.org" {
		t.Errorf("authserv-id from the receiver = %q", id)
	}
	if diff := cmp.Diff(allWant, got); diff != "" {
		t.Errorf("all in one field (-want +got):\n%s\n%s", diff, field)
	}
}

func TestAuthenticationResultsValues(t *testing.T) {
	tests := []struct {
		name   string
		sender string
		helo   string
		id     Identity
		want   string // the property
	}{
		{"address", "alice@example.com", "h.example", IdentityMailFrom, "smtp.mailfrom=alice@example.com"},
		{"upper-case domain", "Alice@EXAMPLE.com.", "h.example", IdentityMailFrom, "smtp.mailfrom=Alice@example.com"},
		{"IDN", "heidi@bücher.example", "h.example", IdentityMailFrom, "smtp.mailfrom=heidi@xn--bcher-kva.example"},
		{"quoted local part", `"john doe"@example.com`, "h.example", IdentityMailFrom, "smtp.mailfrom=example.com"},
		{"UTF-8 local part", "jösé@example.com", "h.example", IdentityMailFrom, "smtp.mailfrom=example.com"},
		{"domain only", "example.com", "h.example", IdentityMailFrom, "smtp.mailfrom=example.com"},
		{"invalid domain", "a@[192.0.2.1]", "h.example", IdentityMailFrom, `smtp.mailfrom="a@[192.0.2.1]"`},
		{"hostile domain", "a@x; spf=pass", "h.example", IdentityMailFrom, `smtp.mailfrom="a@x??spf=pass"`},
		{"helo", "", "Mail.Example.COM", IdentityHELO, "smtp.helo=mail.example.com"},
		{"helo literal", "", "[192.0.2.1]", IdentityHELO, `smtp.helo="[192.0.2.1]"`},
		{"helo hostile", "", "a (b) \"c\"\r\n;d", IdentityHELO, `smtp.helo="a??b???c????d"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Outcome{Result: Pass, Identity: tt.id, Sender: tt.sender, HELO: tt.helo,
				ClientIP: netip.MustParseAddr("192.0.2.1"), Receiver: "mx.example.org"}
			field := AuthenticationResults("mx.example.org", o)
			checkField(t, field, "Authentication-Results")
			unfolded := strings.ReplaceAll(field, "\r\n\t", " ")
			if !strings.HasSuffix(unfolded, " "+tt.want) {
				t.Errorf("field %q does not end in %q", unfolded, tt.want)
			}
		})
	}
}

// TestAuthenticationResultsHostile writes the hostile outcomes, alone and
// together, and checks that go-msgauth reads exactly one SPF result per
// outcome with the properties we meant.
func TestAuthenticationResultsHostile(t *testing.T) {
	for name, o := range hostileOutcomes() {
		t.Run(name, func(t *testing.T) {
			helo := &Outcome{Result: Fail, Identity: IdentityHELO, HELO: o.HELO, ClientIP: o.ClientIP, Receiver: o.Receiver}
			for _, authservID := range []string{"mx.example.org", ""} {
				field := AuthenticationResults(authservID, o, nil, helo)
				checkField(t, field, "Authentication-Results")
				id, got := parseAR(t, field)
				wantID := authservID
				if wantID == "" {
					wantID = escape.AuthResValue(o.Receiver, maxHeaderValue)
					if o.Receiver == "" {
						wantID = ""
					}
				}
				if id != unquote(wantID) {
					t.Errorf("authserv-id %q, want %q", id, wantID)
				}
				first := arWant{Value: resultToken(o.Result)}
				if o.Identity == IdentityHELO {
					first.Helo = unquote(authresDomain(o.HELO))
				} else {
					first.From = unquote(authresMailFrom(o.Sender))
				}
				want := []arWant{first, {Value: "fail", Helo: unquote(authresDomain(o.HELO))}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s\n%s", diff, field)
				}
			}
		})
	}
}

func TestAuthenticationResultsNone(t *testing.T) {
	for _, tt := range []struct {
		id, want string
	}{
		{"mx.example.org", "Authentication-Results: mx.example.org; none"},
		{"", `Authentication-Results: ""; none`},
		{"my server", `Authentication-Results: "my?server"; none`},
	} {
		got := AuthenticationResults(tt.id, nil)
		if got != tt.want {
			t.Errorf("AuthenticationResults(%q, nil) = %q, want %q", tt.id, got, tt.want)
		}
		if _, none, _, err := parseAuthResStrict(got); err != nil || !none {
			t.Errorf("strict reader of %q: none %v, error %v", got, none, err)
		}
	}
	if got, want := AuthenticationResultsValue("mx.example.org"), "mx.example.org; none"; got != want {
		t.Errorf("AuthenticationResultsValue = %q, want %q", got, want)
	}
}
