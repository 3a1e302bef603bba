/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web_api.c - the dashboard's JSON API (see web.h, doc/dashboard.md): the
 * admin routes /api/overview, /api/alerts, /api/audits, /api/accounts,
 * /api/account and the owner's /api/me, read from Redis with one
 * pipelined round of commands each where the keys are known up front.
 *
 * An account's history comes from history_fetch/history_json (the reader
 * `fumidai history` uses), whose NDJSON lines are sorted by their "type"
 * into the answer's arrays.  The global day indices ({g}:top_*:<day>,
 * {g}:geo:<day>) are read when present; a day without them contributes
 * nothing.
 *
 * SECURITY: parameters are bounded and parsed strictly (hex, numbers);
 * an owner's account is the one in their token, never a parameter.
 * Account names are written JSON-escaped with < > & as \u00XX as well;
 * stored records are fumidai's own valid JSON and are copied as they are.
 */
#include "config.h"

#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>

#include "cmd_history.h"
#include "geo.h"
#include "log.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "web.h"
#include "web_api.h"

#define API_DAYS_MAX		30
#define API_TOP			100	/* members read per day index */
#define API_TOP_OUT		20	/* rows of each top table */
#define API_ALERTS_SCAN		1000	/* stream entries looked at */

/* One row of a tally: a name and two counts. */
struct row {
	struct buf name;
	long long a, b;
};

struct tally {
	struct row *v;
	size_t n;
};

static void
tally_add(struct tally *t, const char *p, size_t n, long long a, long long b)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].name.len == n && memcmp(t->v[i].name.data, p, n) == 0)
			break;
	if (i == t->n) {
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		buf_init(&t->v[i].name);
		buf_add(&t->v[i].name, p, n);
		t->v[i].a = t->v[i].b = 0;
		t->n++;
	}
	t->v[i].a += a;
	t->v[i].b += b;
}

static int
cmp_row(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? 1 : -1;
	if (a->b != b->b)
		return a->b < b->b ? 1 : -1;
	return strcmp(a->name.data ? a->name.data : "",
	    b->name.data ? b->name.data : "");
}

/* tally_sort - most first (qsort must not see the NULL of an empty one) */
static void
tally_sort(struct tally *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp_row);
}

static void
tally_free(struct tally *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		buf_free(&t->v[i].name);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

void
api_text(struct buf *b, const char *p, size_t n)
{
	size_t i, s = 0;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (p[i] != '<' && p[i] != '>' && p[i] != '&')
			continue;
		scripts_json_bin(b, p + s, i - s);
		buf_printf(b, "\\u%04x", (unsigned char)p[i]);
		s = i + 1;
	}
	scripts_json_bin(b, p + s, n - s);
	buf_addc(b, '"');
}

void
api_account(struct buf *b, const char *p, size_t n)
{
	buf_adds(b, "{\"name\":");
	api_text(b, p, n);
	buf_adds(b, ",\"hex\":\"");
	hex_encode(b, p, n);
	buf_adds(b, "\"}");
}

void
api_iso(struct buf *b, int64_t s)
{
	struct tm tm;
	time_t t = (time_t)s;
	char out[32];

	gmtime_r(&t, &tm);
	strftime(out, sizeof(out), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	buf_adds(b, out);
}

/* api_param - a query parameter, decoded (NULL: absent); q freed by caller */
const char *
api_param(struct evhttp_request *req, struct evkeyvalq *q, const char *name)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;

	if (TAILQ_EMPTY(q) && qs != NULL && evhttp_parse_query_str(qs, q) == -1)
		return NULL;
	return evhttp_find_header(q, name);
}

/* hfield - field name of an HGETALL reply as a number (0: absent) */
static long long
hfield(const redisReply *r, const char *name)
{
	size_t i, n = strlen(name);

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->len == n &&
		    memcmp(r->element[i]->str, name, n) == 0)
			return strtoll(r->element[i + 1]->str, NULL, 10);
	return 0;
}

