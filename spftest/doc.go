// Package spftest provides what tests of SPF handling need, ours and those
// of mail servers that use package spf: a reader for test suites in the
// openspf YAML format (the format of the RFC 7208 conformance suite), and
// zones built from them, so that tests run offline.
package spftest
