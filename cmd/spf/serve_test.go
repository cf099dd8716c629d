package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf/spftest"
)

// TestPrintableName checks that names from queries reach the terminal
// as they are only when they are plain printable ASCII.
func TestPrintableName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"_spf.Example.COM", "_spf.Example.COM"},
		{"", `""`},
		{"a b.example", `"a b.example"`},
		{"evil\x1b[2J.example", `"evil\x1b[2J.example"`},
		{"line\nbreak.example", `"line\nbreak.example"`},
		{"quote\".example", `"quote\".example"`},
		{"caf\xc3\xa9.example", `"caf\u00e9.example"`},
		{"\u202egnp.example", `"\u202egnp.example"`},
		{"bad\xff.example", `"bad\xff.example"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := printableName(tt.in); got != tt.want {
				t.Errorf("printableName(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestMergeFaults checks that the faults of one name add up, and that "*"
// is every name.
func TestMergeFaults(t *testing.T) {
	t.Parallel()
	var faults faultFlags
	for _, f := range []struct{ kind, value string }{
		{"truncate", "example.com"},
		{"delay", "example.com=2s"},
		{"servfail", "*"},
		{"drop", "slow.example"},
		{"refused", "no.example"},
		{"forge", "forged.example"},
	} {
		if err := (&faultFlag{faults: &faults, kind: f.kind}).Set(f.value); err != nil {
			t.Fatalf("--%s %s: %v", f.kind, f.value, err)
		}
	}
	want := map[string]spftest.Fault{
		"example.com":    {Truncate: true, Delay: 2e9},
		"":               {RCode: 2},
		"slow.example":   {Drop: true},
		"no.example":     {RCode: 5},
		"forged.example": {Forge: true},
	}
	if diff := cmp.Diff(want, mergeFaults(faults)); diff != "" {
		t.Errorf("mergeFaults (-want +got):\n%s", diff)
	}
}
