package spf_test

import (
	"testing"

	"github.com/spf-go/spf"
)

// FuzzParseLocalRules: what parses prints in canonical form, parses
// again to the same form, and never holds all or a modifier.
func FuzzParseLocalRules(f *testing.F) {
	for _, s := range []string{"ip4:203.0.113.2 a:relay.example.net include:spf.antispam.example",
		"v=spf1 -ip6:2001:db8::/32", "?exists:%{i}.allow.example", "-all", "redirect=x.example", "a/24 mx//64", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := spf.ParseLocalRules(s)
		if err != nil {
			return
		}
		again, err := spf.ParseLocalRules(r.String())
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", s, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("%q: %q then %q", s, r.String(), again.String())
		}
		rec, err := spf.Parse(r.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, term := range rec.Terms {
			if !term.Kind.IsMechanism() || term.Kind == spf.KindAll {
				t.Fatalf("%q: local rules hold %q", s, term.Text)
			}
		}
	})
}
