//go:build cgo

// The constructor is all there is (frontdoor.c); importing "C" makes cgo
// compile it into every binary that imports this package.

package frontdoor

import "C"

// Enabled tells whether this binary has the constructor: it has, it was
// built with cgo.
const Enabled = true
