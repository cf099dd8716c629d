package spf_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// receiverChecker returns a copy of c with the receiver settings of a
// scenario test (see [spftest.Receiver]).
func receiverChecker(t *testing.T, c *spf.Checker, st spftest.SuiteTest) *spf.Checker {
	t.Helper()
	cc := *c
	if err := st.Receiver.Configure(&cc); err != nil {
		t.Fatalf("receiver settings: %v", err)
	}
	return &cc
}

// checkBorder checks the border expectations of a scenario test.
func checkBorder(t *testing.T, st spftest.SuiteTest, out *spf.Outcome) {
	t.Helper()
	type border struct {
		Skipped   bool
		LocalRule bool
		BestGuess string
		Allowed   string
	}
	want := border{st.Skipped != "", st.LocalRule, st.BestGuess, st.Allowed}
	got := border{out.Skipped != nil, out.LocalRule, "", out.Allowed}
	if out.Guessed {
		got.BestGuess = out.BestGuess.String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("border settings (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(out.Skipped.String(), st.Skipped) {
		t.Errorf("skipped %q, want it to start with %q", out.Skipped, st.Skipped)
	}
}