/* gkey - "<prefix>{g}:" what into b (reset) */
static void
gkey(struct buf *b, const struct fumidai *cf, const char *what)
{
	buf_reset(b);
	scripts_tag_global(b, cf);
	buf_addc(b, ':');
	buf_adds(b, what);
}

/* api_replies - read n pipelined replies into v; -1 when the link is lost */
int
api_replies(struct web *w, redisReply **v, size_t n)
{
	char err[256];
	size_t i;
	int rc = 0;

	if (w->rc == NULL)
		rc = -1;
	for (i = 0; i < n; i++) {
		v[i] = NULL;
		if (rc == 0 && store_sync_reply(w->rc, &v[i], err,
		    sizeof(err)) == -1) {
			log_warnx("service=web msg=\"Redis: %s\"", err);
			web_redis_lost(w);
			rc = -1;
		}
	}
	return rc;
}

void
api_free_replies(redisReply **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			freeReplyObject(v[i]);
}

/* ---- /api/overview ---- */

struct overview {
	long long ok, fail, msgs, rcpts;
	struct tally acct, ip, cc, asn;
};

static void
zset_into(struct tally *t, const redisReply *r, int second)
{
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < r->elements; i += 2) {
		long long v = strtoll(r->element[i + 1]->str, NULL, 10);

		tally_add(t, r->element[i]->str, r->element[i]->len,
		    second ? 0 : v, second ? v : 0);
	}
}

/* geo_into - {g}:geo:<day> fields ok:<CC> fail:<CC> asn_fail:<n> */
static void
geo_into(struct overview *o, const redisReply *r)
{
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < r->elements; i += 2) {
		const char *f = r->element[i]->str;
		size_t n = r->element[i]->len;
		long long v = strtoll(r->element[i + 1]->str, NULL, 10);

		if (n > 3 && strncmp(f, "ok:", 3) == 0)
			tally_add(&o->cc, f + 3, n - 3, 0, v);
		else if (n > 5 && strncmp(f, "fail:", 5) == 0)
			tally_add(&o->cc, f + 5, n - 5, v, 0);
		else if (n > 9 && strncmp(f, "asn_fail:", 9) == 0)
			tally_add(&o->asn, f + 9, n - 9, v, 0);
	}
}

/* put_timeline - hourly points of the days (oldest first) up to now */
static void
put_timeline(struct buf *b, redisReply **v, int days, int64_t d0, int64_t now)
{
	char f[32];
	int d, h, k = 0;

	buf_adds(b, ",\"timeline\":[");
	for (d = days - 1; d >= 0; d--) {
		const redisReply *c = v[d * 5];
		int64_t day = d0 + (int64_t)(days - 1 - d) * 86400;

		for (h = 0; h < 24 && day + h * 3600 <= now; h++) {
			buf_adds(b, k++ ? ",{\"t\":" : "{\"t\":");
			api_iso(b, day + h * 3600);
			snprintf(f, sizeof(f), "login_ok:%02d", h);
			buf_printf(b, ",\"ok\":%lld", hfield(c, f));
			snprintf(f, sizeof(f), "login_fail:%02d", h);
			buf_printf(b, ",\"fail\":%lld", hfield(c, f));
			snprintf(f, sizeof(f), "messages:%02d", h);
			buf_printf(b, ",\"messages\":%lld}", hfield(c, f));
		}
	}
	buf_addc(b, ']');
}

/* put_place - ,"cc":..,"asn":.. of an address (GeoIP; "" and 0 unknown) */
static void
put_place(struct web *w, struct buf *b, const struct buf *ip)
{
	struct geo_result g;
	struct geo *geo = web_geo(w);
	uint8_t af, addr[16];

	memset(&g, 0, sizeof(g));
	if (geo == NULL || addr_parse(ip->data, ip->len, &af, addr) == -1 ||
	    geo_lookup(geo, af, addr, &g) != 1)
		memset(&g, 0, sizeof(g));
	buf_adds(b, ",\"cc\":");
	api_text(b, g.country, strlen(g.country));
	buf_printf(b, ",\"asn\":%u", g.asn);
}

