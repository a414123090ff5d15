package affinity

import (
	"encoding/hex"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Env is where the front door leaves the set of CPUs a runc verb had
// before it pinned it (Encode's format).
const Env = "_MINIRUN_CPUS"

// release is the set the programs this process starts are to get; nil:
// the one they inherit.
var release *unix.CPUSet

// SetRelease records that this process runs pinned and that what it
// starts (other than init, which inherits the pin) gets set.
func SetRelease(set unix.CPUSet) { release = &set }

// ReleaseToAll records that the programs this process starts get every
// CPU their cpuset allows: init's, for the container.
func ReleaseToAll() { release = All() }

// All is the set of every CPU a cpu_set_t can name; sched_setaffinity(2)
// narrows it to the CPUs that exist and that the thread's cpuset allows.
func All() *unix.CPUSet {
	var set unix.CPUSet
	b := (*[unsafe.Sizeof(set)]byte)(unsafe.Pointer(&set))
	for i := range b {
		b[i] = 0xff
	}
	return &set
}

// Released runs fn, which starts or executes a program, on a thread with
// the release set: a new process gets the affinity of the thread that
// cloned it, and execve(2) keeps the calling thread's. Without a release
// set fn runs as it is.
func Released(fn func() error) error {
	if release == nil {
		return fn()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("read this thread's CPU affinity: %w", err)
	}
	if err := unix.SchedSetaffinity(0, release); err != nil {
		return fmt.Errorf("set the CPU affinity of the program about to start: %w", err)
	}
	err := fn()
	// Back to the pin for whatever runs on this thread next.
	_ = unix.SchedSetaffinity(0, &old)
	return err
}

// Encode writes set as hexadecimal, byte by byte in memory order: the
// format frontdoor.c writes into Env.
func Encode(set *unix.CPUSet) string {
	return hex.EncodeToString((*[unsafe.Sizeof(*set)]byte)(unsafe.Pointer(set))[:])
}

// Decode reads Encode's format. A shorter string leaves the remaining
// CPUs out; an empty set is an error (no thread could run).
func Decode(s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	b, err := hex.DecodeString(s)
	if err != nil || len(b) > int(unsafe.Sizeof(set)) {
		return set, fmt.Errorf("%s=%.40q: not a CPU set in hexadecimal", Env, s)
	}
	copy((*[unsafe.Sizeof(set)]byte)(unsafe.Pointer(&set))[:], b)
	if set.Count() == 0 {
		return set, fmt.Errorf("%s=%.40q: no CPU in the set", Env, s)
	}
	return set, nil
}
