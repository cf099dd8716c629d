package spf

import (
	"net"
	"sync"
	"time"
)

// maxSocketQueries is how many queries a UDP socket of a DNSResolver
// sends before it is closed, so that its source port changes.
const maxSocketQueries = 32

// maxIdleSockets bounds the idle UDP sockets a DNSResolver keeps for one
// server; more are closed.
const maxIdleSockets = 64

// A socket is a UDP socket connected to one server, with a source port
// the kernel picked at random.
type socket struct {
	conn  udpConn
	count int // queries sent
}

// A udpConn is a connected UDP socket: a *net.UDPConn, or on Linux an
// *os.File around a socket made with system calls (dnssocket_linux.go),
// which costs half the allocations and fewer system calls.
type udpConn interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	SetReadDeadline(t time.Time) error
	Close() error
}

// dialNet connects a UDP socket to server with package net.
func dialNet(server string) (udpConn, error) {
	c, err := net.Dial("udp", server)
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// sockets is a DNSResolver's pool of idle UDP sockets, by server. A
// socket serves one query at a time, and at most maxSocketQueries; one
// that saw a timeout, a stray datagram or a resent query is closed rather
// than kept, so that no late datagram is waiting on it.
type sockets struct {
	mu   sync.Mutex
	idle map[string][]socket
}

// get returns an idle socket connected to server if shared, or else a
// new one.
func (p *sockets) get(server string, shared bool) (socket, error) {
	if shared {
		p.mu.Lock()
		if l := p.idle[server]; len(l) > 0 {
			s := l[len(l)-1]
			l[len(l)-1] = socket{}
			p.idle[server] = l[:len(l)-1]
			p.mu.Unlock()
			s.count++
			return s, nil
		}
		p.mu.Unlock()
	}
	c, err := dialUDP(server)
	if err != nil {
		return socket{}, err
	}
	return socket{conn: c, count: 1}, nil
}

// put gives back a socket that get returned: kept for another query if
// reuse and it has served fewer than maxSocketQueries, else closed.
func (p *sockets) put(server string, s socket, reuse bool) {
	if reuse && s.count < maxSocketQueries {
		p.mu.Lock()
		l := p.idle[server]
		if len(l) < maxIdleSockets {
			if p.idle == nil {
				p.idle = make(map[string][]socket)
			}
			p.idle[server] = append(l, s)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	s.conn.Close()
}
