/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c - batches to Redis over hiredis async, exactly once, through
 * outages.
 *
 * A submitted batch becomes a record: its (stream, seq) and one EVALSHA
 * per subject in RESP form (model.c).  Records live in three places, always
 * in submission order:
 *
 *	flight	sent on the current link, waiting for their replies
 *	spool	acknowledged records on disk, [spool_send, end) not yet sent
 *	waitq	in memory, not sent, not acknowledged
 *
 * and are sent in that order: flight, then the spool, then waitq, so that a
 * subject never sees a batch after a later one of the same stream (which
 * would make the script skip it).  While the link is down records wait in
 * waitq up to queue_max_bytes or one second, then move to the spool, which
 * is fsynced before they are acknowledged.  When Redis returns the spool is
 * replayed, then waitq; the spool is emptied once all of it is answered.
 * When the link drops, records in flight go back (spooled ones are re-read
 * from their offset): the scripts' per-subject sequence numbers make the
 * re-sent part harmless.
 *
 * Acknowledgements (ack callback) follow submission order: a record is
 * acknowledged when all its replies are in, or when it is synced into the
 * spool.  An error reply is counted and logged but still acknowledged, so
 * one bad batch cannot wedge the pipeline; errors that say the server is
 * not ready (NOSCRIPT, LOADING, BUSY, READONLY, ...) instead drop the link
 * and re-send after reconnecting.
 *
 * SECURITY: Redis is trusted; replies are only compared and logged
 * escaped.  Account names never appear in this file's logs.
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
#include "model.h"
#include "scripts.h"
#include "spool.h"
#include "store.h"

#define STORE_SPOOL_FILE	"store.spool"
#define STORE_EMBEDDED_SOCKET	"redis.sock"
#define STORE_BACKOFF_MIN_MS	100
#define STORE_STALL_US		(30 * 1000000LL)	/* no reply: drop link */
#define STORE_WAIT_US		1000000LL	/* link down: spool after */
#define STORE_WINDOW		(1024u * 1024)	/* bytes sent, not yet answered */
#define STORE_ERRLOG_US		(10 * 1000000LL)	/* error log rate */
#define STORE_NOSCRIPT_MAX	5	/* then an unknown script is poison */

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_READY };

struct rec {
	struct rec *next;
	char *stream;
	uint64_t seq;
	struct model_cmds cmds;
	uint32_t replied;	/* replies received on the current link */
	uint32_t posts;		/* alert posts sent for it, not answered */
	int spooled;		/* read back from the spool (already acked) */
	uint64_t spool_off;	/* its offset there */
	int64_t sent_us;
};

struct recq {
	struct rec *head, *tail;
	size_t n;
	size_t bytes;
};

struct store {
	struct event_base *base;
	const struct fumidai *cf;
	store_ack_fn *ack;
	void *arg;
	struct model *model;
	struct spool *spool;
	uint64_t spool_send;	/* next spool record to send */
	size_t spool_inflight;	/* spooled records in flight */
	redisAsyncContext *ac;
	enum link_state state;
	char *where;		/* "unix:/path" or "host:port", for logs */
	char *socket;		/* unix socket path, or NULL for TCP */
	char *alerts_key;	/* "<prefix>{g}:alerts" */
	struct recq flight, waitq;
	struct spool_rec sr;	/* spool record being read back */
	size_t unacked;		/* batches submitted, not yet acked */
	struct event *ev_retry, *ev_tick;
	int backoff_ms;
	int64_t state_since;	/* mono time of the last state change */
	int64_t down_since;	/* mono time the link was last lost */
	int64_t last_reply;	/* mono time of the last reply */
	int outage_logged;
	int noscript_streak;
	int spool_full;		/* spool at spool_max_bytes: not acking */
	int draining;
	int drain_full;			/* wait until Redis has everything */
	int64_t drain_deadline;		/* then settle for the spool */
	void (*drain_done)(void *);
	void *drain_arg;
	int in_pump, pump_again;
	int64_t errlog_at;	/* last error reply logged */
	int64_t spoolerr_at;	/* last spool write error logged */
	uint64_t errlog_skipped;
	struct store_stats st;
};

