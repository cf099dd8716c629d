package spf_test

import (
	"context"
	"os"
	"runtime/debug"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// openFDs returns how many file descriptors the process has open, or -1
// where /proc/self/fd is not there.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// TestDNSResolverClosesSockets checks that a DNSResolver keeps no socket
// open beyond its pool after lookups that end every way an exchange can:
// an answer, a timeout, a truncated answer asked again over TCP, an error
// code, forged datagrams, a cancelled context and a server that is down.
func TestDNSResolverClosesSockets(t *testing.T) {
	if openFDs() < 0 {
		t.Skip("no /proc/self/fd")
	}
	srv := spftest.NewServerFromText(t, resolverZone)
	srv.SetFault("example.com", spftest.Fault{Drop: true})
	srv.SetFault("mx1.example.com", spftest.Fault{Truncate: true})
	srv.SetFault("mx2.example.com", spftest.Fault{RCode: 2})
	srv.SetFault("long.example.com", spftest.Fault{Forge: true})
	down, err := spftest.StartServer(&spftest.Zone{})
	if err != nil {
		t.Fatal(err)
	}
	down.Close()
	res := &spf.DNSResolver{Servers: []string{srv.Addr}, Timeout: 20 * time.Millisecond, Attempts: 1}
	dead := &spf.DNSResolver{Servers: []string{down.Addr}, Timeout: 20 * time.Millisecond, Attempts: 1}
	lookups := func() {
		for _, name := range []string{"example.com", "mx1.example.com", "mx2.example.com", "long.example.com", "with space.example.com", "alias.example.com"} {
			res.Lookup(context.Background(), name, spf.TypeTXT)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res.Lookup(ctx, "alias.example.com", spf.TypeTXT)
		dead.Lookup(context.Background(), "example.com", spf.TypeTXT)
	}
	lookups() // fill the pool
	// No collection: the finalizer of a socket left open would close it.
	// The slack is for the server's end of the last TCP connection,
	// which it may not have closed yet.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := openFDs()
	for range 20 {
		lookups()
	}
	if after := openFDs(); after > before+5 {
		t.Errorf("%d file descriptors open after 20 rounds of lookups, %d before", after, before)
	}
}
