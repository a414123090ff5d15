// Package timerslack lets the runc verbs' Go runtime sleep in longer
// naps, and gives the caller's timer slack back to everything they start.
//
// A thread's timer slack is how late the kernel may fire the thread's
// timers (nanosleep(2), and the timeouts of poll(2), epoll_wait(2) and
// futex(2)) so that it can serve several with one interrupt: a timer set
// for t fires at the first interrupt after t, and at t+slack at the
// latest. It is 50 µs unless someone changed it (prctl(2)
// PR_SET_TIMERSLACK, /proc/PID/timerslack_ns, systemd's TimerSlackNSec=).
// A new thread or process takes the slack of the thread that made it,
// and also keeps that value as its default, the one a reset (setting 0)
// returns to; execve(2) keeps both.
//
// Every Go program runs a monitor thread, sysmon, that sleeps 20 µs at a
// time until it has found nothing to do fifty times in a row, and starts
// over whenever it has (a system call that took longer than a sleep is
// such a thing). A runc verb lives a few milliseconds, so its sysmon and
// init's wake up every 20 µs for most of a start: a timer interrupt, two
// context switches and a reprogrammed timer each time, and in a virtual
// machine each of those traps to the hypervisor. With 1 ms of slack the
// kernel lets sysmon sleep on to the next interrupt that comes anyway.
// Measured on `run --bundle` of /bin/true on a 2-CPU virtual machine, 40
// interleaved runs each: 6.66 -> 6.15 ms of CPU per start, crun 6.69.
// With the whole process tree started at a given slack, to choose it:
// 50 µs 7.09 ms, 0.25 ms 6.58, 1 ms 6.32, 4 ms 6.12; crun, one C program
// without such a thread, the same at 50 µs and 1 ms. 1 ms keeps most of
// the gain and bounds how late a sleep of the verb's own may end.
//
// So:
//
//   - The front door (cmd/minirun/frontdoor) puts the caller's slack in
//     _MINIRUN_SLACK when it hands a runc verb to minirun-init, and the
//     C constructor here (timerslack.c) raises the slack to 1 ms before
//     the Go runtime starts any thread.
//   - The runtime records the caller's value (TakeEnv) and clones init
//     from a thread set back to it (Released), so that the container's
//     first process has the caller's value as its default, as under runc;
//     init gets the value in its environment (ChildEnv) and its own
//     constructor raises init's slack in turn.
//   - Whatever the runtime or init starts or executes gets the caller's
//     slack (Released): hooks, the container's program, minirun when the
//     fast path hands a verb back.
//
// A container cannot see the difference: its processes have exactly the
// slack, and the default slack, they would have under runc. What changes
// is the runc verb itself: a sleep of its own (the polls of delete
// --force, pause) may end up to 1 ms later.
//
// See man 2 prctl (PR_SET_TIMERSLACK), man 5 proc (timerslack_ns), man 7
// time ("High-resolution timers", "Timer slack"); Go's runtime/proc.go
// (sysmon).
package timerslack
