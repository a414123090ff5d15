package container

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Which program a container's init and exec's helper run before they
// execve the container's own program.
//
// minirun's own binary can be that program (main() dispatches on IsInit
// and IsExecInit), but it carries the whole command line, the image store,
// the registry client and TLS, the network engine. A Go program starts more
// slowly the more packages it links: every package's init runs, and every
// page fault brings in another window of a larger binary. cmd/minirun-init
// is this package linked alone (about a quarter of the size): measured on
// `minirun run --bundle` of /bin/true, ~1 ms less CPU and ~1 ms less wall
// per container start (docs/PERFORMANCE.md). It is also what `run --init`
// bind-mounts as the container's PID 1, where a smaller program means less
// memory for the container's whole life.
//
// The runtime uses it when it lies next to the running binary (make build
// and make install put it there) and both carry a build stamp: the Makefile
// sets BuildStamp (-ldflags -X) in both to a hash of the sources they were
// built from. The runtime passes its stamp to the helper, which refuses to
// run when its own differs, saying so: a minirun-init from another build
// could read the configuration differently. A binary built without a stamp
// (a plain `go build ./cmd/minirun`) always runs its own init.

// BuildStamp identifies the sources a binary was built from; the Makefile
// sets it in minirun and minirun-init alike, "" otherwise.
var BuildStamp string

// HelperName is the file name of the helper, next to minirun.
const HelperName = "minirun-init"

// StampEnv carries the runtime's BuildStamp to the helper.
const StampEnv = "_MINIRUN_INIT_STAMP"

// helperPath is the helper next to this binary, if this binary has a stamp
// and the helper is a regular file there; "" otherwise.
var helperPath = sync.OnceValue(func() string {
	if BuildStamp == "" {
		return ""
	}
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(self), HelperName)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || filepath.Clean(p) == filepath.Clean(self) {
		return ""
	}
	return p
})

// initProgram is the program init and exec's helper are started from:
// minirun-init when it can be used, else this binary again.
func initProgram() (path string, env []string) {
	if p := helperPath(); p != "" {
		return p, []string{StampEnv + "=" + BuildStamp}
	}
	return "/proc/self/exe", nil
}

// InitBinary is the file `run --init` bind-mounts as /sbin/minirun-init:
// the helper when there is one, else this binary (both run the reaper,
// namespaces.Reap, under that name).
func InitBinary() (string, error) {
	if p := helperPath(); p != "" {
		return p, nil
	}
	return os.Executable()
}

// CheckStamp is the first thing the helper does as init or exec's helper:
// it stops, with what to do, when the runtime that started it comes from
// other sources than itself. From minirun's own binary (no stamp passed)
// it does nothing.
func CheckStamp() {
	want, ok := os.LookupEnv(StampEnv)
	if !ok {
		return
	}
	os.Unsetenv(StampEnv)
	if want != BuildStamp {
		exe, _ := os.Executable()
		fmt.Fprintf(os.Stderr, "minirun: %s (%s) was built from other sources than the minirun that started it (stamp %q, minirun's %q): install both from one build (make install, or make build for bin/)\n", HelperName, exe, BuildStamp, want)
		os.Exit(125)
	}
}

// HelperMain is where main() starts in a process minirun started to be a
// container's init or exec's helper: it does that job and never returns.
// In any other process it returns at once.
func HelperMain() {
	switch {
	case IsInit():
		Init() // never returns
	case IsExecInit():
		// `exec`: nsenter.c has put this process in the container.
		ExecInit() // never returns
	}
}

// MainThread is the first thing minirun and minirun-init do (from their
// init()): the main goroutine stays on the main thread. A container init
// does its namespace work and its final execve on one OS thread, and a
// time namespace can only be prepared from the main thread. init and
// exec's helper also run on one processor: they have one thing to do.
func MainThread() {
	runtime.LockOSThread()
	if IsInit() || IsExecInit() {
		runtime.GOMAXPROCS(1)
	}
}
