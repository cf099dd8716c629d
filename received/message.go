package received

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/textproto"
	"strings"

	"github.com/spf-go/spf"
)

// Limits on a header section. [ReadHeader] stops with [ErrTooLong] past
// MaxHeaderBytes or MaxFields; [Analyzer.Analyze] reads at most MaxHops
// Received fields and MaxHops Received-SPF fields, from the top, and
// ignores the rest (the border is near the top).
const (
	MaxHeaderBytes = 1 << 20
	MaxFields      = 2000
	MaxHops        = 100
)

// A Field is one header field: its name as written and its value,
// unfolded, without leading white space.
type Field struct {
	// Name is the field name as written.
	Name string
	// Value is the field body, unfolded, without leading white space.
	Value string
}

// ReadHeader reads the header section of a message (RFC 5322 section
// 2.2) from r, up to the blank line that ends it or the end of input,
// and returns its fields in order, top first. An mbox "From " line
// before it is skipped. A line that is neither a field nor a
// continuation is an error wrapping [ErrSyntax]; a section longer than
// MaxHeaderBytes or with more than MaxFields fields is an error wrapping
// [ErrTooLong].
func ReadHeader(r io.Reader) ([]Field, error) {
	lr := &io.LimitedReader{R: r, N: MaxHeaderBytes + 1}
	br := bufio.NewReader(lr)
	if b, err := br.Peek(5); err == nil && string(b) == "From " {
		if _, err := br.ReadString('\n'); err != nil {
			return nil, nil
		}
	}
	tr := textproto.NewReader(br)
	var fields []Field
	for {
		line, err := tr.ReadContinuedLine()
		if line == "" && err == nil {
			return fields, nil // the blank line that ends the header
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: header section over %d bytes", ErrTooLong, MaxHeaderBytes)
		}
		if line == "" {
			if errors.Is(err, io.EOF) {
				return fields, nil
			}
			return nil, fmt.Errorf("received: reading header: %w", err)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || fieldNameEnd(line) != len(name) {
			return nil, fmt.Errorf("%w: header line %.40q is not a field", ErrSyntax, line)
		}
		if len(fields) == MaxFields {
			return nil, fmt.Errorf("%w: more than %d header fields", ErrTooLong, MaxFields)
		}
		fields = append(fields, Field{name, strings.TrimLeft(value, " \t")})
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fields, nil
			}
			return nil, fmt.Errorf("received: reading header: %w", err)
		}
	}
}

// A BorderStatus says whether a chain of Received fields has a border
// hop, or why not.
type BorderStatus uint8

// The border statuses.
const (
	// BorderFound: a hop's client is outside while its receiving side
	// is inside the receiver's network.
	BorderFound BorderStatus = iota
	// NoReceived: the message has no Received field.
	NoReceived
	// AllInternal: every client is inside; the message did not cross
	// into the network (it was sent from inside).
	AllInternal
	// Broken: the chain was broken before a border was found, by a
	// field that cannot be read or a hop whose receiving side is
	// recorded with a public address outside the internal networks
	// (Exchange's "by host (ip)"); no field below it can be trusted.
	Broken
	// Submission: the first outside client authenticated: the message
	// is a submission by one of the receiver's own users, not mail from
	// outside, and SPF does not apply.
	Submission
)

var borderStatusNames = [...]string{"found", "no-received", "all-internal", "broken", "submission"}

// String returns "found", "no-received", "all-internal", "broken" or
// "submission".
func (s BorderStatus) String() string {
	if int(s) < len(borderStatusNames) {
		return borderStatusNames[s]
	}
	return fmt.Sprintf("BorderStatus(%d)", uint8(s))
}

// A Source says where the SPF result of a message came from.
type Source string

// The sources of a result.
const (
	SourceReceivedSPF Source = "received-spf" // a trusted Received-SPF field
	SourceCheck       Source = "check"        // a check of the border hop
	SourceNone        Source = "none"         // no result
)

// A HopField is one Received field of a message, parsed.
type HopField struct {
	Hop
	// Internal reports that the client's address is inside the
	// receiver's network.
	Internal bool
	// Err is why the field could not be read; Hop is then empty.
	Err error
	pos int // index among all header fields
}

// An SPFField is one Received-SPF field of a message, parsed, and
// whether it was trusted.
type SPFField struct {
	ReceivedSPF
	// Trusted reports that the field qualifies as the message's SPF
	// result.
	Trusted bool
	// Why says why the field does not qualify, where it does not. It
	// may quote the field's identity as written: escape it as the
	// field's own strings.
	Why string
	// Err is why the field could not be read.
	Err error
	pos int
}

