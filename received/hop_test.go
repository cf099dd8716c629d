package received

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rogpeppe/go-internal/txtar"
)

// equateAddr compares netip.Addr values with ==.
var equateAddr = cmpopts.EquateComparable(netip.Addr{})

// runCorpus runs a txtar corpus of NAME.eml inputs and NAME.json
// expected values through parse, one subtest a sample; opts gives the
// comparison options for an expected value.
func runCorpus[T any](t *testing.T, path string, parse func(string) (T, error), opts func(want T) cmp.Option) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range ar.Files {
		if n, ok := strings.CutSuffix(f.Name, ".json"); ok {
			want[n] = string(f.Data)
		}
	}
	n := 0
	for _, f := range ar.Files {
		name, ok := strings.CutSuffix(f.Name, ".eml")
		if !ok {
			continue
		}
		n++
		input := strings.TrimSuffix(string(f.Data), "\n")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var w T
			if err := json.Unmarshal([]byte(want[name]), &w); err != nil {
				t.Fatalf("%s.json: %v", name, err)
			}
			got, err := parse(input)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, got, opts(w)); diff != "" {
				t.Errorf("parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if n == 0 {
		t.Fatalf("%s: no samples", path)
	}
}

func TestParseReceivedCorpus(t *testing.T) {
	t.Parallel()
	runCorpus(t, "testdata/received.txtar", ParseReceived, func(Hop) cmp.Option { return equateAddr })
}

func TestParseReceivedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     error
	}{
		{"other field", "Subject: from me by you; today", ErrNotReceived},
		{"received-spf", "Received-SPF: pass (x) client-ip=192.0.2.1", ErrNotReceived},
		{"empty", "", ErrNotReceived},
		{"empty value", "Received:   ", ErrNotReceived},
		{"no clauses", "Received: hello world", ErrNotReceived},
		{"unterminated comment", "Received: from a (b [192.0.2.1] by c; now", ErrSyntax},
		{"too deep", "Received: from a " + strings.Repeat("(", 40) + strings.Repeat(")", 40) + " by b; now", ErrSyntax},
		{"too many unbalanced parens", "Received: from x" + strings.Repeat("(", 600) + " by b; now", ErrSyntax},
		{"too long", "Received: from a by b; " + strings.Repeat("x", MaxFieldLen), ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := ParseReceived(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseReceived(%.30q) = %+v, %v; want error %v", tt.in, h, err, tt.want)
			}
			if diff := cmp.Diff(Hop{}, h, equateAddr); diff != "" {
				t.Errorf("hop with the error (-want +got):\n%s", diff)
			}
		})
	}
}