static void link_connect(struct store *s);
static void link_close(struct store *s, const char *why);
static void link_down(struct store *s);
static void pump(struct store *s);
static void connect_cb(const redisAsyncContext *ac, int status);
static void disconnect_cb(const redisAsyncContext *ac, int status);
static void hello_cb(redisAsyncContext *ac, void *r, void *privdata);
static void reply_cb(redisAsyncContext *ac, void *r, void *privdata);
static void post_cb(redisAsyncContext *ac, void *r, void *privdata);
static void retry_cb(evutil_socket_t fd, short what, void *arg);
static void tick_cb(evutil_socket_t fd, short what, void *arg);

static const char HELLO_AUTH[] = "auth";
static const char HELLO_SELECT[] = "select";
static const char HELLO_LOAD[] = "load";
static const char HELLO_LOAD_POST[] = "load post";

/* ---- records and queues ---- */

static struct rec *
rec_new(const char *stream, uint64_t seq)
{
	struct rec *r = xcalloc(1, sizeof(*r));

	r->stream = xstrdup(stream ? stream : "");
	r->seq = seq;
	model_cmds_init(&r->cmds);
	return r;
}

static void
rec_free(struct rec *r)
{
	model_cmds_free(&r->cmds);
	free(r->stream);
	free(r);
}

static void
q_push(struct recq *q, struct rec *r)
{
	r->next = NULL;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	q->n++;
	q->bytes += r->cmds.data.len;
}

static struct rec *
q_pop(struct recq *q)
{
	struct rec *r = q->head;

	if (r == NULL)
		return NULL;
	if ((q->head = r->next) == NULL)
		q->tail = NULL;
	q->n--;
	q->bytes -= r->cmds.data.len;
	r->next = NULL;
	return r;
}

/* q_prepend - put all of src, in order, before dst's records */
static void
q_prepend(struct recq *dst, struct recq *src)
{
	if (src->head == NULL)
		return;
	src->tail->next = dst->head;
	if (dst->tail == NULL)
		dst->tail = src->tail;
	dst->head = src->head;
	dst->n += src->n;
	dst->bytes += src->bytes;
	memset(src, 0, sizeof(*src));
}

static void
q_free(struct recq *q)
{
	struct rec *r;

	while ((r = q_pop(q)) != NULL)
		rec_free(r);
}

/* ---- acknowledgement ---- */

static void
drain_check(struct store *s)
{
	void (*done)(void *) = s->drain_done;

	if (done == NULL)
		return;
	if (s->drain_full) {
		if (s->unacked == 0 && spool_size(s->spool) == 0 &&
		    s->flight.head == NULL && s->waitq.head == NULL)
			s->drain_full = 0;
		else if (mono_us() >= s->drain_deadline) {
			log_warnx("redis=%s msg=\"Redis did not take everything in "
			    "time; the rest stays in the spool for the next run\"",
			    s->where);
			s->drain_full = 0;
			s->draining = 1;
			pump(s);
			return;
		} else
			return;
	}
	if (s->unacked > 0)
		return;
	s->drain_done = NULL;
	s->draining = 0;
	done(s->drain_arg);
}

static void
acknowledge(struct store *s, struct rec *r)
{
	s->unacked--;
	s->ack(s->arg, r->stream, r->seq);
}

/* ---- the spool ---- */

static void
spool_full_log(struct store *s, int full)
{
	if (full && !s->spool_full)
		log_warnx("spool=%s bytes=%llu max=%zu msg=\"spool full: not "
		    "acknowledging batches until Redis is back\"",
		    spool_path(s->spool), (unsigned long long)s->st.spool_bytes,
		    s->cf->spool_max_bytes);
	else if (!full && s->spool_full)
		log_info("spool=%s msg=\"spool has room again\"",
		    spool_path(s->spool));
	s->spool_full = full;
}

/* spool_error - a failed spool write, logged at most every 10 s (the
 * batches stay in memory, unacknowledged, and are retried) */
