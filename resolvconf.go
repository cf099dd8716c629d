package spf

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// resolvConfRecheck is how often a resolv.conf file is looked at again
// (see resolvConf).
const resolvConfRecheck = 5 * time.Second

// A resolvConf is the server list of a resolv.conf file for a
// [DNSResolver] without Servers. It reads the file on first use and again,
// at most every resolvConfRecheck, when the file's modification time or
// size changed or the last read failed: a long-running server picks up a
// changed resolv.conf, or one that appeared late, without a restart. A
// failed read where the file gave servers before keeps those servers. The
// zero resolvConf is ready to use; it is safe for concurrent use.
type resolvConf struct {
	state atomic.Pointer[confState]
	mu    sync.Mutex       // serialises reads of the file
	now   func() time.Time // time.Now if nil; set by tests
}

// A confState is what one look at the file found.
type confState struct {
	checked time.Time // when the file was looked at
	modTime time.Time
	size    int64
	servers []string
	err     error
}

// servers returns the servers of the file at path ("/etc/resolv.conf" if
// empty), reading it again if it is due.
func (c *resolvConf) servers(path string) ([]string, error) {
	if path == "" {
		path = "/etc/resolv.conf"
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	if st := c.state.Load(); st != nil && now().Sub(st.checked) < resolvConfRecheck {
		return st.servers, st.err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := now()
	old := c.state.Load()
	if old != nil && t.Sub(old.checked) < resolvConfRecheck {
		return old.servers, old.err // another goroutine just looked
	}
	st := &confState{checked: t}
	fi, err := os.Stat(path)
	switch {
	case err == nil && old != nil && old.err == nil && fi.ModTime().Equal(old.modTime) && fi.Size() == old.size:
		st.modTime, st.size, st.servers = old.modTime, old.size, old.servers // unchanged
	case err == nil:
		st.modTime, st.size = fi.ModTime(), fi.Size()
		st.servers, st.err = readResolvConf(path)
	default:
		st.err = fmt.Errorf("spf: reading DNS servers: %w", err)
	}
	if st.err != nil && old != nil && old.err == nil {
		// Keep the servers that worked; look again later.
		st.servers, st.err, st.modTime, st.size = old.servers, nil, time.Time{}, -1
	}
	c.state.Store(st)
	return st.servers, st.err
}

// readResolvConf reads the nameserver lines of the resolv.conf file at
// path as "host:port" addresses.
func readResolvConf(path string) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("spf: reading DNS servers: %w", err)
	}
	var servers []string
	for _, s := range cc.Servers {
		servers = append(servers, net.JoinHostPort(s, cc.Port))
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("spf: no DNS server in %s", path)
	}
	return servers, nil
}
