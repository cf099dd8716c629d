package received

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

func TestParseReceivedSPFCorpus(t *testing.T) {
	t.Parallel()
	runCorpus(t, "testdata/received-spf.txtar", ParseReceivedSPF, func(w ReceivedSPF) cmp.Option {
		if w.Params == nil {
			return cmp.Options{equateAddr, cmpopts.IgnoreFields(ReceivedSPF{}, "Params")}
		}
		return equateAddr
	})
}

func TestParseReceivedSPFErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     error
	}{
		{"other field", "Received: from a by b; now", ErrNotReceivedSPF},
		{"empty", "Received-SPF: ", ErrNotReceivedSPF},
		{"unknown result", "Received-SPF: maybe (x) client-ip=192.0.2.1", ErrSyntax},
		{"no result", "Received-SPF: (x) client-ip=192.0.2.1", ErrSyntax},
		{"unbalanced comment", "Received-SPF: pass (a (b) client-ip=192.0.2.1", ErrSyntax},
		{"key without value", "Received-SPF: pass client-ip", ErrSyntax},
		{"junk after comment", "Received-SPF: pass (x) this is not a key", ErrSyntax},
		{"unterminated quote", `Received-SPF: pass envelope-from="a@b`, ErrSyntax},
		{"bad client-ip", "Received-SPF: pass client-ip=192.0.2.300", ErrSyntax},
		{"repeated key", "Received-SPF: pass identity=helo; identity=mailfrom", ErrSyntax},
		{"two values", "Received-SPF: pass helo=a b; identity=mailfrom", ErrSyntax},
		{"too deep", "Received-SPF: pass " + strings.Repeat("(", 40) + strings.Repeat(")", 40), ErrSyntax},
		{"too long", "Received-SPF: pass " + strings.Repeat("x", MaxFieldLen), ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if r, err := ParseReceivedSPF(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("ParseReceivedSPF(%.40q) = %+v, %v; want error %v", tt.in, r, err, tt.want)
			}
		})
	}
}

// TestParseReceivedSPFOurs reads back what spf.Outcome.ReceivedSPF writes
// for real checks against a zone, hostile inputs included.
func TestParseReceivedSPFOurs(t *testing.T) {
	t.Parallel()
	z := &spftest.Zone{}
	z.AddTXT("example.net", "v=spf1 ip4:203.0.113.0/24 -all")
	z.AddTXT("broken.example", "v=spf1 ip4:1.2.3.4/40 -all")
	c := &spf.Checker{Resolver: z, Receiver: "mx.receiver.example"}
	tests := []struct {
		name             string
		ip               string
		helo, sender     string
		wantIdentity     string
		wantEnvelopeFrom string
	}{
		{"pass", "203.0.113.5", "mail.example.net", "a@example.net", "mailfrom", "a@example.net"},
		{"fail ipv6", "2001:db8::1", "mail.example.net", "a@example.net", "mailfrom", "a@example.net"},
		{"permerror", "192.0.2.1", "x", "b@broken.example", "mailfrom", "b@broken.example"},
		{"null sender", "203.0.113.5", "example.net", "", "helo", "postmaster@example.net"},
		{"quoted local part", "203.0.113.5", "h", `"a b;c=d"@example.net`, "mailfrom", `"a b;c=d"@example.net`},
		{"hostile helo", "203.0.113.5", "x\r\nReceived-SPF: pass", "a@example.net", "mailfrom", "a@example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ip := netip.MustParseAddr(tt.ip)
			out, _ := c.Check(context.Background(), ip, tt.helo, tt.sender)
			got, err := ParseReceivedSPF(out.ReceivedSPF())
			if err != nil {
				t.Fatalf("%q: %v", out.ReceivedSPF(), err)
			}
			if got.Result != out.Result || got.ClientIP != ip || got.Identity != tt.wantIdentity ||
				got.EnvelopeFrom != tt.wantEnvelopeFrom || got.Receiver != "mx.receiver.example" {
				t.Errorf("read back %+v\nfrom %q", got, out.ReceivedSPF())
			}
		})
	}
}
