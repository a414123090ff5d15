/*
 * timerslack.c: raises this process's timer slack before the Go runtime
 * starts, when the process that started it asked for that (doc.go).
 *
 * _MINIRUN_SLACK holds the timer slack of the runc verb's caller, in
 * nanoseconds: the front door (cmd/minirun/frontdoor) puts it there for
 * the runtime, and the runtime passes it on to init. Every thread the Go
 * runtime starts, sysmon first, inherits the slack of the thread that
 * makes it, so it must be set here, on the only thread there is yet.
 * timerslack.go gives the caller's value back to whatever this process
 * starts or executes; it reads the variable by the same rules.
 *
 * Man pages: prctl(2) (PR_SET_TIMERSLACK), proc(5) (timerslack_ns).
 */
#include <stdlib.h>
#include <sys/prctl.h>

/* timerslack.Raised */
#define RAISED 1000000L

__attribute__((constructor)) static void timerslack(void)
{
	const char *v = getenv("_MINIRUN_SLACK");
	if (v == NULL || *v < '1' || *v > '9')
		return;
	char *end;
	long was = strtol(v, &end, 10);
	if (*end != '\0' || was <= 0 || was >= RAISED)
		return; /* not a slack, or already as large */
	prctl(PR_SET_TIMERSLACK, RAISED, 0, 0, 0);
}
