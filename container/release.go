package container

import (
	"github.com/minirun/minirun/affinity"
	"github.com/minirun/minirun/timerslack"
)

// Released runs fn, which starts or executes a program of the user's (a
// hook, the container's program, minirun when the fast path hands a verb
// back), on a thread with the CPUs and the timer
// slack that program is to have instead of this process's own
// (affinity/doc.go, timerslack/doc.go).
func Released(fn func() error) error {
	return affinity.Released(func() error { return timerslack.Released(fn) })
}

// helperEnv is the environment init and exec's helper start with: marker
// (what the process is), GOMAXPROCS=1 (one processor: their Go runtime
// starts no threads for a second one), the caller's timer slack for
// their constructor (timerslack/doc.go), and what initProgram asks for.
// The container's program gets its own environment, none of this.
func helperEnv(marker string, progEnv []string) []string {
	env := append([]string{marker, "GOMAXPROCS=1"}, timerslack.ChildEnv()...)
	return append(env, progEnv...)
}
