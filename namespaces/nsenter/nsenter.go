//go:build cgo

package nsenter

// The import of "C" is what makes the go tool compile nsenter.c and link
// it into every binary that imports this package. The constructor in it
// needs nothing from Go, so the preamble (the comment right above the
// import, which cgo reads as C) is empty.

import "C"

// Enabled tells whether this binary has the constructor: it has, it was
// built with cgo.
const Enabled = true
