/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify.c - the notification core (see notify.h).
 *
 * Each notifier is a small state machine driven by Redis replies, by its
 * plugin's done callback and by timers, with at most one thing awaited at
 * a time (`busy`):
 *
 *   CURSOR  GET its cursor; none: INIT
 *   INIT    XREVRANGE the stream's last id, SET it as the cursor (NX), CURSOR
 *   FETCH   XRANGE up to NOTIFY_BATCH entries after the cursor; none: wait
 *   RECORD  HGET the alert's latest record, fill struct fm_alert, filter
 *   RATE    HGET its account's last notification (per_account only)
 *   DELIVER the plugin's deliver(); RETRY: the same again after a pause
 *   SAVE    (HSET + EXPIRE the rate) SET the cursor; then RECORD or FETCH
 *
 * An alert the filters skip only moves the cursor in memory; it is saved
 * with the next delivery or at the end of the batch.  Whatever Redis
 * trouble happens, the phase stays and the once-a-second tick tries again;
 * the rlink logs the outage itself.  done may come before deliver()
 * returns: it only records the result and arms a zero-delay timer.
 *
 * SECURITY: see notify.h.  Log lines carry alert ids, kinds and stream
 * ids checked to be plain, and plugin details escaped.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "conf.h"
#include "fumidai/notifier.h"
#include "httpc.h"
#include "log.h"
#include "mailout.h"
#include "notify.h"
#include "rlink.h"
#include "scripts.h"
#include "show.h"
#include "util.h"
#include "weblink.h"

#define NOTIFY_DETAIL_MAX	200	/* bytes of a plugin's detail logged */

enum phase { P_CURSOR, P_INIT, P_FETCH, P_RECORD, P_RATE, P_DELIVER, P_SAVE };

struct entry {
	char id[48];			/* stream id */
	char aid[32];			/* alert id (its field "id"), "" if bad */
	struct buf json;		/* the record as filed */
};

/* One configured notifier. */
struct nfy {
	struct notify *core;		/* NULL in notify_check */
	const struct fm_notify *conf;
	char *path;			/* its plugin's file */
	void *dl;
	const struct fm_notifier *p;
	void *self;			/* the plugin's state */
	unsigned char *used;		/* per conf->kv: read by someone */
	int timeout_s;			/* http_post */
	char *kcursor, *krate;
	char cursor[48];		/* last stream id handled (in memory) */
	enum phase phase;
	int busy;			/* a reply or a done is awaited */
	int dirty;			/* cursor moved since it was saved */
	int rate_pending;		/* SAVE also records the account's rate */
	int bad_cursor;			/* INIT overwrites an unreadable cursor */
	int err_logged;			/* a Redis error was logged */
	int backoff_ms;
	struct event *ev_step, *ev_retry;
	struct entry ents[NOTIFY_BATCH];
	size_t nents, pos;
	/* the alert being handled */
	struct fm_alert a;
	struct buf json, account, ratekey, tmp;
	struct buf link;		/* the owner's dashboard link, or empty */
	uint64_t sent, failed, dropped, skipped;	/* for /metrics */
	char id[32], kind[64], sev[16], ip[64], net[64];
	int result;
	char detail[NOTIFY_DETAIL_MAX * 4 + 1];
};

struct notify {
	struct event_base *base;
	const struct fumidai *cf;
	struct rlink *rl;
	struct httpc *http;
	struct nfy *v;
	size_t n;
	struct event *ev_tick;
	char *kstream, *kalert, *channel;
	char ttl[24];			/* cursors' TTL: retention (s) */
	int closing;			/* notify_free: callbacks do nothing */
};

/* A PUBLISH in flight for a plugin. */
struct pubreq {
	struct notify *core;
	fm_done_fn *done;
	void *token;
};

static void nt_step(struct nfy *);
static void nt_redis_failed(struct nfy *, const redisReply *, const char *);
static void nt_skip(struct nfy *, const char *);
static void nt_link(struct nfy *);

/* ---- host services ---------------------------------------------------- */

static struct fm_kv *
host_kv(struct nfy *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->conf->nkv; i++)
		if (strcmp(n->conf->kv[i].key, name) == 0) {
			n->used[i] = 1;
			return &n->conf->kv[i];
		}
	return NULL;
}

static const char *
host_conf_str(void *host, const char *name)
{
	struct fm_kv *kv = host_kv(host, name);

	return kv != NULL && kv->nvals > 0 ? kv->vals[0] : NULL;
}

