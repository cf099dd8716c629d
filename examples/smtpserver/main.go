// Command smtpserver is a small SMTP server that shows how a mail server
// uses package spf at SMTP time, with github.com/emersion/go-smtp.
//
// It checks the HELO identity and the MAIL FROM identity of each
// transaction when the client sends MAIL FROM, and judges both with an
// spf.Policy. What the policy rejects is refused right there, with 550
// 5.7.23 and the domain's explanation (or 451 4.7.24 for a DNS failure):
// the client, not this server, then tells the sender. Never accept a
// message and bounce it later because of SPF: the bounce would go to the
// forged sender (backscatter). Messages that are accepted get the trace
// fields of spf.TraceHeaders: an Authentication-Results field (RFC 8601)
// for both identities and a Received-SPF field (RFC 7208 section 9.1),
// each identity once, also for a null sender; they are written to
// standard output.
//
// Usage:
//
//	smtpserver [flags]
//
// The flags are:
//
//	-listen addr        address to listen on (default 127.0.0.1:2525)
//	-hostname name      the receiver's name, in replies and header fields
//	-zone file          answer DNS from a zone file instead of the network
//	-dns host:port      DNS server to ask (default: those of /etc/resolv.conf);
//	                    answers are cached (spf.Cache) for their TTLs
//	-reject level       MAIL FROM results to reject: fail, softfail, notpass, never
//	-helo level         HELO results that reject on their own (default fail)
//	-reject-permerror   reject permerror (550 5.7.24)
//	-accept-temperror   accept temperror instead of deferring it (451 4.7.24)
//	-why                explain fails the domain does not explain with a link
//	                    to the SPF project's "Why?" page (spf.WhyExplanation)
//
// To try it offline, with a zone that authorizes 127.0.0.1 for
// example.com:
//
//	printf 'example.com. TXT "v=spf1 ip4:127.0.0.1 -all"\nforged.example. TXT "v=spf1 -all"\n' >/tmp/spf.zone
//	cd examples && go run ./smtpserver -zone /tmp/spf.zone
//
// and talk to it with any SMTP client, such as swaks or telnet.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// checkTimeout bounds the SPF checks of one SMTP command. RFC 7208 section
// 4.6.4 asks for at least 20 seconds; SMTP clients wait 5 minutes for a
// reply to MAIL (RFC 5321 section 4.5.3.2.2).
const checkTimeout = 30 * time.Second

// A config is what the server needs to check SPF and deliver mail.
type config struct {
	checker  *spf.Checker
	policy   spf.Policy
	hostname string // the receiver's name and authserv-id
	// deliver receives each accepted message, header fields added.
	deliver func(from string, to []string, msg []byte) error
	logf    func(format string, args ...any)
}

// newServer returns an SMTP server that checks SPF with cfg.
func newServer(cfg *config) *smtp.Server {
	s := smtp.NewServer(&backend{cfg: cfg})
	s.Domain = cfg.hostname
	s.ReadTimeout = 5 * time.Minute
	s.WriteTimeout = time.Minute
	s.MaxMessageBytes = 10 << 20
	s.MaxRecipients = 100
	return s
}

// A backend starts a session for each connection.
type backend struct {
	cfg *config
}

var _ smtp.Backend = (*backend)(nil)

// NewSession is called at the client's first HELO or EHLO.
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	// The client's address, IPv4-mapped addresses unmapped.
	ip, ok := spf.AddrFromNet(c.Conn().RemoteAddr())
	if !ok {
		return nil, fmt.Errorf("client address %q is not an IP address", c.Conn().RemoteAddr())
	}
	return &session{cfg: b.cfg, conn: c, ip: ip}, nil
}

// A session is one SMTP connection.
type session struct {
	cfg  *config
	conn *smtp.Conn
	ip   netip.Addr

	heloName string       // the HELO name helo was checked for
	helo     *spf.Outcome // the HELO check, nil before the first MAIL
	mailFrom *spf.Outcome // the MAIL FROM check of this transaction
	from     string
	rcpts    []string
}

var _ smtp.Session = (*session)(nil)

