package received

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// Header fields the trust-path tests are built from. The receiver's
// network is 10.0.0.0/8 and 192.0.2.48/28 (its secondary MX); example.net
// sends from 203.0.113.0/24.
const (
	rcvdTop      = "Received: from hub.receiver.example (hub.receiver.example [10.0.0.2]) by mbox.receiver.example (Postfix) with ESMTP id T1; Wed, 2 Dec 2026 10:00:03 +0000"
	rcvdHub      = "Received: from mx.receiver.example (mx.receiver.example [10.0.0.1]) by hub.receiver.example (Postfix) with ESMTP id H1; Wed, 2 Dec 2026 10:00:02 +0000"
	rcvdBorder   = "Received: from mail.example.net (mail.example.net [203.0.113.5]) by mx.receiver.example (Postfix) with ESMTPS id B1; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdSpammer  = "Received: from mail.example.net (unknown [198.51.100.66]) by mx.receiver.example (Postfix) with ESMTP id S1; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdForged   = "Received: from mail.example.net (mail.example.net [203.0.113.5]) by mx.receiver.example (Postfix) with ESMTPS id F1; Wed, 2 Dec 2026 09:59:00 +0000"
	rcvdBackup   = "Received: from mx2.receiver.example (mx2.receiver.example [192.0.2.53]) by mx.receiver.example (Postfix) with ESMTP id M1; Wed, 2 Dec 2026 10:00:02 +0000"
	rcvdAtBackup = "Received: from mail.example.net (mail.example.net [203.0.113.5]) by mx2.receiver.example (Postfix) with ESMTPS id M2; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdFwd      = "Received: from fwd.example.org (fwd.example.org [198.51.100.20]) by mx.receiver.example (Postfix) with ESMTPS id W1; Wed, 2 Dec 2026 10:00:02 +0000"
	rcvdAtFwd    = "Received: from mail.example.net (mail.example.net [203.0.113.5]) by fwd.example.org (Postfix) with ESMTPS id W2; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdQmail    = "Received: (qmail 4242 invoked from network); 2 Dec 2026 10:00:02 -0000"
	rcvdSubmit   = "Received: from laptop (dsl.example.org [198.51.100.99]) (Authenticated sender: alice) by smtp.receiver.example (Postfix) with ESMTPSA id A1; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdLocal    = "Received: from ws1.receiver.example (ws1.receiver.example [10.1.1.1]) by mx.receiver.example (Postfix) with ESMTP id L1; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdExchOut  = "Received: from edge.receiver.example (10.0.0.9) by relay.example.org (198.51.100.1) with Microsoft SMTP Server id 15.2.1; Wed, 2 Dec 2026 10:00:01 +0000"
	rcvdMapi     = "Received: from EXCH01.receiver.example ([fe80::1c2d:3e4f:5a6b:7c8d]) by EXCH01.receiver.example ([fe80::1c2d:3e4f:5a6b:7c8d%12]) with mapi id 15.02.1544.004; Wed, 2 Dec 2026 10:00:03 +0000"
	returnPath   = "Return-Path: <a@example.net>"

	spfPass       = "Received-SPF: pass (mx.receiver.example: domain of example.net designates 203.0.113.5 as permitted sender) client-ip=203.0.113.5; envelope-from=\"a@example.net\"; helo=mail.example.net; receiver=mx.receiver.example; identity=mailfrom"
	spfSoftFail   = "Received-SPF: softfail (hub.receiver.example: test) client-ip=203.0.113.5; envelope-from=\"a@example.net\"; receiver=hub.receiver.example; identity=mailfrom"
	spfHELOPass   = "Received-SPF: pass (mx.receiver.example: mail.example.net) client-ip=198.51.100.66; helo=mail.example.net; identity=helo"
	spfSpoofed    = "Received-SPF: pass (mx.receiver.example: trust me) client-ip=198.51.100.66; envelope-from=\"a@example.net\"; identity=mailfrom"
	spfOtherFrom  = "Received-SPF: pass (x) client-ip=203.0.113.5; envelope-from=\"other@example.net\"; identity=mailfrom"
	spfOtherIP    = "Received-SPF: pass (x) client-ip=203.0.113.99; envelope-from=\"a@example.net\"; identity=mailfrom"
	spfLibspf2    = "Received-SPF: pass (mx.receiver.example: domain of a@example.net designates 203.0.113.5 as permitted sender) client-ip=203.0.113.5; envelope-from=a@example.net; helo=mail.example.net;"
	spfLibspf2Bad = "Received-SPF: pass (mx.receiver.example: domain of postmaster@mail.example.net designates 203.0.113.5 as permitted sender) client-ip=203.0.113.5; envelope-from=postmaster@mail.example.net; helo=mail.example.net;"
	spfBroken     = "Received-SPF: pass (unbalanced client-ip=203.0.113.5"
)

