package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/why"
)

const whyUsage = `Usage: spf why [flags] IP SENDER [HELO]
       spf why [flags] --ip IP --sender ADDR --helo NAME
       spf why [flags] --serve ADDR

Why explains an SPF (RFC 7208) result in plain words: who received what
from whom, what the domain's policy says about the client's address, and
what the domain's owner can do. It takes the same inputs as spf check;
--json prints the explanation as one JSON object.

With --serve, it serves the "Why?" page instead: the page a receiver's
reject can link to (see spf.WhyExplanationURL), which takes the openspf
parameters id, ip, r and s, runs the check again and explains it as HTML,
text or JSON. ADDR is HOST:PORT; without a host (":8080") it listens on
the loopback interface only. It prints its address and stops on SIGINT or
SIGTERM.

The exit status is that of spf check: pass 0, fail 1, softfail 2,
neutral 3, permerror 4, temperror 5, none 6; 255 for bad usage. With
--serve it is 0 after a signal.

Example:
  spf why --zone testdata/demo.zone 198.51.100.7 alice@example.com mail.example.com
  spf why --zone testdata/demo.zone --serve :8080

Flags:
`

func runWhy(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("why", flag.ContinueOnError)
	var q queryFlags
	q.register(fs)
	jsonOut := fs.Bool("json", false, "print the explanation as one JSON object")
	serve := fs.String("serve", "", "serve the Why? page on `ADDR` (HOST:PORT; loopback when HOST is empty)")
	pos, help, err := parseArgs(fs, args, stdout, whyUsage)
	if help {
		return 0
	}
	if err != nil {
		return fail(stderr, "why", err)
	}
	c, watch, err := q.checker()
	if err != nil {
		return fail(stderr, "why", err)
	}
	if *serve != "" {
		if len(pos) > 0 || q.ip != "" || q.sender != "" || q.helo != "" || q.heloOnly || *jsonOut {
			return fail(stderr, "why", usagef("--serve takes its queries from the web; give no IP, sender, HELO or --json"))
		}
		opts := &why.Options{}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "timeout" {
				opts.Timeout = q.timeout
			}
		})
		ln, err := net.Listen("tcp", serveAddr(*serve))
		if err != nil {
			return fail(stderr, "why", usagef("--serve: %v", err))
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := serveWhy(ctx, ln, why.NewHandler(c, opts), stdout); err != nil {
			return fail(stderr, "why", err)
		}
		return 0
	}
	qq, err := q.query(fs, pos)
	if err != nil {
		return fail(stderr, "why", err)
	}
	e, _ := why.Explain(context.Background(), c, why.Query{IP: qq.ip, HELO: qq.helo, Sender: qq.sender, HELOOnly: qq.heloOnly})
	if err := watch.deadServer(); err != nil {
		return fail(stderr, "why", err)
	}
	// Every string of the explanation is printable ASCII (package why
	// replaces the rest), so it can go to a terminal as it is.
	if *jsonOut {
		if err := writeJSON(stdout, e); err != nil {
			return fail(stderr, "why", err)
		}
	} else {
		e.WriteText(stdout)
	}
	r, _ := spf.ParseResult(e.Result)
	return exitStatus(r)
}

// serveAddr returns addr with the loopback address as host where it has
// none (":8080", "8080").
func serveAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", addr
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// serveWhy serves h on ln until ctx ends, then shuts down, giving the
// requests under way a few seconds.
func serveWhy(ctx context.Context, ln net.Listener, h http.Handler, stdout io.Writer) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	fmt.Fprintf(stdout, "serving the Why? page on http://%s/\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}
