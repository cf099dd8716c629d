// Package swar tests the 8 bytes of a word at once ("SIMD within a
// register"), for the scans that read every byte of a check's input:
// record terms, the sender, names. Each test returns a mask that is
// nonzero exactly when some byte of the word passes it; which bits are
// set says nothing more (a borrow may set the high bit of a byte above
// the one that passed).
package swar

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// Load returns the first 8 bytes of s, the first in the low byte; the
// compiler makes it one load. s must hold 8 bytes.
func Load(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// NonASCII is nonzero when a byte of w is 0x80 or more.
func NonASCII(w uint64) uint64 { return w & highs }

// Below is nonzero when a byte of w is less than n, n at most 128:
// w-ones*n borrows in, and sets the high bit of, a byte below n, and &^w
// drops the bytes whose high bit was set already.
func Below(w uint64, n byte) uint64 { return (w - ones*uint64(n)) &^ w & highs }

// Equal is nonzero when a byte of w is c: w^(ones*c) has a zero byte
// there.
func Equal(w uint64, c byte) uint64 { return Below(w^(ones*uint64(c)), 1) }

// Upper is nonzero when a byte of w is an ASCII upper-case letter. With
// the high bits cleared (v), adding 0x80-'A' sets a byte's high bit
// exactly when it is 'A' or more, and adding 0x80-'Z'-1 exactly when it
// is more than 'Z'; no sum carries into the next byte. A byte whose high
// bit w has is no letter.
func Upper(w uint64) uint64 {
	v := w &^ highs
	geA := v + ones*(0x80-'A')
	gtZ := v + ones*(0x80-'Z'-1)
	return geA &^ gtZ &^ w & highs
}
