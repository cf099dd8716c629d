//go:build race

package spf_test

// raceEnabled is true when the tests run under the race detector, which
// makes them several times slower: long tests run a smaller count.
const raceEnabled = true
