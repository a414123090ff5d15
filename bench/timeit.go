//go:build ignore

// timeit runs one command and appends one line to FILE:
//
//	<wall_ns> <user_us> <sys_us> <maxrss_kb> <exit_code>
//
// Wall time is from just before fork/exec to just after wait4 (monotonic
// clock). CPU time and max RSS come from the wait4 rusage of the command,
// which covers the command itself plus every descendant that was waited for
// (a runtime's "run" waits for its init helpers and the container process).
// Unlike /usr/bin/time (which prints 10 ms steps), this keeps microseconds.
//
// It is a standalone program (build tag "ignore": not part of ./...), built by
// bench/startup.sh with: go build -o DIR/timeit bench/timeit.go
//
//	timeit FILE COMMAND [ARG...]
//
// The command's stdin, stdout and stderr are timeit's own. timeit exits with
// the command's exit code (128+signal if it was killed).
//
// TIMEIT_UMOUNT=PATH runs the command in a private mount namespace without
// the mount at PATH (crun refuses this hybrid host's /sys/fs/cgroup/unified):
// timeit's own thread unshares it and unmounts PATH before the fork, so the
// figures are the command's alone, not those of an `unshare -m sh -c
// 'umount ...; exec ...'` wrapper (three more programs, a few ms of CPU).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: timeit FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	out, err := os.OpenFile(os.Args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "timeit:", err)
		os.Exit(2)
	}
	path, err := exec.LookPath(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "timeit:", err)
		os.Exit(127)
	}
	cmd := exec.Command(path, os.Args[3:]...)
	cmd.Args[0] = os.Args[2]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr

	if p := os.Getenv("TIMEIT_UMOUNT"); p != "" {
		// The fork below happens on this thread, which alone has the
		// new mount namespace: the command starts in it.
		runtime.LockOSThread()
		if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
			fmt.Fprintln(os.Stderr, "timeit: unshare(CLONE_NEWNS):", err)
			os.Exit(2)
		}
		if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
			fmt.Fprintln(os.Stderr, "timeit: make / private:", err)
			os.Exit(2)
		}
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
			fmt.Fprintf(os.Stderr, "timeit: umount %s: %v\n", p, err)
			os.Exit(2)
		}
	}
	cmd.Env = envWithout(os.Environ(), "TIMEIT_UMOUNT")

	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)

	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "timeit:", err)
		os.Exit(127)
	}
	ps := cmd.ProcessState
	code := ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	ru, _ := ps.SysUsage().(*syscall.Rusage)
	if ru == nil {
		ru = &syscall.Rusage{}
	}
	us := func(tv syscall.Timeval) int64 { return int64(tv.Sec)*1e6 + int64(tv.Usec) }
	fmt.Fprintf(out, "%d %d %d %d %d\n", wall.Nanoseconds(), us(ru.Utime), us(ru.Stime), ru.Maxrss, code)
	out.Close()
	os.Exit(code)
}

// envWithout is env less the variable name.
func envWithout(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) <= len(name) || kv[:len(name)+1] != name+"=" {
			out = append(out, kv)
		}
	}
	return out
}
