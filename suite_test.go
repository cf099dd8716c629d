package spf_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// suitePath returns where the openspf RFC 7208 suite is: $SPF_TEST_SUITE,
// or beside the repository. It skips the test when the suite is missing,
// and fails it in CI (CI=true), where it must be present.
func suitePath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("SPF_TEST_SUITE")
	if path == "" {
		path = filepath.Join("..", "shared", "spf-test-suite", "rfc7208-tests.yml")
	}
	if _, err := os.Stat(path); err != nil {
		msg := "the RFC 7208 suite is not at " + path +
			": set SPF_TEST_SUITE to the path of rfc7208-tests.yml (from pyspf's test/ folder)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// suiteTally counts the tests of a suite file as they pass or fail.
type suiteTally struct {
	passed, failed, expPassed, expTotal int
}

// runSuite runs every test of the suite file at path with the resolver
// that newResolver makes from each scenario's zone, and logs one summary
// line.
func runSuite(t *testing.T, path, label string, newResolver func(t *testing.T, z *spftest.Zone) spf.Resolver) suiteTally {
	t.Helper()
	scenarios, err := spftest.LoadSuite(path)
	if err != nil {
		t.Fatal(err)
	}
	var tally suiteTally
	for _, sc := range scenarios {
		zone, err := sc.Zone()
		if err != nil {
			t.Fatalf("%s: %v", sc.Description, err)
		}
		c := &spf.Checker{Resolver: newResolver(t, zone), DefaultExplanation: "DEFAULT"}
		for _, st := range sc.Tests {
			ok := t.Run(st.Name, func(t *testing.T) {
				checkSuiteTest(t, c, st, &tally)
			})
			if ok {
				tally.passed++
			} else {
				tally.failed++
			}
		}
	}
	t.Logf("%s: %d passed, %d failed; explanations %d/%d", label, tally.passed, tally.failed, tally.expPassed, tally.expTotal)
	return tally
}

func checkSuiteTest(t *testing.T, c *spf.Checker, st spftest.SuiteTest, tally *suiteTally) {
	ip, err := netip.ParseAddr(st.Host)
	if err != nil {
		t.Fatalf("host %q: %v", st.Host, err)
	}
	if st.Receiver != nil {
		c = receiverChecker(t, c, st)
	}
	out, err := c.Check(context.Background(), ip, st.HELO, st.MailFrom)
	if st.Receiver != nil {
		checkBorder(t, st, &out) // border_suite_test.go
	}
	if !slices.Contains(st.Results, out.Result) {
		t.Errorf("spec %s: Check(%s, %q, %q) = %v (problem: %v), want %v", st.Spec, st.Host, st.HELO, st.MailFrom, out.Result, out.Problem, st.Results)
	}
	if isError := out.Result == spf.TempError || out.Result == spf.PermError; isError != (err != nil) {
		t.Errorf("result %v with error %v: the error must be set exactly for temperror and permerror", out.Result, err)
	}
	if st.HasExplanation {
		tally.expTotal++
		if out.Explanation == st.Explanation {
			tally.expPassed++
		} else {
			t.Errorf("explanation = %q, want %q", out.Explanation, st.Explanation)
		}
	}
}

func TestRFC7208Suite(t *testing.T) {
	path := suitePath(t)
	tally := runSuite(t, path, filepath.Base(path), func(t *testing.T, z *spftest.Zone) spf.Resolver { return z })
	if tally.passed+tally.failed == 0 {
		t.Error("the suite has no tests")
	}
}

// TestScenarios runs our own scenarios, in the suite's format, from
// testdata/scenarios: what the openspf suite leaves out.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata/scenarios")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			runSuite(t, f, filepath.Base(f), func(t *testing.T, z *spftest.Zone) spf.Resolver { return z })
		})
	}
}

func getenv(k string) string { return os.Getenv(k) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
