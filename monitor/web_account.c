/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web_account.c - the dashboard's account routes (see web_api.h):
 * /api/accounts (a bounded SCAN of the accounts' :applied keys),
 * /api/account?a=<hex> for admins and /api/me for an owner, both the same
 * object built by api_history, and /api/audits.
 *
 * The history part is history_fetch + history_json (cmd_history.h): its
 * NDJSON lines go by "type" into "recent" (login), "logins" (rollup) and
 * "messages" (message); a roll-up the owner marked gets its mark.  Places
 * ({a:<hex>}:geo), sessions ({a:<hex>}:sess), open alerts
 * ({a:<hex>}:alerts_open) and marks ({a:<hex>}:marks) are read alongside.
 *
 * SECURITY: the hex parameter is decoded strictly and bounded; the owner's
 * account comes from the verified token only.  Stored JSON records are
 * copied only when they look like objects; other stored text is escaped.
 */
#include "config.h"

#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>

#include "cmd_history.h"
#include "log.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "web.h"
#include "web_api.h"

#define ACCOUNTS_MAX	200
#define SCAN_MAX	200000

void
api_audits(struct web *w, struct evhttp_request *req, struct buf *b)
{
	buf_adds(b, "{\"audits\":");
	api_audits_list(w, b);
	buf_adds(b, "}\n");
	web_json(req, 200, b);
}

/* ---- /api/accounts ---- */

/* has_sub - q (case-insensitive ASCII) within the n bytes of p */
static int
has_sub(const char *p, size_t n, const char *q)
{
	size_t m = strlen(q), i, j;

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++) {
			char a = p[i + j], c = q[j];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (a != c)
				break;
		}
		if (j == m)
			return 1;
	}
	return 0;
}

static int
cmp_buf(const void *x, const void *y)
{
	const struct buf *a = x, *b = y;
	int c = memcmp(a->data, b->data, FM_MIN(a->len, b->len));

	return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

/* scan_accounts - the names (raw) of accounts holding q, sorted */
static size_t
scan_accounts(struct web *w, const char *q, struct buf *names)
{
	struct buf pat, hex;
	redisReply *r;
	char cursor[32] = "0";
	size_t n = 0, walked = 0, i, plen = strlen(w->cf->redis.prefix);

	buf_init(&pat);
	buf_init(&hex);
	buf_printf(&pat, "%s{a:*}:applied", w->cf->redis.prefix);
	do {
		if (w->rc == NULL)
			break;
		r = redisCommand(w->rc, "SCAN %s MATCH %b COUNT 1000", cursor,
		    pat.data, pat.len);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r == NULL)
				web_redis_lost(w);
			else
				freeReplyObject(r);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements && n < ACCOUNTS_MAX; i++) {
			const redisReply *k = r->element[1]->element[i];
			const char *h = k->str + plen + 3, *e;

			if (k->len < plen + 4 || (e = memchr(h, '}',
			    k->len - plen - 3)) == NULL)
				continue;
			buf_init(&names[n]);
			if (hex_decode(&names[n], h, (size_t)(e - h)) == -1 ||
			    names[n].len == 0 || (q != NULL && *q != '\0' &&
			    !has_sub(names[n].data, names[n].len, q))) {
				buf_free(&names[n]);
				continue;
			}
			n++;
		}
		walked += r->element[1]->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && n < ACCOUNTS_MAX &&
	    walked < SCAN_MAX);
	buf_free(&pat);
	buf_free(&hex);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_buf);
	return n;
}

void
api_accounts(struct web *w, struct evhttp_request *req, struct buf *b)
{
	struct buf names[ACCOUNTS_MAX], k;
	struct evkeyvalq q;
	redisReply **v;
	const char *s;
	size_t i, n;

	TAILQ_INIT(&q);
	s = api_param(req, &q, "q");
	if (s != NULL && strlen(s) > 256) {
		evhttp_clear_headers(&q);
		web_error(req, 400, "q: at most 256 bytes");
		return;
	}
	n = scan_accounts(w, s, names);
	evhttp_clear_headers(&q);
	buf_init(&k);
	for (i = 0; i < n && w->rc != NULL; i++) {
		buf_reset(&k);
		store_key_account(&k, w->cf, names[i].data, names[i].len,
		    ":applied");
		redisAppendCommand(w->rc, "HMGET %b login_time login_ip "
		    "fail_time", k.data, k.len);
	}
	buf_free(&k);
	v = xcalloc(n + 1, sizeof(*v));
	if (w->rc == NULL || api_replies(w, v, n) == -1) {
		web_error(req, 503, "Redis is not reachable");
	} else {
		buf_adds(b, "{\"accounts\":[");
		for (i = 0; i < n; i++) {
			const redisReply *r = v[i];
			size_t j;

			buf_adds(b, i ? ",{\"account\":" : "{\"account\":");
			api_account(b, names[i].data, names[i].len);
			for (j = 0; j < 3; j++) {
				static const char *const f[] = { "last_login",
				    "last_ip", "last_fail" };
				const redisReply *e = r && r->type ==
				    REDIS_REPLY_ARRAY && j < r->elements ?
				    r->element[j] : NULL;

				buf_printf(b, ",\"%s\":", f[j]);
				if (e == NULL || e->type != REDIS_REPLY_STRING)
					buf_adds(b, "null");
				else
					api_text(b, e->str, e->len);
			}
			buf_addc(b, '}');
		}
		buf_adds(b, "]}\n");
		web_json(req, 200, b);
	}
	api_free_replies(v, n);
	free(v);
	for (i = 0; i < n; i++)
		buf_free(&names[i]);
}

