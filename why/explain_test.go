package why

import (
	"context"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the code's output")

// testZone returns the zone of testdata/why.zone with a hostile PTR name
// for 198.51.100.7.
func testZone(t testing.TB) *spftest.Zone {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "why.zone"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := spftest.ParseZone(f, "", "why.zone")
	if err != nil {
		t.Fatal(err)
	}
	z.AddPTR("7.100.51.198.in-addr.arpa", `<img src=x onerror="alert(1)">.example.org`)
	z.AddIP(`<img src=x onerror="alert(1)">.example.org`, netip.MustParseAddr("198.51.100.7"))
	return z
}

// goldenCases are the checks the golden explanations cover: every result
// and the common causes of a permerror.
var goldenCases = []struct {
	name string
	q    Query
}{
	{"pass", Query{IP: netip.MustParseAddr("192.0.2.10"), HELO: "mail.example.com", Sender: "alice@example.com"}},
	{"pass-include", Query{IP: netip.MustParseAddr("203.0.113.25"), HELO: "out.example.net", Sender: "alice@example.com"}},
	{"fail", Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "mail.example.com", Sender: "alice@example.com"}},
	{"fail-default-explanation", Query{IP: netip.MustParseAddr("2001:db8::7"), HELO: "mail.example.org", Sender: "bob@plain.example.org"}},
	{"fail-helo", Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "mail.example.com", HELOOnly: true}},
	{"fail-null-sender", Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "mail.example.com"}},
	{"softfail", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@softfail.example.org"}},
	{"neutral", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@neutral.example.org"}},
	{"neutral-no-all", Query{IP: netip.MustParseAddr("192.0.2.2"), HELO: "h.example.org", Sender: "bob@noall.example.org"}},
	{"none", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@norecord.example.org"}},
	{"temperror", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@loop.example.org"}},
	{"permerror-syntax", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@broken.example.org"}},
	{"permerror-too-many-lookups", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@toomany.example.org"}},
	{"permerror-too-many-void-lookups", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@void.example.org"}},
	{"permerror-multiple-records", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@two.example.org"}},
	{"permerror-include-without-record", Query{IP: netip.MustParseAddr("192.0.2.1"), HELO: "h.example.org", Sender: "bob@inc.example.org"}},
	{"redirect-fail", Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "h.example.org", Sender: "bob@redirect.example.org"}},
	{"hostile", Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "evil\x1b[31m.example.org", Sender: "\"<b>x\"\u00e9\u202e@hostile.example.org"}},
	{"invalid-sender", Query{IP: netip.MustParseAddr("198.51.100.7"), HELO: "mail.example.org", Sender: "a@hostile.example.org SIZE=100\r\n"}},
}

// TestGolden compares the text of each explanation with
// testdata/golden/NAME.txt, and checks its JSON form and that the text is
// printable ASCII. Run with -update to rewrite the files.
func TestGolden(t *testing.T) {
	t.Parallel()
	c := &spf.Checker{Resolver: testZone(t), Receiver: "mx.example.net"}
	for _, tt := range goldenCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Explain(context.Background(), c, tt.q)
			if (err != nil) != (e.Result == "temperror" || e.Result == "permerror") {
				t.Errorf("error %v with result %s", err, e.Result)
			}
			got := e.Text()
			for i := 0; i < len(got); i++ {
				if c := got[i]; (c < 0x20 || c >= 0x7f) && c != '\n' {
					t.Fatalf("byte %#x at %d of the text is not printable ASCII", c, i)
				}
			}
			path := filepath.Join("testdata", "golden", tt.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var back Explanation
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(e, &back); diff != "" {
				t.Errorf("JSON round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExplainFacts checks the structured fields the text is built from.
func TestExplainFacts(t *testing.T) {
	t.Parallel()
	c := &spf.Checker{Resolver: testZone(t)}
	ip := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name  string
		q     Query
		check func(e *Explanation) any
		want  any
	}{
		{"spend", Query{IP: ip, Sender: "a@toomany.example.org"}, func(e *Explanation) any { return e.Spend }, []Spend{
			{Term: "mx", Domain: "toomany.example.org", Lookups: 1},
			{Term: "include:s1.toomany.example.org", Domain: "toomany.example.org", Lookups: 5},
			{Term: "include:s2.toomany.example.org", Domain: "toomany.example.org", Lookups: 4},
		}},
		{"redirect spend", Query{IP: netip.MustParseAddr("198.51.100.7"), Sender: "a@redirect.example.org"}, func(e *Explanation) any { return e.Spend }, []Spend{
			{Term: "redirect=example.com", Domain: "redirect.example.org", Lookups: 3},
		}},
		{"problem term", Query{IP: ip, Sender: "a@toomany.example.org"}, func(e *Explanation) any { return e.ProblemTerm }, "a:h8.toomany.example.org"},
		{"void terms", Query{IP: ip, Sender: "a@void.example.org"}, func(e *Explanation) any { return e.VoidTerms }, []string{"a:x1.example.org", "a:x2.example.org", "a:x3.example.org"}},
		{"failed lookup", Query{IP: ip, Sender: "a@loop.example.org"}, func(e *Explanation) any { return e.FailedLookup }, "TXT loop.example.org"},
		{"multiple records", Query{IP: ip, Sender: "a@two.example.org"}, func(e *Explanation) any { return e.Records }, []string{"v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:192.0.2.2 -all"}},
		{"include target", Query{IP: ip, Sender: "a@inc.example.org"}, func(e *Explanation) any { return e.ProblemTerm }, "include:norecord.example.org"},
		{"syntax term", Query{IP: ip, Sender: "a@broken.example.org"}, func(e *Explanation) any { return e.ProblemTerm }, "ip4:192.0.2.0/33"},
		{"default all", Query{IP: netip.MustParseAddr("198.51.100.7"), Sender: "a@example.com"}, func(e *Explanation) any { return e.DefaultAll }, true},
		{"cleaned", Query{IP: ip, HELO: "h\x00\xff.example", Sender: "a\x1b@norecord.example.org"}, func(e *Explanation) any { return e.HELO + " " + e.Sender }, "h??.example a?@norecord.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := Explain(context.Background(), c, tt.q)
			if diff := cmp.Diff(tt.want, tt.check(e)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestExplainKeepsTrace checks that the Checker's own Trace still sees the
// events and that the Checker is not changed.
func TestExplainKeepsTrace(t *testing.T) {
	t.Parallel()
	n := 0
	c := &spf.Checker{Resolver: testZone(t), Trace: func(spf.Event) { n++ }}
	if _, err := Explain(context.Background(), c, Query{IP: netip.MustParseAddr("192.0.2.10"), Sender: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("the Checker's Trace saw no event")
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\r\nb", "a??b"},
		{"\x7fé", "???"},
		{strings.Repeat("x", 12), "xxxxxxx..."},
	}
	for _, tt := range tests {
		if got := clean(tt.in, 10); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
