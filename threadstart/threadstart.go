//go:build cgo

package threadstart

// Importing "C" makes the go tool compile threadstart.c into every binary
// that imports this package; the constructor needs nothing from Go.

// extern void *volatile minirun_threadstart_slot;
import "C"

// Kept tells whether the slot is held: the constructor ran and malloc
// succeeded.
func Kept() bool { return C.minirun_threadstart_slot != nil }
