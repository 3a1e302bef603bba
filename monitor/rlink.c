/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rlink.c - the side services' Redis link (see rlink.h).
 *
 * One hiredis async context at a time.  AUTH and SELECT are pipelined
 * right after connecting; the link is ready when their replies (or, with
 * neither, a PING's) are in.  A lost link is logged once per outage and
 * retried with a doubling backoff up to redis.retry_max.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "log.h"
#include "rlink.h"
#include "util.h"

#define RLINK_BACKOFF_MIN_MS	200
#define RLINK_ARGS_MAX		64	/* rlink_cmdv */

struct rlink {
	struct event_base *base;
	const struct fumidai *cf;
	char *who;
	redisAsyncContext *ac;
	int ready;
	int down_logged;
	int backoff_ms;
	struct event *ev_retry;
};

static void rl_connect(struct rlink *l);

static void
rl_retry_later(struct rlink *l, const char *why)
{
	struct timeval tv;

	l->ready = 0;
	if (!l->down_logged)
		log_warnx("service=%s error=\"%s\" msg=\"Redis unreachable; "
		    "retrying\"", l->who, why);
	l->down_logged = 1;
	tv.tv_sec = l->backoff_ms / 1000;
	tv.tv_usec = (l->backoff_ms % 1000) * 1000;
	evtimer_add(l->ev_retry, &tv);
	l->backoff_ms = FM_MIN(2 * l->backoff_ms,
	    FM_MAX(l->cf->redis.retry_max_ms, RLINK_BACKOFF_MIN_MS));
}

static void
rl_connect_cb(const redisAsyncContext *ac, int status)
{
	struct rlink *l = ac->data;

	if (l == NULL || ac != l->ac || status == REDIS_OK)
		return;
	l->ac = NULL;		/* hiredis frees it */
	rl_retry_later(l, ac->errstr);
}

static void
rl_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct rlink *l = ac->data;

	(void)status;
	if (l == NULL || ac != l->ac)
		return;
	l->ac = NULL;
	rl_retry_later(l, ac->err ? ac->errstr : "closed");
}

/* rl_hello_cb - the last reply of the opening: ready, or drop and retry */
static void
rl_hello_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rlink *l = ac->data;
	redisReply *reply = r;
	char why[256];

	if (reply == NULL || l == NULL || ac != l->ac)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s: %.200s",
		    (const char *)privdata, reply->str);
		l->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
		rl_retry_later(l, why);
		return;
	}
	if (strcmp((const char *)privdata, "ready") != 0)
		return;
	if (l->down_logged)
		log_info("service=%s msg=\"Redis is back\"", l->who);
	l->down_logged = 0;
	l->ready = 1;
	l->backoff_ms = RLINK_BACKOFF_MIN_MS;
}

static void
rl_connect(struct rlink *l)
{
	const struct fm_redis *rc = &l->cf->redis;
	redisAsyncContext *ac;

	if (rc->socket)
		ac = redisAsyncConnectUnix(rc->socket);
	else
		ac = redisAsyncConnect(rc->host ? rc->host : "127.0.0.1",
		    rc->port ? rc->port : 6379);
	if (ac == NULL || ac->err) {
		rl_retry_later(l, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		return;
	}
	ac->data = l;
	redisLibeventAttach(ac, l->base);
	redisAsyncSetConnectCallback(ac, rl_connect_cb);
	redisAsyncSetDisconnectCallback(ac, rl_disconnect_cb);
	l->ac = ac;
	if (rc->password)
		redisAsyncCommand(ac, rl_hello_cb, (void *)"auth", "AUTH %s",
		    rc->password);
	if (rc->db)
		redisAsyncCommand(ac, rl_hello_cb, (void *)"select",
		    "SELECT %d", rc->db);
	redisAsyncCommand(ac, rl_hello_cb, (void *)"ready", "PING");
}

static void
rl_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rlink *l = arg;

	(void)fd;
	(void)what;
	if (l->ac == NULL)
		rl_connect(l);
}

struct rlink *
rlink_new(struct event_base *base, const struct fumidai *cf, const char *who)
{
	struct rlink *l = xcalloc(1, sizeof(*l));

	l->base = base;
	l->cf = cf;
	l->who = xstrdup(who);
	l->backoff_ms = RLINK_BACKOFF_MIN_MS;
	l->ev_retry = evtimer_new(base, rl_retry_cb, l);
	if (l->ev_retry == NULL)
		fatalx("evtimer_new");
	rl_connect(l);
	return l;
}

int
rlink_ready(const struct rlink *l)
{
	return l != NULL && l->ready && l->ac != NULL;
}

/* A pending command: the caller's callback and argument. */
struct rl_pend {
	rlink_cb *cb;
	void *arg;
};

static void
rl_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rl_pend *p = privdata;

	(void)ac;
	if (p->cb)
		p->cb(p->arg, r);
	free(p);
}

int
rlink_cmd(struct rlink *l, rlink_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	struct rl_pend *p;

	if (!rlink_ready(l))
		return -1;
	p = xmalloc(sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	if (redisAsyncCommandArgv(l->ac, rl_reply_cb, p, argc, argv,
	    argvlen) != REDIS_OK) {
		free(p);
		return -1;
	}
	return 0;
}

int
rlink_cmdv(struct rlink *l, rlink_cb *cb, void *arg, ...)
{
	const char *argv[RLINK_ARGS_MAX];
	size_t argvlen[RLINK_ARGS_MAX];
	const char *s;
	va_list ap;
	int n = 0;

	va_start(ap, arg);
	while ((s = va_arg(ap, const char *)) != NULL && n < RLINK_ARGS_MAX) {
		argv[n] = s;
		argvlen[n++] = strlen(s);
	}
	va_end(ap);
	return rlink_cmd(l, cb, arg, n, argv, argvlen);
}

char *
rlink_key(const struct fumidai *cf, const char *suffix)
{
	char *k;

	xasprintf(&k, "%s%s", cf->redis.prefix ? cf->redis.prefix : "", suffix);
	return k;
}

void
rlink_free(struct rlink *l)
{
	redisAsyncContext *ac;

	if (l == NULL)
		return;
	if ((ac = l->ac) != NULL) {
		l->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);	/* pending callbacks get NULL */
	}
	event_free(l->ev_retry);
	free(l->who);
	free(l);
}