static long long
host_conf_int(void *host, const char *name, long long def)
{
	const char *s = host_conf_str(host, name);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? def : v;
}

static size_t
host_conf_list(void *host, const char *name, const char *const **out)
{
	struct fm_kv *kv = host_kv(host, name);

	if (kv == NULL) {
		*out = NULL;
		return 0;
	}
	*out = (const char *const *)kv->vals;
	return kv->nvals;
}

static void host_log(void *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* host_log - a plugin's line, prefixed with the notifier's name; control
 * characters a plugin forgot to escape become '?' */
static void
host_log(void *host, int level, const char *fmt, ...)
{
	struct nfy *n = host;
	char msg[1024], *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (s = msg; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	if (level <= FM_LOG_WARN)
		log_warnx("notifier=%s %s", n->conf->name, msg);
	else if (level == FM_LOG_INFO)
		log_info("notifier=%s %s", n->conf->name, msg);
	else
		log_debug("notifier=%s %s", n->conf->name, msg);
}

static void
host_http_post(void *host, const char *url, const char *const *headers,
    size_t nheaders, const char *body, size_t len, fm_done_fn *done,
    void *token)
{
	struct nfy *n = host;

	if (n->core == NULL) {
		done(token, FM_NOTIFY_RETRY, "no services while checking");
		return;
	}
	httpc_post(n->core->http, url, headers, nheaders, body, len,
	    n->timeout_s, done, token);
}

static void
host_smtp_send(void *host, const char *from, const char *const *rcpts,
    size_t nrcpts, const char *msg, size_t len, fm_done_fn *done, void *token)
{
	struct nfy *n = host;
	const char *relay = host_conf_str(n, "relay");
	const char *sendmail = host_conf_str(n, "sendmail");

	if (n->core == NULL) {
		done(token, FM_NOTIFY_RETRY, "no services while checking");
		return;
	}
	mailout_send(n->core->base, n->core->cf, relay != NULL ? relay :
	    "127.0.0.1:25", sendmail, from, rcpts, nrcpts, msg, len, done,
	    token);
}

static void
pub_cb(void *arg, redisReply *r)
{
	struct pubreq *q = arg;

	if (!q->core->closing) {
		if (r == NULL)
			q->done(q->token, FM_NOTIFY_RETRY, "Redis link lost");
		else if (r->type == REDIS_REPLY_ERROR)
			q->done(q->token, FM_NOTIFY_RETRY, "Redis refused PUBLISH");
		else
			q->done(q->token, FM_NOTIFY_OK, NULL);
	}
	free(q);
}

static void
host_publish(void *host, const char *channel, const char *msg, size_t len,
    fm_done_fn *done, void *token)
{
	struct nfy *n = host;
	struct pubreq *q;
	const char *argv[3];
	size_t argvlen[3];

	if (n->core == NULL) {
		done(token, FM_NOTIFY_RETRY, "no services while checking");
		return;
	}
	argv[0] = "PUBLISH";
	argv[1] = channel != NULL ? channel : n->core->channel;
	argv[2] = msg;
	argvlen[0] = 7;
	argvlen[1] = strlen(argv[1]);
	argvlen[2] = len;
	q = xmalloc(sizeof(*q));
	q->core = n->core;
	q->done = done;
	q->token = token;
	if (rlink_cmd(n->core->rl, pub_cb, q, 3, argv, argvlen) == -1) {
		free(q);
		done(token, FM_NOTIFY_RETRY, "Redis unreachable");
	}
}

static const struct fm_notify_host host_services = {
	.log = host_log,
	.conf_str = host_conf_str,
	.conf_int = host_conf_int,
	.conf_list = host_conf_list,
	.http_post = host_http_post,
	.smtp_send = host_smtp_send,
	.publish = host_publish,
};

/* ---- loading ---------------------------------------------------------- */

/* nfy_load - dlopen the plugin, check it, init it, refuse unread settings */
static int
nfy_load(struct nfy *n, const struct fumidai *cf, char *err, size_t errlen)
{
	const struct fm_notify *c = n->conf;
	char ierr[512] = "";
	size_t i;

	n->used = xcalloc(c->nkv ? c->nkv : 1, 1);
	xasprintf(&n->path, "%s/notify_%s.so", cf->plugin_dir, c->plugin);
	if (strchr(c->plugin, '/') != NULL || strlen(c->plugin) > 64) {
		snprintf(err, errlen, "notifier \"%s\": \"%s\" is not a plugin "
		    "name", c->name, c->plugin);
		return -1;
	}
	if ((n->dl = dlopen(n->path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "notifier \"%s\": cannot load plugin "
		    "\"%s\" from %s: %s", c->name, c->plugin, n->path, dlerror());
		return -1;
	}
	if ((n->p = dlsym(n->dl, FM_NOTIFIER_SYMBOL)) == NULL) {
		snprintf(err, errlen, "notifier \"%s\": %s has no %s symbol: not "
		    "a notifier plugin", c->name, n->path, FM_NOTIFIER_SYMBOL);
		return -1;
	}
	if (n->p->abi != FM_NOTIFIER_ABI) {
		snprintf(err, errlen, "notifier \"%s\": %s was built for notifier "
		    "ABI %d, this fumidai speaks ABI %d; rebuild the plugin",
		    c->name, n->path, n->p->abi, FM_NOTIFIER_ABI);
		n->p = NULL;
		return -1;
	}
	if (n->p->init == NULL || n->p->deliver == NULL || n->p->free == NULL) {
		snprintf(err, errlen, "notifier \"%s\": %s lacks init, deliver "
		    "or free", c->name, n->path);
		n->p = NULL;
		return -1;
	}
	n->timeout_s = (int)host_conf_int(n, "timeout", HTTPC_TIMEOUT_S);
	(void)host_kv(n, "relay");
	(void)host_kv(n, "sendmail");
	if (n->timeout_s < 1 || n->timeout_s > 3600) {
		snprintf(err, errlen, "notifier \"%s\": timeout: seconds, 1 to "
		    "3600", c->name);
		return -1;
	}
	if ((n->self = n->p->init(&host_services, n, ierr, sizeof(ierr))) == NULL) {
		snprintf(err, errlen, "%s: notifier \"%s\" (plugin %s): %s",
		    cf->config_file ? cf->config_file : "-", c->name, c->plugin,
		    *ierr ? ierr : "init failed");
		return -1;
	}
	for (i = 0; i < c->nkv; i++)
		if (!n->used[i]) {
			snprintf(err, errlen, "%s:%d: notifier \"%s\": unknown "
			    "setting \"%s\" for plugin \"%s\"", cf->config_file ?
			    cf->config_file : "-", c->kv[i].line, c->name,
			    c->kv[i].key, c->plugin);
			return -1;
		}
	return 0;
}

/* nfy_unload - the plugin's state and the library (after every source of
 * callbacks into it is gone) */
static void
nfy_unload(struct nfy *n)
{
	if (n->self != NULL && n->p != NULL)
		n->p->free(n->self);
	n->self = NULL;
	if (n->dl != NULL)
		dlclose(n->dl);
	n->dl = NULL;
	free(n->path);
	free(n->used);
	n->path = NULL;
	n->used = NULL;
}

int
notify_check(const struct fumidai *cf, char *err, size_t errlen)
{
	struct nfy n;
	size_t i;
	int rc = 0;

	for (i = 0; i < cf->nnotify && rc == 0; i++) {
		memset(&n, 0, sizeof(n));
		n.conf = &cf->notify[i];
		rc = nfy_load(&n, cf, err, errlen);
		nfy_unload(&n);
	}
	return rc;
}

/* ---- the alert -------------------------------------------------------- */

/* plain - s is short text of [A-Za-z0-9_.:/-] (safe to log and hand out) */
static int
plain(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("_.:/-", s[i]) != NULL))
			return 0;
	return 1;
}

/* jfield - a plain text field into out ("" when absent or not plain);
 * -1 when required and missing */
static int
jfield(struct nfy *n, const char *name, char *out, size_t outlen, int req)
{
	*out = '\0';
	if (show_json_get(n->json.data, n->json.len, name, &n->tmp) == 0 &&
	    plain(n->tmp.data, n->tmp.len, outlen)) {
		memcpy(out, n->tmp.data, n->tmp.len + 1);
		return 0;
	}
	return req ? -1 : 0;
}

static int64_t
jtime(struct nfy *n, const char *name)
{
	int64_t us;

	if (show_json_get(n->json.data, n->json.len, name, &n->tmp) == -1 ||
	    show_iso_us(n->tmp.data, n->tmp.len, &us) == -1)
		return 0;
	return us / 1000000;
}

/* nt_link - the account owner's signed dashboard link (weblink.h), when
 * web.base_url is set and the alert has an account */
static void
nt_link(struct nfy *n)
{
	const struct fumidai *cf = n->core ? n->core->cf : NULL;
	char err[256];

	buf_reset(&n->link);
	n->a.owner_link = NULL;
	if (cf == NULL || cf->web.base_url == NULL || n->account.len == 0)
		return;
	if (weblink_url(cf, n->account.data, n->account.len, cf->web.link_ttl,
	    &n->link, err, sizeof(err)) == -1) {
		log_warnx("notifier=%s msg=\"no owner link: %s\"", n->conf->name,
		    err);
		buf_reset(&n->link);
		return;
	}
	n->a.owner_link = n->link.data;
}

/* nt_fill - struct fm_alert from the record in n->json; -1 if unusable */
static int
nt_fill(struct nfy *n)
{
	struct fm_alert *a = &n->a;

	memset(a, 0, sizeof(*a));
	if (jfield(n, "id", n->id, sizeof(n->id), 1) == -1 ||
	    jfield(n, "kind", n->kind, sizeof(n->kind), 1) == -1 ||
	    jfield(n, "severity", n->sev, sizeof(n->sev), 1) == -1)
		return -1;
	jfield(n, "ip", n->ip, sizeof(n->ip), 0);
	jfield(n, "net", n->net, sizeof(n->net), 0);
	if (show_json_get(n->json.data, n->json.len, "account",
	    &n->account) == -1)
		buf_reset(&n->account);
	a->json = n->json.data;
	a->json_len = n->json.len;
	a->id = n->id;
	a->kind = n->kind;
	a->severity = n->sev;
	a->account = n->account.data;
	a->account_len = n->account.len;
	a->ip = n->ip;
	a->net = n->net;
	a->time = jtime(n, "time");
	a->first = jtime(n, "first");
	a->last = jtime(n, "last");
	if (show_json_get(n->json.data, n->json.len, "count", &n->tmp) == 0)
		a->count = strtol(n->tmp.data, NULL, 10);
	nt_link(n);
	return 0;
}

/* nt_filter - why the notifier skips the alert, or NULL */
static const char *
nt_filter(struct nfy *n)
{
	const struct fm_notify *c = n->conf;
	int64_t now = now_us() / 1000000;
	size_t i;

	if (c->nkinds > 0) {
		for (i = 0; i < c->nkinds; i++)
			if (strcmp(c->kinds[i], n->kind) == 0)
				break;
		if (i == c->nkinds)
			return "kind";
	}
	if (conf_severity(n->sev) < c->min_severity)
		return "severity";
	if (c->max_age > 0 && n->a.last > 0 && now - n->a.last > c->max_age)
		return "age";
	return NULL;
}

/* ---- Redis steps ------------------------------------------------------ */

/* nt_cmd - send a command for this notifier; -1 when the link is down */
static int
nt_cmd(struct nfy *n, rlink_cb *cb, int argc, const char **argv,
    const size_t *argvlen)
{
	if (rlink_cmd(n->core->rl, cb, n, argc, argv, argvlen) == -1)
		return -1;
	n->busy = 1;
	return 0;
}

/* nt_reply - the common start of every reply callback: NULL when the
 * core is closing or the reply is unusable (then handled) */
static struct nfy *
nt_reply(void *arg, redisReply *r, const char *what)
{
	struct nfy *n = arg;

	if (n->core->closing)
		return NULL;
	n->busy = 0;
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		nt_redis_failed(n, r, what);
		return NULL;
	}
	n->err_logged = 0;
	return n;
}

