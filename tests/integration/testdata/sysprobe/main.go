// Command sysprobe makes raw system calls for the security tests, from
// inside a container (busybox has no keyctl or ptrace tool), and prints one
// "name=result" line each: "ok" or the errno's name (EPERM ...).
//
//	sysprobe keys          add_key, keyctl(KEYCTL_GET_KEYRING_ID), request_key
//	sysprobe ptrace PID    PTRACE_SEIZE and PTRACE_ATTACH of PID
//	sysprobe ptrace-child  the same on a child of its own ("sysprobe sleep")
//	sysprobe sleep         sleeps for a minute
//	sysprobe exe-attack DEV INO SECONDS
//	                       CVE-2019-5736: for SECONDS, keeps an O_PATH
//	                       descriptor of every /proc/<pid>/exe that is the
//	                       file DEV:INO (the host's minirun) and tries to
//	                       reopen each for writing (never writes): prints
//	                       REACHED <pid>, WRITABLE <pid>, or REFUSED <errno>
//	                       once per errno
//
// Static (CGO_ENABLED=0), so it runs in any rootfs.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func result(name string, errno unix.Errno) {
	if errno == 0 {
		fmt.Printf("%s=ok\n", name)
		return
	}
	fmt.Printf("%s=%s\n", name, unix.ErrnoName(errno))
}

func cstr(s string) uintptr {
	b := append([]byte(s), 0)
	return uintptr(unsafe.Pointer(&b[0]))
}

func keys() {
	payload := []byte("v")
	_, _, e := unix.Syscall6(unix.SYS_ADD_KEY, cstr("user"), cstr("sysprobe"), uintptr(unsafe.Pointer(&payload[0])), 1,
		keyring(unix.KEY_SPEC_PROCESS_KEYRING), 0)
	result("add_key", e)
	// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create=0)
	_, _, e = unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, keyring(unix.KEY_SPEC_SESSION_KEYRING), 0)
	result("keyctl", e)
	_, _, e = unix.Syscall6(unix.SYS_REQUEST_KEY, cstr("user"), cstr("sysprobe"), 0, keyring(unix.KEY_SPEC_PROCESS_KEYRING), 0, 0)
	result("request_key", e)
}

func ptrace(pid int) {
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0, 0, 0)
	result("seize", e)
	if e == 0 {
		// A tracee is released when its tracer exits; detaching a running
		// seized tracee needs it stopped first, so just leave.
		return
	}
	_, _, e = unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_ATTACH, uintptr(pid), 0, 0, 0, 0)
	result("attach", e)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sysprobe keys|ptrace PID|ptrace-child|sleep")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "keys":
		keys()
	case "ptrace":
		pid, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ptrace(pid)
	case "ptrace-child":
		child := exec.Command("/proc/self/exe", "sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		time.Sleep(100 * time.Millisecond) // let it exec
		ptrace(child.Process.Pid)
		child.Process.Kill()
		child.Wait()
	case "sleep":
		time.Sleep(time.Minute)
	case "exe-attack":
		dev, _ := strconv.ParseUint(os.Args[2], 10, 64)
		ino, _ := strconv.ParseUint(os.Args[3], 10, 64)
		secs, _ := strconv.Atoi(os.Args[4])
		exeAttack(dev, ino, time.Duration(secs)*time.Second)
	}
}

// keyring passes a special keyring ID (a negative int32) as a register.
func keyring(id int32) uintptr { return uintptr(uint32(id)) }

func exeAttack(dev, ino uint64, d time.Duration) {
	kept := map[string]int{}
	said := map[string]bool{}
	say := func(s string) {
		if !said[s] {
			said[s] = true
			fmt.Println(s)
		}
	}
	for end := time.Now().Add(d); time.Now().Before(end); {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil || kept[e.Name()] != 0 {
				continue
			}
			fd, err := unix.Open("/proc/"+e.Name()+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil || st.Dev != dev || st.Ino != ino {
				unix.Close(fd)
				continue
			}
			say("REACHED " + e.Name())
			kept[e.Name()] = fd
		}
		for pid, fd := range kept {
			w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(w)
				say("WRITABLE " + pid)
			} else {
				say("REFUSED " + unix.ErrnoName(err.(unix.Errno)))
			}
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Println("end")
}