static void
put_tops(struct web *w, struct buf *b, struct overview *o)
{
	size_t i;

	tally_sort(&o->acct);
	buf_adds(b, ",\"top_accounts\":[");
	for (i = 0; i < o->acct.n && i < API_TOP_OUT; i++) {
		buf_adds(b, i ? ",{\"account\":" : "{\"account\":");
		api_account(b, o->acct.v[i].name.data, o->acct.v[i].name.len);
		buf_printf(b, ",\"fail\":%lld,\"ok\":%lld}", o->acct.v[i].a,
		    o->acct.v[i].b);
	}
	tally_sort(&o->ip);
	buf_adds(b, "],\"top_ips\":[");
	for (i = 0; i < o->ip.n && i < API_TOP_OUT; i++) {
		buf_adds(b, i ? ",{\"ip\":" : "{\"ip\":");
		api_text(b, o->ip.v[i].name.data, o->ip.v[i].name.len);
		buf_printf(b, ",\"fail\":%lld", o->ip.v[i].a);
		put_place(w, b, &o->ip.v[i].name);
		buf_addc(b, '}');
	}
	tally_sort(&o->asn);
	buf_adds(b, "],\"top_asns\":[");
	for (i = 0; i < o->asn.n && i < API_TOP_OUT; i++)
		buf_printf(b, "%s{\"asn\":%lld,\"org\":\"\",\"fail\":%lld}",
		    i ? "," : "", strtoll(o->asn.v[i].name.data, NULL, 10),
		    o->asn.v[i].a);
	tally_sort(&o->cc);
	buf_adds(b, "],\"top_countries\":[");
	for (i = 0; i < o->cc.n && i < API_TOP_OUT && o->cc.v[i].a > 0; i++) {
		buf_adds(b, i ? ",{\"cc\":" : "{\"cc\":");
		api_text(b, o->cc.v[i].name.data, o->cc.v[i].name.len);
		buf_printf(b, ",\"fail\":%lld}", o->cc.v[i].a);
	}
	buf_adds(b, "],\"countries\":[");
	for (i = 0; i < o->cc.n; i++) {
		buf_adds(b, i ? ",{\"cc\":" : "{\"cc\":");
		api_text(b, o->cc.v[i].name.data, o->cc.v[i].name.len);
		buf_printf(b, ",\"ok\":%lld,\"fail\":%lld}", o->cc.v[i].b,
		    o->cc.v[i].a);
	}
	buf_addc(b, ']');
}

/* entry_id - the alert id (field "id") of a stream entry appended to k */
static void
entry_id(struct buf *k, const redisReply *e)
{
	const redisReply *f;
	size_t i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    (f = e->element[1])->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->len == 2 &&
		    memcmp(f->element[i]->str, "id", 2) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING) {
			buf_add(k, f->element[i + 1]->str,
			    f->element[i + 1]->len);
			return;
		}
}

/* newest_alerts - the latest records (HGET json) of the stream's newest
 * count alerts, newest first, into *v (n of them; a NULL or non-string
 * element: the record expired); 0, or -1 with nothing to free */
static int
newest_alerts(struct web *w, int count, redisReply ***v, size_t *n)
{
	redisReply *r;
	struct buf k;
	size_t i;
	int rc = -1;

	*v = NULL;
	*n = 0;
	if (w->rc == NULL)
		return -1;
	buf_init(&k);
	gkey(&k, w->cf, "alerts");
	r = redisCommand(w->rc, "XREVRANGE %b + - COUNT %d", k.data, k.len,
	    count);
	if (r == NULL)
		web_redis_lost(w);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		goto done;
	for (i = 0; i < r->elements; i++) {
		gkey(&k, w->cf, "alert:");
		entry_id(&k, r->element[i]);
		redisAppendCommand(w->rc, "HGET %b json", k.data, k.len);
	}
	*n = r->elements;
	*v = xcalloc(*n ? *n : 1, sizeof(**v));
	if (api_replies(w, *v, *n) == -1) {
		api_free_replies(*v, *n);
		free(*v);
		*v = NULL;
		*n = 0;
		goto done;
	}
	rc = 0;
done:
	if (r != NULL)
		freeReplyObject(r);
	buf_free(&k);
	return rc;
}

