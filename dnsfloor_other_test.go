//go:build !linux

package spf_test

import "testing"

// newSocketFloor is the "new-socket" case of BenchmarkUDPRoundTripFloor,
// measured on Linux only.
func newSocketFloor(b *testing.B, parallel bool) {
	b.Skip("measured on Linux only")
}
