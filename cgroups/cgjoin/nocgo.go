//go:build !cgo

package cgjoin

import "errors"

// Enabled tells whether this binary has the constructor of cgjoin.c. It has
// not: it was built with CGO_ENABLED=0 (the go tool leaves C files out
// then), and the runtime moves init into its cgroup itself.
const Enabled = false

// Err: without the constructor nothing was moved; an error if want > 0.
func Err(want int) error {
	if want > 0 {
		return errors.New("built without cgo: no constructor moved this process into its cgroup")
	}
	return nil
}
