// Package spftest provides what tests of SPF handling need, ours and those
// of mail servers that use package spf, so that they run offline: a
// loopback DNS server ([Server], [NewServer]) that answers from a zone over
// real UDP and TCP, with fault injection (timeouts, SERVFAIL, truncation,
// delays) and a query log; and a reader for test suites in the openspf
// YAML format (the format of the RFC 7208 conformance suite), with zones
// built from them. The reader also takes our extension of that format for
// the receiver's settings of a test ([Receiver]), which the openspf format
// cannot express.
package spftest
