// The same settings as cmd/minirun's (see there): this program starts a Go
// runtime once per container start.

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0

// Command minirun-init is what runs inside a container before its own
// program: the container's init (create: namespaces, root filesystem,
// security, then execve of the program), exec's helper, and the PID 1
// reaper of `run --init` (bind-mounted as /sbin/minirun-init); and, on the
// host, the fast path of the runc verbs container engines call most
// (front.go). minirun's own binary can do all of it; this one is the same
// container package linked without the command line, the image store,
// the registry client and the network engine, so it starts faster and
// takes less memory. minirun runs it when it lies next to minirun and
// comes from the same build (container/initbin.go). Users never run it
// themselves.
package main

import (
	"os"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/namespaces"
	// nsenter's C constructor puts exec's helper into the container's
	// namespaces before the Go runtime starts (see its doc.go).
	_ "github.com/minirun/minirun/namespaces/nsenter"
	// threadstart's C constructor spares each new thread an munmap(2).
	_ "github.com/minirun/minirun/threadstart"
	// timerslack's C constructor lets sysmon nap in the runc verbs and init.
	_ "github.com/minirun/minirun/timerslack"
)

func init() { container.MainThread() }

func main() {
	container.HelperMain() // init or exec's helper: never returns
	front()                // a runc verb minirun handed over: never returns
	// `run --init`: PID 1 of the container, which starts its program and
	// reaps every orphan (namespaces.Reap).
	os.Exit(namespaces.Reap(os.Args[1:], os.Environ()))
}
