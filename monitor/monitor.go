//go:build cgo

package monitor

// The import of "C" is what makes the go tool compile monitor.c and link
// it into every binary that imports this package. The constructor in it
// needs nothing from Go.

import "C"

// Enabled tells whether this binary has the C monitor: it has, it was
// built with cgo.
const Enabled = true
