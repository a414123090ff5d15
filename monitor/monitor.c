/*
 * monitor.c: the per-container monitor of `minirun run -d`, in C, so that
 * the one process every detached container keeps costs what conmon costs
 * (podman's monitor) and not a Go runtime. doc.go explains the design; this
 * file is the whole monitor, in the order it runs.
 *
 * It is a constructor in the minirun binary: the C library runs it before
 * main(), so before the Go runtime exists. Unless argv[0] is
 * "minirun-monitor" it returns at once. Otherwise it never returns: it is
 * the monitor, and Go never starts in this process.
 *
 *   minirun run -d (Go)   monitor (this file)          minirun-launch (Go)
 *   -------------------   -------------------          -------------------
 *   setsid, start it --->  subreaper; pipes or a
 *                          socket for the pty
 *                          fork+exec ------------------> create the container
 *                                                       (init waits), network,
 *   read "ok" / "err" <------------------------------   start, "ok" on fd 3,
 *   (fd 3), return                                      init's PID on fd 5, exit
 *                          init is now our child
 *                          (PR_SET_CHILD_SUBREAPER):
 *                          copy stdout/stderr into the
 *                          json-file log; wait4(init)
 *                          fork+exec ------------------> minirun-monitor-exit:
 *                                                       record the exit code and
 *                                                       OOM, leave the networks,
 *                          exit 0: run it again <------  delete; restart policy
 *                          else: done                   (and its delay) or cleanup
 *
 * Man pages: prctl(2) (PR_SET_CHILD_SUBREAPER), wait4(2), signalfd(2),
 * poll(2), pipe(2), unix(7) (SCM_RIGHTS: the pty master from the
 * container), pty(7), credentials(7) (sessions).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (16 * 1024) /* Docker splits longer lines here */

/* The log: Docker's json-file format, rotated by size (engine/logs.go reads it). */
struct log {
	int fd;
	const char *path;
	long long size, max_size;
	int max_files;
};

/* One of the container's output streams and the line it is collecting. */
struct stream {
	int fd; /* -1 once at EOF */
	const char *name;
	char buf[LINE_MAX_BYTES];
	size_t len;
};

static struct log lg;