/* nt_redis_failed - keep the phase; the tick tries again (an error
 * reply is logged once until a command succeeds; the rlink logs outages) */
static void
nt_redis_failed(struct nfy *n, const redisReply *r, const char *what)
{
	if (r != NULL && !n->err_logged++)
		log_warnx("notifier=%s step=%s error=\"%.200s\" msg=\"Redis "
		    "refused; trying again\"", n->conf->name, what, r->str);
}

/* id_ok - a stream id "MS-SEQ" */
static int
id_ok(const char *s, size_t n)
{
	size_t i, dash = 0;

	if (n == 0 || n >= 48)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '-' && i > 0 && dash == 0)
			dash = i;
		else if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return dash > 0 && dash + 1 < n;
}

static void
cursor_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "cursor");

	if (n == NULL)
		return;
	if (r->type == REDIS_REPLY_STRING && id_ok(r->str, r->len)) {
		memcpy(n->cursor, r->str, r->len);
		n->cursor[r->len] = '\0';
		n->phase = P_FETCH;
		log_info("notifier=%s plugin=%s cursor=%s msg=\"reading alerts\"",
		    n->conf->name, n->conf->plugin, n->cursor);
	} else {
		if (r->type != REDIS_REPLY_NIL) {
			log_warnx("notifier=%s msg=\"cursor unreadable; starting "
			    "at the stream's end\"", n->conf->name);
			n->bad_cursor = 1;
		}
		n->phase = P_INIT;
	}
	nt_step(n);
}

