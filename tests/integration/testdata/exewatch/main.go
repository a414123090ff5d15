// Command exewatch is the CVE-2019-5736 attacker of the escape tests. Run
// inside a container, it scans /proc as fast as it can for processes
// whose executable it can reach through /proc/<pid>/exe, and tries to open
// each one for writing, directly and through a kept O_PATH descriptor
// after the process has gone on (the classic exploit's reopen). It prints
// one line per event: DENIED <pid> (exe link refused: a non-dumpable
// process), READ <pid> <target> (a minirun binary was reachable), WROTE
// <pid> (it was opened for writing). It runs until killed, or for the
// duration given as its argument, then prints "end".
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	d := time.Hour
	if len(os.Args) > 1 {
		d, _ = time.ParseDuration(os.Args[1])
	}
	self := os.Getpid()
	seen := map[string]bool{}
	var kept []int
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		dir, err := os.Open("/proc")
		if err != nil {
			fmt.Println("ERROR", err)
			return
		}
		names, _ := dir.Readdirnames(-1)
		dir.Close()
		for _, n := range names {
			pid, err := strconv.Atoi(n)
			if err != nil || pid == 1 || pid == self {
				continue
			}
			exe := "/proc/" + n + "/exe"
			fd, err := syscall.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				if err == syscall.EACCES || err == syscall.EPERM {
					if !seen["D"+n] {
						seen["D"+n] = true
						fmt.Println("DENIED", n)
					}
				}
				continue
			}
			target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			if !strings.Contains(target, "minirun") {
				syscall.Close(fd)
				continue
			}
			fmt.Println("READ", n, target)
			kept = append(kept, fd)
			if w, err := syscall.Open(exe, syscall.O_WRONLY, 0); err == nil {
				fmt.Println("WROTE", n)
				syscall.Close(w)
			}
		}
		for _, fd := range kept {
			if w, err := syscall.Open("/proc/self/fd/"+strconv.Itoa(fd), syscall.O_WRONLY, 0); err == nil {
				fmt.Println("WROTE-FD", fd)
				syscall.Close(w)
			}
		}
	}
	fmt.Println("end")
}
