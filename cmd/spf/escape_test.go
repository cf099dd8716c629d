package main

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// terminalError returns what in out could act on a terminal: a control
// byte other than LF and HT, DEL, invalid UTF-8, or a rune that is not
// printable (C1 controls, bidirectional overrides).
func terminalError(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s output is not UTF-8: %.400q", what, out)
	}
	for _, r := range out {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			t.Fatalf("%s output holds %U: %.400q", what, r, out)
		}
	}
}

// hostileText prints the text output of check and trace for a check of
// sender's local part at fuzz.example, whose record, explanation (exp=)
// and validated PTR name (%{p}) are given, and of lint --record.
func hostileText(t *testing.T, record, exp, ptrName, helo, local string) map[string]string {
	t.Helper()
	ip := netip.MustParseAddr("192.0.2.1")
	z := &spftest.Zone{}
	z.AddTXT("fuzz.example", record)
	z.AddTXT("exp.fuzz.example", exp)
	z.AddPTR("1.2.0.192.in-addr.arpa", ptrName)
	z.AddIP(ptrName, ip)
	var events []spf.Event
	c := &spf.Checker{Resolver: z, Receiver: "mx\x1b[2J.example", Trace: func(ev spf.Event) { events = append(events, ev) }}
	out, _ := c.Check(context.Background(), ip, helo, local+"@fuzz.example")
	var check, trace bytes.Buffer
	newAnswer(&out).writeText(&check)
	p := &tracePrinter{w: &trace}
	p.header(&out)
	for _, n := range p.tree(events) {
		p.print(n, 0)
	}
	p.footer(&out)
	_, lint, _ := runString(t, "", "lint", "--zone", demoZone, "--record", record)
	return map[string]string{"check": check.String(), "trace": trace.String(), "lint": lint}
}

// hostileValues are the values of issue 10's table: controls, header and
// comment specials, 8-bit text and far too much of it.
var hostileValues = map[string]string{
	"CR LF":     "a\r\nX-Injected: yes",
	"NUL":       "a\x00b",
	"ESC":       "\x1b[31mred\x1b]0;title\x07",
	"specials":  `x;dkim=pass(c)header.d="paypal.com"\`,
	"8-bit":     "b\xfcch\xe9r \xff\xfe \u202eevil \u0085",
	"10 KB":     strings.Repeat("\x1b[2J;()", 1300),
	"DEL and C": "a\x7fb\u009bc",
}

// TestCLIHostileText runs each hostile value through every input that
// reaches the text output of check, trace and lint.
func TestCLIHostileText(t *testing.T) {
	for name, v := range hostileValues {
		t.Run(name, func(t *testing.T) {
			inputs := [][5]string{
				{"v=spf1 -all exp=exp.fuzz.example", v, "h.example", "h.example", "a"},         // DNS TXT via exp=
				{"v=spf1 -all exp=exp.fuzz.example", "%{p} %{h} %{l}", "p.example", v, v},      // PTR, HELO, local part via macros
				{"v=spf1 -all exp=exp.fuzz.example", "%{p}", v + ".example", "h.example", "a"}, // PTR name
				{"v=spf1 a:" + v + " -all", "x", "h.example", "h.example", "a"},                // the record
				{"v=spf1 " + v, "x", "h.example", "h.example", "a"},                            // a record that does not parse
			}
			for _, in := range inputs {
				for what, out := range hostileText(t, in[0], in[1], in[2], in[3], in[4]) {
					terminalError(t, what, out)
				}
			}
		})
	}
}

// FuzzCLIText checks that no record, explanation, PTR name, HELO or local
// part puts a control byte or escape sequence into the text output of
// check, trace and lint.
func FuzzCLIText(f *testing.F) {
	f.Add("v=spf1 ptr -all exp=exp.fuzz.example", "%{p} says \x1b[2J", "p\x1b.example", "h\r\n.example", "a\x00b")
	f.Add("v=spf1 ip4:1.2.3.4/40 \x1b[31m -all", "x", "p.example", "h.example", "a")
	f.Fuzz(func(t *testing.T, record, exp, ptrName, helo, local string) {
		if len(record)+len(exp)+len(ptrName)+len(helo)+len(local) > 4096 {
			return
		}
		for what, out := range hostileText(t, record, exp, ptrName, helo, local) {
			terminalError(t, what, out)
		}
	})
}

// TestCLIHostileJSON checks that the JSON outputs hold ASCII only: a HELO
// name or batch id harvested from SMTP logs may carry C1 controls (U+009B
// is CSI to many terminals) or bidirectional overrides, which JSON
// encoding leaves as they are.
func TestCLIHostileJSON(t *testing.T) {
	const helo = "h\u009b2J\u202eevil.example"
	batchLine := `{"id":"\u009b\u202e","ip":"192.0.2.1","helo":"` + helo + `","sender":"a@example.com"}` + "\n"
	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"check", "", []string{"check", "--json", "--zone", demoZone, "192.0.2.1", "a@example.com", helo}},
		{"batch", batchLine, []string{"check", "--batch", "--zone", demoZone}},
		{"trace", "", []string{"trace", "--json", "--zone", demoZone, "192.0.2.1", "a@example.com", helo}},
		{"why", "", []string{"why", "--json", "--zone", demoZone, "192.0.2.1", "a@example.com", helo}},
		{"lint", "", []string{"lint", "--json", "--zone", demoZone, "--record", "v=spf1 a:" + helo + " -all", "example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stdout, stderr := runString(t, tt.stdin, tt.args...)
			if !strings.Contains(stdout, `"domain"`) {
				t.Fatalf("no answer; stdout %q, stderr %q", stdout, stderr)
			}
			for i := 0; i < len(stdout); i++ {
				if c := stdout[i]; c >= 0x7f || (c < 0x20 && c != '\n') {
					t.Fatalf("byte %#x at %d in %q", c, i, stdout)
				}
			}
		})
	}
}

// TestMessageHostileText checks that what a message's header fields say
// reaches the text of spf message escaped, the reasons a Received-SPF
// field is not trusted included (they quote its identity).
func TestMessageHostileText(t *testing.T) {
	msg := "Received-SPF: pass (x) client-ip=198.51.100.7; identity=he\x1b[2Jlo\u202e\r\n" +
		"Received: from mail.example.com (mail.example.com [198.51.100.7]) by mx.receiver.example; Wed, 2 Dec 2026 10:00:01 +0000\r\n" +
		"\r\nbody\r\n"
	_, stdout, stderr := runString(t, msg, "message", "--no-check")
	if !strings.Contains(stdout, "not trusted") {
		t.Fatalf("no reason given; stdout %q, stderr %q", stdout, stderr)
	}
	terminalError(t, "message", stdout)
}
