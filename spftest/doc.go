// Package spftest provides what tests of SPF handling need, ours and those
// of mail servers that use package spf, so that they run offline, as
// net/http/httptest does for HTTP: an in-memory resolver ([Zone], built by
// Go calls or from zone-file text with [ParseZone]); a loopback DNS server
// ([Server], [NewServer]) that answers from a Zone over
// real UDP and TCP, with fault injection (timeouts, SERVFAIL, truncation,
// delays) and a query log; and a reader for test suites in the openspf
// YAML format (the format of the RFC 7208 conformance suite), with zones
// built from them. The reader also takes our extension of that format for
// the receiver's settings of a test ([Receiver]), which the openspf format
// cannot express.
package spftest
