package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf-go/spf/spftest"
)

// demoZone is the path of the repository's demo zone.
var demoZone = filepath.Join("..", "..", "testdata", "demo.zone")

// runString runs the command in-process.
func runString(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	z := "--zone=" + demoZone
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"pass", []string{"check", z, "192.0.2.10", "a@example.com"}, 0},
		{"fail", []string{"check", z, "198.51.100.7", "a@example.com"}, 1},
		{"softfail", []string{"check", z, "192.0.2.1", "a@softfail.example.org"}, 2},
		{"neutral", []string{"check", z, "192.0.2.1", "a@neutral.example.org"}, 3},
		{"permerror", []string{"check", z, "192.0.2.1", "a@broken.example.org"}, 4},
		{"temperror", []string{"check", z, "192.0.2.1", "a@loop.example.org"}, 5},
		{"none", []string{"check", z, "192.0.2.1", "a@norecord.example.org"}, 6},
		{"json fail", []string{"check", "--json", z, "198.51.100.7", "a@example.com"}, 1},
		{"helo-only IP HELO", []string{"check", z, "--helo-only", "192.0.2.10", "mail.example.com"}, 0},
		{"helo-only IP HELO fail", []string{"check", z, "--helo-only", "198.51.100.7", "mail.example.com"}, 1},
		{"helo-only IP SENDER HELO", []string{"check", z, "--helo-only", "192.0.2.10", "a@example.org", "mail.example.com"}, 0},
		{"trace helo-only IP HELO", []string{"trace", z, "--helo-only", "198.51.100.7", "mail.example.com"}, 1},
		{"trace pass", []string{"trace", z, "192.0.2.10", "a@example.com"}, 0},
		{"trace fail", []string{"trace", z, "198.51.100.7", "a@example.com"}, 1},
		{"trace softfail", []string{"trace", z, "192.0.2.1", "a@softfail.example.org"}, 2},
		{"trace neutral", []string{"trace", z, "192.0.2.1", "a@neutral.example.org"}, 3},
		{"trace permerror", []string{"trace", z, "192.0.2.1", "a@toomany.example.org"}, 4},
		{"trace temperror", []string{"trace", z, "192.0.2.1", "a@loop.example.org"}, 5},
		{"trace none", []string{"trace", z, "192.0.2.1", "a@norecord.example.org"}, 6},
		{"lint clean", []string{"lint", z, "example.com"}, 0},
		{"lint warnings only", []string{"lint", z, "neutral.example.org"}, 0},
		{"lint errors", []string{"lint", z, "toomany.example.org"}, 1},
		{"lint record", []string{"lint", z, "--record", "v=spf1 include:example.com -all"}, 0},
		{"lint bad record", []string{"lint", z, "--record", "v=spf1 ip4:1.2.3.4/40 -all"}, 1},
		{"batch", []string{"check", z, "--batch"}, 0},
		{"help", []string{"--help"}, 0},
		{"check help", []string{"check", "--help"}, 0},
		{"trace help", []string{"trace", "-h"}, 0},
		{"lint help", []string{"lint", "--help"}, 0},
		{"version", []string{"--version"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runString(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("spf %s: exit status %d, want %d (stderr %q)", strings.Join(tt.args, " "), code, tt.want, stderr)
			}
		})
	}
}

