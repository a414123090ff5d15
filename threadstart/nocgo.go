//go:build !cgo

package threadstart

// Kept tells whether the slot is held. Without cgo there is no C library,
// no malloc and no slot: the Go runtime starts its threads itself.
func Kept() bool { return false }