static void
spool_error(struct store *s, const char *what, const char *err)
{
	int64_t now = mono_us();

	if (s->spoolerr_at != 0 && now - s->spoolerr_at < STORE_ERRLOG_US)
		return;
	s->spoolerr_at = now;
	log_warnx("msg=\"%s; batches kept in memory\" error=\"%s\"", what,
	    err);
}

/* spill - move the oldest records of waitq to the spool until what is left
 * fits in queue_max_bytes (all of them with force), sync, then acknowledge
 * them */
static void
spill(struct store *s, int force)
{
	struct rec *r;
	char err[256];
	uint64_t start = spool_size(s->spool);
	size_t n = 0, i, left = s->waitq.bytes;

	for (r = s->waitq.head; r != NULL; r = r->next) {
		if (!force && left <= s->cf->queue_max_bytes)
			break;
		if (!s->draining && spool_size(s->spool) + r->cmds.data.len >
		    s->cf->spool_max_bytes) {
			spool_full_log(s, 1);
			break;
		}
		if (spool_append(s->spool, r->stream, r->seq, &r->cmds, err,
		    sizeof(err)) == -1) {
			spool_error(s, "cannot spool a batch", err);
			break;
		}
		left -= r->cmds.data.len;
		n++;
	}
	if (n == 0)
		return;
	if (spool_sync(s->spool, err, sizeof(err)) == -1) {
		spool_error(s, "cannot sync the spool", err);
		if (spool_cut(s->spool, start, err, sizeof(err)) == -1)
			spool_error(s, "cannot cut the spool", err);
		s->st.spool_bytes = spool_size(s->spool);
		return;
	}
	s->st.spool_bytes = spool_size(s->spool);
	for (i = 0; i < n; i++) {
		r = q_pop(&s->waitq);
		s->st.spooled++;
		acknowledge(s, r);
		rec_free(r);
	}
}

/* ---- sending ---- */

/* send_rec - put every command of r on the link, r in flight */
static void
send_rec(struct store *s, struct rec *r)
{
	const char *p = r->cmds.data.data;
	size_t i;

	if (s->flight.head == NULL)
		s->last_reply = mono_us();
	r->replied = 0;
	r->posts = 0;
	r->sent_us = mono_us();
	for (i = 0; i < r->cmds.n; i++) {
		redisAsyncFormattedCommand(s->ac, reply_cb, r, p, r->cmds.len[i]);
		p += r->cmds.len[i];
	}
	s->st.commands += r->cmds.n;
	if (r->spooled)
		s->spool_inflight++;
	q_push(&s->flight, r);
}

/* send_spool - replay spooled records, a window's worth at a time (the
 * window also keeps hiredis's output buffer small: it moves the unsent
 * rest of it after every write) */
static void
send_spool(struct store *s)
{
	struct rec *r;
	uint64_t off;
	char err[256];
	int rc;

	while (s->spool_send < spool_size(s->spool) &&
	    (s->flight.head == NULL || s->flight.bytes < STORE_WINDOW)) {
		off = s->spool_send;
		rc = spool_read(s->spool, &s->spool_send, &s->sr, err,
		    sizeof(err));
		if (rc != 1) {
			log_warnx("msg=\"unreadable spool record, rest of the "
			    "spool dropped\" error=\"%s\"", err);
			s->spool_send = spool_size(s->spool);
			break;
		}
		r = rec_new(s->sr.stream.data, s->sr.seq);
		model_cmds_free(&r->cmds);
		r->cmds = s->sr.cmds;
		model_cmds_init(&s->sr.cmds);
		r->spooled = 1;
		r->spool_off = off;
		send_rec(s, r);
	}
}

/* spool_done - empty the spool once every record of it was answered */
static void
spool_done(struct store *s)
{
	char err[256];

	if (spool_size(s->spool) == 0 || s->spool_inflight > 0 ||
	    s->spool_send < spool_size(s->spool))
		return;
	if (spool_cut(s->spool, 0, err, sizeof(err)) == -1) {
		log_warnx("msg=\"cannot empty the spool\" error=\"%s\"", err);
		return;
	}
	s->spool_send = 0;
	s->st.spool_bytes = 0;
	spool_full_log(s, 0);
}

