package spf

import (
	"context"
	"net/netip"
	"testing"
)

func TestWhyExplanationURL(t *testing.T) {
	t.Parallel()
	zone := &testZone{}
	zone.AddTXT("example.com", "v=spf1 -all")
	tests := []struct {
		name, base string
		want       string // the expanded explanation
	}{
		{"openspf", "https://www.open-spf.org/Why",
			"example.com does not designate 2001:db8::7 as permitted sender; see https://www.open-spf.org/Why?id=b%2Bx%40example.com&ip=2001%3Adb8%3A%3A7&r=mx.example.net"},
		{"with query", "https://why.example.net/spf?lang=en",
			"example.com does not designate 2001:db8::7 as permitted sender; see https://why.example.net/spf?lang=en&id=b%2Bx%40example.com&ip=2001%3Adb8%3A%3A7&r=mx.example.net"},
		{"ending in ?", "https://why.example.net/spf?",
			"example.com does not designate 2001:db8::7 as permitted sender; see https://why.example.net/spf?id=b%2Bx%40example.com&ip=2001%3Adb8%3A%3A7&r=mx.example.net"},
		{"percent and space", "https://why.example.net/a%2Fb c/{x}",
			"example.com does not designate 2001:db8::7 as permitted sender; see https://why.example.net/a%2Fb%20c/{x}?id=b%2Bx%40example.com&ip=2001%3Adb8%3A%3A7&r=mx.example.net"},
		{"non-ASCII", "https://why.example.net/w\u00e9",
			"example.com does not designate 2001:db8::7 as permitted sender; see https://why.example.net/w%C3%A9?id=b%2Bx%40example.com&ip=2001%3Adb8%3A%3A7&r=mx.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Checker{Resolver: zone, Receiver: "mx.example.net", DefaultExplanation: WhyExplanationURL(tt.base)}
			out, _ := c.Check(context.Background(), netip.MustParseAddr("2001:db8::7"), "h.example.com", "b+x@example.com")
			if out.Result != Fail || out.Explanation != tt.want {
				t.Errorf("%s with explanation\n%q, want fail with\n%q", out.Result, out.Explanation, tt.want)
			}
		})
	}
	if got := WhyExplanationURL("https://www.open-spf.org/Why"); got != WhyExplanation {
		t.Errorf("WhyExplanationURL(open-spf) = %q, want WhyExplanation %q", got, WhyExplanation)
	}
}
