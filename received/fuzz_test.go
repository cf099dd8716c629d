package received

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/spf-go/spf"
)

// FuzzParseReceived checks that no input panics the Received parser, that
// what it returns comes from the input, and that a field is read the same
// with and without its name.
func FuzzParseReceived(f *testing.F) {
	f.Add("Received: from mail.example.net (mail.example.net [203.0.113.5]) by mx.example with ESMTPS id 1; now")
	f.Add("from a ([IPv6:2001:db8::1] helo=b) by c with esmtpsa (Exim 4.96) (envelope-from <x@y>) id 2; now")
	f.Add("(qmail 1 invoked from network); now")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseReceived(s)
		if err != nil {
			return
		}
		for _, v := range []string{h.RDNS, h.HELO, h.By, h.EnvelopeFrom, h.ID, h.For} {
			if len(v) > len(s) {
				t.Fatalf("field %q longer than the input %q", v, s)
			}
		}
		if fieldNameEnd(s) < 0 && len(s)+len("Received: ") <= MaxFieldLen {
			h2, err := ParseReceived("Received: " + s)
			if err != nil || h2 != h {
				t.Fatalf("with its name: %+v, %v; without: %+v", h2, err, h)
			}
		}
	})
}

// FuzzParseReceivedSPF checks that no input panics the Received-SPF
// parser, and that whatever the root package's writer writes for any
// inputs reads back with the same result, client-ip and identity.
func FuzzParseReceivedSPF(f *testing.F) {
	f.Add("Received-SPF: pass (x: y (z)) client-ip=192.0.2.1; envelope-from=\"a@b\"; identity=mailfrom;", "a@example.net", "mail.example.net", "mx.example", uint8(2), []byte{192, 0, 2, 1})
	f.Add("Pass (mailfrom) identity=mailfrom; receiver=<UNKNOWN> ", "", "h\r\nX: y", "(r)", uint8(6), []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, s, sender, helo, receiver string, result uint8, ip []byte) {
		if r, err := ParseReceivedSPF(s); err == nil && len(r.Comment) > len(s) {
			t.Fatalf("comment longer than the input")
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		out := spf.Outcome{Result: spf.Result(result % 7), ClientIP: addr.Unmap(), Sender: sender, HELO: helo, Receiver: receiver}
		if sender == "" {
			out.Identity = spf.IdentityHELO
		}
		field := out.ReceivedSPF()
		r, err := ParseReceivedSPF(field)
		if err != nil {
			t.Fatalf("our own field %q: %v", field, err)
		}
		if r.Result != out.Result || r.ClientIP != out.ClientIP || r.Identity != out.Identity.String() {
			t.Fatalf("read back %+v from %q", r, field)
		}
	})
}

// TestAnalyzeHostileHeader checks the cap on hops with a header of
// 300 Received fields of about 3 KB each.
func TestAnalyzeHostileHeader(t *testing.T) {
	t.Parallel()
	// Many hops, each at the field limit: bounded by MaxHops.
	hop := "Received: from a (b [192.0.2.1]) by c" + strings.Repeat(" (x)", 700) + "; now"
	var lines []string
	for range 300 {
		lines = append(lines, hop)
	}
	fields := header(t, lines...)
	a := (&Analyzer{}).Analyze(context.Background(), fields)
	if len(a.Hops) != MaxHops {
		t.Errorf("%d hops kept, want MaxHops = %d", len(a.Hops), MaxHops)
	}
}

// FuzzAnalyze checks that no header section panics ReadHeader and
// Analyze, and that what Analyze returns is consistent: the border and
// the reused field are in range, and no field is trusted without a
// border or below it.
func FuzzAnalyze(f *testing.F) {
	f.Add(strings.Join([]string{returnPath, spfSoftFail, rcvdTop, rcvdHub, spfPass, rcvdBorder, rcvdForged}, "\r\n"))
	f.Add(strings.Join([]string{returnPath, spfHELOPass, rcvdSpammer, spfSpoofed}, "\n"))
	f.Add(strings.Join([]string{rcvdQmail, rcvdMapi, rcvdSubmit}, "\r\n"))
	az := &Analyzer{Internal: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, s string) {
		fields, err := ReadHeader(strings.NewReader(s))
		if err != nil {
			return
		}
		a := az.Analyze(context.Background(), fields)
		if a.Border < -1 || a.Border >= len(a.Hops) || (a.Border >= 0) != (a.Status == BorderFound) {
			t.Fatalf("border %d of %d hops, status %s", a.Border, len(a.Hops), a.Status)
		}
		for i, r := range a.ReceivedSPF {
			if r.Trusted && (a.Border < 0 || r.pos > a.Hops[a.Border].pos || !r.MailFrom() && r.Identity != "") {
				t.Fatalf("Received-SPF %d trusted: %+v", i, r)
			}
		}
		if (a.Used >= 0) != (a.Source == SourceReceivedSPF) || a.Used >= len(a.ReceivedSPF) {
			t.Fatalf("used %d of %d, source %s", a.Used, len(a.ReceivedSPF), a.Source)
		}
	})
}