/* flight_advance - retire the answered records at the head of flight */
static void
flight_advance(struct store *s)
{
	struct rec *r;

	while ((r = s->flight.head) != NULL && r->replied >= r->cmds.n &&
	    r->posts == 0) {
		q_pop(&s->flight);
		s->st.applied++;
		s->st.latency_us = mono_us() - r->sent_us;
		if (r->spooled)
			s->spool_inflight--;
		else
			acknowledge(s, r);
		rec_free(r);
	}
	spool_done(s);
}

/* pump - send what can be sent, spool what must wait; re-entry safe (an
 * ack callback may submit) */
static void
pump(struct store *s)
{
	int ready, force;

	if (s->in_pump) {
		s->pump_again = 1;
		return;
	}
	s->in_pump = 1;
	do {
		s->pump_again = 0;
		ready = s->state == LINK_READY;
		if (ready) {
			send_spool(s);
			while (s->spool_send >= spool_size(s->spool) &&
			    s->waitq.head != NULL && (s->flight.head == NULL ||
			    s->flight.bytes < STORE_WINDOW))
				send_rec(s, q_pop(&s->waitq));
			flight_advance(s);
		}
		if (s->waitq.head != NULL && (!ready ||
		    s->spool_send < spool_size(s->spool))) {
			force = s->draining || (!ready &&
			    mono_us() - s->down_since >= STORE_WAIT_US);
			spill(s, force);
		}
		drain_check(s);
	} while (s->pump_again);
	s->in_pump = 0;
}

/* ---- replies ---- */

/* retryable - an error that says "not now" rather than "bad batch" */
static int
retryable(struct store *s, const char *msg)
{
	static const char *const words[] = { "LOADING", "BUSY", "MASTERDOWN",
	    "READONLY", "TRYAGAIN", "CLUSTERDOWN", "OOM", "NOREPLICAS",
	    "MISCONF" };
	size_t i;

	if (strncmp(msg, "NOSCRIPT", 8) == 0)
		return ++s->noscript_streak <= STORE_NOSCRIPT_MAX;
	for (i = 0; i < nitems(words); i++)
		if (strncmp(msg, words[i], strlen(words[i])) == 0)
			return 1;
	return 0;
}

static void
error_reply(struct store *s, const struct rec *r, const redisReply *reply)
{
	struct buf b;
	int64_t now = mono_us();
	size_t n;

	s->st.errors++;
	if (s->errlog_at != 0 && now - s->errlog_at < STORE_ERRLOG_US) {
		s->errlog_skipped++;
		return;
	}
	buf_init(&b);
	log_escape(&b, r->stream, strlen(r->stream));
	buf_addc(&b, '\0');
	n = b.len;
	log_escape(&b, reply->str, reply->len < 200 ? reply->len : 200);
	log_warnx("redis=%s stream=%s seq=%llu error=\"%s\" suppressed=%llu "
	    "msg=\"error reply; batch acknowledged anyway\"", s->where,
	    b.data, (unsigned long long)r->seq, b.data + n,
	    (unsigned long long)s->errlog_skipped);
	buf_free(&b);
	s->errlog_at = now;
	s->errlog_skipped = 0;
}

/* not_now - an error reply that says "retry": drop the link (1) */
static int
not_now(struct store *s, const redisReply *reply)
{
	struct buf b;

	if (!retryable(s, reply->str))
		return 0;
	buf_init(&b);
	log_escape(&b, reply->str, reply->len < 200 ? reply->len : 200);
	link_close(s, b.data);
	buf_free(&b);
	return 1;
}

