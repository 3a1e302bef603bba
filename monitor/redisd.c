/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redisd.c - start and stop the embedded redis-server.
 *
 * Used when the configuration names no Redis: a 50-person firm gets a
 * working store with nothing to set up.  The server listens only on a unix
 * socket in state_dir (no TCP port), keeps its data there (append-only file
 * plus RDB snapshots) and runs in its own process group so that a Ctrl-C
 * meant for fumidai does not stop it before fumidai has flushed.  If a
 * server already answers on that socket (left by a crashed fumidai) it is
 * used as it is and left running.
 */
#include "config.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "redisd.h"
#include "util.h"

struct redisd {
	pid_t pid;		/* -1 when the server was already running */
	char *sock;
};

static int
redisd_ping(const char *sock)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);
	redisReply *r;
	int ok = 0;

	if (c == NULL)
		return 0;
	if (!c->err && (r = redisCommand(c, "PING")) != NULL) {
		ok = r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
	}
	redisFree(c);
	return ok;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

struct redisd *
redisd_start(struct fumidai *cf, int quiet, char *err, size_t errlen)
{
	struct redisd *r = xcalloc(1, sizeof(*r));
	char *logf = NULL;
	int i, st;

	xasprintf(&r->sock, "%s/redis.sock", cf->state_dir);
	free(cf->redis.socket);
	cf->redis.socket = xstrdup(r->sock);
	if (redisd_ping(r->sock)) {
		if (!quiet)
			log_info("embedded redis: a server already answers on %s; "
			    "using it", r->sock);
		r->pid = -1;
		return r;
	}
	unlink(r->sock);
	xasprintf(&logf, "%s/redis.log", cf->state_dir);
	if ((r->pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		free(logf);
		redisd_stop(r);
		return NULL;
	}
	if (r->pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(REDIS_SERVER_PATH, "redis-server", "--port", "0",
		    "--unixsocket", r->sock, "--unixsocketperm", "700",
		    "--dir", cf->state_dir, "--appendonly", "yes",
		    "--appendfsync", "everysec", "--save", "3600 1 300 100 60 10000",
		    "--daemonize", "no", "--logfile", logf, "--protected-mode", "no",
		    (char *)NULL);
		fprintf(stderr, "fumidai: cannot run %s: %s\n", REDIS_SERVER_PATH,
		    strerror(errno));
		_exit(127);
	}
	free(logf);
	for (i = 0; i < 200; i++) {		/* up to 10 s */
		if (redisd_ping(r->sock)) {
			if (!quiet)
				log_info("embedded redis: started pid=%d socket=%s",
				    (int)r->pid, r->sock);
			return r;
		}
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			snprintf(err, errlen, "embedded redis-server (%s) exited at "
			    "start; see %s/redis.log (is the Debian package "
			    "redis-server installed?)", REDIS_SERVER_PATH,
			    cf->state_dir);
			r->pid = -1;
			redisd_stop(r);
			return NULL;
		}
		sleep_ms(50);
	}
	snprintf(err, errlen, "embedded redis-server did not answer on %s",
	    r->sock);
	redisd_stop(r);
	return NULL;
}

void
redisd_stop(struct redisd *r)
{
	int i, st;

	if (r == NULL)
		return;
	if (r->pid > 0) {
		/* SIGTERM makes redis save and exit. */
		kill(r->pid, SIGTERM);
		for (i = 0; i < 600; i++) {	/* up to 30 s for a big save */
			if (waitpid(r->pid, &st, WNOHANG) == r->pid)
				break;
			sleep_ms(50);
		}
		if (i == 600) {
			log_warnx("embedded redis pid=%d did not stop; killing it",
			    (int)r->pid);
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &st, 0);
		}
	}
	free(r->sock);
	free(r);
}

pid_t
redisd_pid(const struct redisd *r)
{
	return r ? r->pid : -1;
}
