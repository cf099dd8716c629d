//go:build !race

package spf_test

// raceDetector reports a build with the race detector (see
// allocs_race_test.go).
const raceDetector = false