/* count_kind - one more alert of kind k opened (for /metrics) */
static void
count_kind(struct store_stats *st, const redisReply *k)
{
	size_t i;

	if (k->len == 0 || k->len >= sizeof(st->opened[0].kind))
		return;
	for (i = 0; i < st->nopened; i++)
		if (strcmp(st->opened[i].kind, k->str) == 0)
			break;
	if (i == st->nopened) {
		if (i == STORE_KINDS)
			return;
		memcpy(st->opened[i].kind, k->str, k->len + 1);
		st->opened[i].n = 0;
		st->nopened++;
	}
	st->opened[i].n++;
}

/* post_alerts - file the alerts a subject's script returned ({applied,
 * (id version kind json opened last)*}) in the global stream, flag
 * accounts and block addresses as configured (scripts.c); the record is not done
 * until Redis has them (see scripts.c) */
static void
post_alerts(struct store *s, struct rec *rec, const redisReply *reply)
{
	size_t i, n = reply->elements - 1, argc = 10 + n;
	const char **argv;
	size_t *argvlen;
	char ttl[24], maxlen[24], recent[24], bttl[24];

	if (n == 0 || n % 6 != 0)
		return;
	for (i = 1; i <= n; i++)
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			return;
	argv = xcalloc(argc, sizeof(*argv));
	argvlen = xcalloc(argc, sizeof(*argvlen));
	snprintf(ttl, sizeof(ttl), "%lld", (long long)s->cf->retention_days *
	    86400);
	snprintf(maxlen, sizeof(maxlen), "%d", SCRIPTS_ALERTS_MAX);
	argv[0] = "EVALSHA";
	argv[1] = scripts_post_sha();
	argv[2] = "1";
	argv[3] = s->alerts_key;
	argv[4] = ttl;
	argv[5] = maxlen;
	argv[6] = s->cf->policy.flag_kinds ? s->cf->policy.flag_kinds : "";
	argv[7] = s->cf->blocklist.kinds ? s->cf->blocklist.kinds : "";
	snprintf(recent, sizeof(recent), "%d", s->cf->policy.flag_recent);
	snprintf(bttl, sizeof(bttl), "%d", s->cf->blocklist.ttl);
	argv[8] = recent;
	argv[9] = bttl;
	for (i = 0; i < 10; i++)
		argvlen[i] = strlen(argv[i]);
	for (i = 1; i <= n; i++) {
		argv[9 + i] = reply->element[i]->str;
		argvlen[9 + i] = reply->element[i]->len;
	}
	if (redisAsyncCommandArgv(s->ac, post_cb, rec, (int)argc, argv,
	    argvlen) == REDIS_OK) {
		rec->posts++;
		s->st.alerts += n / 6;
		for (i = 1; i + 5 <= n; i += 6)
			if (reply->element[i + 4]->len > 0)	/* opened */
				count_kind(&s->st, reply->element[i + 2]);
	}
	free(argv);
	free(argvlen);
}

/* answered - what every reply does first: 0 to go on, -1 when it is stale
 * (an old link) or said "not now" (the link is then dropped) */
static int
answered(struct store *s, redisAsyncContext *ac, struct rec *rec,
    redisReply *reply)
{
	if (reply == NULL || ac != s->ac)
		return -1;
	s->last_reply = mono_us();
	if (reply->type == REDIS_REPLY_ERROR) {
		if (not_now(s, reply))
			return -1;
		error_reply(s, rec, reply);
	} else
		s->noscript_streak = 0;
	return 0;
}

/* reply_cb - a subject's script answered (with alerts to post, maybe) */
static void
reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store *s = ac->data;
	struct rec *rec = privdata;
	redisReply *reply = r;

	if (answered(s, ac, rec, reply) == -1)
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 1)
		post_alerts(s, rec, reply);
	rec->replied++;
	flight_advance(s);
	pump(s);
}

/* post_cb - the post script answered */
static void
post_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store *s = ac->data;
	struct rec *rec = privdata;

	if (answered(s, ac, rec, r) == -1)
		return;
	rec->posts--;
	flight_advance(s);
	pump(s);
}

/* ---- the link ---- */

static void
set_state(struct store *s, enum link_state st)
{
	if (s->state == LINK_READY && st != LINK_READY)
		s->down_since = mono_us();
	s->state = st;
	s->state_since = mono_us();
	s->st.connected = st == LINK_READY;
}

