package nsenter

import (
	"encoding/binary"
	"io"
)

// Env is the environment variable that wakes the constructor of nsenter.c
// up. Its value is the number of the descriptor (the sync socket) on which
// the constructor talks to the parent. Without it the constructor does
// nothing.
const Env = "_MINIRUN_NSENTER"

// Go is the byte the parent sends once the process is in the container's
// cgroup: only then does the constructor join the namespaces and clone.
const Go byte = 'G'

// Request is the first message of the parent: which process to join and
// which of its namespaces. It is struct nsenter_request of nsenter.c,
// written in the machine's own byte order (both ends are this binary, on
// this machine).
type Request struct {
	// Pid is the container's init, as the host sees it.
	Pid int32
	// Flags are the CLONE_NEW* flags of the namespaces to join (those of
	// the container's config.json). A namespace that init shares with the
	// caller is skipped.
	Flags uint32
	// StartTime is field 22 of /proc/<Pid>/stat of that init: the
	// constructor refuses a process that merely has the same PID.
	StartTime uint64
}

// WriteRequest sends r to the constructor.
func WriteRequest(w io.Writer, r Request) error {
	return binary.Write(w, binary.NativeEndian, &r)
}
