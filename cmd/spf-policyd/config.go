package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf-go/spf"
)

// A config is the daemon's configuration: the options of the Python
// policyd-spf configuration file (policyd-spf.conf(5)) that it shares,
// and ours, in the same "Key = Value" style.
type config struct {
	// checkHELO and checkMailFrom are false for HELO_reject and
	// Mail_From_reject = No_Check.
	checkHELO, checkMailFrom bool
	policy                   spf.Policy

	trustedRelays      []netip.Prefix // skip_addresses and Whitelist
	heloWhitelist      []string
	domainWhitelist    []string
	domainWhitelistPTR []string
	localRules         *spf.LocalRules
	bestGuess          *spf.Record
	allowOnPass        []string

	headerType   string // "SPF", "AR" or "None"
	authservID   string
	hideReceiver bool
	receiver     string
	lookupTime   time.Duration
	voidLimit    int
	debugLevel   int

	dnsServers []string
	listen     string // "spawn", host:port, or unix:PATH
	logFile    string // "-" (standard error), "syslog" or a file
	logFormat  string // "text" or "json"
}

// defaultConfig returns the defaults: those of policyd-spf, so that a
// site that keeps its file keeps its behaviour.
func defaultConfig() *config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &config{
		checkHELO:     true,
		checkMailFrom: true,
		policy: spf.Policy{
			MailFrom:        spf.RejectFail,
			HELO:            spf.RejectFail,
			AcceptTempError: true, // TempError_Defer = False
		},
		trustedRelays: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"),
			netip.MustParsePrefix("::1/128"),
		},
		headerType: "SPF",
		authservID: host,
		receiver:   host,
		lookupTime: 20 * time.Second,
		debugLevel: 1,
		listen:     "spawn",
		logFile:    "",
		logFormat:  "text",
	}
}

// An option is one configuration key: set applies a value to the config.
type option struct {
	key string
	set func(c *config, v string) error
}

// unsupported returns, for an option of policyd-spf that this daemon
// does not have, what to do instead: a file that sets one fails to load
// rather than silently working otherwise.
func unsupported(lowerKey string) (string, bool) {
	switch lowerKey {
	case "helo_pass_restriction", "mail_from_pass_restriction":
		return "use Postfix restrictions after check_policy_service", true
	case "no_mail":
		return "rejecting only for v=spf1 -all is not supported", true
	case "reject_not_pass_domains":
		return "per-domain reject levels are not supported", true
	case "prospective":
		return "prospective checks of outbound mail: use spf check", true
	case "mock":
		return "a mock header for milters is not needed", true
	case "reason_message":
		return "the reply text is RFC 7372's with the domain's explanation", true
	case "socket", "pidfile", "userid":
		return "a milter option; use Listen, and systemd or master.cf for the user", true
	}
	return "", false
}

