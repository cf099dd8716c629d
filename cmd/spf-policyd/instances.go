package main

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
	"time"
)

// instances remembers the decision of each message (a Postfix
// "instance", the same for every recipient of one message) for a while,
// so that a message is checked once and gets one header. Memory is
// bounded: an entry keeps a digest of the client's HELO name and sender,
// not the text (up to 4 KiB each), and there are two generations of at
// most max/2 entries each; the older is
// dropped when the newer fills up or grows older than ttl, so an entry
// lives between ttl and 2×ttl unless the table overflows.
type instances struct {
	mu       sync.Mutex
	cur, old map[string]*memo
	born     time.Time
	max      int
	ttl      time.Duration
	now      func() time.Time
}

func newInstances(max int, ttl time.Duration) *instances {
	return &instances{max: max, ttl: ttl, now: time.Now,
		cur: make(map[string]*memo), old: make(map[string]*memo)}
}

// get returns the memo kept for instance, if it is for the same inputs
// (client, HELO name and sender).
func (m *instances) get(instance string, inputs inputsDigest) (*memo, bool) {
	if instance == "" {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rotate()
	e, ok := m.cur[instance]
	if !ok {
		e, ok = m.old[instance]
	}
	if !ok || e.inputs != inputs {
		return nil, false
	}
	return e, true
}

// An inputsDigest identifies the inputs of a check: a client address,
// HELO name and sender.
type inputsDigest [sha256.Size]byte

// digestInputs returns the digest of a check's inputs.
func digestInputs(ip netip.Addr, helo, sender string) inputsDigest {
	h := sha256.New()
	b, _ := ip.MarshalBinary()
	for _, part := range [][]byte{b, []byte(helo), []byte(sender)} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
		h.Write(part)
	}
	var d inputsDigest
	h.Sum(d[:0])
	return d
}

// put keeps e for instance.
func (m *instances) put(instance string, e *memo) {
	if instance == "" || len(instance) > 256 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rotate()
	if len(m.cur) >= m.max/2 {
		m.old, m.cur, m.born = m.cur, make(map[string]*memo), m.now()
	}
	m.cur[instance] = e
}

// rotate drops the old generation when the current one is older than
// ttl.
func (m *instances) rotate() {
	now := m.now()
	if now.Sub(m.born) < m.ttl {
		return
	}
	if now.Sub(m.born) >= 2*m.ttl {
		m.old = make(map[string]*memo)
	} else {
		m.old = m.cur
	}
	m.cur, m.born = make(map[string]*memo), now
}

// len returns how many decisions are kept.
func (m *instances) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.cur) + len(m.old)
}
