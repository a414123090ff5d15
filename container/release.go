package container

import (
	"github.com/minirun/minirun/affinity"
	"github.com/minirun/minirun/timerslack"
)

// released runs fn, which starts or executes a program of the user's (a
// hook, the container's program), on a thread with the CPUs and the timer
// slack that program is to have instead of this process's own
// (affinity/doc.go, timerslack/doc.go).
func released(fn func() error) error {
	return affinity.Released(func() error { return timerslack.Released(fn) })
}
