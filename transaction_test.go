package spf

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A txnField is what the strict readers find in one field TraceHeaders
// writes: for Authentication-Results its resinfos (or none), for
// Received-SPF its result, identity and envelope-from.
type txnField struct {
	Name     string
	None     bool     // Authentication-Results: "none"
	Results  []arWant // Authentication-Results: the resinfos
	Result   string   // Received-SPF
	Identity string   // Received-SPF identity=
	From     string   // Received-SPF envelope-from=
}

// readTxnFields reads fields with the strict readers of RFC 8601 section
// 2.2 and RFC 7208 section 9.1, after checking each is one well-formed
// header field.
func readTxnFields(t *testing.T, fields []string) []txnField {
	t.Helper()
	var got []txnField
	for _, f := range fields {
		name, _, _ := strings.Cut(f, ": ")
		checkField(t, f, name)
		switch name {
		case "Authentication-Results":
			_, none, results, err := parseAuthResStrict(f)
			if err != nil {
				t.Fatalf("%v in\n%s", err, f)
			}
			for i := range results {
				results[i].Reason = "" // the strict reader leaves it empty
			}
			got = append(got, txnField{Name: name, None: none, Results: results})
		case "Received-SPF":
			p, err := parseReceivedSPF(f)
			if err != nil {
				t.Fatalf("%v in\n%s", err, f)
			}
			got = append(got, txnField{Name: name, Result: p.Result, Identity: p.Values["identity"], From: p.Values["envelope-from"]})
		default:
			t.Fatalf("field %q", f)
		}
	}
	return got
}

// TestTraceHeaders writes the trace fields of transactions, reads them
// back with the strict readers, and compares them with
// testdata/golden/txn-<case>.txt (-update rewrites them): every identity
// once, a null sender's included.
func TestTraceHeaders(t *testing.T) {
	z := headerZone()
	z.AddIP("relay.example.net", netip.MustParseAddr("203.0.113.2"))
	c := &Checker{
		Resolver:      z,
		Receiver:      "mx.example.org",
		Now:           func() time.Time { return time.Unix(1700000000, 0) },
		TrustedRelays: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}
	ar := func(results ...arWant) txnField {
		return txnField{Name: "Authentication-Results", Results: results}
	}
	rs := func(result, identity, from string) txnField {
		return txnField{Name: "Received-SPF", Result: result, Identity: identity, From: from}
	}
	const (
		good   = "192.0.2.10" // mail.example.com's address, in example.com's ip4
		other  = "192.0.2.1"  // in example.com's ip4, not mail.example.com's
		denied = "198.51.100.7"
	)
	tests := []struct {
		name          string
		ip, heloName  string
		sender        string
		noHELO, noMF  bool // not checked: nil outcome
		want          []txnField
		wantNilFields bool
	}{
		{name: "pass", ip: good, heloName: "mail.example.com", sender: "alice@example.com", want: []txnField{
			ar(arWant{Value: "pass", From: "alice@example.com"}, arWant{Value: "pass", Helo: "mail.example.com"}),
			rs("pass", "mailfrom", "alice@example.com"),
		}},
		{name: "null-sender", ip: denied, heloName: "mail.example.com", sender: "", want: []txnField{
			ar(arWant{Value: "fail", Helo: "mail.example.com"}),
			rs("fail", "helo", "postmaster@mail.example.com"),
		}},
		{name: "null-sender-no-helo-check", ip: good, heloName: "mail.example.com", sender: "", noHELO: true, want: []txnField{
			ar(arWant{Value: "pass", Helo: "mail.example.com"}),
			rs("pass", "helo", "postmaster@mail.example.com"),
		}},
		{name: "helo-fail", ip: other, heloName: "mail.example.com", sender: "alice@example.com", want: []txnField{
			ar(arWant{Value: "pass", From: "alice@example.com"}, arWant{Value: "fail", Helo: "mail.example.com"}),
			rs("pass", "mailfrom", "alice@example.com"),
			rs("fail", "helo", ""),
		}},
		{name: "helo-softfail", ip: denied, heloName: "soft.example", sender: "alice@example.com", want: []txnField{
			ar(arWant{Value: "fail", From: "alice@example.com"}, arWant{Value: "softfail", Helo: "soft.example"}),
			rs("fail", "mailfrom", "alice@example.com"),
			rs("softfail", "helo", ""),
		}},
		{name: "helo-temperror", ip: other, heloName: "down.example", sender: "alice@example.com", want: []txnField{
			ar(arWant{Value: "pass", From: "alice@example.com"}, arWant{Value: "temperror", Helo: "down.example"}),
			rs("pass", "mailfrom", "alice@example.com"),
		}},
		{name: "helo-only", ip: good, heloName: "mail.example.com", noMF: true, want: []txnField{
			ar(arWant{Value: "pass", Helo: "mail.example.com"}),
			rs("pass", "helo", ""),
		}},
		{name: "mailfrom-only", ip: denied, heloName: "mail.example.com", sender: "bob@plain.example", noHELO: true, want: []txnField{
			ar(arWant{Value: "fail", From: "bob@plain.example"}),
			rs("fail", "mailfrom", "bob@plain.example"),
		}},
		{name: "skipped", ip: "10.1.2.3", heloName: "mail.example.com", sender: "alice@example.com", want: []txnField{
			{Name: "Authentication-Results", None: true},
			rs("none", "mailfrom", "alice@example.com"),
		}},
		{name: "hostile-null-sender", ip: denied, heloName: "x;dkim=pass\r\nX-Evil: 1", sender: "<>", want: []txnField{
			ar(arWant{Value: "none", Helo: "x?dkim=pass??X-Evil:?1"}),
			rs("none", "helo", "postmaster@x;dkim=pass  X-Evil: 1"),
		}},
		{name: "nothing", noHELO: true, noMF: true, wantNilFields: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := netip.MustParseAddr(good)
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			var helo, mailFrom *Outcome
			if !tt.noHELO {
				o, _ := c.CheckHELO(context.Background(), ip, tt.heloName)
				helo = &o
			}
			if !tt.noMF {
				o, _ := c.Check(context.Background(), ip, tt.heloName, tt.sender)
				mailFrom = &o
			}
			fields := TraceHeaders("mx.example.org", helo, mailFrom)
			if tt.wantNilFields {
				if fields != nil {
					t.Fatalf("TraceHeaders = %q, want nil", fields)
				}
				return
			}
			if diff := cmp.Diff(tt.want, readTxnFields(t, fields)); diff != "" {
				t.Errorf("fields read back (-want +got):\n%s\n%s", diff, strings.Join(fields, "\n"))
			}
			got := strings.ReplaceAll(strings.Join(fields, "\r\n")+"\r\n", "\r\n", "\n")
			compareGolden(t, filepath.Join("testdata", "golden", "txn-"+tt.name+".txt"), got, "TestTraceHeaders")
		})
	}
}