// options returns the configuration keys in the order of the README's
// table. Keys are matched without regard to case.
func options() []option {
	return []option{
		{"debugLevel", func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("not an integer: %w", err)
			}
			c.debugLevel = n
			return nil
		}},
		{"TestOnly", func(c *config, v string) error {
			// policyd-spf: "To enable [test only mode], set TestOnly = 0".
			b, err := parseBool(v)
			c.policy.ReportOnly = !b
			return err
		}},
		{"HELO_reject", func(c *config, v string) error {
			return setReject(&c.policy.HELO, &c.checkHELO, v, true)
		}},
		{"Mail_From_reject", func(c *config, v string) error {
			return setReject(&c.policy.MailFrom, &c.checkMailFrom, v, false)
		}},
		{"PermError_reject", boolSetter(func(c *config) *bool { return &c.policy.RejectPermError })},
		{"TempError_Defer", func(c *config, v string) error {
			b, err := parseBool(v)
			c.policy.AcceptTempError = !b
			return err
		}},
		{"skip_addresses", setRelays},
		{"Whitelist", func(c *config, v string) error {
			return addRelays(c, v)
		}},
		{"HELO_Whitelist", listSetter(func(c *config) *[]string { return &c.heloWhitelist })},
		{"Domain_Whitelist", listSetter(func(c *config) *[]string { return &c.domainWhitelist })},
		{"Domain_Whitelist_PTR", listSetter(func(c *config) *[]string { return &c.domainWhitelistPTR })},
		{"Header_Type", func(c *config, v string) error {
			switch strings.ToLower(v) {
			case "spf":
				c.headerType = "SPF"
			case "ar":
				c.headerType = "AR"
			case "none":
				c.headerType = "None"
			default:
				return errors.New("want SPF, AR or None")
			}
			return nil
		}},
		{"Authserv_Id", func(c *config, v string) error {
			if v == "" || strings.ContainsAny(v, " \t;()\"\\") {
				return errors.New("want a host name")
			}
			if !strings.EqualFold(v, "HOSTNAME") {
				c.authservID = v
			}
			return nil
		}},
		{"Hide_Receiver", boolSetter(func(c *config) *bool { return &c.hideReceiver })},
		{"Lookup_Time", func(c *config, v string) error {
			d, err := parseSeconds(v)
			c.lookupTime = d
			return err
		}},
		{"Void_Limit", func(c *config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return errors.New("want an integer from 1 to 100")
			}
			c.voidLimit = n
			return nil
		}},
		{"SPF_Enhanced_Status_Codes", func(c *config, v string) error {
			b, err := parseBool(v)
			if err == nil && !b {
				return errors.New("only Yes: replies always carry the codes of RFC 7372")
			}
			return err
		}},
		{"QueueID", func(c *config, v string) error {
			_, err := parseBool(v) // the queue ID is always logged
			return err
		}},
		{"Whitelist_Lookup_Time", func(c *config, v string) error {
			_, err := parseSeconds(v) // Lookup_Time bounds the whole check
			return err
		}},

		// Options of spf-policyd.
		{"Report_Only", boolSetter(func(c *config) *bool { return &c.policy.ReportOnly })},
		{"Local_Rules", func(c *config, v string) error {
			if v == "" {
				c.localRules = nil
				return nil
			}
			r, err := spf.ParseLocalRules(v)
			c.localRules = r
			return err
		}},
		{"Best_Guess", func(c *config, v string) error {
			if b, err := parseBool(v); err == nil {
				c.bestGuess = nil
				if b {
					c.bestGuess = spf.DefaultBestGuessRecord()
				}
				return nil
			}
			r, err := spf.Parse(v)
			c.bestGuess = r
			return err
		}},
		{"Allow_On_Pass", listSetter(func(c *config) *[]string { return &c.allowOnPass })},
		{"Receiver", func(c *config, v string) error {
			if strings.ContainsAny(v, " \t;()\"\\") {
				return errors.New("want a host name")
			}
			c.receiver = v
			return nil
		}},
		{"DNS_Servers", func(c *config, v string) error {
			servers := splitList(v)
			for i, s := range servers {
				if _, err := netip.ParseAddr(s); err == nil {
					s = net.JoinHostPort(s, "53")
				}
				if _, err := netip.ParseAddrPort(s); err != nil {
					return fmt.Errorf("want IP or IP:port: %w", err)
				}
				servers[i] = s
			}
			c.dnsServers = servers
			return nil
		}},
		{"Listen", func(c *config, v string) error {
			if v == "" {
				return errors.New("want spawn, host:port or unix:PATH")
			}
			c.listen = v
			return nil
		}},
		{"Log_File", func(c *config, v string) error {
			c.logFile = v
			return nil
		}},
		{"Log_Format", func(c *config, v string) error {
			switch v = strings.ToLower(v); v {
			case "text", "json":
				c.logFormat = v
				return nil
			}
			return errors.New("want text or json")
		}},
	}
}

// set applies key = value to c.
func (c *config) set(key, value string) error {
	lower := strings.ToLower(key)
	if lower == "defaultseedonly" {
		lower = "testonly" // the old name of TestOnly
	}
	for _, o := range options() {
		if strings.ToLower(o.key) == lower {
			if err := o.set(c, value); err != nil {
				return fmt.Errorf("%s = %q: %w", o.key, value, err)
			}
			return nil
		}
	}
	if why, ok := unsupported(lower); ok {
		return fmt.Errorf("option %q of policyd-spf is not supported: %s", key, why)
	}
	return fmt.Errorf("unknown option %q", key)
}

