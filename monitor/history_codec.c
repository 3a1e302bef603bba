/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * history_codec.c - the stored form of the history records (message
 * records and login roll-ups, written by monitor/history.lua in the apply
 * script and by model.c; the recent attempts of :logins, written by
 * model.c) expanded back to the JSON records doc/redis.md documents, byte
 * for byte what the writers wrote before they kept them compact.  The stored form: slots separated by \37 (trailing empty ones
 * left out), a message's recipients after it, each after a \36; text slots
 * hold JSON string contents; times are seconds from a base (the day's
 * start, or the message's time); some slots are derived when empty (the
 * queue id and server from the hash field, the sender from the account,
 * the login's address and service from the message's).  history.lua's
 * header comment lists the slots.  A :logins record: time (Unix
 * microseconds), ip, service, result (o / f), mech, host, reason, attempts
 * (absent: 1), every field of its JSON present.
 *
 * SECURITY: values come from Redis and hold attacker-controlled text.
 * Text slots are copied only when free of control bytes (the writers
 * escape them), derived text is escaped here the way the script does, and
 * every slot is bounded by its value's length.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history_codec.h"
#include "logline.h"
#include "util.h"

#define SLOT_SEP	'\37'
#define RCPT_SEP	'\36'
#define ABSENT		'\34'	/* a derived slot's value is absent */
#define LITERAL		'\35'	/* the string that follows, as it is */
#define MSG_SLOTS	17
#define RCPT_SLOTS	5
#define RU_SLOTS	10
#define LG_SLOTS	8

/* A decoded value: text to copy (JSON string contents), raw bytes to
 * escape, a number (decimal text), a time (Unix seconds), a boolean. */
enum vkind { V_NONE, V_TEXT, V_RAW, V_NUM, V_TIME, V_BOOL };

struct val {
	enum vkind k;
	const char *p;
	size_t n;
	int64_t t;		/* V_TIME; V_BOOL: 0 / 1 */
};

static const struct val none = { V_NONE, NULL, 0, 0 };

/* split - at most max slots of [p, p + n) separated by sep (missing ones
 * empty); the number found */
static size_t
split(const char *p, size_t n, char sep, struct val *s, size_t max)
{
	const char *e = p + n, *q;
	size_t i;

	for (i = 0; i < max; i++)
		s[i] = (struct val){ V_TEXT, "", 0, 0 };
	for (i = 0; i < max; i++) {
		q = memchr(p, sep, (size_t)(e - p));
		s[i].p = p;
		s[i].n = (size_t)((q ? q : e) - p);
		if (q == NULL)
			return i + 1;
		p = q + 1;
	}
	return max;
}

/* day_start - Unix seconds of "YYYYMMDD" (0 when it is not one) */
static int64_t
day_start(const char *day)
{
	int64_t v[3] = { 0, 0, 0 };
	static const int w[3] = { 4, 2, 2 };
	int i, j, o = 0;

	for (i = 0; i < 3; i++)
		for (j = 0; j < w[i]; j++, o++) {
			if (day[o] < '0' || day[o] > '9')
				return 0;
			v[i] = v[i] * 10 + (day[o] - '0');
		}
	return logline_days_from_civil((int)v[0], (int)v[1], (int)v[2]) * 86400;
}

/* num_max - the decimal integer of a slot (an optional '-', at most max
 * digits); -1 when it is not one */