/* ---- one account ---- */

/* mark_of - a roll-up line's feedback key (result|ip|service) into fk,
 * and its mark (JSON) from the marks hash "<day>|<key>", or NULL */
static const redisReply *
mark_of(const redisReply *marks, const char *line, size_t n, struct buf *t,
    struct buf *fk)
{
	struct buf key;
	size_t i;
	const redisReply *found = NULL;

	buf_init(&key);
	buf_reset(fk);
	if (show_json_get(line, n, "day", t) == 0)
		for (i = 0; i < t->len; i++)
			if (t->data[i] != '-')
				buf_addc(&key, t->data[i]);
	buf_addc(&key, '|');
	if (show_json_get(line, n, "result", t) == 0)
		buf_add(fk, t->data, t->len);
	buf_addc(fk, '|');
	if (show_json_get(line, n, "ip", t) == 0)
		buf_add(fk, t->data, t->len);
	buf_addc(fk, '|');
	if (show_json_get(line, n, "service", t) == 0)
		buf_add(fk, t->data, t->len);
	buf_add(&key, fk->data, fk->len);
	for (i = 0; marks->type == REDIS_REPLY_ARRAY && i + 1 <
	    marks->elements; i += 2)
		if (marks->element[i]->len == key.len &&
		    memcmp(marks->element[i]->str, key.data, key.len) == 0)
			found = marks->element[i + 1];
	buf_free(&key);
	return found;
}

