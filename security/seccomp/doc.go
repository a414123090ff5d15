// Package seccomp compiles the linux.seccomp section of an OCI config.json
// into a classic BPF program and installs it: the system call filter
// Docker and podman give every container by default.
//
// # The kernel's side
//
// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) attaches a program to the
// calling thread. On every system call the kernel runs it on a struct
// seccomp_data — the call's number (offset 0), the architecture it was made
// in (4, an AUDIT_ARCH_* value: a 64-bit x86 process can also make i386
// calls with int 0x80, with other numbers), the instruction pointer (8) and
// six 64-bit arguments (16, 24, …) — and the program returns what happens:
// allow, fail with an errno (SECCOMP_RET_ERRNO|errno), kill the thread or
// the process, trap (SIGSYS), log, or let a tracer decide. The filter is
// inherited by children and across execve(2), and can never be removed,
// only narrowed by more filters. Without no_new_privs, installing one needs
// CAP_SYS_ADMIN, so a container's init installs it before it drops its
// capabilities (finalize in package container).
// See man 2 seccomp, Documentation/userspace-api/seccomp_filter.rst.
//
// # Classic BPF
//
// The program is classic BPF (the packet filter's language): one 32-bit
// accumulator, loads from the data at fixed offsets, ALU operations on the
// accumulator, conditional jumps that only go forward by at most 255
// instructions, and returns. A 64-bit argument is compared in two 32-bit
// halves, high half first. A program has at most 4096 instructions.
// See man 7 bpf (the classic part), linux/filter.h.
//
// # What Compile emits
//
//	ld arch; one "jeq AUDIT_ARCH; ja section" per architecture; kill
//	section: ld nr
//	         [x86_64: nr ≥ 0x40000000 is an x32 call]
//	         nr > the newest call the profile names → ENOSYS
//	         a binary search on nr ("jge lo" per level) down to a run of
//	         numbers handled alike: a call's rules (conditions, then
//	         return), or one return for a run of calls with the same
//	         action, or the default action between them
//
// The search matters at start-up, not only per system call: when a filter
// is loaded, the kernel runs it once for every system call number of every
// architecture to find the calls it may allow without running the filter
// again (the seccomp action cache, Linux 5.11). Docker's profile as one
// "jeq nr" per call was 1,650 instructions and ~1 ms to load; as a search
// tree over ~100 runs it is 678 instructions and ~0.2 ms.
//
// The meaning is libseccomp's, as runc uses it (see Compile); the system
// call numbers come from golang.org/x/sys (tables_<goarch>.go, made by
// mktables.go). runc links libseccomp, a C library; minirun emits the
// handful of instruction kinds it needs itself, and needs no C library.
package seccomp

//go:generate go run mktables.go
