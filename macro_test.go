package spf

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

type fixedValidated string

func (f fixedValidated) validatedName() string { return string(f) }

func testEnv(ip string) *macroEnv {
	return &macroEnv{
		sender:       "strong-bad@email.example.com",
		local:        "strong-bad",
		senderDomain: "email.example.com",
		domain:       "email.example.com",
		ip:           netip.MustParseAddr(ip),
		helo:         "mx.example.org",
		receiver:     "mx.receiver.example",
		now:          func() time.Time { return time.Unix(1700000000, 0) },
		validated:    fixedValidated("mail.example.com"),
	}
}

// TestExpandRFCExamples checks the examples of RFC 7208 section 7.4.
func TestExpandRFCExamples(t *testing.T) {
	tests := []struct{ ip, in, want string }{
		{"192.0.2.3", "%{s}", "strong-bad@email.example.com"},
		{"192.0.2.3", "%{o}", "email.example.com"},
		{"192.0.2.3", "%{d}", "email.example.com"},
		{"192.0.2.3", "%{d4}", "email.example.com"},
		{"192.0.2.3", "%{d3}", "email.example.com"},
		{"192.0.2.3", "%{d2}", "example.com"},
		{"192.0.2.3", "%{d1}", "com"},
		{"192.0.2.3", "%{dr}", "com.example.email"},
		{"192.0.2.3", "%{d2r}", "example.email"},
		{"192.0.2.3", "%{l}", "strong-bad"},
		{"192.0.2.3", "%{l-}", "strong.bad"},
		{"192.0.2.3", "%{lr}", "strong-bad"},
		{"192.0.2.3", "%{lr-}", "bad.strong"},
		{"192.0.2.3", "%{l1r-}", "strong"},
		{"192.0.2.3", "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"192.0.2.3", "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"192.0.2.3", "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"192.0.2.3", "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"192.0.2.3", "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{"2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}", "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.ip+" "+tt.in, func(t *testing.T) {
			if _, msg := checkMacroString(tt.in, false); msg != "" {
				t.Fatalf("checkMacroString(%q): %s", tt.in, msg)
			}
			if got := string(testEnv(tt.ip).expand(nil, tt.in)); got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	tests := []struct{ name, ip, in, want string }{
		{"escapes", "192.0.2.3", "%% %_ %-", "%   %20"},
		{"url escape", "192.0.2.3", "%{S}", "strong-bad%40email.example.com"},
		{"url escape reversed", "192.0.2.3", "%{L1R-}", "strong"},
		{"explanation letters", "192.0.2.3", "%{c} %{r} %{t} %{p}", "192.0.2.3 mx.receiver.example 1700000000 mail.example.com"},
		{"c ipv6", "2001:db8::cb01", "%{c} %{v}", "2001:db8::cb01 ip6"},
		{"helo", "192.0.2.3", "%{h}.%{H2}", "mx.example.org.example.org"},
		{"multiple delimiters", "192.0.2.3", "%{l-.}", "strong.bad"},
		{"keep more than parts", "192.0.2.3", "%{d99}", "email.example.com"},
		{"huge keep", "192.0.2.3", "%{d123456789012345678901234567890}", "email.example.com"},
		{"literal", "192.0.2.3", "v=spf1!", "v=spf1!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, msg := checkMacroString(tt.in, true); msg != "" {
				t.Fatalf("checkMacroString(%q): %s", tt.in, msg)
			}
			if got := string(testEnv(tt.ip).expand(nil, tt.in)); got != tt.want {
				t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestURLEscapeNonASCII(t *testing.T) {
	e := testEnv("192.0.2.3")
	e.local = "j\xc3\xb6rg"
	if got, want := string(e.expand(nil, "%{L}")), "j%C3%B6rg"; got != want {
		t.Errorf("expand(%%{L}) = %q, want %q", got, want)
	}
}

func TestTruncateDomain(t *testing.T) {
	label := strings.Repeat("a", 63)
	long := strings.Join([]string{label, label, label, label, "example.com"}, ".") // 267 bytes
	got := truncateDomain(long + ".")
	if len(got) > 253 || !strings.HasSuffix(got, ".example.com") || strings.HasPrefix(got, ".") {
		t.Errorf("truncateDomain: %d bytes %q", len(got), got)
	}
	if want := strings.Join([]string{label, label, label, "example.com"}, "."); got != want {
		t.Errorf("truncateDomain removed the wrong labels: %q", got)
	}
}