static void
link_failed(struct store *s, const char *why)
{
	if (!s->outage_logged)
		log_warnx("redis=%s error=\"%s\" msg=\"Redis unreachable; "
		    "batches are kept and retried\"", s->where, why);
	else
		log_debug("redis=%s error=\"%s\" msg=\"still unreachable\"",
		    s->where, why);
	s->outage_logged = 1;
}

static void
link_connect(struct store *s)
{
	const struct fm_redis *rc = &s->cf->redis;
	redisAsyncContext *ac;

	if (s->socket)
		ac = redisAsyncConnectUnix(s->socket);
	else
		ac = redisAsyncConnect(rc->host ? rc->host : "127.0.0.1",
		    rc->port ? rc->port : 6379);
	if (ac == NULL || ac->err) {
		link_failed(s, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		link_down(s);
		return;
	}
	ac->data = s;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	s->ac = ac;
	set_state(s, LINK_CONNECTING);
	if (rc->password)
		redisAsyncCommand(ac, hello_cb, (void *)HELLO_AUTH, "AUTH %s",
		    rc->password);
	if (rc->db)
		redisAsyncCommand(ac, hello_cb, (void *)HELLO_SELECT,
		    "SELECT %d", rc->db);
	redisAsyncCommand(ac, hello_cb, (void *)HELLO_LOAD_POST,
	    "SCRIPT LOAD %s", scripts_post_text());
	redisAsyncCommand(ac, hello_cb, (void *)HELLO_LOAD, "SCRIPT LOAD %s",
	    scripts_apply_text());
}

/* link_down - the link is gone: take back what was in flight, retry later */
static void
link_down(struct store *s)
{
	struct recq back = { NULL, NULL, 0, 0 };
	struct rec *r;
	int rewound = 0;
	struct timeval tv;

	set_state(s, LINK_DOWN);
	while ((r = q_pop(&s->flight)) != NULL) {
		if (r->spooled) {
			if (!rewound)
				s->spool_send = r->spool_off;
			rewound = 1;
			rec_free(r);
		} else
			q_push(&back, r);
	}
	s->spool_inflight = 0;
	q_prepend(&s->waitq, &back);
	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->ev_retry, &tv);
	s->backoff_ms = FM_MIN(2 * s->backoff_ms,
	    FM_MAX(s->cf->redis.retry_max_ms, STORE_BACKOFF_MIN_MS));
	pump(s);
}

/* link_close - drop the link on our side (error, timeout) */
static void
link_close(struct store *s, const char *why)
{
	redisAsyncContext *ac = s->ac;

	if (ac == NULL)
		return;
	if (s->state == LINK_READY)
		log_warnx("redis=%s reason=\"%s\" msg=\"dropping the link; "
		    "unanswered batches will be re-sent\"", s->where, why);
	else
		link_failed(s, why);
	s->ac = NULL;
	redisAsyncFree(ac);	/* deferred by hiredis when in its callback */
	link_down(s);
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct store *s = ac->data;

	if (ac != s->ac || status == REDIS_OK)
		return;
	s->ac = NULL;		/* hiredis frees it */
	link_failed(s, ac->errstr);
	link_down(s);
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct store *s = ac->data;

	(void)status;
	if (ac != s->ac)
		return;
	s->ac = NULL;
	if (s->state == LINK_READY)
		log_warnx("redis=%s error=\"%s\" msg=\"link lost; unanswered "
		    "batches will be re-sent\"", s->where,
		    ac->err ? ac->errstr : "closed");
	else
		link_failed(s, ac->err ? ac->errstr : "closed");
	link_down(s);
}

