/*
 * frontdoor.c: minirun hands the runc verbs that container engines call
 * most (create, start, state, kill, delete, and run --bundle) to
 * minirun-init, its fast path, before its own Go runtime starts. doc.go
 * explains why; cmd/minirun-init/front.go is the other side.
 *
 * This constructor runs in every minirun process before main(). It reads
 * the command line (/proc/self/cmdline: musl passes constructors no argv),
 * and when it is [--root DIR | --data-root DIR | --log FILE |
 * --log-format F | --systemd-cgroup]... VERB ... with one of those verbs
 * (run only with --bundle or -b) and no -h/--help, and minirun-init lies
 * beside this binary, it executes minirun-init with the same arguments,
 * _MINIRUN_FRONT naming this binary and _MINIRUN_INIT_STAMP its build
 * stamp. minirun-init checks the rest and hands back (_MINIRUN_FULL set)
 * whatever it does not run itself; then, and in every other case, this
 * returns and minirun runs as usual.
 *
 * It also pins the verb to the CPU it is on (pin_cpu below; why:
 * affinity/doc.go), and leaves the caller's timer slack in _MINIRUN_SLACK
 * for minirun-init to raise its own (note_slack; timerslack/doc.go).
 *
 * Man pages: execve(2), proc(5) (/proc/self/cmdline, /proc/self/exe),
 * sched_setaffinity(2), sched_getcpu(3), prctl(2) (PR_GET_TIMERSLACK).
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The Makefile defines it (a hash of the sources, as the Go side's
 * container.BuildStamp); a build without it never hands over. */
#ifndef MINIRUN_STAMP
#define MINIRUN_STAMP ""
#endif

/* 2: the flag and its value are two arguments; 1: one (--flag=value, or a
 * flag without a value); 0: not a global flag this door knows. */
static int global_flag(const char *a)
{
	static const char *const with_value[] = {"--root", "--data-root", "--log", "--log-format", NULL};
	for (const char *const *f = with_value; *f != NULL; f++) {
		size_t n = strlen(*f);
		if (strncmp(a, *f, n) == 0 && (a[n] == '\0' || a[n] == '='))
			return a[n] == '\0' ? 2 : 1;
	}
	return strcmp(a, "--systemd-cgroup") == 0;
}

static int fast_verb(const char *v)
{
	static const char *const verbs[] = {"create", "start", "state", "kill", "delete", "run", NULL};
	for (const char *const *p = verbs; *p != NULL; p++)
		if (strcmp(v, *p) == 0)
			return 1;
	return 0;
}

/* Pins this process to the CPU it runs on, when it may run on more than
 * one, and leaves the set it had in _MINIRUN_CPUS (hexadecimal, the bytes
 * of the cpu_set_t in memory order: affinity.Decode reads it), so that the
 * runtime gives it back to whatever it starts but init. 1: pinned. */
static int pin_cpu(cpu_set_t *was)
{
	static char hex[2 * sizeof(cpu_set_t) + 1];
	static const char digits[] = "0123456789abcdef";
	if (sched_getaffinity(0, sizeof *was, was) != 0 || CPU_COUNT(was) < 2)
		return 0;
	int cpu = sched_getcpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, was))
		return 0;
	const unsigned char *b = (const unsigned char *)was;
	for (size_t k = 0; k < sizeof *was; k++) {
		hex[2 * k] = digits[b[k] >> 4];
		hex[2 * k + 1] = digits[b[k] & 15];
	}
	hex[sizeof hex - 1] = '\0';
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (setenv("_MINIRUN_CPUS", hex, 1) != 0)
		return 0;
	if (sched_setaffinity(0, sizeof one, &one) != 0) {
		unsetenv("_MINIRUN_CPUS");
		return 0;
	}
	return 1;
}

/* note_slack puts this thread's timer slack (the caller's) in
 * _MINIRUN_SLACK, in nanoseconds: timerslack.c raises the slack of
 * minirun-init when it finds it there, and timerslack.go gives the value
 * back to what the verb starts. Returns whether it did. */
static int note_slack(void)
{
	char buf[24];
	long slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (slack <= 0)
		return 0; /* a real-time thread's: nothing to raise */
	snprintf(buf, sizeof buf, "%ld", slack);
	return setenv("_MINIRUN_SLACK", buf, 1) == 0;
}

__attribute__((constructor)) static void frontdoor(void)
{
	static char cmdline[1 << 15];
	static char *argv[256];
	if (MINIRUN_STAMP[0] == '\0' || geteuid() != 0)
		return; /* no stamp; rootless mode, which minirun-init leaves to minirun */
	if (getenv("_MINIRUN_FULL") != NULL) {
		unsetenv("_MINIRUN_FULL"); /* handed back: run it here */
		return;
	}
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t len = 0, n;
	while (len < (ssize_t)sizeof cmdline && (n = read(fd, cmdline + len, sizeof cmdline - (size_t)len)) > 0)
		len += n;
	close(fd);
	if (len <= 0 || len == (ssize_t)sizeof cmdline || cmdline[len - 1] != '\0')
		return; /* unreadable or too long: minirun parses it */
	int argc = 0;
	for (char *p = cmdline; p < cmdline + len && argc < 255; p += strlen(p) + 1)
		argv[argc++] = p;
	if (argc == 255 || strncmp(strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0], "minirun-", 8) == 0)
		return; /* the monitor and its helpers are minirun-<something> */

	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		int k = global_flag(argv[i]);
		if (k == 0)
			return;
		i += k;
	}
	if (i >= argc || !fast_verb(argv[i]))
		return;
	int bundle = 0;
	for (int j = i + 1; j < argc; j++) {
		if (strcmp(argv[j], "-h") == 0 || strcmp(argv[j], "--help") == 0)
			return;
		bundle |= strcmp(argv[j], "-b") == 0 || strncmp(argv[j], "--bundle", 8) == 0;
	}
	if (strcmp(argv[i], "run") == 0 && !bundle)
		return; /* Docker's run: minirun's */

	char self[PATH_MAX], helper[PATH_MAX + 16];
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL || strstr(self, " (deleted)") != NULL)
		return;
	snprintf(helper, sizeof helper, "%.*s/minirun-init", (int)(slash - self), self);
	if (access(helper, X_OK) != 0)
		return;
	if (setenv("_MINIRUN_FRONT", self, 1) != 0 || setenv("_MINIRUN_INIT_STAMP", MINIRUN_STAMP, 1) != 0)
		return;
	/* One processor for these short commands, from the Go runtime's very
	 * start (it reads GOMAXPROCS before anything runs): no idle threads
	 * started and parked, ~0.2 ms of CPU less per command. front.go takes
	 * it out of the environment again at once, so nothing minirun-init
	 * starts inherits it; a GOMAXPROCS of the user's is left alone. */
	int procs = getenv("GOMAXPROCS") == NULL && setenv("GOMAXPROCS", "1", 1) == 0 &&
		    setenv("_MINIRUN_FRONT_PROCS", "1", 1) == 0;
	cpu_set_t was;
	int pinned = pin_cpu(&was);
	int slack = note_slack();
	execv(helper, argv);
	/* It could not be executed: minirun runs the command itself. */
	unsetenv("_MINIRUN_FRONT");
	unsetenv("_MINIRUN_INIT_STAMP");
	if (procs) {
		unsetenv("GOMAXPROCS");
		unsetenv("_MINIRUN_FRONT_PROCS");
	}
	if (pinned) {
		sched_setaffinity(0, sizeof was, &was);
		unsetenv("_MINIRUN_CPUS");
	}
	if (slack)
		unsetenv("_MINIRUN_SLACK");
}
