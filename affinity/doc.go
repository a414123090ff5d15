// Package affinity decides which CPUs minirun's own processes, and the
// processes they start, may run on.
//
// A thread's CPU affinity is the set of CPUs the scheduler may run it on
// (sched_setaffinity(2)). A new thread or process inherits it from the
// thread that made it, and a cpuset cgroup narrows it further: the kernel
// keeps a thread to the CPUs both allow. Since Linux 6.2 the kernel also
// remembers the set a thread asked for with sched_setaffinity(2) and
// keeps applying it when the thread moves to another cpuset.
//
// minirun uses it twice:
//
//   - The container's processes get every CPU its cgroup allows, as with
//     runc since 1.3.1 (runc pull request 4858): init and exec's helper
//     set the mask to all CPUs, which the kernel clamps to the cgroup's
//     cpuset, just before they execute the container's program or a hook
//     (ReleaseToAll, Released). A `taskset -c 0 minirun run ...`, or an
//     engine pinned by systemd's CPUAffinity=, does not pin the container
//     (runc 1.1, Debian's here, still passes its own set on). The mask is
//     8192 CPUs wide, not a cpu_set_t's 1024: all-ones in 1024 bits would
//     leave a bigger machine's other CPUs out (runc issue 5023).
//
//   - The runc verbs run on one CPU. A Go program starts several threads
//     at once (sysmon, and threads the scheduler hands work to while the
//     main goroutine is locked to its thread during start-up), and the
//     runtime's and init's threads wake each other all through a start.
//     Spread over two CPUs, every wake-up of a thread on the other CPU is
//     an interrupt between processors, and every change to the process's
//     page tables (a page written for the first time after it was read,
//     memory returned to the kernel, the exit) must flush the other CPU's
//     TLB with one: in a virtual machine each such interrupt exits to the
//     hypervisor. So the front door (cmd/minirun/frontdoor) pins the runc
//     verbs to the CPU they started on, before the Go runtime starts, and
//     puts the set it had in _MINIRUN_CPUS. init, cloned from the runtime,
//     inherits the pin. Whatever else the runtime starts (hooks) gets the
//     old set back (SetRelease, Released); the container gets all CPUs as
//     above. Measured on `run --bundle` of /bin/true on a 2-CPU virtual
//     machine: ~0.7 ms of CPU less per start (8.2 -> 7.5 ms).
//
// Pinning changes nothing a container can see, and the processes pinned
// are minirun's own, short-lived, and mostly waiting for one another. The
// CPU is the one the scheduler put the verb on when it was executed (it
// places a new program on an idle CPU if there is one). The price: for
// the few milliseconds of a start, a busy program that lands on that CPU
// shares it with the start instead of the start moving away.
//
// See man 2 sched_setaffinity, man 7 cpuset, taskset(1).
package affinity