/* open_alerts - alerts of the stream's last entries still in cooldown */
static long long
open_alerts(struct web *w, int64_t now)
{
	redisReply **v;
	struct buf u;
	size_t i, n;
	long long open = 0;
	int64_t until;

	if (newest_alerts(w, API_ALERTS_SCAN, &v, &n) == -1)
		return 0;
	buf_init(&u);
	for (i = 0; i < n; i++)
		if (v[i] != NULL && v[i]->type == REDIS_REPLY_STRING &&
		    show_json_get(v[i]->str, v[i]->len, "until", &u) == 0 &&
		    show_iso_us(u.data, u.len, &until) == 0 &&
		    until / 1000000 >= now)
			open++;
	api_free_replies(v, n);
	free(v);
	buf_free(&u);
	return open;
}

static void
overview(struct web *w, struct evhttp_request *req, struct buf *b)
{
	static const char *const idx[] = { "top_acct_fail:", "top_ip_fail:",
	    "top_acct_ok:" };
	struct evkeyvalq q;
	struct overview o;
	redisReply **v;
	struct buf k;
	const char *p;
	char day[9];
	int64_t now = now_us() / 1000000, d0;
	int days = 1, d, j;

	TAILQ_INIT(&q);
	if ((p = api_param(req, &q, "days")) != NULL)
		days = atoi(p);
	evhttp_clear_headers(&q);
	if (days < 1 || days > API_DAYS_MAX) {
		web_error(req, 400, "days: 1 to 30");
		return;
	}
	d0 = now - now % 86400 - (int64_t)(days - 1) * 86400;
	memset(&o, 0, sizeof(o));
	buf_init(&k);
	for (d = 0; d < days; d++) {
		scripts_day((now - (int64_t)d * 86400) * 1000000, day);
		gkey(&k, w->cf, "c:");
		buf_adds(&k, day);
		redisAppendCommand(w->rc, "HGETALL %b", k.data, k.len);
		for (j = 0; j < 3; j++) {
			gkey(&k, w->cf, idx[j]);
			buf_adds(&k, day);
			redisAppendCommand(w->rc, "ZREVRANGE %b 0 %d WITHSCORES",
			    k.data, k.len, API_TOP - 1);
		}
		gkey(&k, w->cf, "geo:");
		buf_adds(&k, day);
		redisAppendCommand(w->rc, "HGETALL %b", k.data, k.len);
	}
	buf_free(&k);
	v = xcalloc((size_t)days * 5, sizeof(*v));
	if (api_replies(w, v, (size_t)days * 5) == -1) {
		web_error(req, 503, "Redis is not reachable");
		goto out;
	}
	for (d = 0; d < days; d++) {
		o.ok += hfield(v[d * 5], "login_ok");
		o.fail += hfield(v[d * 5], "login_fail");
		o.msgs += hfield(v[d * 5], "messages");
		o.rcpts += hfield(v[d * 5], "recipients");
		zset_into(&o.acct, v[d * 5 + 1], 0);
		zset_into(&o.ip, v[d * 5 + 2], 0);
		zset_into(&o.acct, v[d * 5 + 3], 1);
		geo_into(&o, v[d * 5 + 4]);
	}
	buf_adds(b, "{\"now\":");
	api_iso(b, now);
	buf_adds(b, ",\"range\":{\"since\":");
	api_iso(b, d0);
	buf_adds(b, ",\"until\":");
	api_iso(b, now);
	buf_printf(b, "},\"totals\":{\"login_ok\":%lld,\"login_fail\":%lld,"
	    "\"messages\":%lld,\"recipients\":%lld}", o.ok, o.fail, o.msgs,
	    o.rcpts);
	put_timeline(b, v, days, d0, now);
	put_tops(w, b, &o);
	buf_printf(b, ",\"open_alerts\":%lld,\"audits\":", open_alerts(w, now));
	api_audits_list(w, b);
	buf_adds(b, "}\n");
	web_json(req, 200, b);
out:
	api_free_replies(v, (size_t)days * 5);
	free(v);
	tally_free(&o.acct);
	tally_free(&o.ip);
	tally_free(&o.cc);
	tally_free(&o.asn);
}

