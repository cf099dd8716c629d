package spf_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// suiteDNSTimeout is the per-query timeout of the DNSResolver that runs
// the suite over DNS: the suite's TIMEOUT entries are real timeouts at
// the server, and each costs this much. Half a second leaves room for a
// loaded machine, where a loopback answer can take a few hundred ms.
const suiteDNSTimeout = 500 * time.Millisecond

// TestRFC7208SuiteOverDNS runs the openspf RFC 7208 suite again, through
// [spf.DNSResolver] over real sockets against an [spftest.Server] that
// serves each scenario's zone.
func TestRFC7208SuiteOverDNS(t *testing.T) {
	path := suitePath(t)
	tally := runSuite(t, path, "rfc7208-tests.yml over DNS", func(t *testing.T, z *spftest.Zone) spf.Resolver {
		return spftest.NewServer(t, z).Resolver(suiteDNSTimeout)
	})
	if tally.passed+tally.failed == 0 {
		t.Error("the suite has no tests")
	}
}

// TestScenariosOverDNS runs our own scenarios (testdata/scenarios) over
// DNS as TestRFC7208SuiteOverDNS runs the openspf suite.
func TestScenariosOverDNS(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata/scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			runSuite(t, f, filepath.Base(f)+" over DNS", func(t *testing.T, z *spftest.Zone) spf.Resolver {
				return spftest.NewServer(t, z).Resolver(suiteDNSTimeout)
			})
		})
	}
}