static void
hello_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store *s = ac->data;
	redisReply *reply = r;
	char why[256];

	if (reply == NULL || ac != s->ac)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof(why), "%s: %.200s", (const char *)privdata,
		    reply->str);
		link_close(s, why);
		return;
	}
	if (privdata == HELLO_LOAD_POST) {
		if (reply->type != REDIS_REPLY_STRING ||
		    strcmp(reply->str, scripts_post_sha()) != 0)
			link_close(s, "SCRIPT LOAD returned an unexpected SHA-1");
		return;
	}
	if (privdata != HELLO_LOAD)
		return;
	if (reply->type != REDIS_REPLY_STRING ||
	    strcmp(reply->str, scripts_apply_sha()) != 0) {
		link_close(s, "SCRIPT LOAD returned an unexpected SHA-1");
		return;
	}
	if (s->outage_logged)
		log_info("redis=%s msg=\"Redis is back\"", s->where);
	else
		log_debug("redis=%s msg=\"connected\"", s->where);
	s->outage_logged = 0;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	set_state(s, LINK_READY);
	pump(s);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;

	(void)fd;
	(void)what;
	if (s->state == LINK_DOWN && s->ac == NULL)
		link_connect(s);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	int64_t now = mono_us();
	int64_t limit = (int64_t)FM_MAX(s->cf->redis.connect_timeout_ms,
	    1000) * 1000;

	(void)fd;
	(void)what;
	if (s->state == LINK_CONNECTING && now - s->state_since > limit)
		link_close(s, "connect timeout");
	else if (s->state == LINK_READY && s->flight.head != NULL &&
	    now - s->last_reply > STORE_STALL_US)
		link_close(s, "no reply for 30 s");
	if (s->errlog_skipped > 0 && now - s->errlog_at >= STORE_ERRLOG_US) {
		log_warnx("redis=%s suppressed=%llu msg=\"more error replies\"",
		    s->where, (unsigned long long)s->errlog_skipped);
		s->errlog_skipped = 0;
		s->errlog_at = now;
	}
	pump(s);
}

/* ---- public interface ---- */

/* target - the unix socket to use (NULL: TCP host:port) */
static char *
target(const struct fumidai *cf)
{
	char *p;

	if (cf->redis.socket)
		return xstrdup(cf->redis.socket);
	if (!cf->redis.embedded)
		return NULL;
	xasprintf(&p, "%s/%s", cf->state_dir ? cf->state_dir : ".",
	    STORE_EMBEDDED_SOCKET);
	return p;
}

struct store *
store_new(struct event_base *base, const struct fumidai *cf,
    store_ack_fn *ack, void *arg, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct timeval sec = { 1, 0 };
	const char *dir = cf->state_dir ? cf->state_dir : ".";
	char *path;

	s->base = base;
	s->cf = cf;
	s->ack = ack;
	s->arg = arg;
	spool_rec_init(&s->sr);
	mkdir_p(dir, 0700);
	xasprintf(&path, "%s/%s", dir, STORE_SPOOL_FILE);
	s->spool = spool_open(path, err, errlen);
	free(path);
	if (s->spool == NULL) {
		spool_rec_free(&s->sr);
		free(s);
		return NULL;
	}
	s->st.spool_bytes = spool_size(s->spool);
	if (s->st.spool_bytes > 0)
		log_info("spool=%s bytes=%llu msg=\"batches spooled by a "
		    "previous run will be sent first\"", spool_path(s->spool),
		    (unsigned long long)s->st.spool_bytes);
	s->model = model_new(cf);
	s->socket = target(cf);
	xasprintf(&s->alerts_key, "%s{g}:alerts", cf->redis.prefix ?
	    cf->redis.prefix : "");
	if (s->socket)
		xasprintf(&s->where, "unix:%s", s->socket);
	else
		xasprintf(&s->where, "%s:%d", cf->redis.host ?
		    cf->redis.host : "127.0.0.1", cf->redis.port ?
		    cf->redis.port : 6379);
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	s->ev_retry = evtimer_new(base, retry_cb, s);
	s->ev_tick = event_new(base, -1, EV_PERSIST, tick_cb, s);
	event_add(s->ev_tick, &sec);
	s->down_since = mono_us();
	link_connect(s);
	return s;
}

