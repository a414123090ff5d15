//go:build !cgo

package timerslack

// constructor tells whether timerslack.c is linked in: without cgo it is
// not, and a process keeps the slack it was started with.
const constructor = false