// compareGolden compares got with the golden file at path, or writes it
// there under -update; test names the test that makes it.
func compareGolden(t *testing.T, path, got, test string) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, test)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// TestTraceHeadersNullSenderOtherName: a null sender's check of another
// HELO name than helo's (a client that said EHLO again) is a second HELO
// identity, and both are recorded.
func TestTraceHeadersNullSenderOtherName(t *testing.T) {
	c := &Checker{Resolver: headerZone(), Receiver: "mx.example.org"}
	ip := netip.MustParseAddr("198.51.100.7")
	helo, _ := c.CheckHELO(context.Background(), ip, "mail.example.com")
	null, _ := c.Check(context.Background(), ip, "plain.example", "")
	got := readTxnFields(t, TraceHeaders("", &helo, &null))
	want := []txnField{
		{Name: "Authentication-Results", Results: []arWant{{Value: "fail", Helo: "plain.example"}, {Value: "fail", Helo: "mail.example.com"}}},
		{Name: "Received-SPF", Result: "fail", Identity: "helo", From: "postmaster@plain.example"},
		{Name: "Received-SPF", Result: "fail", Identity: "helo"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// goSMTPReply writes a reply as github.com/emersion/go-smtp v0.25.1 writes
// an *smtp.SMTPError (Conn.writeResponse, conn.go): the message split at
// "\n", every line but the last as "<code>-<text>", the last as "<code>
// <x.y.z> <text>", each ending in CRLF.
func goSMTPReply(code int, enh [3]int, msg string) string {
	lines := strings.Split(msg, "\n")
	var b strings.Builder
	for _, l := range lines[:len(lines)-1] {
		fmt.Fprintf(&b, "%d-%s\r\n", code, l)
	}
	fmt.Fprintf(&b, "%d %d.%d.%d %s\r\n", code, enh[0], enh[1], enh[2], lines[len(lines)-1])
	return b.String()
}

// TestVerdictMessage: the reply go-smtp writes from Verdict.Message is
// Verdict.Reply, the code on every line, where go-smtp given the lines
// alone leaves it off all lines but the last.
func TestVerdictMessage(t *testing.T) {
	long := &testZone{}
	long.AddTXT("long.example", "v=spf1 -all exp=exp.long.example")
	long.AddTXT("exp.long.example", strings.Repeat("word ", 400))
	c := &Checker{Resolver: long, Receiver: "mx.example.org"}
	o, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "h.example", "a@long.example")
	verdicts := map[string]Verdict{"12 lines": Policy{}.Verdict(nil, &o)}
	for _, hc := range headerCases {
		verdicts[hc.name] = Policy{MailFrom: RejectNotPass, RejectPermError: true}.Verdict(nil, hc.check(t))
	}
	multi := 0
	for name, v := range verdicts {
		t.Run(name, func(t *testing.T) {
			if v.Action == Accept {
				if m := v.Message(); m != "" {
					t.Errorf("Message of an accept = %q", m)
				}
				return
			}
			if got, want := goSMTPReply(v.Code, v.EnhancedCode, v.Message()), v.Reply(); got != want {
				t.Errorf("go-smtp writes\n%s\nwant\n%s", got, want)
			}
			if len(v.Lines) > 1 {
				multi++
				if naive := goSMTPReply(v.Code, v.EnhancedCode, strings.Join(v.Lines, "\n")); naive == v.Reply() {
					t.Errorf("the lines alone give the right reply too: the test proves nothing")
				}
			}
		})
	}
	if v := verdicts["12 lines"]; len(v.Lines) != maxReplyLines {
		t.Errorf("long explanation gave %d lines, want %d", len(v.Lines), maxReplyLines)
	}
	if multi == 0 {
		t.Error("no multi-line reply tested")
	}
}

// FuzzTraceHeaders: whatever the HELO name, the sender and the results,
// the fields read back with the strict readers, Authentication-Results
// comes first with one resinfo per identity, and a null sender's HELO
// name is recorded once.
func FuzzTraceHeaders(f *testing.F) {
	f.Add("mail.example.com", "alice@example.com", uint8(Pass), uint8(Fail), true)
	f.Add("mail.example.com", "", uint8(Fail), uint8(Fail), true)
	f.Add("x;dkim=pass\r\nX-Evil: 1", "", uint8(None), uint8(None), true)
	f.Add("[192.0.2.1]", "a b\"@c", uint8(SoftFail), uint8(PermError), false)
	f.Fuzz(func(t *testing.T, heloName, sender string, hr, mr uint8, checkHELO bool) {
		ip := netip.MustParseAddr("192.0.2.1")
		hd, _ := normalizeDomain(heloName)
		null := sender == ""
		mailFrom := &Outcome{Result: Result(mr % 7), ClientIP: ip, HELO: heloName, Sender: sender,
			NullSender: null, Domain: hd, Receiver: "mx.example.org"}
		if null {
			mailFrom.Identity = IdentityHELO
		} else {
			mailFrom.Domain, _ = normalizeDomain(sender[strings.LastIndexByte(sender, '@')+1:])
		}
		var helo *Outcome
		if checkHELO {
			helo = &Outcome{Result: Result(hr % 7), Identity: IdentityHELO, ClientIP: ip, HELO: heloName,
				Domain: hd, Receiver: "mx.example.org"}
		}
		got := readTxnFields(t, TraceHeaders("mx.example.org", helo, mailFrom))
		if len(got) < 2 || got[0].Name != "Authentication-Results" || got[1].Name != "Received-SPF" {
			t.Fatalf("fields %+v", got)
		}
		wantResinfos := 2
		if null || !checkHELO {
			wantResinfos = 1
		}
		if len(got[0].Results) != wantResinfos {
			t.Errorf("%d resinfos, want %d: %+v", len(got[0].Results), wantResinfos, got[0].Results)
		}
		wantFields := 2
		if checkHELO && !null && (helo.Result == Fail || helo.Result == SoftFail) {
			wantFields = 3
		}
		if len(got) != wantFields {
			t.Errorf("%d fields, want %d: %+v", len(got), wantFields, got)
		}
	})
}
