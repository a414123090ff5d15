// Package threadstart keeps the start of a Go thread from costing every
// CPU an interrupt, in minirun's binaries (Go with cgo, linked with musl).
//
// In a Go program with cgo, the Go runtime starts each OS thread through
// the C library: runtime/cgo allocates a small ThreadStart record with
// malloc(3), hands it to pthread_create(3), and the new thread frees it
// as its first act. musl's allocator (mallocng) gives memory back to the
// kernel as soon as a group of same-size slots is empty, so every thread
// start was an mmap(2) of a page in the parent and a munmap(2) of it in
// the new thread. Unmapping memory in a process whose threads run on
// several CPUs means flushing those CPUs' TLBs, with an interrupt to each
// (a TLB shootdown); in a virtual machine each interrupt is an exit to the
// hypervisor. A Go program starts three or four threads at once, so
// every minirun process paid for three or four shootdowns.
//
// The C constructor here allocates one slot of the same size before the Go
// runtime starts and keeps it for the life of the process: the group is
// never empty, and each thread start reuses the slot the last one freed,
// with no system call at all. Measured on `run --bundle` of /bin/true
// (runtime and init, both Go): 8.7 -> 8.2 ms of CPU per start, with no
// munmap(2) left in either process.
//
// See man 2 munmap, man 3 malloc, man 3 pthread_create; musl's
// src/malloc/mallocng (free.c: a group is freed when its last slot is);
// Go's runtime/cgo/gcc_util.c (x_cgo_thread_start).
package threadstart
