//go:build !unix

package spf_test

import "time"

// processCPU returns the CPU time the process has used; ok is false where
// it cannot be read, as here.
func processCPU() (d time.Duration, ok bool) { return 0, false }
