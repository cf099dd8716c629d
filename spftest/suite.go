package spftest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf-go/spf"
	"go.yaml.in/yaml/v3"
)

// A Scenario is one document of a test suite in the openspf YAML format
// (the format of rfc7208-tests.yml): tests that share one set of DNS data.
type Scenario struct {
	// Description is the scenario's description line.
	Description string
	// Tests are the scenario's tests, in the order of the file.
	Tests []SuiteTest
	// ZoneData holds each name's records, in the order of the file.
	ZoneData map[string][]ZoneRecord
}

// A SuiteTest is one test of a [Scenario].
type SuiteTest struct {
	// Name is the test's key in the scenario.
	Name string
	// Spec is the RFC section the test is about.
	Spec string
	// Host is the client's IP address.
	Host string
	// HELO is the HELO name.
	HELO string
	// MailFrom is the MAIL FROM address; empty for the null sender.
	MailFrom string
	// Results are the accepted results, the preferred one first.
	Results []spf.Result
	// Explanation is the expected explanation of a fail, where the test
	// checks one; "DEFAULT" stands for the checker's default explanation.
	Explanation string
	// HasExplanation reports that the test checks an explanation.
	HasExplanation bool

	// Receiver holds the receiver's settings of the test, from our
	// extension of the format (a "receiver" mapping); nil without one.
	// The tests of the openspf suite have none.
	Receiver *Receiver
	// Skipped is the test key "skipped" of a test with a Receiver: a
	// prefix of Outcome.Skipped.String(); empty expects nothing skipped.
	Skipped string
	// LocalRule is the test key "local-rule": whether a local rule
	// decides.
	LocalRule bool
	// BestGuess is the test key "best-guess": the result of the guess;
	// empty expects no guess.
	BestGuess string
	// Allowed is the test key "allowed": the allow-list pattern matched;
	// empty expects none.
	Allowed string
}

// Receiver is our extension of the openspf format for what a receiver
// sets around check_host(), a test's "receiver" mapping:
//
//	receiver:
//	  local-rules: ip4:203.0.113.2 a:relay.example.net
//	  best-guess: default            # or a record, "v=spf1 a/24 ?all"
//	  trusted-relays: [192.0.2.0/24]
//	  trusted-helo: [mx.example.net]
//	  forwarders: [fwd.example]      # authorize the client by SPF
//	  forwarder-names: [fwd.example] # the client's validated PTR name
//	  allow: ["*@example.com"]
//
// Each key maps onto the [spf.Checker] field of the same meaning; see
// [Receiver.Configure].
type Receiver struct {
	// LocalRules is "local-rules", for Checker.LocalRules.
	LocalRules string
	// BestGuess is "best-guess", for Checker.BestGuess: "default" or a
	// record.
	BestGuess string
	// TrustedRelays is "trusted-relays", for Checker.TrustedRelays.
	TrustedRelays []string
	// TrustedHELO is "trusted-helo", for Checker.TrustedHELONames.
	TrustedHELO []string
	// Forwarders is "forwarders", for Checker.TrustedForwarders.
	Forwarders []string
	// ForwarderNames is "forwarder-names", for
	// Checker.TrustedForwarderNames.
	ForwarderNames []string
	// Allow is "allow", for Checker.AllowOnPass.
	Allow []string
}

// Configure sets the fields of c that r names: LocalRules,
// BestGuess ("default" is [spf.DefaultBestGuess]), TrustedRelays,
// TrustedHELONames, TrustedForwarders, TrustedForwarderNames and
// AllowOnPass. It reports local rules, a record or a prefix that does
// not parse.
func (r *Receiver) Configure(c *spf.Checker) error {
	if r.LocalRules != "" {
		l, err := spf.ParseLocalRules(r.LocalRules)
		if err != nil {
			return err
		}
		c.LocalRules = l
	}
	switch r.BestGuess {
	case "":
	case "default":
		c.BestGuess = spf.DefaultBestGuessRecord()
	default:
		rec, err := spf.Parse(r.BestGuess)
		if err != nil {
			return err
		}
		c.BestGuess = rec
	}
	for _, p := range r.TrustedRelays {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return err
		}
		c.TrustedRelays = append(c.TrustedRelays, prefix)
	}
	c.TrustedHELONames = append(c.TrustedHELONames, r.TrustedHELO...)
	c.TrustedForwarders = append(c.TrustedForwarders, r.Forwarders...)
	c.TrustedForwarderNames = append(c.TrustedForwarderNames, r.ForwarderNames...)
	c.AllowOnPass = append(c.AllowOnPass, r.Allow...)
	return nil
}

