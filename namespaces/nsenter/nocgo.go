//go:build !cgo

package nsenter

// Enabled tells whether this binary has the constructor of nsenter.c. It
// has not: it was built with CGO_ENABLED=0, and the go tool leaves C files
// out then. Everything but `exec` works; exec says so.
const Enabled = false
