package security

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

var rlimitNames = map[string]int{
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
}

// RlimitNumber maps "RLIMIT_NOFILE" (or docker's "nofile") to the kernel's number.
func RlimitNumber(name string) (int, error) {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "RLIMIT_") {
		n = "RLIMIT_" + n
	}
	r, ok := rlimitNames[n]
	if !ok {
		return 0, fmt.Errorf("unknown resource limit %q (see man 2 prlimit)", name)
	}
	return r, nil
}

// SetRlimit applies one limit to the calling process with prlimit(2).
func SetRlimit(name string, soft, hard uint64) error {
	r, err := RlimitNumber(name)
	if err != nil {
		return err
	}
	lim := unix.Rlimit{Cur: soft, Max: hard}
	end := trace.StepFn("security", "set a resource limit", "prlimit(2)", func() string {
		return fmt.Sprintf("prlimit(0, %s, {soft=%d, hard=%d})", strings.ToUpper(name), soft, hard)
	})
	err = unix.Prlimit(0, r, &lim, nil)
	end(err)
	if err != nil {
		hint := ""
		if err == unix.EPERM {
			hint = " (raising a hard limit needs CAP_SYS_RESOURCE)"
		}
		return fmt.Errorf("setrlimit(%s, soft=%d, hard=%d): %w%s", strings.ToUpper(name), soft, hard, err, hint)
	}
	return nil
}