// Mail checks SPF for the transaction and refuses it here, before any
// recipient or data, when the policy says so.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()

	// The HELO identity (RFC 7208 section 2.3), checked once per HELO
	// name: a client may send EHLO again.
	if name := s.conn.Hostname(); s.helo == nil || name != s.heloName {
		out, _ := s.cfg.checker.CheckHELO(ctx, s.ip, name)
		s.helo, s.heloName = &out, name
	}
	// The MAIL FROM identity; a null sender ("MAIL FROM:<>") is checked
	// as postmaster@<HELO> with the HELO identity (section 2.4). The error
	// is the outcome's Problem: the verdict handles temperror and
	// permerror.
	out, _ := s.cfg.checker.Check(ctx, s.ip, s.heloName, from)
	v := s.cfg.policy.Verdict(s.helo, &out)
	if v.Action != spf.Accept {
		// The client chose the sender and HELO name: quoted, with Go
		// escapes, so that they cannot drive the terminal of the log.
		s.cfg.logf("%s: %s MAIL FROM:%+q HELO %+q: %s %d %s (%s)",
			s.ip, v.Action, from, s.heloName, v.Outcome.Identity, v.Code, v.EnhancedStatus(), v.Outcome.Result)
		// go-smtp writes the enhanced status code on the last line of a
		// reply only; v.Message() carries it on the others, so that every
		// line has it (RFC 2034).
		return &smtp.SMTPError{
			Code:         v.Code,
			EnhancedCode: smtp.EnhancedCode(v.EnhancedCode),
			Message:      v.Message(),
		}
	}
	s.mailFrom, s.from = &out, from
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data adds the trace header fields of the checks on top of the message
// and delivers it.
func (s *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var msg bytes.Buffer
	// The trace fields of the checks, each identity once: for a null
	// sender the MAIL FROM check is the HELO check.
	for _, field := range spf.TraceHeaders(s.cfg.hostname, s.helo, s.mailFrom) {
		msg.WriteString(field)
		msg.WriteString("\r\n")
	}
	msg.Write(body)
	return s.cfg.deliver(s.from, s.rcpts, msg.Bytes())
}

func (s *session) Reset() {
	s.mailFrom, s.from, s.rcpts = nil, "", nil
}

func (s *session) Logout() error { return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program, with its arguments and outputs.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smtpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2525", "address to listen on")
	hostname := fs.String("hostname", "", "the receiver's host name (default: the system's)")
	zoneFile := fs.String("zone", "", "answer DNS from this zone file instead of the network")
	dnsServer := fs.String("dns", "", "DNS server host:port to ask (such as one run by spf serve); default: those of /etc/resolv.conf")
	reject := fs.String("reject", "fail", "MAIL FROM results to reject: fail, softfail, notpass or never")
	helo := fs.String("helo", "fail", "HELO results that reject on their own: fail, softfail, notpass or never")
	rejectPerm := fs.Bool("reject-permerror", false, "reject permerror with 550 5.7.24")
	acceptTemp := fs.Bool("accept-temperror", false, "accept temperror instead of deferring it with 451 4.7.24")
	why := fs.Bool("why", false, `explain fails with a link to the SPF project's "Why?" page`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(stderr, "smtpserver: ", log.LstdFlags)

	var p spf.Policy
	var ok bool
	if p.MailFrom, ok = parseLevel(*reject); !ok {
		fmt.Fprintf(stderr, "smtpserver: invalid -reject %q\n", *reject)
		return 2
	}
	if p.HELO, ok = parseLevel(*helo); !ok {
		fmt.Fprintf(stderr, "smtpserver: invalid -helo %q\n", *helo)
		return 2
	}
	p.RejectPermError, p.AcceptTempError = *rejectPerm, *acceptTemp

	if *hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost"
		}
		*hostname = h
	}
	c := &spf.Checker{Receiver: *hostname, Timeout: 20 * time.Second}
	if *why {
		c.DefaultExplanation = spf.WhyExplanation
	}
	res, err := newResolver(*zoneFile, *dnsServer)
	if err != nil {
		fmt.Fprintf(stderr, "smtpserver: %v\n", err)
		return 1
	}
	c.Resolver = res

	var mu sync.Mutex
	cfg := &config{
		checker:  c,
		policy:   p,
		hostname: *hostname,
		logf:     logger.Printf,
		deliver: func(from string, to []string, msg []byte) error {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stdout, "From <%s> to %s\n%s\n", from, strings.Join(to, ", "), msg)
			return nil
		},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "smtpserver: %v\n", err)
		return 1
	}
	srv := newServer(cfg)
	srv.ErrorLog = logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	logger.Printf("listening on %s as %s", ln.Addr(), *hostname)
	if err := srv.Serve(ln); err != nil && ctx.Err() == nil {
		logger.Print(err)
		return 1
	}
	return 0
}

// newResolver returns the resolver of the checks: the zone file's records
// if zoneFile is set, else DNS from dnsServer ("host:port"), or from the
// servers of /etc/resolv.conf if it is empty, behind a Cache. A
// transaction checks HELO and MAIL FROM, and the same senders come back
// all day: the Cache answers repeats from memory for as long as their
// TTLs allow, as the package's documentation advises.
func newResolver(zoneFile, dnsServer string) (spf.Resolver, error) {
	if zoneFile != "" {
		f, err := os.Open(zoneFile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		z, err := spftest.ParseZone(f, "", zoneFile)
		if err != nil {
			return nil, err
		}
		return z, nil
	}
	r := &spf.DNSResolver{}
	if dnsServer != "" {
		r.Servers = []string{dnsServer}
	}
	return &spf.Cache{Resolver: r}, nil
}

// parseLevel parses the value of -reject and -helo.
func parseLevel(s string) (spf.RejectLevel, bool) {
	switch s {
	case "fail":
		return spf.RejectFail, true
	case "softfail":
		return spf.RejectSoftFail, true
	case "notpass":
		return spf.RejectNotPass, true
	case "never":
		return spf.RejectNever, true
	}
	return 0, false
}
