/*
 * nsenter.c: the part of `minirun exec` that must run before the Go runtime
 * starts. doc.go explains why; this file is how, in the order it happens.
 *
 * The function nsenter() below is a constructor: the C library runs it in
 * every minirun process, before main() and so before Go has started a
 * single thread. Without the environment variable _MINIRUN_NSENTER it
 * returns at once and minirun goes on as usual. With it (only `minirun
 * exec` sets it, on the process it starts), it is one step of this:
 *
 *   minirun exec (Go)            intermediate (this file)     grandchild
 *   -----------------            ------------------------     ----------
 *   start /proc/self/exe  ---->  read the request
 *   send request {pid, flags,    open /proc/<pid>, check it
 *     start time}                is still init, open its
 *   write our child's PID into   ns/* files
 *     the container's cgroup
 *   send "go" ----------------> setns(2) into each one,
 *                                in order
 *                                clone(CLONE_PARENT) ------>  (born in every
 *   read {"pid": N}  <---------  report N, _exit(0)            namespace)
 *   wait for the intermediate                                 return from the
 *                                                             constructor: the
 *   send the process (JSON) -------------------------------->  Go runtime starts,
 *   read "exec" / "error"  <---------------------------------  container.ExecInit
 *   EOF: execve happened                                       ... execve(2)
 *
 * Messages to the parent are JSON objects on one line, the same shape as
 * the Go side's (container/exec.go): {"type":"pid","pid":N} or
 * {"type":"error","error":"..."}.
 *
 * Man pages: setns(2), clone(2), namespaces(7), user_namespaces(7),
 * pid_namespaces(7), proc(5) (/proc/<pid>/ns, /proc/<pid>/stat), prctl(2)
 * (PR_SET_DUMPABLE).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NS_GET_USERNS
#define NS_GET_USERNS _IO(0xb7, 0x1)
#endif

/* Keep these in step with protocol.go. */
#define NSENTER_ENV "_MINIRUN_NSENTER"
#define NSENTER_GO 'G'

struct nsenter_request {
	int32_t pid;         /* the container's init, as the host sees it */
	uint32_t flags;      /* CLONE_NEW* of the namespaces to join */
	uint64_t start_time; /* field 22 of /proc/<pid>/stat of that init */
};

/*
 * The order in which the namespaces are joined.
 *
 * The user namespace decides. setns(2) into any other namespace asks for
 * CAP_SYS_ADMIN in the user namespace that *owns* it (the one its creator
 * was in), and setns into a user namespace hands us a full set of
 * capabilities there and none outside. So:
 *
 *   - first, the namespaces the container's user namespace does NOT own,
 *     while we still have the host's capabilities: a time namespace (minirun
 *     creates it from the host, clone(2) cannot), or a network namespace of
 *     the host's given by path;
 *   - then the user namespace (the kernel refuses it to a multi-threaded
 *     process, EINVAL: one reason this is C at all);
 *   - then the namespaces it owns, which is all the others: its root, which
 *     we now are, may join them, even when we were no one on the host.
 *
 * Within each group, ipc, uts, net, pid, cgroup and time have no order
 * between them. pid only decides where our *children* go (that is why we
 * clone below); cgroup only changes how /proc/self/cgroup is shown,
 * relative to the container's cgroup, which the parent has already put us
 * in.
 *
 * mnt last. Joining the mount namespace also moves our root directory and
 * working directory to the container's root: from then on the host's
 * files, the host's /proc included, are out of sight. Nothing after it may
 * need a path of the host. (The ns files are all opened before the first
 * setns anyway, for the same reason.)
 */
static const struct {
	const char *name; /* the file in /proc/<pid>/ns/ */
	int flag;
} ns_order[] = {
	{"user", CLONE_NEWUSER},
	{"ipc", CLONE_NEWIPC},
	{"uts", CLONE_NEWUTS},
	{"net", CLONE_NEWNET},
	{"pid", CLONE_NEWPID},
	{"cgroup", CLONE_NEWCGROUP},
	{"time", CLONE_NEWTIME},
	{"mnt", CLONE_NEWNS},
};
#define NS_COUNT (sizeof(ns_order) / sizeof(ns_order[0]))

static int sync_fd = -1;

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* read_full reads exactly len bytes; it returns how many it got (0: EOF). */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* json_escape copies s into out as the inside of a JSON string. */
static void json_escape(char *out, size_t size, const char *s)
{
	size_t o = 0;
	for (; *s != '\0' && o + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

/*
 * fail tells the parent what went wrong, as {"type":"error","error":"..."},
 * and exits. A non-zero err is appended the way perror(3) would.
 */
static void fail(int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int err, const char *fmt, ...)
{
	char msg[512], esc[1024], line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != 0) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	}
	json_escape(esc, sizeof(esc), msg);
	int n = snprintf(line, sizeof(line), "{\"type\":\"error\",\"error\":\"nsenter: %s\"}\n", esc);
	if (sync_fd < 0 || n <= 0 || write_all(sync_fd, line, (size_t)n) < 0)
		dprintf(STDERR_FILENO, "minirun nsenter: %s\n", msg);
	_exit(1);
}

