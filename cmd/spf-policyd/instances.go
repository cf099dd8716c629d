package main

import (
	"net/netip"
	"sync"
	"time"
)

// instances remembers the decision of each message (a Postfix
// "instance", the same for every recipient of one message) for a while,
// so that a message is checked once and gets one header. Memory is
// bounded: two generations of at most max/2 entries each; the older is
// dropped when the newer fills up or grows older than ttl, so an entry
// lives between ttl and 2×ttl unless the table overflows.
type instances struct {
	mu       sync.Mutex
	cur, old map[string]*decision
	born     time.Time
	max      int
	ttl      time.Duration
	now      func() time.Time
}

func newInstances(max int, ttl time.Duration) *instances {
	return &instances{max: max, ttl: ttl, now: time.Now,
		cur: make(map[string]*decision), old: make(map[string]*decision)}
}

// get returns the decision kept for instance, if it is for the same
// client, HELO name and sender.
func (m *instances) get(instance string, ip netip.Addr, helo, sender string) (*decision, bool) {
	if instance == "" {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rotate()
	dec, ok := m.cur[instance]
	if !ok {
		dec, ok = m.old[instance]
	}
	if !ok || dec.ip != ip || dec.helo != helo || dec.sender != sender {
		return nil, false
	}
	return dec, true
}

// put keeps dec for instance.
func (m *instances) put(instance string, dec *decision) {
	if instance == "" || len(instance) > 256 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rotate()
	if len(m.cur) >= m.max/2 {
		m.old, m.cur, m.born = m.cur, make(map[string]*decision), m.now()
	}
	m.cur[instance] = dec
}

// rotate drops the old generation when the current one is older than
// ttl.
func (m *instances) rotate() {
	now := m.now()
	if now.Sub(m.born) < m.ttl {
		return
	}
	if now.Sub(m.born) >= 2*m.ttl {
		m.old = make(map[string]*decision)
	} else {
		m.old = m.cur
	}
	m.cur, m.born = make(map[string]*decision), now
}

// len returns how many decisions are kept.
func (m *instances) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur) + len(m.old)
}
