package spf_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// TestProblemLength checks that the text of Outcome.Problem stays short
// whatever the length of the term it quotes: a record of about 60 KB
// whose one long term is the problem. The Problem goes into headers,
// replies, logs and terminals, and its text is built at every Error call.
func TestProblemLength(t *testing.T) {
	long := strings.Repeat("a", 60000)
	ctrl := strings.Repeat("\x01", 20000)
	tests := []struct {
		name   string
		record string
	}{
		{"unknown mechanism", "v=spf1 " + long + " -all"},
		{"unknown mechanism of control bytes", "v=spf1 " + ctrl + " -all"},
		{"invalid prefix length", "v=spf1 mx:many.example/" + long[:50000] + " -all"},
		{"invalid address", "v=spf1 ip4:" + long + " -all"},
		{"invalid domain-spec", "v=spf1 include:%{z}" + long + " -all"},
		{"too many lookups", "v=spf1" + strings.Repeat(" a:ok.example", 10) + " include:" + long + ".example -all"},
		{"void lookup", "v=spf1 a:x1.example a:x2.example a:" + strings.Repeat("b.", 20000) + "example -all"},
		{"include of nothing", "v=spf1 include:" + strings.Repeat("b.", 20000) + "nothing.example -all"},
		{"redirect of nothing", "v=spf1 redirect=nothing.example" + strings.Repeat("%%", 30000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := &spftest.Zone{}
			z.AddTXT("long.example", tt.record)
			z.AddIP("ok.example", netip.MustParseAddr("192.0.2.9"))
			c := spf.Checker{Resolver: z}
			out, _ := c.Check(context.Background(), netip.MustParseAddr("192.0.2.1"), "mx.example", "a@long.example")
			if out.Problem == nil {
				t.Fatalf("Result %v with no Problem, want a permerror", out.Result)
			}
			if n := len(out.Problem.Error()); n > 1024 {
				t.Errorf("len(Problem.Error()) = %d, want at most 1024; starts %.200q", n, out.Problem.Error())
			}
		})
	}
}
