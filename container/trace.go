package container

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/trace"
)

// traceExec notes the final execve(2) in the trace: on success it never
// returns, and the trace pipe closes with it (close-on-exec).
func traceExec(path string, args []string) {
	if !trace.On() {
		return
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	trace.Note("container", "become the user's program", fmt.Sprintf("execve(%q, [%s], env)", path, strings.Join(q, ", ")), "execve(2)")
}

// nsenterOrder is the order in which nsenter.c joins (ns_order there).
var nsenterOrder = []namespaces.Type{namespaces.User, namespaces.IPC, namespaces.UTS, namespaces.Network,
	namespaces.PID, namespaces.Cgroup, namespaces.Time, namespaces.Mount}

// traceJoined reports the setns(2) calls nsenter.c made, in C before the
// Go runtime of the exec'd process started, as their result shows: for
// each namespace of the container, the new process (pid) is in init's.
// A namespace init shares with the runtime was not joined (nothing to do).
func traceJoined(initPid, pid int, flags uint32) {
	if !trace.On() {
		return
	}
	for _, t := range nsenterOrder {
		f, _ := namespaces.CloneFlag(t)
		if uint32(f)&flags == 0 {
			continue
		}
		want, err := namespaces.Inode(initPid, t)
		if err != nil {
			continue
		}
		if own, _ := namespaces.Inode(0, t); own == want {
			continue // shared with the host: nsenter.c skips it
		}
		got, _ := namespaces.Inode(pid, t)
		end := trace.Step("namespaces", "join the container's "+namespaces.ProcName(t)+" namespace (nsenter.c)",
			fmt.Sprintf("setns(open(\"/proc/%d/ns/%s\"), %s) → %s", initPid, namespaces.ProcName(t), namespaces.FlagNames(f), got), "setns(2)")
		if got != want {
			end(fmt.Errorf("the process is in %s, not in init's %s", got, want))
			continue
		}
		end(nil)
	}
}