// An Analyzer finds the SPF result of a message behind the border: from
// the Received fields it finds the hop that crossed into the receiver's
// network, then it reuses a Received-SPF field added inside the network
// or checks SPF for that hop. The zero Analyzer treats only loopback as
// internal and makes no check.
type Analyzer struct {
	// Internal are the receiver's networks: its own MTAs, hubs,
	// secondary MXs and filters. Loopback and link-local addresses
	// (which no host beyond the link can use; Exchange records them for
	// its own hops) are always internal.
	Internal []netip.Prefix
	// Checker checks the border hop when no Received-SPF field is
	// trusted; if nil, no check is made (and no DNS query).
	Checker *spf.Checker
	// Newest makes the newest qualifying Received-SPF field (nearest the
	// top) win; by default the oldest does, the one added nearest the
	// border.
	Newest bool
}

// An Analysis is what an [Analyzer] found in a message.
type Analysis struct {
	// Hops has one entry per Received field (at most MaxHops), top first.
	Hops []HopField
	// Border is the index in Hops of the border hop, or -1.
	Border int
	// Status says whether a border hop was found, or why not.
	Status BorderStatus
	// ReceivedSPF has one entry per Received-SPF field (at most
	// MaxHops), top first.
	ReceivedSPF []SPFField
	// Used is the index in ReceivedSPF of the field whose result was
	// reused, or -1.
	Used int
	// EnvelopeSender is the message's envelope sender ("" for the null
	// sender "<>"): from the top Return-Path field when it is above the
	// border Received field (added inside, at delivery), else as the
	// border hop records it (Exim's envelope-from); a Return-Path below
	// the border came with the message and is ignored. Unset without a
	// border hop.
	EnvelopeSender string
	// SenderKnown reports that an envelope sender was found (see
	// EnvelopeSender); unset without a border hop.
	SenderKnown bool
	// Source says where Outcome came from.
	Source Source
	// Outcome is the message's SPF result. With SourceReceivedSPF, it
	// holds what the field says (Result, Identity, ClientIP, HELO,
	// Sender, Domain, Mechanism, Receiver); with SourceCheck it is the
	// outcome of the check; with SourceNone, it is the zero Outcome
	// (result none).
	Outcome spf.Outcome
	// Err is the error of the check, with SourceCheck.
	Err error
}

// BorderHop returns the border hop, or false when there is none.
func (a *Analysis) BorderHop() (Hop, bool) {
	if a.Border < 0 {
		return Hop{}, false
	}
	return a.Hops[a.Border].Hop, true
}

// AnalyzeMessage reads the header section of a message from r (see
// [ReadHeader]) and analyzes it.
func (az *Analyzer) AnalyzeMessage(ctx context.Context, r io.Reader) (*Analysis, error) {
	fields, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	return az.Analyze(ctx, fields), nil
}

// Analyze finds the SPF result of the message whose header fields are
// given, top first.
//
// The border hop is the first Received field from the top whose client
// is outside the internal networks: the top field was added by the
// receiver's own last host, and each field below a hop whose client is
// inside was added by that internal client. A field with no client
// address (qmail's "invoked from network", a local pickup) is taken as
// a transfer within the host that wrote it; one with a from clause but
// no address breaks the chain. See [BorderStatus] for when there is no
// border.
//
// A Received-SPF field is trusted only when it is above the border
// Received field (so added inside the network), states a MAIL FROM
// result (identity "mailfrom"; a HELO result never stands for it,
// CVE-2019-20790), its envelope-from matches the envelope sender
// (Return-Path) and its client-ip the border hop's address where both
// are known. A field without identity key is taken as a MAIL FROM result
// only when its envelope-from equals the message's non-null envelope
// sender. The oldest qualifying field wins, or the newest with Newest.
//
// Without a trusted field, the border hop is checked with the Checker
// for its IP, HELO name and the envelope sender (see EnvelopeSender in
// [Analysis]); with no Checker or no known sender there is no result
// (SourceNone).
func (az *Analyzer) Analyze(ctx context.Context, fields []Field) *Analysis {
	a := &Analysis{Border: -1, Used: -1, Source: SourceNone}
	returnPath, sender := -1, ""
	for i, f := range fields {
		switch {
		case strings.EqualFold(f.Name, "Received") && len(a.Hops) < MaxHops:
			h, err := ParseReceived(f.Value)
			a.Hops = append(a.Hops, HopField{Hop: h, Internal: az.internal(h.IP), Err: err, pos: i})
		case strings.EqualFold(f.Name, "Received-SPF") && len(a.ReceivedSPF) < MaxHops:
			r, err := ParseReceivedSPF(f.Value)
			a.ReceivedSPF = append(a.ReceivedSPF, SPFField{ReceivedSPF: r, Err: err, pos: i})
		case strings.EqualFold(f.Name, "Return-Path") && returnPath < 0:
			returnPath, sender = i, mailbox(f.Value)
		}
	}
	a.Border, a.Status = az.border(a.Hops)
	var h HopField
	if a.Border >= 0 {
		h = a.Hops[a.Border]
		switch {
		case returnPath >= 0 && returnPath < h.pos:
			a.EnvelopeSender, a.SenderKnown = sender, true
		case h.EnvelopeFrom != "":
			a.EnvelopeSender, a.SenderKnown = h.EnvelopeFrom, true
		}
	}
	az.trust(a)
	if a.Source == SourceNone && a.Border >= 0 && az.Checker != nil && a.SenderKnown {
		a.Outcome, a.Err = az.Checker.Check(ctx, h.IP, h.HELO, a.EnvelopeSender)
		a.Source = SourceCheck
	}
	return a
}

