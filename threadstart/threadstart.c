/*
 * threadstart.c: one malloc(3) slot kept for the life of the process, so
 * that musl never unmaps the group the Go runtime's thread starts
 * allocate from (doc.go).
 */
#include <stdlib.h>

/* runtime/cgo's ThreadStart: three pointers (runtime/cgo/libcgo.h). Any
 * size in the same mallocng size class would do; this one is exact. */
#define THREAD_START_SIZE (3 * sizeof(void *))

/* volatile and global: the compiler may not drop an allocation whose
 * pointer it can prove is never read. */
void *volatile minirun_threadstart_slot;

__attribute__((constructor)) static void threadstart(void)
{
	minirun_threadstart_slot = malloc(THREAD_START_SIZE);
}