// parseReceiver reads a test's "receiver" mapping.
func parseReceiver(n *yaml.Node) (*Receiver, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: receiver is a mapping", n.Line)
	}
	var r Receiver
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		list := func() ([]string, error) {
			var out []string
			for _, v := range items(val) {
				if v.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("line %d: %s takes scalars", v.Line, key)
				}
				out = append(out, v.Value)
			}
			return out, nil
		}
		var err error
		switch key {
		case "local-rules":
			r.LocalRules = val.Value
		case "best-guess":
			r.BestGuess = val.Value
		case "trusted-relays":
			r.TrustedRelays, err = list()
		case "trusted-helo":
			r.TrustedHELO, err = list()
		case "forwarders":
			r.Forwarders, err = list()
		case "forwarder-names":
			r.ForwarderNames, err = list()
		case "allow":
			r.Allow, err = list()
		default:
			err = fmt.Errorf("line %d: unknown receiver setting %q", n.Content[i].Line, key)
		}
		if err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// A ZoneRecord is one entry of a name's list in a scenario's zonedata:
// Type is "A", "AAAA", "MX", "PTR", "CNAME", "TXT", "SPF" or "TIMEOUT".
type ZoneRecord struct {
	// Type is the record type, or "TIMEOUT".
	Type string
	// Strings are the record's values: one address or name; the
	// preference and exchange of MX; the character-strings of TXT and
	// SPF. A TXT record "NONE" has NoRecord set instead.
	Strings []string
	// NoRecord is set for a TXT record "NONE", which stands for no
	// record at all.
	NoRecord bool
}

