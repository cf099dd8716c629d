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

// readCorpus returns the NAME.eml / NAME.json pairs of a txtar corpus.
func readCorpus(t *testing.T, path string) (names []string, input, want map[string]string) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	input, want = map[string]string{}, map[string]string{}
	for _, f := range ar.Files {
		switch {
		case strings.HasSuffix(f.Name, ".eml"):
			n := strings.TrimSuffix(f.Name, ".eml")
			names = append(names, n)
			input[n] = strings.TrimSuffix(string(f.Data), "\n")
		case strings.HasSuffix(f.Name, ".json"):
			want[strings.TrimSuffix(f.Name, ".json")] = string(f.Data)
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s: no samples", path)
	}
	return names, input, want
}

func TestParseReceivedCorpus(t *testing.T) {
	t.Parallel()
	names, input, want := readCorpus(t, "testdata/received.txtar")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var w Hop
			if err := json.Unmarshal([]byte(want[name]), &w); err != nil {
				t.Fatalf("%s.json: %v", name, err)
			}
			got, err := ParseReceived(input[name])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w, got, equateAddr); diff != "" {
				t.Errorf("ParseReceived mismatch (-want +got):\n%s", diff)
			}
		})
	}
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
		{"stray paren", "Received: from a) by c; now", ErrSyntax},
		{"too deep", "Received: from a " + strings.Repeat("(", 40) + strings.Repeat(")", 40) + " by b; now", ErrSyntax},
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