static void say(const char *msg)
{
	/* The monitor has no terminal: its stderr is /dev/null unless a test
	 * gives it one. Errors that matter reach `run -d` through the launcher. */
	dprintf(STDERR_FILENO, "minirun-monitor: %s: %s\n", msg, strerror(errno));
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void log_open(void)
{
	lg.fd = open(lg.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (lg.fd < 0) {
		say("open the log");
		lg.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	struct stat st;
	lg.size = fstat(lg.fd, &st) == 0 ? st.st_size : 0;
}

/* rotate shifts <log>.N-1 to <log>.N ... <log> to <log>.1 and starts an
 * empty file; with max-file 1 it truncates. */
static void log_rotate(void)
{
	close(lg.fd);
	if (lg.max_files <= 1) {
		if (truncate(lg.path, 0) < 0)
			say("truncate the log");
	} else {
		char src[PATH_MAX], dst[PATH_MAX];
		for (int i = lg.max_files - 1; i >= 1; i--) {
			if (i > 1)
				snprintf(src, sizeof(src), "%s.%d", lg.path, i - 1);
			else
				snprintf(src, sizeof(src), "%s", lg.path);
			snprintf(dst, sizeof(dst), "%s.%d", lg.path, i);
			rename(src, dst); /* a missing older file is fine */
		}
	}
	log_open();
}

/* log_line appends {"log":"...","stream":"...","time":"..."} for one line. */
static void log_line(const char *stream, const char *p, size_t n)
{
	/* Worst case: every byte becomes \u00XX (6 bytes). */
	static char out[LINE_MAX_BYTES * 6 + 128];
	size_t o = 0;
	o += (size_t)snprintf(out, sizeof(out), "{\"log\":\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		switch (c) {
		case '"':
			out[o++] = '\\', out[o++] = '"';
			break;
		case '\\':
			out[o++] = '\\', out[o++] = '\\';
			break;
		case '\n':
			out[o++] = '\\', out[o++] = 'n';
			break;
		case '\r':
			out[o++] = '\\', out[o++] = 'r';
			break;
		case '\t':
			out[o++] = '\\', out[o++] = 't';
			break;
		default:
			if (c < 0x20)
				o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
			else
				out[o++] = (char)c; /* UTF-8 as it is; readers replace invalid bytes */
		}
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\",\"stream\":\"%s\",\"time\":\"%s.%09ldZ\"}\n", stream, when,
			      ts.tv_nsec);
	if (lg.size + (long long)o > lg.max_size && lg.size > 0)
		log_rotate();
	if (write_all(lg.fd, out, o) == 0)
		lg.size += (long long)o;
}

/* stream_read reads what is there and logs each complete line (or 16 KiB
 * without a newline); at EOF the rest, and the stream is done. */
static void stream_read(struct stream *s)
{
	ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* EOF, or EIO from a pty whose other side is gone */
		if (s->len > 0)
			log_line(s->name, s->buf, s->len);
		s->len = 0;
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->len += (size_t)n;
	size_t start = 0;
	for (size_t i = start; i < s->len; i++) {
		if (s->buf[i] == '\n') {
			log_line(s->name, s->buf + start, i + 1 - start);
			start = i + 1;
		}
	}
	if (start == 0 && s->len == sizeof(s->buf)) {
		log_line(s->name, s->buf, s->len);
		start = s->len;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
}

/* recv_fd receives the one descriptor (the pty master) the container's init
 * sent on the console socket (unix(7), SCM_RIGHTS). */
static int recv_fd(int sock)
{
	char data[64];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* spawn runs this binary again as argv[0] name, with fds[i] as its fd i
 * (-1: /dev/null), and returns its PID. */
static pid_t spawn(char *const argv[], const int fds[6])
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int null = open("/dev/null", O_RDWR);
	/* `run -d --trace`: the trace pipe (trace/doc.go) becomes the
	 * launcher's fd 6 (it marks it close-on-exec). */
	const char *t = strcmp(argv[0], "minirun-launch") == 0 ? getenv("_MINIRUN_TRACE_FD") : NULL;
	int tfd = t ? atoi(t) : -1;
	int trace = tfd > 2 ? fcntl(tfd, F_DUPFD_CLOEXEC, 10) : -1;
	int moved[6];
	/* First out of the way of 0-5 (an fd may sit where another goes). */
	for (int i = 0; i < 6; i++)
		moved[i] = fcntl(fds[i] >= 0 ? fds[i] : null, F_DUPFD_CLOEXEC, 10);
	for (int i = 0; i < 6; i++)
		if (moved[i] < 0 || dup2(moved[i], i) < 0)
			_exit(125);
	if (trace >= 0 && dup2(trace, 6) == 6) {
		setenv("_MINIRUN_TRACE_FD", "6", 1);
		/* close_range(2), by number: musl 1.2.3 has no wrapper */
		syscall(SYS_close_range, 7U, ~0U, 0U);
	} else {
		unsetenv("_MINIRUN_TRACE_FD");
		syscall(SYS_close_range, 6U, ~0U, 0U);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv("/proc/self/exe", argv);
	_exit(125);
}

static int wait_for(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* run_once starts the container through the launcher and copies its output
 * into the log until it has exited. It returns the container's exit code,
 * or -1 if the launcher did not start it (then *launch_code is the
 * launcher's exit code). */
static int run_once(char *state, char *data, char *id, int tty, int open_stdin, int *report, int sigfd,
		    int *launch_code)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, console[2] = {-1, -1}, pidp[2];
	if (pipe2(pidp, O_CLOEXEC) < 0)
		return say("pipe"), *launch_code = 125, -1;
	if (tty) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
			return say("socketpair"), *launch_code = 125, -1;
	} else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		return say("pipe"), *launch_code = 125, -1;
	}
	if (open_stdin && !tty && pipe2(in, O_CLOEXEC) < 0) /* -d -i: a stdin nobody writes to */
		return say("pipe"), *launch_code = 125, -1;

	char name[] = "minirun-launch";
	char *argv[] = {name, state, data, id, NULL};
	int fds[6] = {in[0], out[1], err[1], *report, console[1], pidp[1]};
	pid_t launcher = spawn(argv, fds);
	if (launcher < 0)
		return say("fork"), *launch_code = 125, -1;
	close(pidp[1]), close(out[1]), close(err[1]), close(in[0]), close(console[1]);
	if (*report >= 0) {
		close(*report); /* only the first launch reports to `run -d` */
		*report = -1;
	}
	/* The launcher writes init's PID once the container runs, then exits:
	 * EOF without a PID means it failed (and said why, and cleaned up). */
	char buf[32] = {0};
	ssize_t n, got = 0;
	while ((n = read(pidp[0], buf + got, sizeof(buf) - 1 - (size_t)got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += n;
	}
	close(pidp[0]);
	*launch_code = wait_for(launcher);
	pid_t init = (pid_t)atoi(buf);
	struct stream s[2] = {{.fd = out[0], .name = "stdout"}, {.fd = err[0], .name = "stderr"}};
	if (tty) {
		s[0].fd = init > 0 ? recv_fd(console[0]) : -1;
		close(console[0]);
	}
	if (init <= 0) {
		for (int i = 0; i < 2; i++)
			if (s[i].fd >= 0)
				close(s[i].fd);
		if (in[1] >= 0)
			close(in[1]);
		return -1;
	}

	/* Copy output until init has exited and the streams are at EOF — or
	 * 2 s after init exited: a daemonised process may keep a pipe open. */
	int code = -1;
	struct timespec deadline = {0};
	for (;;) {
		struct pollfd p[3] = {{.fd = sigfd, .events = POLLIN}, {.fd = s[0].fd, .events = POLLIN}, {.fd = s[1].fd, .events = POLLIN}};
		int timeout = -1;
		if (code >= 0) {
			if (s[0].fd < 0 && s[1].fd < 0)
				break;
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			long long left = (deadline.tv_sec - now.tv_sec) * 1000LL + (deadline.tv_nsec - now.tv_nsec) / 1000000;
			if (left <= 0)
				break;
			timeout = (int)left;
		}
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (s[i].fd >= 0 && (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				stream_read(&s[i]);
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == sizeof(si))
				;
			int status;
			pid_t pid;
			/* Reap every child: init, and orphans of the container
			 * or of the launcher that were reparented to us. */
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				if (pid != init)
					continue;
				code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
				clock_gettime(CLOCK_MONOTONIC, &deadline);
				deadline.tv_sec += 2;
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		if (s[i].fd >= 0) {
			if (s[i].len > 0)
				log_line(s[i].name, s[i].buf, s[i].len);
			close(s[i].fd);
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	return code;
}

/*
 * own_argv reads this process's arguments from /proc/self/cmdline (proc(5)):
 * a constructor gets argc and argv from glibc, but not from musl, which the
 * Makefile prefers (and the C standard promises neither). Returns argc, or
 * -1; *out is NULL-terminated and never freed (the monitor runs until exit).
 */
static int own_argv(char ***out)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	for (ssize_t n; buf != NULL; len += (size_t)n) {
		if (len == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			break;
		n = read(fd, buf + len, cap - len);
		if (n <= 0) {
			if (n < 0)
				len = 0;
			break;
		}
	}
	close(fd);
	if (buf == NULL || len == 0)
		return -1;
	int argc = 0;
	for (size_t i = 0; i < len; i++)
		argc += buf[i] == '\0';
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	if (argv == NULL)
		return -1;
	for (int i = 0; i < argc; i++, buf += strlen(buf) + 1)
		argv[i] = buf;
	*out = argv;
	return argc;
}

/*
 * The arguments, from engine/monitor.go (startDetached): STATE_ROOT DATA_ROOT
 * ID LOG_PATH MAX_SIZE MAX_FILES MODE, where MODE has "t" for a pty and "i"
 * for an open stdin; fd 3 is the pipe to `run -d`.
 */
__attribute__((constructor)) static void monitor(void)
{
	/* The cheap test first, for every minirun process: argv[0]'s last
	 * component, which glibc and musl both keep (errno.h). */
	if (strcmp(program_invocation_short_name, "minirun-monitor") != 0)
		return;
	char **argv;
	int argc = own_argv(&argv);
	if (argc != 8) {
		dprintf(3, "err 125 minirun-monitor: want STATE_ROOT DATA_ROOT ID LOG MAX_SIZE MAX_FILES MODE");
		_exit(125);
	}
	char *state = argv[1], *data = argv[2], *id = argv[3];
	lg.path = argv[4];
	lg.max_size = atoll(argv[5]);
	lg.max_files = atoi(argv[6]);
	int tty = strchr(argv[7], 't') != NULL, open_stdin = strchr(argv[7], 'i') != NULL;
	if (lg.max_size <= 0 || lg.max_files <= 0) {
		dprintf(3, "err 125 minirun-monitor: bad log size %s or count %s", argv[5], argv[6]);
		_exit(125);
	}

	/* Orphans of our descendants — the container's init once the launcher
	 * has exited — become our children, so that we can wait4(2) for it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		dprintf(3, "err 125 minirun-monitor: prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
		_exit(125);
	}
	/* SIGCHLD as a readable descriptor, next to the output streams. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	if (sigfd < 0) {
		dprintf(3, "err 125 minirun-monitor: signalfd: %s", strerror(errno));
		_exit(125);
	}
	log_open();

	int report = 3;
	fcntl(report, F_SETFD, FD_CLOEXEC);
	for (;;) {
		int launch_code = 0;
		int code = run_once(state, data, id, tty, open_stdin, &report, sigfd, &launch_code);
		if (code < 0) {
			if (report < 0 && launch_code == 2) /* the first start failed: nothing to restart */
				_exit(launch_code);
			code = 125;
		}
		/* The exit, the restart policy and its delay, the cleanup: Go. */
		char name[] = "minirun-monitor-exit", codes[16];
		snprintf(codes, sizeof(codes), "%d", code);
		char *argv2[] = {name, state, data, id, codes, NULL};
		int fds[6] = {-1, -1, STDERR_FILENO, -1, -1, -1};
		pid_t pid = spawn(argv2, fds);
		if (pid < 0 || wait_for(pid) != 0)
			break; /* done (or a failure to decide): no restart */
	}
	_exit(0);
}
