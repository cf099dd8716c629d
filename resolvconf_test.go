package spf

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestResolvConfReload checks that a DNSResolver without Servers picks up
// a resolv.conf that appears late or changes, looking at the file at most
// every resolvConfRecheck, and keeps its servers when the file goes away.
func TestResolvConfReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &DNSResolver{ConfigFile: path}
	r.conf.now = func() time.Time { return clock }
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		do      func()
		advance time.Duration
		want    []string // nil: an error
	}{
		{"missing", func() {}, 0, nil},
		{"appears, not yet looked at", func() { write("nameserver 192.0.2.1\n") }, time.Second, nil},
		{"appears, looked at again", func() {}, resolvConfRecheck, []string{"192.0.2.1:53"}},
		{"changes, not yet looked at", func() { write("nameserver 192.0.2.2\nnameserver 192.0.2.3\n") }, time.Second, []string{"192.0.2.1:53"}},
		{"changes, looked at again", func() {}, resolvConfRecheck, []string{"192.0.2.2:53", "192.0.2.3:53"}},
		{"unchanged", func() {}, resolvConfRecheck, []string{"192.0.2.2:53", "192.0.2.3:53"}},
		{"removed: keeps the last servers", func() { os.Remove(path) }, resolvConfRecheck, []string{"192.0.2.2:53", "192.0.2.3:53"}},
		{"back, changed", func() { write("nameserver 2001:db8::53\n") }, resolvConfRecheck, []string{"[2001:db8::53]:53"}},
	}
	for _, st := range steps {
		st.do()
		clock = clock.Add(st.advance)
		got, err := r.servers()
		if st.want == nil {
			if err == nil {
				t.Errorf("%s: servers %q, want an error", st.name, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", st.name, err)
			continue
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: servers (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestResolvConfServersField checks that Servers, when set, wins and the
// file is never read.
func TestResolvConfServersField(t *testing.T) {
	r := &DNSResolver{Servers: []string{"192.0.2.9:53"}, ConfigFile: filepath.Join(t.TempDir(), "none")}
	got, err := r.servers()
	if err != nil || len(got) != 1 || got[0] != "192.0.2.9:53" {
		t.Errorf("servers() = %q, %v", got, err)
	}
	if r.conf.state.Load() != nil {
		t.Error("the file was looked at")
	}
}