static void
setnx_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "init");

	if (n == NULL)
		return;
	n->bad_cursor = 0;
	n->phase = P_CURSOR;
	nt_step(n);
}

/* init_cb - the stream's last id (or 0-0) becomes the cursor, unless
 * someone set one meanwhile (NX; an unreadable one is replaced) */
static void
init_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "init");
	const char *argv[6] = { "SET", NULL, "0-0", "EX", NULL, "NX" };
	size_t argvlen[6], i;
	redisReply *e;

	if (n == NULL)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    (e = r->element[0])->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
	    e->element[0]->type == REDIS_REPLY_STRING &&
	    id_ok(e->element[0]->str, e->element[0]->len))
		argv[2] = e->element[0]->str;
	argv[1] = n->kcursor;
	argv[4] = n->core->ttl;
	for (i = 0; i < 6; i++)
		argvlen[i] = strlen(argv[i]);
	nt_cmd(n, setnx_cb, n->bad_cursor ? 5 : 6, argv, argvlen);
}

/* next_id - the smallest stream id after s (XRANGE's start is inclusive) */
static void
next_id(const char *s, char *out, size_t outlen)
{
	unsigned long long ms, seq;
	char *end;

	ms = strtoull(s, &end, 10);
	seq = *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
	if (seq == ~0ULL) {
		ms++;
		seq = 0;
	} else
		seq++;
	snprintf(out, outlen, "%llu-%llu", ms, seq);
}

