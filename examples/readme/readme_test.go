package readme

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// readmeMarker is the HTML comment in README.md right above the code block
// that must be this package's region.
const readmeMarker = "<!-- examples/readme/readme.go, checked by TestREADME -->"

// TestREADME checks that the README's MTA code block is readme.go's
// marked region, byte for byte once each has its common indentation
// removed.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block, err := codeBlockAfter(string(readme), readmeMarker)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	src, err := os.ReadFile("readme.go")
	if err != nil {
		t.Fatal(err)
	}
	region, err := markedRegion(string(src))
	if err != nil {
		t.Fatalf("readme.go: %v", err)
	}
	if got, want := dedent(block), dedent(region); got != want {
		t.Errorf("the README's code block is not readme.go's region; copy the region into README.md.\nREADME:\n%s\nreadme.go:\n%s\nfirst difference at line %d",
			got, want, firstDiffLine(got, want))
	}
}

// codeBlockAfter returns the text of the first fenced code block after
// marker in a Markdown text, without its fences.
func codeBlockAfter(md, marker string) (string, error) {
	_, rest, ok := strings.Cut(md, marker+"\n")
	if !ok {
		return "", fmt.Errorf("no %q", marker)
	}
	rest, ok = strings.CutPrefix(rest, "```go\n")
	if !ok {
		return "", errors.New("no ```go block right after the marker")
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		return "", errors.New("code block not closed")
	}
	return block + "\n", nil
}

// markedRegion returns the lines of src between "// README:begin" and
// "// README:end", with neither.
func markedRegion(src string) (string, error) {
	_, rest, ok := strings.Cut(src, "// README:begin\n")
	if !ok {
		return "", errors.New("no // README:begin line")
	}
	region, _, ok := strings.Cut(rest, "// README:end\n")
	if !ok {
		return "", errors.New("no // README:end line")
	}
	return strings.TrimRight(region, "\n") + "\n", nil
}

// dedent removes from every line the tabs and spaces that all non-empty
// lines start with.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	prefix := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		switch {
		case first:
			prefix, first = indent, false
		default:
			for !strings.HasPrefix(indent, prefix) {
				prefix = prefix[:len(prefix)-1]
			}
		}
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, prefix)
	}
	return strings.Join(lines, "\n")
}

// firstDiffLine returns the number of the first line where a and b
// differ, from 1.
func firstDiffLine(a, b string) int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

func TestDedent(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\tfunc f() {\n\t\tx()\n\n\t}\n", "func f() {\n\tx()\n\n}\n"},
		{"a\n\tb\n", "a\n\tb\n"},
		{"  a\n  b\n", "a\nb\n"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := dedent(tt.in); got != tt.want {
				t.Errorf("dedent(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCheckMailFrom runs the README's code against a DNS server on
// loopback: the trace fields of an accepted message (each identity once,
// for a bounce too), and the go-smtp error of a refused one.
func TestCheckMailFrom(t *testing.T) {
	srv := spftest.NewServerFromText(t, `
example.com.      TXT "v=spf1 ip4:127.0.0.1 -all"
forged.example.   TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.example.com. TXT "v=spf1 a -all"
mail.example.com. A   127.0.0.1
`)
	checker := newChecker(srv.Addr)
	ip := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		name, helo, sender string
		fields             []string // the trace fields: name and identities
		code               int      // refused with this reply code
	}{
		{name: "pass", helo: "mail.example.com", sender: "alice@example.com",
			fields: []string{"Authentication-Results smtp.mailfrom=alice@example.com smtp.helo=mail.example.com", "Received-SPF identity=mailfrom"}},
		{name: "bounce", helo: "mail.example.com", sender: "",
			fields: []string{"Authentication-Results smtp.helo=mail.example.com", "Received-SPF identity=helo"}},
		{name: "fail", helo: "mail.example.com", sender: "mallory@forged.example", code: 550},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := checkMailFrom(context.Background(), checker, spf.Policy{}, ip, tt.helo, tt.sender)
			if tt.code != 0 {
				var se *smtp.SMTPError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want an *smtp.SMTPError", err)
				}
				if se.Code != tt.code || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 23}) {
					t.Errorf("reply %d %v, want %d 5.7.23", se.Code, se.EnhancedCode, tt.code)
				}
				// go-smtp writes the last line's code itself: the others
				// must carry it in the text.
				lines := strings.Split(se.Message, "\n")
				if len(lines) < 2 {
					t.Fatalf("a one-line reply %q proves nothing", se.Message)
				}
				for _, l := range lines[:len(lines)-1] {
					if !strings.HasPrefix(l, "5.7.23 ") {
						t.Errorf("line %q lacks 5.7.23", l)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fields {
				name, value, _ := strings.Cut(strings.ReplaceAll(f, "\r\n\t", " "), ": ")
				ids := []string{name}
				for _, w := range strings.Fields(value) {
					w = strings.TrimSuffix(w, ";")
					if strings.HasPrefix(w, "smtp.") || strings.HasPrefix(w, "identity=") {
						ids = append(ids, w)
					}
				}
				got = append(got, strings.Join(ids, " "))
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("trace fields\n%s\nwant\n%s\nin\n%s", strings.Join(got, "\n"), strings.Join(tt.fields, "\n"), strings.Join(fields, "\n"))
			}
		})
	}
	if n := srv.Count("example.com", 16); n != 1 {
		t.Errorf("%d TXT queries for example.com, want 1 (the Cache)", n)
	}
}
