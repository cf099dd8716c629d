//go:build race

package spf_test

// raceDetector reports a build with the race detector, under which
// sync.Pool drops items at random and allocation counts mean nothing.
const raceDetector = true