/* fetch_one - entry of an XRANGE reply into n->ents[n->nents] */
static void
fetch_one(struct nfy *n, const redisReply *e)
{
	struct entry *en = &n->ents[n->nents];
	const redisReply *f;
	size_t i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    !id_ok(e->element[0]->str, e->element[0]->len))
		return;
	memcpy(en->id, e->element[0]->str, e->element[0]->len);
	en->id[e->element[0]->len] = '\0';
	en->aid[0] = '\0';
	buf_reset(&en->json);
	f = e->element[1];
	for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "json") == 0)
			buf_add(&en->json, v->str, v->len);
		else if (strcmp(k->str, "id") == 0 &&
		    plain(v->str, v->len, sizeof(en->aid)))
			memcpy(en->aid, v->str, v->len + 1);
	}
	n->nents++;
}

static void
fetch_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "fetch");
	size_t i;

	if (n == NULL)
		return;
	n->nents = n->pos = 0;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements &&
	    n->nents < NOTIFY_BATCH; i++)
		fetch_one(n, r->element[i]);
	if (n->nents == 0)
		return;		/* nothing new: the tick polls again */
	n->phase = P_RECORD;
	nt_step(n);
}

static void
record_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "record");
	struct entry *en;
	const char *why;

	if (n == NULL)
		return;
	en = &n->ents[n->pos];
	buf_reset(&n->json);
	if (r->type == REDIS_REPLY_STRING && r->len > 0)
		buf_add(&n->json, r->str, r->len);
	else
		buf_add(&n->json, en->json.data, en->json.len);
	if (nt_fill(n) == -1) {
		log_warnx("notifier=%s entry=%s msg=\"alert record unreadable; "
		    "skipped\"", n->conf->name, en->id);
		nt_skip(n, NULL);
	} else if ((why = nt_filter(n)) != NULL)
		nt_skip(n, why);
	else if (n->conf->per_account > 0 && n->a.account_len > 0)
		n->phase = P_RATE;
	else
		n->phase = P_DELIVER;
	nt_step(n);
}

