//go:build !cgo

package frontdoor

// Enabled tells whether this binary has the constructor of frontdoor.c. It
// has not: it was built with CGO_ENABLED=0 (the go tool leaves C files out
// then), and minirun runs every command itself.
const Enabled = false