// LoadSuite reads a test suite file; see [ParseSuite].
func LoadSuite(path string) ([]Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSuite(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSuite reads a test suite in the openspf YAML format: a stream of
// documents, each with a description, tests and zonedata. Double-quoted
// escapes such as "\x80" are code points, kept as their UTF-8 bytes.
func ParseSuite(r io.Reader) ([]Scenario, error) {
	dec := yaml.NewDecoder(r)
	var out []Scenario
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		sc, err := parseScenario(doc.Content[0])
		if err != nil {
			return nil, fmt.Errorf("scenario %d: %w", len(out)+1, err)
		}
		out = append(out, sc)
	}
}

func parseScenario(n *yaml.Node) (Scenario, error) {
	var sc Scenario
	if n.Kind != yaml.MappingNode {
		return sc, fmt.Errorf("line %d: a scenario is a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		switch key {
		case "description":
			sc.Description = val.Value
		case "tests":
			if val.Kind != yaml.MappingNode {
				return sc, fmt.Errorf("line %d: tests is a mapping", val.Line)
			}
			seen := make(map[string]bool)
			for j := 0; j+1 < len(val.Content); j += 2 {
				name := val.Content[j].Value
				if seen[name] {
					return sc, fmt.Errorf("line %d: test %s is named twice", val.Content[j].Line, name)
				}
				seen[name] = true
				t, err := parseTest(name, val.Content[j+1])
				if err != nil {
					return sc, err
				}
				sc.Tests = append(sc.Tests, t)
			}
		case "zonedata":
			zd, err := parseZoneData(val)
			if err != nil {
				return sc, err
			}
			sc.ZoneData = zd
		}
	}
	return sc, nil
}

// items returns the items of a sequence node, or n alone: a key that
// takes a list takes a single value too.
func items(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

func parseTest(name string, n *yaml.Node) (SuiteTest, error) {
	t := SuiteTest{Name: name}
	if n.Kind != yaml.MappingNode {
		return t, fmt.Errorf("test %s: line %d: a test is a mapping", name, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		switch key {
		case "spec":
			t.Spec = val.Value
		case "host":
			t.Host = val.Value
		case "helo":
			t.HELO = val.Value
		case "mailfrom":
			t.MailFrom = val.Value
		case "explanation":
			t.Explanation, t.HasExplanation = val.Value, true
		case "receiver":
			r, err := parseReceiver(val)
			if err != nil {
				return t, fmt.Errorf("test %s: %w", name, err)
			}
			t.Receiver = r
		case "skipped":
			t.Skipped = val.Value
		case "local-rule":
			t.LocalRule = val.Value == "true"
		case "best-guess":
			t.BestGuess = val.Value
		case "allowed":
			t.Allowed = val.Value
		case "result":
			for _, v := range items(val) {
				r, err := spf.ParseResult(v.Value)
				if err != nil {
					return t, fmt.Errorf("test %s: line %d: %w", name, v.Line, err)
				}
				t.Results = append(t.Results, r)
			}
		}
	}
	if len(t.Results) == 0 {
		return t, fmt.Errorf("test %s: line %d: no result", name, n.Line)
	}
	return t, nil
}

func parseZoneData(n *yaml.Node) (map[string][]ZoneRecord, error) {
	zd := make(map[string][]ZoneRecord)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: zonedata is a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, list := n.Content[i].Value, n.Content[i+1]
		if _, dup := zd[name]; dup {
			return nil, fmt.Errorf("line %d: %s is listed twice in zonedata", n.Content[i].Line, name)
		}
		if list.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("line %d: the records of %s are a list", list.Line, name)
		}
		recs := []ZoneRecord{}
		for _, item := range list.Content {
			rec, err := parseZoneRecord(item)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			recs = append(recs, rec)
		}
		zd[name] = recs
	}
	return zd, nil
}

func parseZoneRecord(n *yaml.Node) (ZoneRecord, error) {
	if n.Kind == yaml.ScalarNode && n.Value == "TIMEOUT" {
		return ZoneRecord{Type: "TIMEOUT"}, nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return ZoneRecord{}, fmt.Errorf("line %d: a record is TIMEOUT or a one-key mapping", n.Line)
	}
	rec := ZoneRecord{Type: strings.ToUpper(n.Content[0].Value)}
	val := n.Content[1]
	switch val.Kind {
	case yaml.ScalarNode:
		if (rec.Type == "TXT" || rec.Type == "SPF") && val.Value == "NONE" && val.Style == 0 {
			rec.NoRecord = true
		} else {
			rec.Strings = []string{val.Value}
		}
	case yaml.SequenceNode:
		for _, v := range val.Content {
			if v.Kind != yaml.ScalarNode {
				return rec, fmt.Errorf("line %d: a record's values are scalars", v.Line)
			}
			rec.Strings = append(rec.Strings, v.Value)
		}
	default:
		return rec, fmt.Errorf("line %d: unexpected record value", val.Line)
	}
	switch rec.Type {
	case "A", "AAAA", "PTR", "CNAME":
		if len(rec.Strings) != 1 {
			return rec, fmt.Errorf("line %d: %s takes one value", val.Line, rec.Type)
		}
	case "MX":
		if len(rec.Strings) != 2 {
			return rec, fmt.Errorf("line %d: MX takes a preference and an exchange", val.Line)
		}
	case "TXT", "SPF":
	default:
		return rec, fmt.Errorf("line %d: unknown record type %q", n.Line, rec.Type)
	}
	return rec, nil
}

// Zone returns the scenario's DNS data as a zone, following the suite's
// conventions: SPF (type 99) records, which RFC 7208 checkers never query,
// are published as TXT records instead, unless the name lists TXT records
// of its own or "TXT: NONE"; a TIMEOUT entry makes
// the name's queries time out for every type it lists no record of.
func (sc *Scenario) Zone() (*Zone, error) {
	z := &Zone{}
	names := make([]string, 0, len(sc.ZoneData))
	for name := range sc.ZoneData {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		recs := sc.ZoneData[name]
		noTXT := slices.ContainsFunc(recs, func(r ZoneRecord) bool { return r.Type == "TXT" })
		for _, r := range recs {
			switch r.Type {
			case "TIMEOUT":
				z.SetTimeout(name)
			case "TXT":
				if !r.NoRecord {
					z.AddTXT(name, r.Strings...)
				}
			case "SPF":
				if !noTXT && !r.NoRecord {
					z.AddTXT(name, r.Strings...)
				}
			case "A", "AAAA":
				a, err := netip.ParseAddr(r.Strings[0])
				if err != nil {
					return nil, fmt.Errorf("spftest: %s: %w", name, err)
				}
				z.AddIP(name, a)
			case "MX":
				pref, err := strconv.ParseUint(r.Strings[0], 10, 16)
				if err != nil {
					return nil, fmt.Errorf("spftest: %s: MX preference: %w", name, err)
				}
				z.AddMX(name, uint16(pref), r.Strings[1])
			case "PTR":
				z.AddPTR(name, r.Strings[0])
			case "CNAME":
				z.AddCNAME(name, r.Strings[0])
			}
		}
	}
	return z, nil
}
