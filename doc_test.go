package spf_test

import (
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// departuresHeading heads the list of RFC decisions in the package doc
// (spf.go) and in README.md.
const departuresHeading = "Where we depart from or interpret RFC 7208"

// TestDeparturesInREADME checks that README.md lists the same decisions on
// RFC 7208 as the package documentation, which is their one source: the
// same bullets in the same order, compared without Markdown code quotes,
// doc-link brackets and line breaks.
func TestDeparturesInREADME(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "spf.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := bullets(t, "package doc", doc, "# "+departuresHeading, "\n# ")
	got := bullets(t, "README.md", string(readme), "### "+departuresHeading, "\n## ")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README.md's list of RFC decisions differs from the package doc in spf.go, its source (-doc +README):\n%s", diff)
	}
}

var (
	spaces   = regexp.MustCompile(`\s+`)
	docLinks = regexp.MustCompile(`\[([A-Za-z][A-Za-z0-9_.]*)\]`)
)

// bullets returns the items of the first list after heading in text, up
// to end, normalised for comparison.
func bullets(t *testing.T, what, text, heading, end string) []string {
	t.Helper()
	i := strings.Index(text, heading)
	if i < 0 {
		t.Fatalf("%s has no heading %q", what, heading)
	}
	text = text[i+len(heading):]
	if j := strings.Index(text, end); j >= 0 {
		text = text[:j]
	}
	var items []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "- "):
			items = append(items, line[2:])
		case line != "" && len(items) > 0:
			items[len(items)-1] += " " + line
		}
	}
	for i, s := range items {
		s = strings.ReplaceAll(s, "`", "")
		s = docLinks.ReplaceAllString(s, "$1")
		items[i] = spaces.ReplaceAllString(s, " ")
	}
	if len(items) == 0 {
		t.Fatalf("%s lists no decisions under %q", what, heading)
	}
	return items
}