/* put_lines - the NDJSON lines of type into an array named name */
static void
put_lines(struct buf *b, const struct buf *nd, const char *type,
    const char *name, const redisReply *marks)
{
	const char *p = nd->data, *end = nd->data + nd->len, *e;
	const redisReply *m;
	struct buf t, key;
	int k = 0;

	buf_init(&t);
	buf_init(&key);
	buf_printf(b, ",\"%s\":[", name);
	for (; p != NULL && p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		if (e - p < 2 || show_json_get(p, (size_t)(e - p), "type",
		    &t) == -1 || strcmp(t.data ? t.data : "", type) != 0)
			continue;
		buf_adds(b, k++ ? "," : "");
		if (marks == NULL || e[-1] != '}') {
			buf_add(b, p, (size_t)(e - p));
			continue;
		}
		/* a roll-up: its feedback key, and its mark when it has one */
		m = mark_of(marks, p, (size_t)(e - p), &t, &key);
		buf_add(b, p, (size_t)(e - p - 1));
		buf_adds(b, ",\"key\":");
		api_text(b, key.data, key.len);
		if (m != NULL && m->len > 1 && m->str[0] == '{') {
			buf_adds(b, ",\"mark\":");
			buf_add(b, m->str, m->len);
		}
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
	buf_free(&t);
	buf_free(&key);
}

/* put_places - {a:<hex>}:geo: field -> "<count>|<first>|<last>|<name>" */
static void
put_places(struct buf *b, const redisReply *r)
{
	size_t i;

	buf_adds(b, ",\"places\":{");
	for (i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *v = r->element[i + 1];
		const char *p[4], *e = v->str + v->len, *from = v->str;
		size_t j;

		/* p[1..3]: the three separators */
		for (j = 1; j < 4; j++) {
			p[j] = from < e ? memchr(from, '|', (size_t)(e - from)) :
			    NULL;
			if (p[j] == NULL)
				break;
			from = p[j] + 1;
		}
		if (j < 4)
			continue;
		buf_adds(b, i ? "," : "");
		api_text(b, r->element[i]->str, r->element[i]->len);
		buf_printf(b, ":{\"n\":%lld,\"first\":", strtoll(v->str, NULL,
		    10));
		api_text(b, p[1] + 1, (size_t)(p[2] - p[1] - 1));
		buf_adds(b, ",\"last\":");
		api_text(b, p[2] + 1, (size_t)(p[3] - p[2] - 1));
		buf_adds(b, ",\"name\":");
		api_text(b, p[3] + 1, (size_t)(e - p[3] - 1));
		buf_addc(b, '}');
	}
	buf_addc(b, '}');
}

/* put_values - the values of a hash that are JSON objects, as an array
 * (alerts: with account_hex) */
static void
put_values(struct buf *b, const char *name, const redisReply *r, int alerts)
{
	size_t i;
	int k = 0;

	buf_printf(b, ",\"%s\":[", name);
	for (i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *v = r->element[i + 1];

		if (v->len < 2 || v->str[0] != '{' || v->str[v->len - 1] != '}')
			continue;
		buf_adds(b, k++ ? "," : "");
		if (alerts)
			api_alert(b, v->str, v->len);
		else
			buf_add(b, v->str, v->len);
	}
	buf_addc(b, ']');
}

int
api_history(struct web *w, struct evhttp_request *req, struct buf *b,
    const struct buf *acct, int64_t since, int64_t until)
{
	static const char *const extra[] = { ":geo", ":sess", ":alerts_open",
	    ":marks" };
	struct history h;
	struct buf nd, k;
	redisReply *v[nitems(extra)];
	size_t i;
	int rc = 0;

	memset(&h, 0, sizeof(h));
	h.cf = w->cf;
	buf_init(&h.name);
	buf_add(&h.name, acct->data, acct->len);
	h.since = since;
	h.until = until;
	h.ranged = 1;
	h.has_since = 1;
	h.logins = h.sent = 1;
	h.fmt = FMT_JSON;
	buf_init(&nd);
	buf_init(&k);
	/* NOSCRIPT: Redis lost its scripts (a restart behind a proxy, SCRIPT
	 * FLUSH); a new connection loads the archive script again */
	if (history_fetch(w->rc, &h) == -1 && (w->rc == NULL || w->rc->err ||
	    strstr(h.err, "NOSCRIPT") != NULL)) {
		log_warnx("service=web msg=\"history: %s\"", h.err);
		web_redis_lost(w);
		web_error(req, 503, "Redis is not reachable");
		rc = -1;
		goto out;
	}
	history_json(&nd, &h, HISTORY_LOGINS | HISTORY_SENT);
	for (i = 0; i < nitems(extra) && w->rc != NULL; i++) {
		buf_reset(&k);
		store_key_account(&k, w->cf, acct->data, acct->len, extra[i]);
		redisAppendCommand(w->rc, "HGETALL %b", k.data, k.len);
	}
	if (api_replies(w, v, nitems(extra)) == -1) {
		api_free_replies(v, nitems(extra));	/* those read before */
		web_error(req, 503, "Redis is not reachable");
		rc = -1;
		goto out;
	}
	buf_adds(b, "{\"account\":");
	api_account(b, acct->data, acct->len);
	buf_adds(b, ",\"range\":{\"since\":");
	api_iso(b, since / 1000000);
	buf_adds(b, ",\"until\":");
	api_iso(b, until / 1000000);
	buf_addc(b, '}');
	put_lines(b, &nd, "rollup", "logins", v[3]);
	put_lines(b, &nd, "login", "recent", NULL);
	put_lines(b, &nd, "message", "messages", NULL);
	put_places(b, v[0]);
	put_values(b, "sessions", v[1], 0);
	put_values(b, "alerts", v[2], 1);
	buf_adds(b, "}\n");
	web_json(req, 200, b);
	api_free_replies(v, nitems(extra));
out:
	history_free(&h);
	buf_free(&nd);
	buf_free(&k);
	return rc;
}

/* range - since/until parameters (time_parse_arg forms); default: the
 * retention up to now */
static int
range(struct web *w, struct evhttp_request *req, struct evkeyvalq *q,
    int64_t *since, int64_t *until)
{
	const char *s = api_param(req, q, "since"), *u = api_param(req, q,
	    "until");

	*until = now_us() + 1;
	*since = *until - (int64_t)w->cf->retention_days * DAY_US;
	if ((s != NULL && (strlen(s) > 64 || time_parse_arg(s, since) == -1)) ||
	    (u != NULL && (strlen(u) > 64 || time_parse_arg(u, until) == -1)) ||
	    *since >= *until)
		return -1;
	return 0;
}

void
api_account_page(struct web *w, struct evhttp_request *req, struct buf *b)
{
	struct evkeyvalq q;
	struct buf acct;
	const char *hex;
	int64_t since, until;

	TAILQ_INIT(&q);
	buf_init(&acct);
	hex = api_param(req, &q, "a");
	if (hex == NULL || strlen(hex) > 2 * WEBLINK_ACCOUNT_MAX ||
	    hex_decode(&acct, hex, strlen(hex)) == -1 || acct.len == 0)
		web_error(req, 400, "a: the account's name in hex");
	else if (range(w, req, &q, &since, &until) == -1)
		web_error(req, 400, "since, until: times such as 2026-11-24 or -7d");
	else
		(void)api_history(w, req, b, &acct, since, until);
	evhttp_clear_headers(&q);
	buf_free(&acct);
}

void
api_me(struct web *w, struct evhttp_request *req, struct buf *b,
    const struct buf *acct)
{
	struct evkeyvalq q;
	int64_t since, until;

	TAILQ_INIT(&q);
	if (range(w, req, &q, &since, &until) == -1)
		web_error(req, 400, "since, until: times such as 2026-11-24 or -7d");
	else
		(void)api_history(w, req, b, acct, since, until);
	evhttp_clear_headers(&q);
}
