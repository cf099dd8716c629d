package spf

// TraceHeaders returns the trace header fields that record the SPF checks
// of one SMTP transaction, to be written above the message's header once
// it is accepted: helo is the outcome of [Checker.CheckHELO] and mailFrom
// that of [Checker.Check], as given to [Policy.Verdict]; either may be
// nil where it was not checked. It is the one call that writes each
// identity once, where calling [AuthenticationResults] and
// [Outcome.ReceivedSPF] for both outcomes writes the HELO identity twice
// for a null sender (every bounce), whose MAIL FROM check is a check of
// the HELO name (RFC 7208 section 2.4).
//
// The fields come in the order to write them, top first, above the
// Received field the server adds (RFC 7208 section 9.1); each is a
// complete field, "Name: value" folded with CRLF and a tab, without a
// trailing CRLF (strings.Cut(field, ": ") splits it for an API that takes
// name and value apart, such as a milter's):
//
//   - One Authentication-Results field (RFC 8601) with one resinfo per
//     identity checked: smtp.mailfrom for the MAIL FROM check and
//     smtp.helo for the HELO check; a null sender's check is the
//     smtp.helo resinfo, and helo is then left out where it is a check of
//     the same name. A skipped check (Outcome.Skipped) gives no resinfo,
//     as AuthenticationResults writes it.
//   - The Received-SPF field (RFC 7208 section 9.1) of mailFrom, which
//     for a null sender has identity=helo and
//     envelope-from=postmaster@<HELO>.
//   - The Received-SPF field of helo only where the HELO check decided
//     something the MAIL FROM check does not say: where mailFrom is nil
//     (a definitive HELO result lets a receiver skip the MAIL FROM check,
//     RFC 7208 sections 2.3 and 2.4), or where the HELO result is fail or
//     softfail, which a receiver may act on whatever the MAIL FROM result
//     (a Policy with HELO set to RejectNever, or ReportOnly, accepts such
//     a message). A HELO pass, neutral, none or error beside a MAIL FROM
//     check is recorded in Authentication-Results only, so that a reader
//     of Received-SPF (a DMARC verifier wants identity=mailfrom) finds
//     the MAIL FROM result; a skipped HELO check is not recorded beside a
//     MAIL FROM check, and a null sender's HELO check never twice.
//
// authservID is as for AuthenticationResults: usually the receiver's host
// name; if empty, the Receiver of the outcomes. TraceHeaders returns nil
// when both outcomes are nil. The fields are as safe as those of
// AuthenticationResults and ReceivedSPF, whatever the client or DNS sent.
func TraceHeaders(authservID string, helo, mailFrom *Outcome) []string {
	if helo == nil && mailFrom == nil {
		return nil
	}
	if sameHELOCheck(helo, mailFrom) {
		helo = nil
	}
	fields := []string{AuthenticationResults(authservID, mailFrom, helo)} // nil outcomes are skipped
	if mailFrom != nil {
		fields = append(fields, mailFrom.ReceivedSPF())
	}
	if helo != nil && heloDecided(helo, mailFrom) {
		fields = append(fields, helo.ReceivedSPF())
	}
	return fields
}

// sameHELOCheck reports whether mailFrom is the check of a null sender
// (the HELO identity, RFC 7208 section 2.4) for the name helo checked, so
// that both record the same identity and helo adds nothing.
func sameHELOCheck(helo, mailFrom *Outcome) bool {
	if helo == nil || mailFrom == nil || mailFrom.Identity != IdentityHELO {
		return false
	}
	if helo.Domain != "" || mailFrom.Domain != "" {
		return helo.Domain == mailFrom.Domain
	}
	return helo.HELO == mailFrom.HELO // names that are no domain, as given
}

// heloDecided reports whether the HELO check gets a Received-SPF field of
// its own beside that of mailFrom: see TraceHeaders.
func heloDecided(helo, mailFrom *Outcome) bool {
	if mailFrom == nil {
		return true
	}
	if helo.Skipped != nil {
		return false
	}
	return helo.Result == Fail || helo.Result == SoftFail
}