static void
rate_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "rate");
	long long last;

	if (n == NULL)
		return;
	n->phase = P_DELIVER;
	if (r->type == REDIS_REPLY_STRING) {
		last = strtoll(r->str, NULL, 10);
		if (now_us() / 1000000 - last < n->conf->per_account)
			nt_skip(n, "per_account");
	}
	nt_step(n);
}

static void
save_cb(void *arg, redisReply *r)
{
	struct nfy *n = nt_reply(arg, r, "save");

	if (n == NULL)
		return;
	n->dirty = n->rate_pending = 0;
	n->phase = n->pos < n->nents ? P_RECORD : P_FETCH;
	nt_step(n);
}

/* nt_skip - past the current entry without delivering it (why: the
 * filter, logged at debug; NULL: already logged) */
static void
nt_skip(struct nfy *n, const char *why)
{
	if (why != NULL)
		log_debug("notifier=%s alert=%s kind=%s filter=%s msg=\"skipped\"",
		    n->conf->name, n->id, n->kind, why);
	memcpy(n->cursor, n->ents[n->pos].id, sizeof(n->cursor));
	n->dirty = 1;
	n->pos++;
	n->phase = n->pos < n->nents ? P_RECORD : P_SAVE;
	n->skipped++;
}

/* ---- delivery --------------------------------------------------------- */

/* nt_done - the plugin's verdict; acted upon from the loop */
static void
nt_done(void *token, int status, const char *detail)
{
	static const struct timeval now = { 0, 0 };
	struct nfy *n = token;
	struct buf e;

	if (n->phase != P_DELIVER || !n->busy || evtimer_pending(n->ev_step,
	    NULL)) {
		log_warnx("notifier=%s msg=\"plugin reported a delivery twice; "
		    "ignored\"", n->conf->name);
		return;
	}
	n->result = status == FM_NOTIFY_OK || status == FM_NOTIFY_DROP ?
	    status : FM_NOTIFY_RETRY;
	buf_init(&e);
	if (detail != NULL)
		log_escape(&e, detail, strnlen(detail, NOTIFY_DETAIL_MAX));
	memcpy(n->detail, e.len ? e.data : "", e.len + 1);
	buf_free(&e);
	evtimer_add(n->ev_step, &now);
}

/* nt_delivered - advance (OK, DROP) or pause and retry (RETRY) */
static void
nt_delivered(struct nfy *n)
{
	struct timeval tv;

	n->busy = 0;
	if (n->result == FM_NOTIFY_RETRY) {
		log_warnx("notifier=%s alert=%s kind=%s status=retry detail=\"%s\" "
		    "retry_in=%d", n->conf->name, n->id, n->kind, n->detail,
		    n->backoff_ms / 1000);
		tv.tv_sec = n->backoff_ms / 1000;
		tv.tv_usec = (n->backoff_ms % 1000) * 1000;
		evtimer_add(n->ev_retry, &tv);
		n->backoff_ms = FM_MIN(2 * n->backoff_ms, NOTIFY_BACKOFF_MAX_MS);
		n->failed++;
		return;
	}
	if (n->result == FM_NOTIFY_DROP)
		n->dropped++;
	else
		n->sent++;
	if (n->result == FM_NOTIFY_DROP)
		log_warnx("notifier=%s alert=%s kind=%s status=drop detail=\"%s\" "
		    "msg=\"dropped: it will not be sent\"", n->conf->name, n->id,
		    n->kind, n->detail);
	else
		log_info("notifier=%s alert=%s kind=%s status=sent%s%s%s",
		    n->conf->name, n->id, n->kind, *n->detail ? " detail=\"" : "",
		    n->detail, *n->detail ? "\"" : "");
	n->backoff_ms = NOTIFY_BACKOFF_MIN_MS;
	n->rate_pending = n->result == FM_NOTIFY_OK &&
	    n->conf->per_account > 0 && n->a.account_len > 0;
	if (n->rate_pending) {
		buf_reset(&n->ratekey);
		scripts_json_bin(&n->ratekey, n->a.account, n->a.account_len);
	}
	memcpy(n->cursor, n->ents[n->pos].id, sizeof(n->cursor));
	n->dirty = 1;
	n->pos++;
	n->phase = P_SAVE;
	nt_step(n);
}

static void
nt_step_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nt_delivered(arg);
}

static void
nt_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nfy *n = arg;

	(void)fd;
	(void)what;
	nt_step(n);
}

