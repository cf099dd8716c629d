package spftest

import (
	"strings"
	"testing"

	"github.com/spf-go/spf"
)

// FuzzParseZone checks that ParseZone never panics on any text and that
// the zone it returns answers every name it holds.
func FuzzParseZone(f *testing.F) {
	for _, s := range []string{
		"$ORIGIN fuzz.example.\n$TTL 300\n@ TXT \"v=spf1 mx -all\"\n@ MX 10 mx1\nmx1 A 192.0.2.1\n",
		"a.example. 60 IN TXT \"v=spf1 \" \"-all\"\na.example. SPF \"v=spf1 +all\"\n",
		"b.example. CNAME c.example.\nc.example. AAAA 2001:db8::1\n3.2.0.192.in-addr.arpa. PTR b.example.\n",
		"x.example. TXT \"\\\"quoted\\\" \\255\\000\"\n",
		"$ORIGIN .\n@ TXT x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "$GENERATE") || strings.Contains(text, "$INCLUDE") {
			return // zone files are ours; these read other files or make many records
		}
		z, err := ParseZone(strings.NewReader(text), "", "fuzz")
		if err != nil {
			return
		}
		for _, n := range z.Names() {
			for _, typ := range []spf.RRType{spf.TypeTXT, spf.TypeA, spf.TypeAAAA, spf.TypeMX, spf.TypePTR} {
				resp, err := z.lookup(n, typ)
				if err == nil && resp == nil {
					t.Fatalf("%s %v: nil Response and no error", n, typ)
				}
			}
		}
	})
}