/* ---- /api/alerts, /api/audits ---- */

void
api_alert(struct buf *b, const char *p, size_t n)
{
	struct buf a;

	buf_init(&a);
	if (n < 2 || p[n - 1] != '}' || show_json_get(p, n, "account",
	    &a) == -1) {
		buf_add(b, p, n);
		buf_free(&a);
		return;
	}
	buf_add(b, p, n - 1);
	buf_adds(b, ",\"account_hex\":\"");
	hex_encode(b, a.data, a.len);
	buf_adds(b, "\"}");
	buf_free(&a);
}

/* api_alerts_list - the latest records of the stream's newest alerts,
 * filtered by kind and account (raw bytes, NULL: any) */
void
api_alerts_list(struct web *w, struct buf *b, int limit, const char *kind,
    const struct buf *acct)
{
	redisReply **v;
	struct buf a;
	size_t i, n;
	int out = 0;

	buf_adds(b, "[");
	if (newest_alerts(w, kind || acct ? API_ALERTS_SCAN * 10 : limit, &v,
	    &n) == -1) {
		buf_adds(b, "]");
		return;
	}
	buf_init(&a);
	for (i = 0; i < n && out < limit; i++) {
		const redisReply *e = v[i];

		if (e == NULL || e->type != REDIS_REPLY_STRING || e->len < 2 ||
		    e->str[0] != '{')
			continue;	/* expired record */
		if (kind != NULL && (show_json_get(e->str, e->len, "kind",
		    &a) == -1 || strcmp(a.data ? a.data : "", kind) != 0))
			continue;
		if (acct != NULL && (show_json_get(e->str, e->len, "account",
		    &a) == -1 || a.len != acct->len ||
		    memcmp(a.data, acct->data, a.len) != 0))
			continue;
		buf_adds(b, out++ ? "," : "");
		api_alert(b, e->str, e->len);
	}
	buf_adds(b, "]");
	api_free_replies(v, n);
	free(v);
	buf_free(&a);
}

static void
alerts(struct web *w, struct evhttp_request *req, struct buf *b)
{
	struct evkeyvalq q;
	struct buf acct;
	const char *p, *kind;
	int limit = 100;

	TAILQ_INIT(&q);
	buf_init(&acct);
	if ((p = api_param(req, &q, "limit")) != NULL)
		limit = atoi(p);
	kind = api_param(req, &q, "kind");
	p = api_param(req, &q, "account");
	if (limit < 1 || limit > 1000 || (kind != NULL && strlen(kind) > 64) ||
	    (p != NULL && (strlen(p) > 2 * WEBLINK_ACCOUNT_MAX ||
	    hex_decode(&acct, p, strlen(p)) == -1))) {
		web_error(req, 400, "limit: 1 to 1000; kind: a name; account: hex");
	} else {
		buf_adds(b, "{\"alerts\":");
		api_alerts_list(w, b, limit, kind, p ? &acct : NULL);
		buf_adds(b, "}\n");
		web_json(req, 200, b);
	}
	evhttp_clear_headers(&q);
	buf_free(&acct);
}