// internal reports whether ip is loopback, link-local or in the
// internal networks.
func (az *Analyzer) internal(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range az.Internal {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// outside reports whether a receiving host's recorded address is
// certainly not the receiver's: a public address outside the internal
// networks. Private, link-local and unknown addresses are not taken as
// outside (Exchange records link-local addresses of its own hosts).
func (az *Analyzer) outside(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() && !az.internal(ip)
}

// border walks the hops from the top; see Analyze.
func (az *Analyzer) border(hops []HopField) (int, BorderStatus) {
	if len(hops) == 0 {
		return -1, NoReceived
	}
	for i, h := range hops {
		switch {
		case h.Err != nil:
			return -1, Broken
		case i > 0 && az.outside(h.ByIP):
			// Recorded as received by a host outside: not ours.
			return -1, Broken
		case !h.IP.IsValid() && (h.HELO != "" || h.RDNS != ""):
			// A from clause without the client's address: the client
			// may have hidden it, and the fields below are its own.
			return -1, Broken
		case !h.IP.IsValid() || h.Internal:
			continue
		case h.Authenticated():
			return -1, Submission
		}
		return i, BorderFound
	}
	return -1, AllInternal
}

// trust marks the Received-SPF fields and reuses the chosen one.
func (az *Analyzer) trust(a *Analysis) {
	var borderHop HopField
	if a.Border >= 0 {
		borderHop = a.Hops[a.Border]
	}
	for i := range a.ReceivedSPF {
		f := &a.ReceivedSPF[i]
		f.Why = az.whyNot(a, f, borderHop)
		f.Trusted = f.Why == ""
	}
	pick := -1
	for i := range a.ReceivedSPF {
		if a.ReceivedSPF[i].Trusted {
			pick = i
			if az.Newest {
				break
			}
		}
	}
	if pick < 0 {
		return
	}
	a.Used, a.Source = pick, SourceReceivedSPF
	f := &a.ReceivedSPF[pick]
	out := spf.Outcome{
		Result:    f.Result,
		Identity:  spf.IdentityMailFrom,
		ClientIP:  f.ClientIP,
		HELO:      f.HELO,
		Sender:    f.EnvelopeFrom,
		Mechanism: f.Mechanism,
		Receiver:  f.Receiver,
	}
	if !out.ClientIP.IsValid() {
		out.ClientIP = borderHop.IP
	}
	if out.HELO == "" {
		out.HELO = borderHop.HELO
	}
	if out.Sender == "" {
		out.Sender = a.EnvelopeSender
	}
	if at := strings.LastIndexByte(out.Sender, '@'); at >= 0 {
		out.Domain = strings.ToLower(strings.TrimSuffix(out.Sender[at+1:], "."))
	}
	a.Outcome = out
}

// whyNot returns why a Received-SPF field is not trusted, or "".
func (az *Analyzer) whyNot(a *Analysis, f *SPFField, border HopField) string {
	switch {
	case f.Err != nil:
		return "cannot be read"
	case a.Border < 0:
		return "no border hop: " + a.Status.String()
	case f.pos > border.pos:
		return "below the border hop: may come from outside"
	case f.Identity == "" && !(f.EnvelopeFrom != "" && a.SenderKnown && a.EnvelopeSender != "" &&
		strings.EqualFold(f.EnvelopeFrom, a.EnvelopeSender)):
		return "no identity, and its envelope-from is not the envelope sender"
	case f.Identity != "" && !f.MailFrom():
		return "not a MAIL FROM result (identity " + f.Identity + ")"
	case f.EnvelopeFrom != "" && a.SenderKnown && !strings.EqualFold(f.EnvelopeFrom, a.EnvelopeSender):
		return "envelope-from is not the envelope sender"
	case f.ClientIP.IsValid() && border.IP.IsValid() && f.ClientIP != border.IP:
		return "client-ip is not the border hop's address"
	}
	return ""
}
