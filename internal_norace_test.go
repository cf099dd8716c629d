//go:build !race

package spf

// raceBuild reports a build with the race detector, for the tests of
// package spf (allocs_norace_test.go has the same for package spf_test).
const raceBuild = false