static void
put_field(struct buf *b, const redisReply *r, size_t i, int text)
{
	const redisReply *e = r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements ? r->element[i] : NULL;

	if (e == NULL || e->type != REDIS_REPLY_STRING || e->len == 0)
		buf_adds(b, text ? "\"\"" : "null");
	else if (text)
		api_text(b, e->str, e->len);
	else
		buf_add(b, e->str, e->len);
}

/* api_audits_list - the configured audits' latest results, as a JSON array
 * of what `fumidai audits --json` prints (history: the last 10 runs) */
void
api_audits_list(struct web *w, struct buf *b)
{
	const struct fumidai *cf = w->cf;
	redisReply **v;
	struct buf k;
	size_t i, j, n = cf->naudits;

	buf_init(&k);
	for (i = 0; i < n && w->rc != NULL; i++) {
		gkey(&k, cf, "audit:");
		buf_adds(&k, cf->audits[i].name);
		redisAppendCommand(w->rc, "HMGET %b type target summary json",
		    k.data, k.len);
		gkey(&k, cf, "audit_hist:");
		buf_adds(&k, cf->audits[i].name);
		redisAppendCommand(w->rc, "LRANGE %b 0 9", k.data, k.len);
	}
	buf_free(&k);
	v = xcalloc(2 * n + 1, sizeof(*v));
	(void)api_replies(w, v, 2 * n);
	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		const struct fm_audit *a = &cf->audits[i];

		buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		api_text(b, a->name, strlen(a->name));
		buf_adds(b, ",\"type\":");
		api_text(b, a->type, strlen(a->type));
		buf_adds(b, ",\"target\":");
		put_field(b, v[2 * i], 1, 1);
		if (a->every)
			buf_printf(b, ",\"schedule\":{\"every\":%d}", a->every);
		else
			buf_printf(b, ",\"schedule\":{\"at\":\"%02d:%02d\"}",
			    a->at / 60, a->at % 60);
		buf_adds(b, ",\"latest\":");
		put_field(b, v[2 * i], 2, 0);
		buf_adds(b, ",\"history\":[");
		for (j = 0; v[2 * i + 1] != NULL && v[2 * i + 1]->type ==
		    REDIS_REPLY_ARRAY && j < v[2 * i + 1]->elements; j++) {
			buf_adds(b, j ? "," : "");
			buf_add(b, v[2 * i + 1]->element[j]->str,
			    v[2 * i + 1]->element[j]->len);
		}
		buf_adds(b, "],\"output\":");
		put_field(b, v[2 * i], 3, 0);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
	api_free_replies(v, 2 * n);
	free(v);
}

/* ---- dispatch ---- */

void
web_api(struct web *w, struct evhttp_request *req, const char *path,
    const struct web_who *who)
{
	static const struct {
		const char *path;
		void (*fn)(struct web *, struct evhttp_request *, struct buf *);
	} admin[] = {
		{ "/api/overview", overview },
		{ "/api/alerts", alerts },
		{ "/api/audits", api_audits },
		{ "/api/accounts", api_accounts },
		{ "/api/account", api_account_page },
	};
	struct buf b;
	size_t i;

	if (strcmp(path, "/api/me") == 0) {
		if (!who->owner) {
			web_error(req, 401, "authentication required");
			return;
		}
		if (web_redis(w) == NULL) {
			web_error(req, 503, "Redis is not reachable");
			return;
		}
		buf_init(&b);
		api_me(w, req, &b, &who->acct);
		buf_free(&b);
		return;
	}
	for (i = 0; i < nitems(admin); i++)
		if (strcmp(path, admin[i].path) == 0)
			break;
	if (i == nitems(admin)) {
		web_error(req, 404, "no such API");
		return;
	}
	if (!who->admin) {
		web_error(req, 401, "authentication required");
		return;
	}
	if (web_redis(w) == NULL) {
		web_error(req, 503, "Redis is not reachable");
		return;
	}
	buf_init(&b);
	admin[i].fn(w, req, &b);
	buf_free(&b);
}
