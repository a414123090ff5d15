package timerslack

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Env is where the front door leaves the timer slack of the runc verb's
// caller (nanoseconds, decimal), and where the runtime passes it to init.
// timerslack.c raises the slack of a process started with it.
const Env = "_MINIRUN_SLACK"

// Raised is the slack timerslack.c gives such a process: 1 ms.
const Raised = 1_000_000

// release is the slack the programs this process starts are to get; 0:
// the one they inherit.
var release int

// parse reads Env's value by timerslack.c's rules: a decimal number of
// nanoseconds, positive, without sign or spaces.
func parse(s string) (int, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// TakeEnv takes Env out of the environment and records its value as the
// slack of what this process starts.
func TakeEnv() {
	s, ok := os.LookupEnv(Env)
	if !ok {
		return
	}
	os.Unsetenv(Env)
	if n, ok := parse(s); ok {
		release = n
	}
}

// ChildEnv is the environment entry that has a minirun process started
// by this one (init, exec's helper) raise its own slack and give the
// caller's value to the container: none if this process has no caller's
// value.
func ChildEnv() []string {
	if release == 0 {
		return nil
	}
	return []string{Env + "=" + strconv.Itoa(release)}
}

// Get reads the calling thread's timer slack (prctl PR_GET_TIMERSLACK).
func Get() (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_GET_TIMERSLACK, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Set sets the calling thread's timer slack. The kernel ignores it for
// real-time threads, whose slack is always 0.
func Set(ns int) error {
	if ns <= 0 {
		return fmt.Errorf("timer slack %d: must be positive (0 would mean the thread's default)", ns)
	}
	_, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_TIMERSLACK, uintptr(ns), 0)
	if e != 0 {
		return e
	}
	return nil
}

// Released runs fn, which starts or executes a program, on a thread with
// the caller's slack: a new process gets the slack of the thread that
// cloned it (and keeps it as its default, what a reset to 0 returns to),
// and execve(2) keeps the calling thread's. Without a recorded slack fn
// runs as it is.
func Released(fn func() error) error {
	if release == 0 {
		return fn()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := Get()
	if err != nil {
		return fmt.Errorf("read this thread's timer slack: %w", err)
	}
	if err := Set(release); err != nil {
		return fmt.Errorf("set the timer slack of the program about to start: %w", err)
	}
	err = fn()
	// Back to the raised slack for whatever runs on this thread next.
	_ = Set(old)
	return err
}
