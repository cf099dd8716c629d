package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf/internal/escape"
)

// outputHostileValues are the values of issue 10's table: line breaks,
// NUL, ESC, the specials of headers and comments, 8-bit text, the
// Authentication-Results injection and far too much text.
var outputHostileValues = map[string]string{
	"CR":        "a\rb",
	"LF":        "a\nb",
	"CRLF":      "a\r\nX-Injected: yes",
	"NUL":       "a\x00b",
	"ESC":       "\x1b[31mred\x1b[0m",
	"semicolon": "a;b",
	"parens":    "a(b)c",
	"quote":     `a"b`,
	"backslash": `a\b`,
	"8-bit":     "b\xfcch\xe9r\xff",
	"injection": arInjection,
	"10 KB":     strings.Repeat("x;(", 3500),
}

// TestHostileOutputs puts each hostile value into each input a check
// takes (HELO, sender, receiver name, authserv-id, a DNS TXT explanation
// through exp=, a PTR name through %{p}) and checks every output: both
// header fields read back by the strict readers with the keys and the one
// resinfo meant, and the Reply of a rejecting Policy.
func TestHostileOutputs(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.1")
	type input struct {
		helo, local, domain, receiver, authservID, exp, ptr string
	}
	base := input{helo: "mail.example.com", local: "alice", domain: "fail.example", receiver: "mx.example.org",
		authservID: "mx.example.org", exp: "%{p} %{h} %{l} is not allowed", ptr: "ptr.example.net"}
	slots := map[string]func(in *input, v string){
		"HELO":         func(in *input, v string) { in.helo = v },
		"local part":   func(in *input, v string) { in.local = v },
		"domain":       func(in *input, v string) { in.domain = v },
		"receiver":     func(in *input, v string) { in.receiver = v },
		"authserv-id":  func(in *input, v string) { in.authservID = v },
		"exp= TXT":     func(in *input, v string) { in.exp = v },
		"PTR via %{p}": func(in *input, v string) { in.ptr = v },
	}
	for vname, v := range outputHostileValues {
		for sname, set := range slots {
			t.Run(sname+"/"+vname, func(t *testing.T) {
				in := base
				set(&in, v)
				z := &testZone{}
				z.AddTXT(in.domain, "v=spf1 -all exp=exp.fail.example")
				z.AddTXT("exp.fail.example", in.exp)
				z.AddPTR("1.2.0.192.in-addr.arpa", in.ptr)
				z.AddIP(in.ptr, ip)
				z.AddTXT(in.helo, "v=spf1 ~all")
				c := &Checker{Resolver: z, Receiver: in.receiver}
				mf, _ := c.Check(context.Background(), ip, in.helo, in.local+"@"+in.domain)
				helo, _ := c.CheckHELO(context.Background(), ip, in.helo)
				null, _ := c.Check(context.Background(), ip, in.helo, "")
				for _, o := range []*Outcome{&mf, &helo, &null} {
					checkOutputs(t, o, in.authservID)
				}
			})
		}
	}
}

// checkOutputs checks the header fields and replies of o.
func checkOutputs(t *testing.T, o *Outcome, authservID string) {
	t.Helper()
	rs := o.ReceivedSPF()
	if err := fieldError(rs, "Received-SPF"); err != nil {
		t.Fatalf("%v in %q", err, rs)
	}
	p, err := parseReceivedSPF(rs)
	if err != nil {
		t.Fatalf("strict Received-SPF reader: %v in %q", err, rs)
	}
	wantKeys := []string{"client-ip"}
	if o.Sender != "" || o.NullSender && o.HELO != "" {
		wantKeys = append(wantKeys, "envelope-from")
	}
	if o.HELO != "" {
		wantKeys = append(wantKeys, "helo")
	}
	wantKeys = append(wantKeys, "receiver", "identity")
	switch {
	case o.Mechanism != "" || o.Result == Neutral:
		wantKeys = append(wantKeys, "mechanism")
	case o.Problem != nil:
		wantKeys = append(wantKeys, "problem")
	}
	if diff := cmp.Diff(wantKeys, p.Keys); diff != "" {
		t.Errorf("Received-SPF keys (-want +got):\n%s\n%q", diff, rs)
	}
	if p.Result != o.Result.String() || p.Values["identity"] != o.Identity.String() {
		t.Errorf("Received-SPF result %q identity %q for %v/%v", p.Result, p.Values["identity"], o.Result, o.Identity)
	}

	ar := AuthenticationResults(authservID, o)
	if err := fieldError(ar, "Authentication-Results"); err != nil {
		t.Fatalf("%v in %q", err, ar)
	}
	id, none, rs2, err := parseAuthResStrict(ar)
	if err != nil || none {
		t.Fatalf("strict Authentication-Results reader: %v (none %v) in %q", err, none, ar)
	}
	if want := unquote(escape.AuthResValue(authservID, maxHeaderValue)); id != want {
		t.Errorf("authserv-id %q, want %q", id, want)
	}
	want := arWant{Value: o.Result.String()}
	if o.Identity == IdentityHELO {
		want.Helo = unquote(authresDomain(o.HELO))
	} else {
		want.From = unquote(authresMailFrom(o.Sender))
	}
	if diff := cmp.Diff([]arWant{want}, rs2); diff != "" {
		t.Errorf("Authentication-Results (-want +got):\n%s\n%q", diff, ar)
	}

	for _, pol := range []Policy{{}, {MailFrom: RejectNotPass, HELO: RejectNotPass, RejectPermError: true}} {
		v := pol.Verdict(nil, o)
		if err := replyError(&v); err != nil {
			t.Errorf("%v in %q", err, v.Reply())
		}
	}
}
