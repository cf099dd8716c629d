package received

import (
	"context"
	"strings"
	"testing"
)

func BenchmarkParseReceived(b *testing.B) {
	field := "Received: from mail.example.net (mail.example.net [203.0.113.5])\r\n" +
		"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n" +
		"\tby mx.receiver.example (Postfix) with ESMTPS id 4Xyz1B2c3dz9sTm\r\n" +
		"\tfor <bob@receiver.example>; Wed,  2 Dec 2026 10:00:00 +0000 (UTC)"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReceived(field); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReceivedSPF(b *testing.B) {
	field := "Received-SPF: pass (mx.receiver.example: domain of example.net designates\r\n" +
		"\t203.0.113.5 as permitted sender) client-ip=203.0.113.5;\r\n" +
		"\tenvelope-from=\"a@example.net\"; helo=mail.example.net;\r\n" +
		"\treceiver=mx.receiver.example; identity=mailfrom; mechanism=ip4:203.0.113.0/24"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseReceivedSPF(field); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostileField parses a field of MaxFieldLen bytes of comments
// nested to the limit, the worst the parser accepts.
func BenchmarkHostileField(b *testing.B) {
	unit := "from a " + strings.Repeat("(", maxDepth) + "[192.0.2.1] helo=x" + strings.Repeat(")", maxDepth) + " "
	field := "Received: " + strings.Repeat(unit, (MaxFieldLen-20)/len(unit)) + "; now"
	b.ReportAllocs()
	b.SetBytes(int64(len(field)))
	for b.Loop() {
		if _, err := ParseReceived(field); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyze reads and analyzes a header of four hops and two
// Received-SPF fields, without a check.
func BenchmarkAnalyze(b *testing.B) {
	msg := strings.Join([]string{returnPath, spfSoftFail, rcvdTop, rcvdHub, spfPass, rcvdBorder, rcvdForged}, "\r\n") + "\r\n\r\nbody\r\n"
	az := &Analyzer{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := az.AnalyzeMessage(context.Background(), strings.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostileParens parses a field whose HELO name is 500
// unbalanced "(", each of which costs a scan to the end of the field.
func BenchmarkHostileParens(b *testing.B) {
	field := "Received: from x" + strings.Repeat("(", 500) + " (unknown [198.51.100.66]) by mx.receiver.example" +
		strings.Repeat(" (c)", (MaxFieldLen-700)/4) + "; now"
	b.ReportAllocs()
	b.SetBytes(int64(len(field)))
	for b.Loop() {
		if _, err := ParseReceived(field); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostileGlued parses a field whose HELO name is followed by
// "()" glued to it up to MaxFieldLen, each one a comment merged into the
// word (quadratic while each was appended as it came: 5 ms and 18 MB a
// field).
func BenchmarkHostileGlued(b *testing.B) {
	field := "Received: from x" + strings.Repeat("()", (MaxFieldLen-100)/2) + " by mx.receiver.example; now"
	b.ReportAllocs()
	b.SetBytes(int64(len(field)))
	for b.Loop() {
		if _, err := ParseReceived(field); err != nil {
			b.Fatal(err)
		}
	}
}
