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

// maskBytes is the size of the masks read and written here: 8192 CPUs,
// the most a Linux kernel can be built for (NR_CPUS). A cpu_set_t holds
// 1024, and an all-ones cpu_set_t would leave a bigger machine's CPUs
// 1024 and up out (runc issue 5023).
const maskBytes = 8192 / 8

// release is the mask the programs this process starts are to get, as
// the bytes sched_setaffinity(2) takes; nil: the one they inherit.
var release []byte

// SetRelease records that this process runs pinned and that what it
// starts (other than init, which inherits the pin) gets set.
func SetRelease(set unix.CPUSet) {
	release = append([]byte(nil), bytesOf(&set)...)
}

// ReleaseToAll records that the programs this process starts get every
// CPU their cpuset allows: init's and exec's helper's, for the container.
func ReleaseToAll() {
	release = make([]byte, maskBytes)
	for i := range release {
		release[i] = 0xff
	}
}

func bytesOf(set *unix.CPUSet) []byte {
	return (*[unsafe.Sizeof(*set)]byte)(unsafe.Pointer(set))[:]
}

// getThread reads the calling thread's mask; setThread writes it. The
// kernel narrows a mask it is given to the CPUs that exist and that the
// thread's cpuset allows.
func getThread() ([]byte, error) {
	b := make([]byte, maskBytes)
	n, _, e := unix.RawSyscall(unix.SYS_SCHED_GETAFFINITY, 0, uintptr(len(b)), uintptr(unsafe.Pointer(&b[0])))
	if e != 0 {
		return nil, e
	}
	return b[:n], nil
}

func setThread(mask []byte) error {
	_, _, e := unix.RawSyscall(unix.SYS_SCHED_SETAFFINITY, 0, uintptr(len(mask)), uintptr(unsafe.Pointer(&mask[0])))
	if e != 0 {
		return e
	}
	return nil
}

// Released runs fn, which starts or executes a program, on a thread with
// the release mask: a new process gets the affinity of the thread that
// cloned it, and execve(2) keeps the calling thread's. Without a release
// mask fn runs as it is.
func Released(fn func() error) error {
	if release == nil {
		return fn()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := getThread()
	if err != nil {
		return fmt.Errorf("read this thread's CPU affinity: %w", err)
	}
	if err := setThread(release); err != nil {
		return fmt.Errorf("set the CPU affinity of the program about to start: %w", err)
	}
	err = fn()
	// Back to the pin for whatever runs on this thread next.
	_ = setThread(old)
	return err
}

// Encode writes set as hexadecimal, byte by byte in memory order: the
// format frontdoor.c writes into Env.
func Encode(set *unix.CPUSet) string {
	return hex.EncodeToString(bytesOf(set))
}

// Decode reads Encode's format. A shorter string leaves the remaining
// CPUs out; an empty set is an error (no thread could run).
func Decode(s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	b, err := hex.DecodeString(s)
	if err != nil || len(b) > int(unsafe.Sizeof(set)) {
		return set, fmt.Errorf("%s=%.40q: not a CPU set in hexadecimal", Env, s)
	}
	copy(bytesOf(&set), b)
	if set.Count() == 0 {
		return set, fmt.Errorf("%s=%.40q: no CPU in the set", Env, s)
	}
	return set, nil
}