/*
 * start_time reads field 22 of <proc dir>/stat: the process's start time
 * in clock ticks since boot. With the PID it names one process for good,
 * even after PIDs wrap around. Field 2, the command name, may hold spaces
 * and parentheses, so counting starts after its last ')'.
 */
static int start_time(int procfd, uint64_t *out)
{
	char buf[1024];
	int fd = openat(procfd, "stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (p == NULL)
		goto bad;
	p++; /* at the space before field 3 */
	for (int i = 3; i < 22; i++) {
		p = strchr(p + 1, ' ');
		if (p == NULL)
			goto bad;
	}
	*out = strtoull(p + 1, NULL, 10);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* same_ns tells whether nsfd is the namespace we are in already. */
static int same_ns(int nsfd, const char *name)
{
	char self[64];
	struct stat a, b;
	snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
	if (fstat(nsfd, &a) < 0 || stat(self, &b) < 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * owned_by tells whether the user namespace userfd owns the namespace nsfd:
 * ioctl(NS_GET_USERNS) returns a descriptor of the owner (ioctl_ns(2),
 * Linux 4.9). When the kernel cannot tell, the answer is yes, the common
 * case: the container's user namespace owns all its namespaces.
 */
static int owned_by(int nsfd, int userfd)
{
	struct stat a, b;
	int owner = ioctl(nsfd, NS_GET_USERNS);
	if (owner < 0)
		return 1;
	int same = fstat(owner, &a) == 0 && fstat(userfd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close(owner);
	return same;
}

/* join enters fds[i], the namespace ns_order[i] of the process at dir. */
static void join(int *fds, size_t i, const char *dir)
{
	if (setns(fds[i], ns_order[i].flag) < 0)
		fail(errno, "setns(%s/ns/%s)", dir, ns_order[i].name);
	close(fds[i]);
	fds[i] = -1;
}

__attribute__((constructor)) static void nsenter(void)
{
	const char *env = getenv(NSENTER_ENV);
	if (env == NULL || *env == '\0')
		return; /* an ordinary minirun: nothing to do */

	char *end;
	errno = 0;
	long fd = strtol(env, &end, 10);
	if (errno != 0 || *end != '\0' || fd < 3 || fd > INT_MAX) {
		dprintf(STDERR_FILENO, "minirun nsenter: %s=%s is not a descriptor number\n", NSENTER_ENV, env);
		_exit(1);
	}
	sync_fd = (int)fd;

	/*
	 * Not dumpable: processes of the container, which will soon share our
	 * PID namespace, must not open /proc/<us>/exe (the minirun binary of
	 * the host: CVE-2019-5736), /proc/<us>/fd or /proc/<us>/mem, nor
	 * ptrace us, while we still hold the host's descriptors and are not
	 * yet the container's program. execve(2) makes the program dumpable
	 * again.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "prctl(PR_SET_DUMPABLE, 0)");

	struct nsenter_request req;
	ssize_t n = read_full(sync_fd, &req, sizeof(req));
	if (n == 0)
		_exit(1); /* the parent gave up before asking anything */
	if (n != (ssize_t)sizeof(req))
		fail(n < 0 ? errno : 0, "read the request (%zd of %zu bytes)", n, sizeof(req));

	/*
	 * 1. Open every namespace before joining any. After setns into the
	 * mount namespace, /proc is the container's, where <pid> means
	 * another process or none; after setns into the user namespace we may
	 * no longer be allowed to open them.
	 *
	 * They are opened relative to a descriptor of the directory
	 * /proc/<pid>, checked first to be the container's init (its start
	 * time). Such a descriptor stays bound to that one process: if init
	 * died and its PID went to another process, the openat calls below
	 * would fail (ESRCH) instead of opening the stranger's namespaces.
	 */
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d", (int)req.pid);
	int procfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		fail(errno, "open %s (has the container stopped?)", dir);
	uint64_t start;
	if (start_time(procfd, &start) < 0)
		fail(errno, "read %s/stat", dir);
	if (start != req.start_time)
		fail(0, "process %d is not the container's init any more: the container has stopped", (int)req.pid);

	int fds[NS_COUNT];
	int join_user = 0;
	for (size_t i = 0; i < NS_COUNT; i++) {
		char rel[32];
		fds[i] = -1;
		if ((req.flags & (uint32_t)ns_order[i].flag) == 0)
			continue;
		snprintf(rel, sizeof(rel), "ns/%s", ns_order[i].name);
		int nsfd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			fail(errno, "open %s/%s", dir, rel);
		/*
		 * A namespace the container shares with us (--network host, or
		 * no user namespace: then init's is the host's) needs no
		 * joining; for the user namespace, joining our own is even an
		 * error (EINVAL).
		 */
		if (same_ns(nsfd, ns_order[i].name)) {
			close(nsfd);
			continue;
		}
		fds[i] = nsfd;
		if (ns_order[i].flag == CLONE_NEWUSER)
			join_user = 1;
	}
	close(procfd);

	/*
	 * 2. Wait for "go". Meanwhile the parent writes our PID into the
	 * container's cgroup (the one v2 cgroup; on v1 this process, or the
	 * child below, moves itself in by the constructor of cgroups/cgjoin,
	 * before Go starts): the child we clone below is in it before it runs,
	 * so the container's program never runs a single instruction outside
	 * the container's limits. An EOF means the parent failed and gave up.
	 */
	char go;
	n = read_full(sync_fd, &go, 1);
	if (n == 0)
		_exit(1);
	if (n != 1 || go != NSENTER_GO)
		fail(n < 0 ? errno : 0, "expected the parent's go-ahead");

	/* 3. Join, in the order explained above ns_order. */
	int userfd = fds[0]; /* ns_order[0] is the user namespace */
	if (userfd >= 0) {
		for (size_t i = 1; i < NS_COUNT; i++)
			if (fds[i] >= 0 && !owned_by(fds[i], userfd))
				join(fds, i, dir);
		join(fds, 0, dir);
	}
	for (size_t i = 1; i < NS_COUNT; i++)
		if (fds[i] >= 0)
			join(fds, i, dir);
	/*
	 * In the container's user namespace our host IDs (root) may map to
	 * nothing (they show as 65534). Become the namespace's root, as the
	 * container's init is: the Go side then switches to the process's
	 * user, with the capabilities it holds in the namespace. setgroups(2)
	 * is refused (EPERM) where /proc/<pid>/setgroups says "deny"; the
	 * supplementary groups are set again later anyway.
	 */
	if (join_user) {
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			fail(errno, "setgroups(0) in the container's user namespace");
		if (setresgid(0, 0, 0) < 0)
			fail(errno, "setresgid(0) in the container's user namespace (is gid 0 mapped?)");
		if (setresuid(0, 0, 0) < 0)
			fail(errno, "setresuid(0) in the container's user namespace (is uid 0 mapped?)");
	}

	/*
	 * 4. One more process. setns(CLONE_NEWPID) does not move the caller,
	 * only its future children: a process never changes its PID. So we clone a child, and that child is born inside the
	 * container's PID namespace, with a PID of the container.
	 *
	 * CLONE_PARENT makes the child a sibling of ours: its parent is our
	 * parent, `minirun exec`, which can then wait4(2) it and get its exit
	 * status (a grandchild could not be waited for). SIGCHLD is the signal
	 * that parent gets when it exits, as after fork(2).
	 *
	 * This is the raw system call, which behaves like fork(2): no new
	 * stack, the child returns from it with 0 in a copy of our memory. Only
	 * one thread exists, so nothing is lost by not going through the C
	 * library's fork(); the library's idea of our thread ID stays the
	 * parent's, which nothing on the way to Go relies on (Go asks the
	 * kernel), as in runc.
	 */
	pid_t child = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (child < 0)
		fail(errno, "clone(CLONE_PARENT)%s",
		     errno == ENOMEM ? " (ENOMEM here means the PID namespace's init has exited: the container stopped)" : "");
	if (child == 0)
		return; /* the grandchild: inside every namespace; Go starts now */

	/* 5. The intermediate process: report the child's host PID and go. */
	char line[64];
	int len = snprintf(line, sizeof(line), "{\"type\":\"pid\",\"pid\":%d}\n", (int)child);
	if (write_all(sync_fd, line, (size_t)len) < 0) {
		kill(child, SIGKILL);
		_exit(1);
	}
	_exit(0);
}

/*
 * mntjoin is the other constructor: a container init whose config.json
 * names an existing mount namespace (linux.namespaces: {"type": "mount",
 * "path": ...}) is started with _MINIRUN_SETNS_MNT=<fd of that path>, and
 * joins it here, before the Go runtime starts its threads: setns(2) with
 * CLONE_NEWNS refuses a process that has more than one. The other
 * namespaces init can join later, from Go, on its locked thread.
 */
__attribute__((constructor)) static void mntjoin(void)
{
	const char *env = getenv("_MINIRUN_SETNS_MNT");
	if (env == NULL || *env == '\0')
		return;
	char *end;
	errno = 0;
	long fd = strtol(env, &end, 10);
	if (errno != 0 || *end != '\0' || fd < 3 || fd > INT_MAX) {
		dprintf(STDERR_FILENO, "minirun init: _MINIRUN_SETNS_MNT=%s is not a descriptor number\n", env);
		_exit(1);
	}
	if (setns((int)fd, CLONE_NEWNS) < 0) {
		dprintf(STDERR_FILENO, "minirun init: setns(mount namespace): %s\n", strerror(errno));
		_exit(1);
	}
	/*
	 * The descriptor stays open: init (in Go, which reads the environment
	 * from the process's initial stack, not from this C library's copy)
	 * compares it with /proc/self/ns/mnt to make sure the join happened.
	 */
}
