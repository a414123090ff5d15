// Package trace prints, as they happen, the Linux primitives minirun uses
// to make a container: one line per step, in plain words, with the real
// call and its arguments, the man page to read, and how long it took.
//
//	sudo minirun run --trace --rm busybox true
//	sudo MINIRUN_TRACE=1 minirun exec web ls
//	sudo minirun run --trace --trace-format json --rm busybox true | jq .
//
// # Reading a trace
//
// A text line reads
//
//	+12.3ms   0.4ms runtime [cgroups]  set the memory limit      write memory.max = 67108864   cgroups(7)
//
// that is: when the step started, counted from the start of the command;
// how long it took; which process did it ("runtime" is the minirun
// command you typed, "init" is the re-executed `minirun init` already
// inside the container's namespaces, "exec" the process `minirun exec`
// starts inside them, "launch" the process that the monitor of `run -d`
// starts to create the container); the area, which is the package that holds the
// lesson (see its doc.go); what happens, in plain words; the system call
// or file write that does it, with its arguments; and the man page. A
// step that failed ends with "FAILED: <errno>". With --trace-format json
// (or MINIRUN_TRACE_FORMAT=json) each step is one JSON object per line,
// with the fields t_ms, dur_ms, side, area, what, call, man and err.
//
// The trace goes to stderr, never to the container's stdout. The
// timings double as a profile of the start path: the steps the runtime
// waits on are the ones to make faster.
//
// # How the init's steps reach the trace
//
// The container's init is another process, and after clone(2) it lives
// in other namespaces. When tracing is on, the runtime makes a pipe(2)
// and hands init its write end as one more inherited descriptor
// (ChildPipe, named in the environment variable _MINIRUN_TRACE_FD). Init
// writes one JSON record per step into it (StartChild), each in a single
// write(2) smaller than PIPE_BUF, so records never interleave. The
// descriptor is close-on-exec: it disappears at the execve(2) of the
// user's program, which never sees it. The runtime reads the pipe and
// prints the records in its own output; before it prints a step of its
// own it first empties the pipe, so the order on the screen is the
// order of the handshake (init writes its steps before it answers on the
// sync socket). With the OCI verbs run as separate commands, the steps
// init takes after `create` has returned go to nobody: `run` sees them
// all. The launcher of `run -d` is a child too (the C monitor passes the
// pipe on as fd 6): it hands init a copy of its own pipe, and `run -d`
// prints both until the container runs.
//
// # Cost when off
//
// Tracing is off unless asked for. Every Step first loads one atomic
// boolean and returns a shared no-op: no allocation, a few nanoseconds
// (BenchmarkStepOff). Call sites that must format arguments use StepFn,
// whose formatting closure only runs when tracing is on.
//
// # Rules
//
// This package imports only the standard library and nothing of minirun,
// so every package, the primitive ones included, may import it
// (docs/ARCHITECTURE.md). Man pages: pipe(2), write(2) (PIPE_BUF),
// fcntl(2) (FD_CLOEXEC), execve(2).
package trace