/* nt_save - (the account's rate) and the cursor */
static void
nt_save(struct nfy *n)
{
	const char *argv[4];
	size_t argvlen[4];
	char now[32], ttl[32];

	if (n->rate_pending) {
		snprintf(now, sizeof(now), "%lld", (long long)(now_us() / 1000000));
		snprintf(ttl, sizeof(ttl), "%d", n->conf->per_account);
		argv[0] = "HSET";
		argv[1] = n->krate;
		argv[2] = n->ratekey.data;
		argv[3] = now;
		argvlen[0] = 4;
		argvlen[1] = strlen(n->krate);
		argvlen[2] = n->ratekey.len;
		argvlen[3] = strlen(now);
		if (rlink_cmd(n->core->rl, NULL, NULL, 4, argv, argvlen) == -1 ||
		    rlink_cmdv(n->core->rl, NULL, NULL, "EXPIRE", n->krate, ttl,
		    (char *)NULL) == -1)
			return;
	}
	if (rlink_cmdv(n->core->rl, save_cb, n, "SET", n->kcursor, n->cursor,
	    "EX", n->core->ttl, (char *)NULL) == 0)
		n->busy = 1;
}

/* nt_cmdv - rlink_cmdv for this notifier: busy while the reply is due */
#define nt_cmdv(n, cb, ...) do {					\
	if (rlink_cmdv((n)->core->rl, (cb), (n), __VA_ARGS__,		\
	    (char *)NULL) == 0)						\
		(n)->busy = 1;						\
} while (0)

/* nt_step - do the current phase's next thing, unless something is
 * awaited */
static void
nt_step(struct nfy *n)
{
	const char *argv[3];
	size_t argvlen[3];
	char start[48], count[16], *k;

	if (n->busy || evtimer_pending(n->ev_retry, NULL) ||
	    (n->phase != P_DELIVER && !rlink_ready(n->core->rl)))
		return;
	switch (n->phase) {
	case P_CURSOR:
		nt_cmdv(n, cursor_cb, "GET", n->kcursor);
		return;
	case P_INIT:
		nt_cmdv(n, init_cb, "XREVRANGE", n->core->kstream, "+", "-",
		    "COUNT", "1");
		return;
	case P_FETCH:
		next_id(n->cursor, start, sizeof(start));
		snprintf(count, sizeof(count), "%d", NOTIFY_BATCH);
		nt_cmdv(n, fetch_cb, "XRANGE", n->core->kstream, start, "+",
		    "COUNT", count);
		return;
	case P_RECORD:
		xasprintf(&k, "%s%s", n->core->kalert, *n->ents[n->pos].aid ?
		    n->ents[n->pos].aid : "-");
		nt_cmdv(n, record_cb, "HGET", k, "json");
		free(k);
		return;
	case P_RATE:
		buf_reset(&n->ratekey);
		scripts_json_bin(&n->ratekey, n->a.account, n->a.account_len);
		argv[0] = "HGET";
		argv[1] = n->krate;
		argv[2] = n->ratekey.data;
		argvlen[0] = 4;
		argvlen[1] = strlen(n->krate);
		argvlen[2] = n->ratekey.len;
		nt_cmd(n, rate_cb, 3, argv, argvlen);
		return;
	case P_DELIVER:
		n->busy = 1;
		n->p->deliver(n->self, &n->a, nt_done, n);
		return;
	case P_SAVE:
		if (n->dirty || n->rate_pending)
			nt_save(n);
		else {
			n->phase = n->pos < n->nents ? P_RECORD : P_FETCH;
			nt_step(n);
		}
		return;
	}
}

/* ---- the core --------------------------------------------------------- */

/* notify_tick_cb - plugins' ticks, and a poke at every idle notifier */
static void
notify_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify *c = arg;
	int64_t now = now_us() / 1000000;
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < c->n; i++) {
		if (c->v[i].p->tick != NULL)
			c->v[i].p->tick(c->v[i].self, now);
		nt_step(&c->v[i]);
	}
}

