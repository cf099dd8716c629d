package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf-go/spf"
)

// The limits of a connection and of the daemon.
const (
	// idleTimeout is how long a connection may wait between requests:
	// Postfix closes its idle policy connections after 300 seconds
	// (smtpd_policy_service_max_idle).
	idleTimeout = 330 * time.Second
	// requestTimeout is how long the rest of a request may take once
	// its first line came, and how long writing its reply may take.
	requestTimeout = 10 * time.Second
	maxConns       = 1024
	maxInstances   = 20000
	instanceTTL    = 10 * time.Minute
)

// A daemon answers policy requests with one engine (replaced on SIGHUP),
// one DNS cache and one memory of instances shared by every connection.
type daemon struct {
	log       *slog.Logger
	engine    atomic.Pointer[engine]
	instances *instances
	stats     stats

	idle, request time.Duration
	conns         sync.WaitGroup
	active        atomic.Int64
}

func newDaemon(log *slog.Logger) *daemon {
	return &daemon{log: log, instances: newInstances(maxInstances, instanceTTL),
		idle: idleTimeout, request: requestTimeout}
}

// stats are the daemon's counts, logged on SIGUSR1 and at exit.
type stats struct {
	requests, checks, reused                   atomic.Int64
	dunno, prepend, reject, deferred, bad, net atomic.Int64
}

func (s *stats) count(kind string) {
	switch kind {
	case "DUNNO":
		s.dunno.Add(1)
	case "PREPEND":
		s.prepend.Add(1)
	case "REJECT":
		s.reject.Add(1)
	case "DEFER":
		s.deferred.Add(1)
	}
}

// logStats logs the counts, one line.
func (d *daemon) logStats(msg string) {
	s := &d.stats
	d.log.LogAttrs(context.Background(), slog.LevelInfo, msg,
		slog.Int64("requests", s.requests.Load()),
		slog.Int64("checks", s.checks.Load()),
		slog.Int64("reused", s.reused.Load()),
		slog.Int64("dunno", s.dunno.Load()),
		slog.Int64("prepend", s.prepend.Load()),
		slog.Int64("reject", s.reject.Load()),
		slog.Int64("defer", s.deferred.Load()),
		slog.Int64("bad_requests", s.bad.Load()),
		slog.Int64("connection_errors", s.net.Load()),
		slog.Int("instances", d.instances.len()),
	)
}

// deadliner and writeDeadliner are what a net.Conn has to bound reads
// and writes; the spawn mode's pipes may go without.
type (
	deadliner      interface{ SetReadDeadline(time.Time) error }
	writeDeadliner interface{ SetWriteDeadline(time.Time) error }
)

// serveConn answers the requests of one stream until it ends, breaks
// the protocol beyond repair, or ctx ends.
func (d *daemon) serveConn(ctx context.Context, r io.Reader, w io.Writer, peer string) {
	br := bufio.NewReaderSize(r, 4096)
	bw := bufio.NewWriterSize(w, 1024)
	dl, _ := r.(deadliner)
	wdl, _ := w.(writeDeadliner)
	for ctx.Err() == nil {
		if dl != nil {
			dl.SetReadDeadline(time.Now().Add(d.idle))
			if ctx.Err() != nil {
				return // shutting down: serve set a deadline before ours
			}
		}
		if _, err := br.Peek(1); err != nil {
			d.connError(err, peer)
			return
		}
		if dl != nil {
			dl.SetReadDeadline(time.Now().Add(d.request))
		}
		req, err := readRequest(br)
		var action string
		switch {
		case err == nil:
			e := d.engine.Load()
			if e.cfg.debugLevel >= 4 {
				d.logRequest(ctx, req)
			}
			action = d.decide(ctx, e, req)
		case errors.Is(err, errMalformed):
			d.stats.requests.Add(1)
			d.stats.bad.Add(1)
			d.stats.count("DUNNO")
			d.log.LogAttrs(ctx, slog.LevelWarn, "malformed request",
				slog.String("peer", peer), slog.String("error", err.Error()),
				slog.String("queue_id", clip(req["queue_id"])), slog.String("action", "DUNNO"))
			action = "DUNNO"
		default:
			d.connError(err, peer)
			return
		}
		if wdl != nil {
			// A peer that does not read its replies must not hold the
			// connection (one of maxConns) and shutdown for ever.
			wdl.SetWriteDeadline(time.Now().Add(d.request))
		}
		if err := writeReply(bw, action); err != nil {
			d.connError(err, peer)
			return
		}
		if err := bw.Flush(); err != nil {
			d.connError(err, peer)
			return
		}
	}
}

// connError logs why a connection ends, unless it is a clean end.
func (d *daemon) connError(err error, peer string) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	d.stats.net.Add(1)
	msg := "connection closed"
	if errors.Is(err, os.ErrDeadlineExceeded) {
		msg = "connection stalled, closed"
	}
	d.log.LogAttrs(context.Background(), slog.LevelWarn, msg,
		slog.String("peer", peer), slog.String("error", err.Error()))
}

func (d *daemon) logRequest(ctx context.Context, req request) {
	attrs := make([]slog.Attr, 0, len(req))
	for k, v := range req {
		attrs = append(attrs, slog.String(clip(k), clip(v)))
	}
	d.log.LogAttrs(ctx, slog.LevelDebug, "request", slog.Any("attributes", slog.GroupValue(attrs...)))
}

// listen opens the listener of addr: "unix:PATH" (or a path starting
// with "/") for a unix socket, else host:port for TCP.
func listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok || strings.HasPrefix(addr, "/") {
		if !ok {
			path = addr
		}
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path) // a stale socket of an earlier run
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		// Postfix's smtpd runs as another user: the socket's directory,
		// not its mode, decides who may connect (see the README).
		if err := os.Chmod(path, 0o666); err != nil {
			l.Close()
			return nil, err
		}
		return l, nil
	}
	return net.Listen("tcp", addr)
}

// serve accepts connections on l until ctx ends, then closes l and
// waits for the connections to finish their request.
func (d *daemon) serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var open sync.Map
	defer func() {
		// Idle connections are closed at once; one in the middle of a
		// request gets until its deadline.
		open.Range(func(k, _ any) bool { k.(net.Conn).SetReadDeadline(time.Now()); return true })
		d.conns.Wait()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if d.active.Load() >= maxConns {
			d.log.Warn("too many connections, closing one", slog.String("peer", c.RemoteAddr().String()))
			c.Close()
			continue
		}
		d.active.Add(1)
		d.conns.Add(1)
		open.Store(c, nil)
		go func() {
			defer d.conns.Done()
			defer d.active.Add(-1)
			defer open.Delete(c)
			defer c.Close()
			d.serveConn(ctx, c, c, c.RemoteAddr().String())
		}()
	}
}

// newEngine returns the engine of cfg on resolver.
func newEngine(cfg *config, resolver spf.Resolver) *engine {
	return &engine{cfg: cfg, checker: cfg.checker(resolver), trace: cfg.debugLevel >= 3}
}