void
store_submit(struct store *s, const struct batch *b)
{
	struct rec *r = rec_new(b->stream, b->seq);

	model_format(s->model, b, &r->cmds);
	s->st.batches++;
	s->unacked++;
	q_push(&s->waitq, r);
	pump(s);
}

size_t
store_pending(const struct store *s)
{
	return s->unacked;
}

void
store_drain(struct store *s, void (*done)(void *arg), void *arg)
{
	s->drain_done = done;
	s->drain_arg = arg;
	s->draining = 1;
	pump(s);
}

void
store_drain_applied(struct store *s, int wait_ms, void (*done)(void *arg),
    void *arg)
{
	s->drain_done = done;
	s->drain_arg = arg;
	s->drain_full = 1;
	s->drain_deadline = mono_us() + (int64_t)wait_ms * 1000;
	pump(s);
}

void
store_stats(const struct store *s, struct store_stats *st)
{
	*st = s->st;
	st->connected = s->state == LINK_READY;
	st->backlog_bytes = s->waitq.bytes + s->flight.bytes;
	st->spool_bytes = spool_size(s->spool);
}

void
store_free(struct store *s)
{
	redisAsyncContext *ac;

	if (s == NULL)
		return;
	if ((ac = s->ac) != NULL) {
		s->ac = NULL;
		redisAsyncFree(ac);
	}
	event_free(s->ev_tick);
	event_free(s->ev_retry);
	q_free(&s->flight);
	q_free(&s->waitq);
	spool_close(s->spool);
	spool_rec_free(&s->sr);
	model_free(s->model);
	free(s->socket);
	free(s->alerts_key);
	free(s->where);
	free(s);
}

/* ---- synchronous access (commands, tests) ---- */

static int
sync_cmd(redisContext *c, char *err, size_t errlen, const char *what,
    const char *fmt, ...)
{
	redisReply *r;
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		snprintf(err, errlen, "%s: %s", what, c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "%s: %.200s", what, r->str);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

int
store_sync_reply(redisContext *c, redisReply **r, char *err, size_t errlen)
{
	if (redisGetReply(c, (void **)r) != REDIS_OK) {
		snprintf(err, errlen, "redis: %s", c->errstr);
		return -1;
	}
	if ((*r)->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis: %.200s", (*r)->str);
		return 1;
	}
	return 0;
}

struct redisContext *
store_connect_sync(const struct fumidai *cf, char *err, size_t errlen)
{
	int ms = cf->redis.connect_timeout_ms > 0 ?
	    cf->redis.connect_timeout_ms : 5000;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	char *sock = target(cf);
	const char *host = cf->redis.host ? cf->redis.host : "127.0.0.1";
	int port = cf->redis.port ? cf->redis.port : 6379;
	redisContext *c;

	c = sock ? redisConnectUnixWithTimeout(sock, tv) :
	    redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err) {
		if (sock)
			snprintf(err, errlen, "redis unix:%s: %s", sock,
			    c ? c->errstr : "out of memory");
		else
			snprintf(err, errlen, "redis %s:%d: %s", host, port,
			    c ? c->errstr : "out of memory");
		free(sock);
		redisFree(c);
		return NULL;
	}
	free(sock);
	if ((cf->redis.password && sync_cmd(c, err, errlen, "AUTH",
	    "AUTH %s", cf->redis.password) == -1) ||
	    (cf->redis.db && sync_cmd(c, err, errlen, "SELECT", "SELECT %d",
	    cf->redis.db) == -1) ||
	    sync_cmd(c, err, errlen, "SCRIPT LOAD", "SCRIPT LOAD %s",
	    archive_lua) == -1) {
		redisFree(c);
		return NULL;
	}
	return c;
}

void
store_key_account(struct buf *b, const struct fumidai *cf, const char *acct,
    size_t len, const char *suffix)
{
	scripts_tag_account(b, cf, acct, len);
	buf_adds(b, suffix);
}

void
store_key_pattern(struct buf *b, const struct fumidai *cf, const char *rest)
{
	const char *p = cf->redis.prefix ? cf->redis.prefix : "";

	for (; *p; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
	buf_adds(b, rest);
}