/* nfy_start - keys, timers, state of a loaded notifier */
static void
nfy_start(struct notify *c, struct nfy *n)
{
	const char *prefix = c->cf->redis.prefix ? c->cf->redis.prefix : "";
	size_t i;

	n->core = c;
	xasprintf(&n->kcursor, "%s{g}:notify:%s", prefix, n->conf->name);
	xasprintf(&n->krate, "%s{g}:notify:%s:rate", prefix, n->conf->name);
	n->ev_step = evtimer_new(c->base, nt_step_cb, n);
	n->ev_retry = evtimer_new(c->base, nt_retry_cb, n);
	if (n->ev_step == NULL || n->ev_retry == NULL)
		fatalx("evtimer_new");
	n->backoff_ms = NOTIFY_BACKOFF_MIN_MS;
	n->phase = P_CURSOR;
	for (i = 0; i < NOTIFY_BATCH; i++)
		buf_init(&n->ents[i].json);
	buf_init(&n->json);
	buf_init(&n->account);
	buf_init(&n->ratekey);
	buf_init(&n->tmp);
	buf_init(&n->link);
}

struct notify *
notify_new(struct event_base *base, const struct fumidai *cf, char *err,
    size_t errlen)
{
	struct notify *c = xcalloc(1, sizeof(*c));
	const char *prefix = cf->redis.prefix ? cf->redis.prefix : "";
	struct timeval tv = { NOTIFY_POLL_MS / 1000,
	    (NOTIFY_POLL_MS % 1000) * 1000 };
	size_t i;

	c->base = base;
	c->cf = cf;
	c->v = xcalloc(cf->nnotify ? cf->nnotify : 1, sizeof(*c->v));
	for (i = 0; i < cf->nnotify; i++) {
		c->v[i].conf = &cf->notify[i];
		c->n++;
		if (nfy_load(&c->v[i], cf, err, errlen) == -1) {
			notify_free(c);
			return NULL;
		}
	}
	if (c->n == 0)
		return c;
	xasprintf(&c->kstream, "%s{g}:alerts", prefix);
	xasprintf(&c->kalert, "%s{g}:alert:", prefix);
	xasprintf(&c->channel, "%salerts", prefix);
	snprintf(c->ttl, sizeof(c->ttl), "%lld",
	    (long long)FM_MAX(cf->retention_days, 1) * 86400);
	c->http = httpc_new(base);
	c->rl = rlink_new(base, cf, "notify");
	for (i = 0; i < c->n; i++)
		nfy_start(c, &c->v[i]);
	if ((c->ev_tick = event_new(base, -1, EV_PERSIST, notify_tick_cb,
	    c)) == NULL)
		fatalx("event_new");
	event_add(c->ev_tick, &tv);
	log_info("notifiers=%zu msg=\"notifications started\"", c->n);
	return c;
}

/* nfy_free - what nfy_start made (the plugin is unloaded apart) */
static void
nfy_free(struct nfy *n)
{
	size_t i;

	if (n->ev_step != NULL)
		event_free(n->ev_step);
	if (n->ev_retry != NULL)
		event_free(n->ev_retry);
	for (i = 0; i < NOTIFY_BATCH; i++)
		buf_free(&n->ents[i].json);
	buf_free(&n->json);
	buf_free(&n->account);
	buf_free(&n->ratekey);
	buf_free(&n->tmp);
	buf_free(&n->link);
	free(n->kcursor);
	free(n->krate);
}

void
notify_free(struct notify *c)
{
	size_t i;

	if (c == NULL)
		return;
	c->closing = 1;
	if (c->ev_tick != NULL)
		event_free(c->ev_tick);
	/* every source of callbacks into the plugins first: */
	for (i = 0; i < c->n; i++)
		if (c->v[i].busy && c->v[i].phase == P_DELIVER)
			log_info("notifier=%s alert=%s msg=\"delivery in flight "
			    "stopped; it is sent again at the next start\"",
			    c->v[i].conf->name, c->v[i].id);
	mailout_shutdown();
	httpc_free(c->http);
	rlink_free(c->rl);	/* pending replies see c->closing */
	for (i = 0; i < c->n; i++) {
		nfy_free(&c->v[i]);
		nfy_unload(&c->v[i]);
	}
	free(c->v);
	free(c->kstream);
	free(c->kalert);
	free(c->channel);
	free(c);
}

size_t
notify_stats(const struct notify *c, struct notify_stat *out, size_t max)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n && i < max; i++) {
		out[i].name = c->v[i].conf->name;
		out[i].sent = c->v[i].sent;
		out[i].failed = c->v[i].failed;
		out[i].dropped = c->v[i].dropped;
		out[i].skipped = c->v[i].skipped;
	}
	return i;
}
