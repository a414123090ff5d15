/*
 * cgjoin.c: a container's init moves itself into its cgroup (cgroup v1)
 * before the Go runtime starts. doc.go explains why; this is all of it.
 *
 * The runtime opened the tasks file of each hierarchy of the container's
 * cgroup for writing and passed the descriptors to init, their numbers in
 * _MINIRUN_CGROUP_JOIN ("5,6,7"). This constructor runs before main(), so
 * before the Go runtime has started a second thread: init is one thread,
 * and writing "0" to a tasks file moves the writer, that one thread.
 *
 * Man pages: cgroups(7) ("tasks"), write(2).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first failure, for cgjoin.go to report once Go runs; "" if none. */
char cgjoin_error[256];
/* How many tasks files took the "0": Go checks it against what it passed. */
int cgjoin_count;

__attribute__((constructor)) static void cgjoin(void)
{
	const char *list = getenv("_MINIRUN_CGROUP_JOIN");
	if (list == NULL)
		return;
	for (const char *p = list; *p != '\0';) {
		char *end;
		long fd = strtol(p, &end, 10);
		if (end == p || fd < 0 || fd > 1023) {
			snprintf(cgjoin_error, sizeof cgjoin_error, "bad _MINIRUN_CGROUP_JOIN %s", list);
			return;
		}
		if (write((int)fd, "0", 1) == 1)
			cgjoin_count++;
		else if (cgjoin_error[0] == '\0')
			snprintf(cgjoin_error, sizeof cgjoin_error, "write \"0\" to fd %ld: %s", fd, strerror(errno));
		close((int)fd);
		p = *end == ',' ? end + 1 : end;
	}
}
