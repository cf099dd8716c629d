package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSpawn runs the program as spawn(8) does: requests on standard
// input, replies on standard output, and the counts logged at the end.
func TestSpawn(t *testing.T) {
	dns := startZone(t)
	in := policyRequest("s1", "192.0.2.10", "goodhelo.example", "a@pass.example", "x@y") +
		policyRequest("s1", "192.0.2.10", "goodhelo.example", "a@pass.example", "z@y") +
		policyRequest("s2", "203.0.113.7", "goodhelo.example", "a@fail.example", "x@y")
	var out, errOut bytes.Buffer
	code := run([]string{"-o", "DNS_Servers=" + dns.Addr, "-o", "Log_File=-", "-o", "Log_Format=json"},
		strings.NewReader(in), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	replies := strings.Split(strings.TrimSuffix(out.String(), "\n\n"), "\n\n")
	if len(replies) != 3 || !strings.HasPrefix(replies[0], "action=PREPEND Received-SPF: pass") ||
		replies[1] != "action=DUNNO" || !strings.HasPrefix(replies[2], "action=550 5.7.23 ") {
		t.Errorf("replies:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), `"msg":"exit","requests":3,"checks":2,"reused":1`) {
		t.Errorf("no counts at exit:\n%s", errOut.String())
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-o", "Bogus=1"}, `unknown option "Bogus"`},
		{[]string{"-o", "NoEquals"}, "want Key=Value"},
		{[]string{"/nonexistent/policyd-spf.conf"}, "no such file"},
		{[]string{"-config", "a", "b"}, "give one configuration file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.args, strings.NewReader(""), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut.String(), tt.want)
			}
		})
	}
}

// TestHostileHeader checks that the longest HELO name and sender Postfix
// can pass still give a one-line header within the action's bound.
func TestHostileHeader(t *testing.T) {
	dns := startZone(t)
	addr, _, _ := startDaemon(t, dns, "")
	helo := strings.Repeat("h\"(", 300)
	sender := strings.Repeat("\"l;=", 120) + "@" + strings.Repeat("d.", 120) + "pass.example"
	got := dial(t, addr).ask(t, policyRequest("hh", "192.0.2.10", helo, sender, "x@y"))
	if !strings.HasPrefix(got, "PREPEND Received-SPF: ") {
		t.Fatalf("%q, want a header", got)
	}
	if len(got) > maxActionBytes || strings.ContainsAny(got, "\r\n\t") {
		t.Errorf("header of %d bytes: %q", len(got), got)
	}
}