static int
num_max(const struct val *s, int64_t *out, size_t max)
{
	size_t i = 0;
	int neg = 0;
	int64_t v = 0;

	if (s->n > 0 && s->p[0] == '-')
		neg = 1, i = 1;
	if (i == s->n || s->n - i > max)
		return -1;
	for (; i < s->n; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return -1;
		v = v * 10 + (s->p[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

static int
num(const struct val *s, int64_t *out)
{
	return num_max(s, out, 15);
}

/* d_str - a text slot: absent when empty */
static struct val
d_str(const struct val *s)
{
	struct val v = *s;

	if (v.n == 0)
		return none;
	if (v.p[0] == LITERAL)
		v.p++, v.n--;
	v.k = V_TEXT;
	return v;
}

/* d_der - a derived slot: dv when empty */
static struct val
d_der(const struct val *s, const struct val *dv)
{
	if (s->n == 0)
		return *dv;
	if (s->n == 1 && s->p[0] == ABSENT)
		return none;
	return d_str(s);
}

static struct val
d_num(const struct val *s)
{
	struct val v = d_str(s);
	int64_t x;

	if (v.k != V_NONE && s->p[0] != LITERAL && num(s, &x) == 0)
		v.k = V_NUM;
	return v;
}

static struct val
d_time(const struct val *s, int64_t base)
{
	struct val v = d_str(s);
	int64_t x;

	if (v.k != V_NONE && s->p[0] != LITERAL && num(s, &x) == 0) {
		v.k = V_TIME;
		v.t = base + x;
	}
	return v;
}

/* esc - raw bytes escaped as the script's JSON encoder does */
static void
esc(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else
			buf_addc(b, (char)c);
	}
}

/* text - a text slot's contents, copied when free of control bytes (the
 * writers never store one), else escaped */
static void
text(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			break;
	if (i == n)
		buf_add(b, p, n);
	else
		esc(b, p, n);
}

/* put - ,"name":value (no comma before the first of an object) */
static void
put(struct buf *b, int *first, const char *name, const struct val *v)
{
	char t[32];

	if (v->k == V_NONE)
		return;
	if (!*first)
		buf_addc(b, ',');
	*first = 0;
	buf_printf(b, "\"%s\":", name);
	switch (v->k) {
	case V_NUM:
		buf_add(b, v->p, v->n);
		break;
	case V_BOOL:
		buf_adds(b, v->t ? "true" : "false");
		break;
	case V_TIME:
		time_format(v->t * 1000000, t, sizeof(t));
		t[19] = '\0';
		buf_addc(b, '"');
		buf_adds(b, t);
		buf_add(b, "Z\"", 2);
		break;
	case V_RAW:
		buf_addc(b, '"');
		esc(b, v->p, v->n);
		buf_addc(b, '"');
		break;
	default:
		buf_addc(b, '"');
		text(b, v->p, v->n);
		buf_addc(b, '"');
		break;
	}
}

/* put_login - "login":{...} from its slots s (7), the message's ip and
 * service, its times from base */
static void
put_login(struct buf *b, int *mfirst, const struct val *s,
    const struct val *ip, const struct val *service, int64_t base)
{
	struct val v[7], conf = none;
	static const char *const k[7] = { "time", "ip", "service", "mech",
	    "inferred", "accounts", "confidence" };
	int first = 1, i;
	int64_t acc;

	v[0] = (s[0].n == 1 && s[0].p[0] == ABSENT) ? none :
	    d_time(&s[0], base);
	v[1] = d_der(&s[1], ip);
	v[2] = d_der(&s[2], service);
	v[3] = d_str(&s[3]);
	v[4] = none;
	if (s[4].n == 1 && (s[4].p[0] == '1' || s[4].p[0] == '0'))
		v[4] = (struct val){ V_BOOL, NULL, 0, s[4].p[0] == '1' };
	v[5] = d_num(&s[5]);
	if (v[4].k == V_BOOL && v[4].t && v[5].k == V_NUM &&
	    num(&v[5], &acc) == 0)
		conf = (struct val){ V_TEXT, acc > 1 ? "low" : "high",
		    acc > 1 ? 3 : 4, 0 };
	v[6] = d_der(&s[6], &conf);
	if (!*mfirst)
		buf_addc(b, ',');
	*mfirst = 0;
	buf_add(b, "\"login\":{", 9);
	for (i = 0; i < 7; i++)
		put(b, &first, k[i], &v[i]);
	buf_addc(b, '}');
}

/* msgid_domain - a Message-ID slot ending in "@": the sender's domain
 * (after the last "@" of from, when not empty) follows it (into dom) */
static void
msgid_domain(struct val *id, const struct val *from, struct buf *dom)
{
	size_t i;

	if (from->k != V_TEXT && from->k != V_RAW)
		return;
	for (i = from->n; i-- > 0;)
		if (from->p[i] == '@')
			break;
	if (i == (size_t)-1 || i + 1 == from->n)
		return;
	text(dom, id->p, id->n);
	if (from->k == V_RAW)
		esc(dom, from->p + i + 1, from->n - i - 1);
	else
		buf_add(dom, from->p + i + 1, from->n - i - 1);
	id->k = V_TEXT;
	id->p = dom->data;
	id->n = dom->len;
}

/* put_rcpt - one recipient {...} from its stored slots */
static void
put_rcpt(struct buf *b, const char *p, size_t n, int64_t base)
{
	struct val s[RCPT_SLOTS], v[RCPT_SLOTS], dsn;
	static const char *const k[RCPT_SLOTS] = { "to", "status", "time",
	    "relay", "dsn" };
	static const char *const st[4] = { "sent", "deferred", "bounced",
	    "expired" };
	static const char codes[] = "sdbe";	/* their letters */
	const char *c;
	int first = 1, i;

	split(p, n, SLOT_SEP, s, RCPT_SLOTS);	/* to status time relay dsn */
	v[0] = d_str(&s[0]);
	v[1] = d_str(&s[1]);
	if (s[1].n == 1 && s[1].p[0] != '\0' &&
	    (c = strchr(codes, s[1].p[0])) != NULL)
		v[1] = (struct val){ V_TEXT, st[c - codes],
		    strlen(st[c - codes]), 0 };
	v[2] = d_time(&s[2], base);
	v[3] = d_str(&s[3]);
	dsn = none;
	if (v[1].k == V_TEXT && v[1].n == 4 && memcmp(v[1].p, "sent", 4) == 0)
		dsn = (struct val){ V_TEXT, "2.0.0", 5, 0 };
	v[4] = d_der(&s[4], &dsn);
	buf_addc(b, '{');
	for (i = 0; i < RCPT_SLOTS; i++)
		put(b, &first, k[i], &v[i]);
	buf_addc(b, '}');
}

void
history_expand_msg(struct buf *out, const char *day, const char *field,
    size_t flen, const char *acct, size_t alen, const char *p, size_t n)
{
	struct val s[MSG_SLOTS], v[10], host = none, qid = none, from;
	struct buf dom;
	static const char *const k[10] = { "time", "qid", "msgid", "from",
	    "subject", "size", "nrcpt", "ip", "service", "host" };
	const char *e = p + n, *r = memchr(p, RCPT_SEP, n), *bar = NULL;
	int64_t d0 = day_start(day), base = d0;
	size_t i;
	int first = 1;

	buf_init(&dom);
	for (i = flen; i-- > 0;)
		if (field[i] == '|') {
			bar = field + i;
			break;
		}
	if (bar != NULL) {
		if (bar > field)
			host = (struct val){ V_RAW, field,
			    (size_t)(bar - field), 0 };
		qid = (struct val){ V_RAW, bar + 1,
		    flen - (size_t)(bar + 1 - field), 0 };
	}
	from = (struct val){ V_RAW, acct, alen, 0 };
	split(p, (size_t)((r ? r : e) - p), SLOT_SEP, s, MSG_SLOTS);
	v[0] = d_time(&s[0], d0);
	v[1] = d_der(&s[8], &qid);
	v[3] = d_der(&s[2], &from);
	v[2] = d_str(&s[1]);
	if (v[2].k != V_NONE && s[1].p[0] != LITERAL &&
	    v[2].p[v[2].n - 1] == '@')
		msgid_domain(&v[2], &v[3], &dom);
	v[4] = d_str(&s[3]);
	v[5] = d_num(&s[4]);
	v[6] = d_num(&s[5]);
	v[7] = d_str(&s[6]);
	v[8] = d_str(&s[7]);
	v[9] = d_der(&s[9], &host);
	if (v[0].k == V_TIME)
		base = v[0].t;
	buf_addc(out, '{');
	for (i = 0; i < 10; i++)
		put(out, &first, k[i], &v[i]);
	if (s[10].n > 0)
		put_login(out, &first, &s[10], &v[7], &v[8], base);
	if (r != NULL) {
		buf_add(out, first ? "\"rcpt\":[" : ",\"rcpt\":[",
		    first ? 8 : 9);
		for (first = 1; r != NULL && r < e; first = 0) {
			const char *q = r + 1, *nx = memchr(q, RCPT_SEP,
			    (size_t)(e - q));

			if (!first)
				buf_addc(out, ',');
			put_rcpt(out, q, (size_t)((nx ? nx : e) - q), base);
			r = nx;
		}
		buf_addc(out, ']');
	}
	buf_addc(out, '}');
	buf_free(&dom);
}

void
history_expand_rollup(struct buf *out, const char *day, const char *p,
    size_t n)
{
	struct val s[RU_SLOTS], v;
	static const char *const k[RU_SLOTS] = { "n", "first", "last", "mech",
	    "host", "reason", "cc", "city", "asn", "asorg" };
	int64_t d0 = day_start(day);
	int first = 1, i;

	split(p, n, SLOT_SEP, s, RU_SLOTS);
	buf_addc(out, '{');
	for (i = 0; i < RU_SLOTS; i++) {
		if (i == 1 || i == 2)
			v = d_time(&s[i], d0);
		else if (i == 0 || i == 8)
			v = d_num(&s[i]);
		else
			v = d_str(&s[i]);
		put(out, &first, k[i], &v);
	}
	buf_addc(out, '}');
}

/* replace - string reply e's value replaced by b's bytes */
static void
replace(redisReply *e, const struct buf *b)
{
	/* hiredis frees a reply's string with free() */
	free(e->str);
	e->str = xmalloc(b->len + 1);
	memcpy(e->str, b->data ? b->data : "", b->len);
	e->str[b->len] = '\0';
	e->len = b->len;
}

void
history_expand_day(redisReply *r, int what, const char *day,
    const char *acct, size_t alen)
{
	struct buf b;
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return;
	buf_init(&b);
	for (i = 0; i + 1 < r->elements; i += 2) {
		redisReply *f = r->element[i], *e = r->element[i + 1];

		if (f->type != REDIS_REPLY_STRING ||
		    e->type != REDIS_REPLY_STRING ||
		    (e->len > 0 && e->str[0] == '{'))
			continue;
		buf_reset(&b);
		if (what == HISTORY_DAY_M)
			history_expand_msg(&b, day, f->str, (size_t)f->len,
			    acct, alen, e->str, (size_t)e->len);
		else
			history_expand_rollup(&b, day, e->str, (size_t)e->len);
		replace(e, &b);
	}
	buf_free(&b);
}

int
history_expand_login(struct buf *out, const char *p, size_t n)
{
	struct val s[LG_SLOTS + 1];
	static const char *const k[LG_SLOTS] = { "time", "ip", "service",
	    "result", "mech", "host", "reason", "attempts" };
	int64_t us, att;
	size_t ns = split(p, n, SLOT_SEP, s, LG_SLOTS + 1), i;
	char t[32];

	if (ns < 4 || ns > LG_SLOTS || num_max(&s[0], &us, 18) == -1 ||
	    s[3].n != 1 || (s[3].p[0] != 'o' && s[3].p[0] != 'f') ||
	    (s[7].n > 0 && (s[7].p[0] < '1' || s[7].p[0] > '9' ||
	    num(&s[7], &att) == -1)))
		return -1;
	time_format(us, t, sizeof(t));
	buf_add(out, "{\"time\":\"", 9);
	buf_adds(out, t);
	for (i = 1; i < LG_SLOTS - 1; i++) {
		buf_printf(out, "\",\"%s\":\"", k[i]);
		if (i == 3)
			buf_adds(out, s[3].p[0] == 'o' ? "ok" : "fail");
		else
			text(out, s[i].p, s[i].n);
	}
	buf_add(out, "\",\"attempts\":", 13);
	if (s[7].n > 0)
		buf_add(out, s[7].p, s[7].n);
	else
		buf_addc(out, '1');
	buf_addc(out, '}');
	return 0;
}

void
history_expand_logins(redisReply *r)
{
	struct buf b;
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return;
	buf_init(&b);
	for (i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING ||
		    (e->len > 0 && e->str[0] == '{'))
			continue;
		buf_reset(&b);
		if (history_expand_login(&b, e->str, (size_t)e->len) == 0)
			replace(e, &b);
	}
	buf_free(&b);
}
