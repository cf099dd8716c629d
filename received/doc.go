// Package received finds the SPF result of a message behind the border:
// where a spam filter, a delivery agent or a mailbox rule sees a message
// and not the SMTP session, it reads the message's Received chain to find
// the hop that crossed into the receiver's network, and either reuses a
// Received-SPF field that the receiver's own MTA added at that hop or
// checks SPF (RFC 7208) for it with a [spf.Checker].
//
// Checking anywhere but at the border checks the receiver's own relay (an
// internal hub, a secondary MX) instead of the host that really sent; the
// Received fields and Received-SPF fields below the border were written by
// whoever sent the message and prove nothing. The package is apart from
// package spf, as net/http/httputil is from net/http: a program that only
// checks SPF in the SMTP session compiles none of it.
//
// The parts:
//
//   - [ParseReceived] reduces a Received field (RFC 5321 section 4.4) to
//     a [Hop]: the client's IP address, reverse DNS name and HELO name, the
//     receiving host, the envelope sender, queue id and protocol where
//     recorded, and whether the client authenticated.
//   - [ParseReceivedSPF] reads a Received-SPF field (RFC 7208 section 9.1)
//     as this module's writer, pyspf, Mail::SPF, libspf2 and the Postfix
//     policy servers write it.
//   - [ReadHeader] reads a message's header section, in order.
//   - [Analyzer] finds the border hop, decides which Received-SPF field to
//     trust, and gives the message's result with where it came from.
//
// Where it departs from or interprets the standards:
//
//   - The top Received field is taken as written by the receiver's own
//     last host: give Analyze the header as the receiver stored it.
//   - A Received field with no from clause and no client address
//     (qmail's "invoked from network", a local pickup) is a transfer
//     inside the host that wrote it, not a hop across the border; one with
//     a from clause but no address breaks the chain ([Broken]).
//   - The first outside client that authenticated ends the walk with
//     [Submission]: the message is a submission by the receiver's own user.
//   - A Received-SPF field without an identity key (libspf2, older
//     writers) counts as a MAIL FROM result only when its envelope-from is
//     the message's non-null envelope sender; a HELO result never stands
//     for the MAIL FROM result (CVE-2019-20790).
//   - Text the client chose (its HELO name, MAIL FROM and RCPT TO) is
//     written into the MTA's own Received field, so the parser departs
//     from RFC 5322 where a client could otherwise steer it: only the last
//     ";" starts the date, the first word after from is the HELO name
//     even when it is a keyword (EHLO "with"), a comment glued to a word
//     ("x(authenticated)")
//     and a stray or unbalanced parenthesis are part of the word, and an
//     angle address inside a comment is skipped whole. A hop that still
//     cannot be read breaks the chain ([Broken]) rather than being
//     skipped.
//   - Position is what proves that a Received-SPF field was added
//     inside: one an MTA appends at the end of the header (Exim's
//     add_header without ":at_start:") is below the border and is not
//     reused; the border hop is then checked instead.
//   - Addresses are compared ignoring case, local part included.
//   - Reverse DNS names are kept as recorded but for a trailing dot and
//     the words MTAs write for none ("unknown").
//
// Limits on hostile input: a field over [MaxFieldLen] bytes is rejected,
// comments may nest 32 deep, a field may hold 512 unbalanced "(" glued to
// words, a header section may hold [MaxHeaderBytes] bytes and [MaxFields]
// fields, and at most [MaxHops] Received and MaxHops Received-SPF fields
// are read. Parsing a field is linear in its length but for the
// unbalanced "(" (each a scan to the end of the field): a few
// milliseconds for the worst field.
//
// Strings taken from header fields are as written, apart from unfolding:
// escape them before writing them to a terminal, a log or HTML.
package received
