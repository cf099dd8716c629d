// Command spf-policyd is a Postfix SMTP access policy service
// (SMTPD_POLICY_README) that checks SPF (RFC 7208) with the library
// github.com/spf-go/spf: a drop-in for the Python and Perl policyd-spf,
// which reads their configuration file format.
//
// Usage:
//
//	spf-policyd [-config FILE] [-listen spawn|HOST:PORT|unix:PATH] [-o Key=Value]... [FILE]
//
// With -listen spawn (the default), it answers one stream of requests on
// standard input and output, as Postfix's spawn(8) runs it from
// master.cf, and logs to syslog. With a TCP address or a unix socket, it
// serves many smtpd processes at once with one DNS cache, and logs to
// standard error. See the README for the options and the Postfix
// configuration.
//
// Signals: SIGHUP reloads the configuration file; SIGUSR1 logs the
// counts of requests and actions, which are logged at exit too.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf-go/spf"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// overrides collects the -o flags.
type overrides []string

func (o *overrides) String() string     { return strings.Join(*o, " ") }
func (o *overrides) Set(v string) error { *o = append(*o, v); return nil }

// run is the program: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spf-policyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "read the configuration `FILE` (policyd-spf.conf format)")
	listenAddr := fs.String("listen", "", "spawn (standard input and output), `ADDR` host:port, or unix:PATH (overrides Listen)")
	reportOnly := fs.Bool("report-only", false, "reject and defer nothing; log what would be done (Report_Only = Yes)")
	checkOnly := fs.Bool("check-config", false, "read the configuration, report errors and exit")
	var opts overrides
	fs.Var(&opts, "o", "set an option, as `Key=Value` in the file; may be repeated")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && *configPath != "") {
		fmt.Fprintln(stderr, "spf-policyd: give one configuration file")
		return 2
	}
	if fs.NArg() == 1 {
		*configPath = fs.Arg(0) // policyd-spf's argv: the file alone
	}
	if *listenAddr != "" {
		opts = append(opts, "Listen="+*listenAddr)
	}
	if *reportOnly {
		opts = append(opts, "Report_Only=Yes")
	}
	cfg, err := loadConfig(*configPath, opts)
	if err != nil {
		fmt.Fprintln(stderr, "spf-policyd:", err)
		return 2
	}
	if *checkOnly {
		return 0
	}
	logger, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "spf-policyd:", err)
		return 2
	}
	defer closeLog()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := newDaemon(logger)
	cache := newCache(cfg)
	d.engine.Store(newEngine(cfg, cache))
	go d.signals(ctx, *configPath, opts, cfg, cache)

	if cfg.listen == "spawn" {
		// A read of standard input cannot be interrupted: on SIGTERM or
		// SIGINT, log the counts and exit from here.
		finished := make(chan struct{})
		go func() {
			<-ctx.Done()
			select {
			case <-finished:
			default:
				d.logStats("exit")
				closeLog()
				os.Exit(0)
			}
		}()
		d.serveConn(ctx, stdin, stdout, "spawn")
		close(finished)
		d.logStats("exit")
		return 0
	}
	l, err := listen(cfg.listen)
	if err != nil {
		logger.Error("cannot listen", slog.String("error", err.Error()))
		return 1
	}
	logger.Info("listening", slog.String("addr", l.Addr().String()),
		slog.Bool("report_only", cfg.policy.ReportOnly))
	if a, ok := spf.AddrFromNet(l.Addr()); ok && !a.IsLoopback() {
		logger.Warn("listening beyond the loopback interface: anyone who reaches the port can ask", slog.String("addr", l.Addr().String()))
	}
	err = d.serve(ctx, l)
	d.logStats("exit")
	if err != nil {
		logger.Error("accept", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// newCache returns the DNS cache of cfg: on DNS_Servers, or on the
// servers of /etc/resolv.conf.
func newCache(cfg *config) *spf.Cache {
	return &spf.Cache{Resolver: &spf.DNSResolver{Servers: cfg.dnsServers}}
}

// signals handles SIGHUP (reload) and SIGUSR1 (counts) until ctx ends.
// A reload keeps the cache unless DNS_Servers changed; a configuration
// that does not load leaves the running one in place.
func (d *daemon) signals(ctx context.Context, path string, opts []string, cfg *config, cache *spf.Cache) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-ch:
			if s == syscall.SIGUSR1 {
				d.logStats("counts")
				continue
			}
			next, nextCache, err := d.reload(path, opts, cfg, cache)
			if err != nil {
				d.log.Error("reload failed, keeping the running configuration", slog.String("error", err.Error()))
				continue
			}
			cfg, cache = next, nextCache
			d.log.Info("configuration reloaded", slog.String("file", path))
		}
	}
}

// reload loads the configuration again and puts it in place of cur,
// keeping cache unless the DNS servers changed. On error nothing changes.
func (d *daemon) reload(path string, opts []string, cur *config, cache *spf.Cache) (*config, *spf.Cache, error) {
	next, err := loadConfig(path, opts)
	if err != nil {
		return nil, nil, err
	}
	if strings.Join(next.dnsServers, ",") != strings.Join(cur.dnsServers, ",") {
		cache = newCache(next)
	}
	d.engine.Store(newEngine(next, cache))
	return next, cache, nil
}

// newLogger returns the logger of cfg: to Log_File ("-" for standard
// error, "syslog" for the mail facility of syslog, or a file to append
// to), by default syslog in spawn mode (where standard error is the
// connection to Postfix) and standard error otherwise.
func newLogger(cfg *config, stderr io.Writer) (*slog.Logger, func(), error) {
	target := cfg.logFile
	if target == "" {
		target = "-"
		if cfg.listen == "spawn" {
			target = "syslog"
		}
	}
	var w io.Writer
	closer := func() {}
	switch target {
	case "-":
		w = stderr
	case "syslog":
		sw, err := syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, "spf-policyd")
		if err != nil {
			return nil, nil, fmt.Errorf("syslog: %w", err)
		}
		w, closer = sw, func() { sw.Close() }
	default:
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, err
		}
		w, closer = f, func() { f.Close() }
	}
	level := new(slog.LevelVar)
	switch n := cfg.debugLevel; {
	case n < 0:
		level.Set(slog.LevelError + 100)
	case n == 0:
		level.Set(slog.LevelWarn)
	case n == 1:
		level.Set(slog.LevelInfo)
	default:
		level.Set(slog.LevelDebug)
	}
	o := &slog.HandlerOptions{Level: level}
	if target == "syslog" {
		// syslog stamps its own time.
		o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}
	}
	var h slog.Handler = slog.NewTextHandler(w, o)
	if cfg.logFormat == "json" {
		h = slog.NewJSONHandler(w, o)
	}
	return slog.New(h), closer, nil
}
