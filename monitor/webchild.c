/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webchild.c - the dashboard as a supervised child of `fumidai run` (see
 * webchild.h).
 *
 * The child execs fumidai's own binary (/proc/self/exe, else "fumidai" in
 * PATH) with stdin from /dev/null and no other inherited descriptor but
 * stdout and stderr; when the daemon is detached (stderr is /dev/null) it
 * is told to log to syslog.  SIGCHLD keeps its default disposition, as
 * for the audits (audit_sched.c): the child is reaped by pid, polled with
 * WNOHANG.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "webchild.h"

struct webchild {
	struct event_base *base;
	const struct fumidai *cf;
	pid_t pid;			/* running child, 0: none */
	int64_t started;		/* mono_us() of its start */
	int backoff_ms;			/* pause before the next start */
	int syslog;			/* pass --syslog */
	struct event *ev;		/* poll, or the pause before a start */
};

static void webchild_cb(evutil_socket_t, short, void *);

static void
arm(struct webchild *wc, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(wc->ev, &tv);
}

/* detached - stderr is /dev/null, as daemon(3) leaves it */
static int
detached(void)
{
	struct stat a, b;

	return fstat(2, &a) == 0 && stat("/dev/null", &b) == 0 &&
	    a.st_rdev == b.st_rdev && S_ISCHR(a.st_mode);
}

static void __attribute__((noreturn))
child(const char *exe, const char *const *argv, pid_t parent)
{
	long fd, max;
	int null;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)	/* it died before the prctl */
		_exit(0);
	if ((null = open("/dev/null", O_RDONLY)) == -1 || dup2(null, 0) == -1)
		_exit(127);
	if (close_range(3, ~0U, 0) == -1) {
		max = sysconf(_SC_OPEN_MAX);
		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			(void)close((int)fd);
	}
	execv(exe, (char *const *)argv);
	execvp("fumidai", (char *const *)argv);
	_exit(127);
}

pid_t
webchild_spawn(const char *const *argv)
{
	static char exe[PATH_MAX];
	pid_t pid, self = getpid();
	ssize_t n;

	if (exe[0] == '\0') {
		if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0)
			exe[n] = '\0';
		else
			snprintf(exe, sizeof(exe), "fumidai");
	}
	if ((pid = fork()) == 0)
		child(exe, argv, self);
	return pid;
}

int
webchild_reap(pid_t pid, int stop_ms)
{
	int st = 0, i;
	pid_t r = 0;

	if (stop_ms > 0)
		(void)kill(pid, SIGTERM);
	for (i = 0; stop_ms > 0 && i < stop_ms / 10; i++) {
		if ((r = waitpid(pid, &st, WNOHANG)) != 0 &&
		    !(r == -1 && errno == EINTR))
			break;
		usleep(10000);
	}
	if (r == 0) {
		if (stop_ms > 0)
			(void)kill(pid, SIGKILL);
		while ((r = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
			;
	}
	return r == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void
start(struct webchild *wc)
{
	const char *argv[8];
	int n = 0;
	pid_t pid;

	argv[n++] = "fumidai";
	argv[n++] = "web";
	if (wc->cf->config_file != NULL) {
		argv[n++] = "-c";
		argv[n++] = wc->cf->config_file;
	}
	if (wc->syslog)
		argv[n++] = "--syslog";
	argv[n] = NULL;
	if ((pid = webchild_spawn(argv)) == -1) {
		log_warn("service=web msg=\"cannot start the dashboard\"");
		arm(wc, wc->backoff_ms);
		return;
	}
	wc->pid = pid;
	wc->started = mono_us();
	log_info("service=web pid=%ld msg=\"dashboard started\"", (long)pid);
	arm(wc, WEBCHILD_POLL_MS);
}

/* webchild_cb - reap a dead child and plan its restart, or start one */
static void
webchild_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webchild *wc = arg;
	pid_t r;
	int st;

	(void)fd;
	(void)what;
	if (wc->pid == 0) {
		start(wc);
		return;
	}
	while ((r = waitpid(wc->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == 0) {
		arm(wc, WEBCHILD_POLL_MS);
		return;
	}
	if (mono_us() - wc->started >= (int64_t)WEBCHILD_STABLE_MS * 1000)
		wc->backoff_ms = WEBCHILD_BACKOFF_MIN_MS;
	log_warnx("service=web pid=%ld status=%d msg=\"dashboard exited; "
	    "restarting in %d ms\"", (long)wc->pid, r == -1 ? -1 :
	    WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st), wc->backoff_ms);
	wc->pid = 0;
	arm(wc, wc->backoff_ms);
	wc->backoff_ms = FM_MIN(wc->backoff_ms * 2, WEBCHILD_BACKOFF_MAX_MS);
}

struct webchild *
webchild_new(struct event_base *base, const struct fumidai *cf)
{
	struct webchild *wc;
	if (!cf->web.enabled)
		return NULL;
	wc = xcalloc(1, sizeof(*wc));
	wc->base = base;
	wc->cf = cf;
	wc->backoff_ms = WEBCHILD_BACKOFF_MIN_MS;
	wc->syslog = detached();
	if ((wc->ev = evtimer_new(base, webchild_cb, wc)) == NULL)
		fatalx("evtimer_new");
	start(wc);
	return wc;
}

long
webchild_pid(const struct webchild *wc)
{
	return wc != NULL ? (long)wc->pid : 0;
}

void
webchild_free(struct webchild *wc)
{
	if (wc == NULL)
		return;
	if (wc->pid != 0) {
		(void)webchild_reap(wc->pid, WEBCHILD_STOP_MS);
		log_info("service=web pid=%ld msg=\"dashboard stopped\"",
		    (long)wc->pid);
	}
	event_free(wc->ev);
	free(wc);
}