// parseConfig reads a file in policyd-spf's format: "Key = Value" lines,
// blank lines and "#" comments, into c.
func (c *config) parse(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s:%d: want Key = Value, got %q", name, n, line)
		}
		if err := c.set(strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// loadConfig returns the defaults, with the file at path (if not empty)
// and then the overrides ("Key=Value") applied.
func loadConfig(path string, overrides []string) (*config, error) {
	c := defaultConfig()
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := c.parse(f, path); err != nil {
			return nil, err
		}
	}
	for _, o := range overrides {
		key, value, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("-o %q: want Key=Value", o)
		}
		if err := c.set(strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
			return nil, fmt.Errorf("-o: %w", err)
		}
	}
	return c, nil
}

// setReject applies a value of HELO_reject or Mail_From_reject.
//
//	Fail         reject fail                       (RejectFail)
//	Softfail     reject fail and softfail          (RejectSoftFail)
//	SPF_Not_Pass reject all but pass, none, temperror (RejectNotPass)
//	Null         HELO only: reject a HELO fail for the null sender only
//	False        check and add the header, never reject (RejectNever)
//	No_Check     do not check at all
//
// Null needs no rule of its own: a null sender's check is of the HELO
// identity and is judged by Mail_From_reject (RFC 7208 section 2.4).
func setReject(level *spf.RejectLevel, check *bool, v string, helo bool) error {
	*check = true
	switch strings.ToLower(v) {
	case "fail":
		*level = spf.RejectFail
	case "softfail":
		*level = spf.RejectSoftFail
	case "spf_not_pass":
		*level = spf.RejectNotPass
	case "false":
		*level = spf.RejectNever
	case "no_check":
		*level = spf.RejectNever
		*check = false
	case "null":
		if !helo {
			return errors.New("the value Null is for HELO_reject only")
		}
		*level = spf.RejectNever
	default:
		return errors.New("want Fail, Softfail, SPF_Not_Pass, Null (HELO only), False or No_Check")
	}
	return nil
}

func boolSetter(field func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := parseBool(v)
		*field(c) = b
		return err
	}
}

func listSetter(field func(*config) *[]string) func(*config, string) error {
	return func(c *config, v string) error {
		*field(c) = splitList(v)
		return nil
	}
}

// setRelays replaces the trusted relays (skip_addresses); addRelays
// (Whitelist) adds to them.
func setRelays(c *config, v string) error {
	c.trustedRelays = nil
	return addRelays(c, v)
}

func addRelays(c *config, v string) error {
	for _, s := range splitList(v) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return fmt.Errorf("want a CIDR list: %w", err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// ::ffff:127.0.0.0/104: the library unmaps client addresses.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		c.trustedRelays = append(c.trustedRelays, p.Masked())
	}
	return nil
}

// splitList splits a comma-separated list, dropping empty items and
// spaces around them.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseBool accepts what policyd-spf's files say: Yes/No, True/False,
// On/Off, 1/0, in any case.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, errors.New("want Yes or No")
}

// parseSeconds parses a positive number of seconds, at most an hour.
func parseSeconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 3600 {
		return 0, errors.New("want seconds, more than 0 and at most 3600")
	}
	return time.Duration(f * float64(time.Second)), nil
}

// checker returns the Checker the configuration describes, on resolver.
func (c *config) checker(resolver spf.Resolver) *spf.Checker {
	ch := &spf.Checker{
		Resolver:              resolver,
		Timeout:               c.lookupTime,
		MaxVoidLookups:        c.voidLimit,
		TrustedRelays:         c.trustedRelays,
		TrustedHELONames:      c.heloWhitelist,
		TrustedForwarders:     c.domainWhitelist,
		TrustedForwarderNames: c.domainWhitelistPTR,
		LocalRules:            c.localRules,
		BestGuess:             c.bestGuess,
		AllowOnPass:           c.allowOnPass,
	}
	if !c.hideReceiver {
		ch.Receiver = c.receiver
	}
	return ch
}