// TestUsageErrors checks that bad input gets one line on stderr naming
// the problem, nothing on stdout, and exit status 255.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	badZone := filepath.Join(dir, "bad.zone")
	if err := os.WriteFile(badZone, []byte("example.com. TXT \"v=spf1 -all\"\nexample.com. IN BOGUS 1\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	z := "--zone=" + demoZone
	tests := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"no command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"bad ip", []string{"check", z, "192.0.2.300", "a@example.com"}, `invalid IP address "192.0.2.300"`},
		{"ip with zone", []string{"check", z, "fe80::1%eth0", "a@example.com"}, `invalid IP address`},
		{"empty ip", []string{"check", z, "--ip", "", "--sender", "a@example.com"}, "no client IP address"},
		{"no sender", []string{"check", z, "192.0.2.1"}, "no sender"},
		{"null sender without helo", []string{"check", z, "--ip", "192.0.2.1", "--sender", ""}, "needs a HELO name"},
		{"helo-only without helo", []string{"check", z, "--helo-only", "192.0.2.1"}, "--helo-only needs a HELO name"},
		{"helo-only IP HELO and --helo", []string{"check", z, "--helo-only", "--helo", "a.example", "192.0.2.1", "b.example"}, "give IP HELO either as flags or as arguments"},
		{"serve no zone", []string{"serve"}, "no zone file (give --zone FILE)"},
		{"serve argument", []string{"serve", z, "extra"}, `unexpected argument "extra"`},
		{"serve bad delay", []string{"serve", z, "--delay", "example.com"}, "want NAME=DURATION"},
		{"serve bad name", []string{"serve", z, "--drop", "a..example"}, `"a..example" is not a domain name`},
		{"serve bad listen", []string{"serve", z, "--listen", "127.0.0.1"}, "--listen 127.0.0.1: "},
		{"too many args", []string{"check", z, "192.0.2.1", "a@example.com", "helo.example", "more"}, "too many arguments"},
		{"flag and arg", []string{"check", z, "--ip", "192.0.2.1", "192.0.2.2", "a@example.com"}, "either as flags or as arguments"},
		{"unknown flag", []string{"check", "--frob", "192.0.2.1", "a@example.com"}, "flag provided but not defined: -frob"},
		{"bad timeout", []string{"check", z, "--timeout", "soon", "192.0.2.1", "a@example.com"}, `invalid value "soon" for flag -timeout`},
		{"zero timeout", []string{"check", z, "--timeout", "0s", "192.0.2.1", "a@example.com"}, "--timeout must be positive"},
		{"missing zone file", []string{"check", "--zone", filepath.Join(dir, "nope.zone"), "192.0.2.1", "a@example.com"}, "no such file or directory"},
		{"zone file with errors", []string{"check", "--zone", badZone, "192.0.2.1", "a@example.com"}, "bad.zone"},
		{"empty server", []string{"check", "--server", "", "192.0.2.1", "a@example.com"}, "empty value"},
		{"bad server port", []string{"check", "--server", "127.0.0.1:http", "192.0.2.1", "a@example.com"}, "invalid port"},
		{"zone and server", []string{"check", z, "--server", "127.0.0.1:53", "192.0.2.1", "a@example.com"}, "cannot be used together"},
		{"batch with args", []string{"check", z, "--batch", "192.0.2.1"}, "--batch reads its queries from standard input"},
		{"batch concurrency", []string{"check", z, "--batch", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{"trace bad ip", []string{"trace", z, "nope", "a@example.com"}, `invalid IP address "nope"`},
		{"lint no domain", []string{"lint", z}, "no domain to lint"},
		{"lint bad domain", []string{"lint", z, "bad..example"}, `invalid domain "bad..example"`},
		{"lint two domains", []string{"lint", z, "a.example", "b.example"}, "too many arguments"},
		{"lint empty record", []string{"lint", z, "--record", " "}, "--record is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runString(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "spf") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr %q, want one line starting with \"spf\"", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
		})
	}
}

// TestExitStatusDNS checks every exit status of check against a DNS
// server on the loopback interface, and a server that is not there.
func TestExitStatusDNS(t *testing.T) {
	t.Parallel()
	zone, err := loadZone(demoZone)
	if err != nil {
		t.Fatal(err)
	}
	srv := spftest.NewServer(t, zone)
	srv.SetFault("drop.example.org", spftest.Fault{Drop: true})
	// A port on which nothing listens: one the system just gave and took back.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().String()
	pc.Close()

	s := "--server=" + srv.Addr
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"pass", []string{"check", s, "192.0.2.10", "a@example.com"}, 0},
		{"fail", []string{"check", s, "198.51.100.7", "a@example.com"}, 1},
		{"softfail", []string{"check", s, "192.0.2.1", "a@softfail.example.org"}, 2},
		{"neutral", []string{"check", s, "192.0.2.1", "a@neutral.example.org"}, 3},
		{"permerror", []string{"check", s, "192.0.2.1", "a@two.example.org"}, 4},
		{"temperror", []string{"check", s, "--timeout=500ms", "192.0.2.1", "a@drop.example.org"}, 5},
		{"none", []string{"check", s, "192.0.2.1", "a@norecord.example.org"}, 6},
		{"trace", []string{"trace", s, "192.0.2.1", "a@toomany.example.org"}, 4},
		{"lint", []string{"lint", s, "risky.example.org"}, 1},
		{"second server answers", []string{"check", "--server", closed, s, "192.0.2.10", "a@example.com"}, 0},
		{"no server", []string{"check", "--server", closed, "192.0.2.10", "a@example.com"}, exitUsage},
		{"no server trace", []string{"trace", "--server", closed, "192.0.2.10", "a@example.com"}, exitUsage},
		{"no server lint", []string{"lint", "--server", closed, "example.com"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runString(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("spf %s: exit status %d, want %d (stderr %q)", strings.Join(tt.args, " "), code, tt.want, stderr)
			}
			if code == exitUsage && (!strings.Contains(stderr, "no DNS server answered") || strings.Count(stderr, "\n") != 1) {
				t.Errorf("stderr %q, want one line saying no DNS server answered", stderr)
			}
		})
	}
}

// TestZoneFileNamedOnce checks that an error in a zone file names the
// file once, with what is wrong, for every command that reads one.
func TestZoneFileNamedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.zone")
	if err := os.WriteFile(bad, []byte("example.com. TXT \"v=spf1 -all\"\nexample.com. IN BOGUS 1\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.zone")
	tests := []struct {
		name string
		args []string
		file string
		want string
	}{
		{"check bad", []string{"check", "--zone", bad, "192.0.2.1", "a@example.com"}, bad, `line: 2`},
		{"check missing", []string{"check", "--zone", missing, "192.0.2.1", "a@example.com"}, missing, "no such file or directory"},
		{"trace bad", []string{"trace", "--zone", bad, "192.0.2.1", "a@example.com"}, bad, `not a TTL: "BOGUS"`},
		{"lint bad", []string{"lint", "--zone", bad, "example.com"}, bad, `not a TTL: "BOGUS"`},
		{"serve bad", []string{"serve", "--zone", bad}, bad, `not a TTL: "BOGUS"`},
		{"serve missing", []string{"serve", "--zone", missing}, missing, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runString(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
			if n := strings.Count(stderr, tt.file); n != 1 || !strings.Contains(stderr, "zone file "+tt.file+": ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q names the file %d times, want once as \"zone file %s: \" and %q", stderr, n, tt.file, tt.want)
			}
		})
	}
}
