//go:build cgo

package timerslack

// Importing "C" makes the go tool compile timerslack.c into every binary
// that imports this package; the constructor needs nothing from Go.

import "C"

// constructor tells whether timerslack.c is linked in.
const constructor = true
