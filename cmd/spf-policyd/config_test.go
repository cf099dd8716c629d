package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
)

// debianConf is the file Debian's postfix-policyd-spf-python installs.
const debianConf = `#  For a fully commented sample config file see policyd-spf.conf.commented

debugLevel = 1 
TestOnly = 1

HELO_reject = Fail
Mail_From_reject = Fail

PermError_reject = False
TempError_Defer = False

skip_addresses = 127.0.0.0/8,::ffff:127.0.0.0/104,::1
`

// summary is what a test compares of a config.
type summary struct {
	CheckHELO, CheckMailFrom bool
	Policy                   spf.Policy
	Relays                   []string
	HELONames, Forwarders    []string
	ForwarderNames           []string
	Header, AuthservID       string
	HideReceiver             bool
	LookupTime               time.Duration
	LocalRules, BestGuess    string
	DNSServers               []string
	Listen, LogFormat        string
}

func summarize(c *config) summary {
	s := summary{
		CheckHELO: c.checkHELO, CheckMailFrom: c.checkMailFrom, Policy: c.policy,
		HELONames: c.heloWhitelist, Forwarders: c.domainWhitelist, ForwarderNames: c.domainWhitelistPTR,
		Header: c.headerType, AuthservID: c.authservID, HideReceiver: c.hideReceiver,
		LookupTime: c.lookupTime, DNSServers: c.dnsServers, Listen: c.listen, LogFormat: c.logFormat,
	}
	for _, p := range c.trustedRelays {
		s.Relays = append(s.Relays, p.String())
	}
	if c.localRules != nil {
		s.LocalRules = c.localRules.String()
	}
	if c.bestGuess != nil {
		s.BestGuess = c.bestGuess.String()
	}
	return s
}

func TestConfig(t *testing.T) {
	base := summarize(defaultConfig())
	with := func(f func(*summary)) summary { s := base; f(&s); return s }
	tests := []struct {
		name string
		file string
		opts []string
		want summary
	}{
		{"Debian's file is the defaults", debianConf, nil, with(func(s *summary) {
			s.Relays = []string{"127.0.0.0/8", "127.0.0.0/8", "::1/128"}
		})},
		{"HELO_reject SPF_Not_Pass, Mail_From_reject Softfail", "HELO_reject = SPF_Not_Pass\nMail_From_reject = Softfail", nil, with(func(s *summary) {
			s.Policy.HELO, s.Policy.MailFrom = spf.RejectNotPass, spf.RejectSoftFail
		})},
		{"HELO_reject Null, Mail_From_reject False", "HELO_reject = Null\nMail_From_reject = False", nil, with(func(s *summary) {
			s.Policy.HELO, s.Policy.MailFrom = spf.RejectNever, spf.RejectNever
		})},
		{"No_Check", "HELO_reject = No_Check\nmail_from_reject = no_check", nil, with(func(s *summary) {
			s.Policy.HELO, s.Policy.MailFrom = spf.RejectNever, spf.RejectNever
			s.CheckHELO, s.CheckMailFrom = false, false
		})},
		{"errors, test only, whitelists", `PermError_reject = True
TempError_Defer = True
TestOnly = 0
skip_addresses =
Whitelist = 192.0.2.0/24,2001:db8::1
HELO_Whitelist = relay.example.com
Domain_Whitelist = pobox.com, forwarder.example
Domain_Whitelist_PTR = yahoo.com`, nil, with(func(s *summary) {
			s.Policy.RejectPermError, s.Policy.AcceptTempError, s.Policy.ReportOnly = true, false, true
			s.Relays = []string{"192.0.2.0/24", "2001:db8::1/128"}
			s.HELONames, s.Forwarders, s.ForwarderNames = []string{"relay.example.com"}, []string{"pobox.com", "forwarder.example"}, []string{"yahoo.com"}
		})},
		{"headers and time", "Header_Type = AR\nAuthserv_Id = mx.example.com\nHide_Receiver = Yes\nLookup_Time = 5", nil, with(func(s *summary) {
			s.Header, s.AuthservID, s.HideReceiver, s.LookupTime = "AR", "mx.example.com", true, 5*time.Second
		})},
		{"our options, and -o over the file", "Local_Rules = ip4:192.0.2.0/24\nBest_Guess = Yes\nDNS_Servers = 127.0.0.1, [::1]:5353\nListen = unix:/run/x\nLog_Format = json",
			[]string{"Listen=127.0.0.1:10031", "Report_Only = yes"}, with(func(s *summary) {
				s.LocalRules, s.BestGuess = "v=spf1 ip4:192.0.2.0/24", spf.DefaultBestGuess
				s.DNSServers, s.Listen, s.LogFormat = []string{"127.0.0.1:53", "[::1]:5353"}, "127.0.0.1:10031", "json"
				s.Policy.ReportOnly = true
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			if err := c.parse(strings.NewReader(tt.file), "test.conf"); err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.opts {
				k, v, _ := strings.Cut(o, "=")
				if err := c.set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.want, summarize(c)); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"Mail_From_Rejekt = Fail", `test.conf:1: unknown option "Mail_From_Rejekt"`},
		{"# c\n\nNo_Mail = True", `test.conf:3: option "No_Mail" of policyd-spf is not supported`},
		{"HELO_reject = Sometimes", `HELO_reject = "Sometimes": want Fail`},
		{"Mail_From_reject = Null", `the value Null is for HELO_reject only`},
		{"TempError_Defer = maybe", `want Yes or No`},
		{"skip_addresses = 300.1.1.1/8", `want a CIDR list`},
		{"Local_Rules = ip4:nope", `Local_Rules = "ip4:nope"`},
		{"Lookup_Time = -1", `want seconds`},
		{"Header_Type = XML", `want SPF, AR or None`},
		{"DNS_Servers = dns.example", `want IP or IP:port`},
		{"SPF_Enhanced_Status_Codes = No", `only Yes`},
		{"just words", `want Key = Value`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			err := defaultConfig().parse(strings.NewReader(tt.file), "test.conf")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestRelayMapped(t *testing.T) {
	c := defaultConfig()
	if err := c.set("skip_addresses", "::ffff:10.0.0.0/104"); err != nil {
		t.Fatal(err)
	}
	if !c.trustedRelays[0].Contains(netip.MustParseAddr("10.1.2.3")) {
		t.Errorf("%v does not hold 10.1.2.3", c.trustedRelays)
	}
}