// header parses header lines, top first.
func header(t *testing.T, lines ...string) []Field {
	t.Helper()
	fields, err := ReadHeader(strings.NewReader(strings.Join(lines, "\r\n") + "\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

func TestAnalyzeTrustPath(t *testing.T) {
	t.Parallel()
	z := &spftest.Zone{}
	z.AddTXT("example.net", "v=spf1 ip4:203.0.113.0/24 -all")
	z.AddTXT("mail.example.net", "v=spf1 a:mail.example.net ip4:198.51.100.66 -all")
	internal := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.48/28")}
	type want struct {
		Border int
		Status BorderStatus
		Source Source
		Result string
		IP     string
		Used   int
	}
	tests := []struct {
		name   string
		fields []string
		newest bool
		want   want
	}{
		{"border is the top hop", []string{returnPath, rcvdBorder},
			false, want{0, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"internal hub", []string{returnPath, rcvdTop, rcvdHub, rcvdBorder},
			false, want{2, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"secondary MX", []string{returnPath, rcvdBackup, rcvdAtBackup},
			false, want{1, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"forged Received below the border", []string{returnPath, rcvdSpammer, rcvdForged, rcvdHub},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"spoofed Received-SPF from outside", []string{returnPath, rcvdSpammer, spfSpoofed},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"HELO result offered as MAIL FROM", []string{returnPath, spfHELOPass, rcvdSpammer},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"forwarder: its own address is checked", []string{returnPath, rcvdFwd, rcvdAtFwd},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.20", -1}},
		{"trusted Received-SPF reused", []string{returnPath, rcvdTop, rcvdHub, spfPass, rcvdBorder},
			false, want{2, BorderFound, SourceReceivedSPF, "pass", "203.0.113.5", 0}},
		{"oldest wins", []string{returnPath, spfSoftFail, rcvdTop, rcvdHub, spfPass, rcvdBorder},
			false, want{2, BorderFound, SourceReceivedSPF, "pass", "203.0.113.5", 1}},
		{"newest wins with Newest", []string{returnPath, spfSoftFail, rcvdTop, rcvdHub, spfPass, rcvdBorder},
			true, want{2, BorderFound, SourceReceivedSPF, "softfail", "203.0.113.5", 0}},
		{"envelope-from is not Return-Path", []string{returnPath, spfOtherFrom, rcvdBorder},
			false, want{0, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"client-ip is not the border's", []string{returnPath, spfOtherIP, rcvdBorder},
			false, want{0, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"libspf2 without identity, same sender", []string{returnPath, spfLibspf2, rcvdBorder},
			false, want{0, BorderFound, SourceReceivedSPF, "pass", "203.0.113.5", 0}},
		{"libspf2 without identity, other sender", []string{returnPath, spfLibspf2Bad, rcvdBorder},
			false, want{0, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"broken Received-SPF", []string{returnPath, spfBroken, rcvdBorder},
			false, want{0, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"Exchange hop on a link-local address", []string{returnPath, rcvdMapi, rcvdBorder},
			false, want{1, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"HELO name posing as authentication", []string{returnPath,
			"Received: from x(authenticated)(Authenticated sender: a) (unknown [198.51.100.66]) by mx.receiver.example (Postfix) with ESMTP id E1; Wed, 2 Dec 2026 10:00:01 +0000"},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"HELO name with a semicolon hides no address", []string{returnPath,
			"Received: from a; (unknown [198.51.100.66]) by mx.receiver.example (Postfix) with ESMTP id E2; Wed, 2 Dec 2026 10:00:01 +0000",
			rcvdHub, rcvdForged},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"MAIL FROM posing as authentication", []string{returnPath,
			"Received: from mail.example.net ([198.51.100.66]) by mx.receiver.example with esmtp (Exim 4.96) (envelope-from <\"x) (authenticated\"@example.net>) id E3; Wed, 02 Dec 2026 10:00:00 +0000"},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"Return-Path that came with the message", []string{rcvdSpammer, "Return-Path: <x@mail.example.net>"},
			false, want{0, BorderFound, SourceNone, "none", "", -1}},
		{"HELO name that is a keyword", []string{returnPath,
			"Received: from with (unknown [198.51.100.66]) by mx.receiver.example (Postfix) with ESMTP id E4; Wed, 2 Dec 2026 10:00:01 +0000",
			rcvdHub, rcvdForged},
			false, want{0, BorderFound, SourceCheck, "fail", "198.51.100.66", -1}},
		{"from clause without an address breaks the chain", []string{returnPath,
			"Received: from somewhere by mx.receiver.example (Postfix) with ESMTP id E5; Wed, 2 Dec 2026 10:00:01 +0000",
			rcvdHub, rcvdForged},
			false, want{-1, Broken, SourceNone, "none", "", -1}},
		{"qmail hop without client", []string{returnPath, rcvdQmail, rcvdAtBackup},
			false, want{1, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"all internal", []string{returnPath, rcvdHub, rcvdLocal},
			false, want{-1, AllInternal, SourceNone, "none", "", -1}},
		{"authenticated submission", []string{returnPath, rcvdHub, rcvdSubmit},
			false, want{-1, Submission, SourceNone, "none", "", -1}},
		{"chain broken by an unreadable field", []string{returnPath, "Received: from x (y", rcvdBorder},
			false, want{-1, Broken, SourceNone, "none", "", -1}},
		{"chain broken by a hop received outside", []string{returnPath, rcvdHub, rcvdExchOut, rcvdBorder},
			false, want{-1, Broken, SourceNone, "none", "", -1}},
		{"no Received field", []string{returnPath, "Subject: hi"},
			false, want{-1, NoReceived, SourceNone, "none", "", -1}},
		{"no envelope sender: sender recorded by the hop", []string{
			"Received: from mail.example.net ([203.0.113.5]) by mx.receiver.example with esmtps (Exim 4.96) (envelope-from <a@example.net>) id E1; Wed, 02 Dec 2026 10:00:00 +0000"},
			false, want{0, BorderFound, SourceCheck, "pass", "203.0.113.5", -1}},
		{"no envelope sender at all", []string{rcvdBorder},
			false, want{0, BorderFound, SourceNone, "none", "", -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			az := &Analyzer{Internal: internal, Newest: tt.newest, Checker: &spf.Checker{Resolver: z}}
			a := az.Analyze(context.Background(), header(t, tt.fields...))
			ip := ""
			if a.Outcome.ClientIP.IsValid() {
				ip = a.Outcome.ClientIP.String()
			}
			got := want{a.Border, a.Status, a.Source, a.Outcome.Result.String(), ip, a.Used}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Analyze mismatch (-want +got):\n%s", diff)
				for _, f := range a.ReceivedSPF {
					t.Logf("Received-SPF trusted=%v why=%q err=%v", f.Trusted, f.Why, f.Err)
				}
			}
		})
	}
}

func TestAnalyzeWhyNotTrusted(t *testing.T) {
	t.Parallel()
	a := (&Analyzer{Internal: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}).Analyze(context.Background(),
		header(t, returnPath, spfPass, rcvdHub, rcvdLocal))
	if len(a.ReceivedSPF) != 1 || a.ReceivedSPF[0].Trusted || a.ReceivedSPF[0].Why != "no border hop: all-internal" {
		t.Errorf("Received-SPF without a border: %+v; want not trusted, why %q", a.ReceivedSPF, "no border hop: all-internal")
	}
}

func TestAnalyzeNoChecker(t *testing.T) {
	t.Parallel()
	a := (&Analyzer{}).Analyze(context.Background(), header(t, returnPath, rcvdBorder))
	if a.Border != 0 || a.Source != SourceNone || a.Outcome.Result != spf.None {
		t.Errorf("without a Checker: border %d, source %s, result %s; want 0, none, none", a.Border, a.Source, a.Outcome.Result)
	}
}

func TestReadHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []Field
		err      error
	}{
		{"folded, mbox line, body ignored",
			"From a@example.net Wed Dec  2 10:00:00 2026\nReceived: from a\n\tby b; now\nSubject: x\n\nReceived: not a header\n",
			[]Field{{"Received", "from a by b; now"}, {"Subject", "x"}}, nil},
		{"header only, no blank line", "Return-Path: <>\r\nX: y", []Field{{"Return-Path", "<>"}, {"X", "y"}}, nil},
		{"not a field", "Received: a\r\nthis is not a field\r\n\r\n", nil, ErrSyntax},
		{"too many fields", strings.Repeat("X: y\r\n", MaxFields+1), nil, ErrTooLong},
		{"too many bytes", "X: " + strings.Repeat("y", MaxHeaderBytes) + "\r\n", nil, ErrTooLong},
		{"near the limit, then a long body", "X: " + strings.Repeat("y", MaxHeaderBytes-7) + "\r\n\r\n" + strings.Repeat("body\r\n", 10000),
			[]Field{{"X", strings.Repeat("y", MaxHeaderBytes-7)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadHeader(strings.NewReader(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("ReadHeader error %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadHeader mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
