/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_account.c - `fumidai account NAME [--json] [--hex] [-n N] [-c FILE]`:
 * what Redis holds about one account: last login and failure, its alerts
 * (alerts_open: the latest record of each kind), counters for today, the
 * last 7 days and the whole retention, logins by address of the last 7
 * days (the :lr:<day> roll-ups), the countries, networks and cities it
 * logged in from (:geo), the recent login attempts (:logins) and the
 * messages it sent in the last 7 days (:m:<day>), newest first.  Exit 0 when something is recorded, 1 when
 * nothing is, 2 on a usage, configuration or Redis error.
 *
 * SECURITY: everything printed came from logs.  Human output escapes
 * control characters, backslashes and invalid UTF-8 as \xNN; --json output
 * is JSON-escaped with invalid UTF-8 as \u00XX.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"
#include "compact.h"
#include "history_codec.h"
#include "redisd.h"
#include "conf.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

#define SHOW_DEFAULT	20	/* history entries shown without -n */
#define ROLLUP_DAYS	7
#define FIXED		4	/* replies before the day hashes in fetch() */

/* The per-day counters shown, in order (doc/redis.md). */
static const char *const counter_names[] = {
	"login_ok", "login_fail", "messages", "recipients", "bytes",
	"delivered", "deferred", "bounced", "delivery_other",
};
#define NCOUNT	nitems(counter_names)

struct counters {
	long long v[NCOUNT];
};

struct day {
	char name[9];		/* YYYYMMDD */
	struct counters c;
	int present;
};

/* One place of the login geography ({a:<hex>}:geo, doc/detection.md). */
enum place_type { PLACE_COUNTRY, PLACE_ASN, PLACE_CITY };

struct place {
	enum place_type type;
	struct buf key;		/* "JP", "2516", "JP:Tokyo" (field minus prefix) */
	long long count;
	struct buf first, last;	/* ISO 8601 */
	struct buf name;	/* country name or AS organisation, decoded */
};

/* One roll-up entry: result|ip|service and its count over ROLLUP_DAYS. */
struct rollup {
	struct buf key;
	long long n;
};

struct account {
	struct buf name;
	redisReply *last;	/* HGETALL applied */
	struct day *days;	/* [0] today, back over the retention */
	size_t ndays;
	struct counters today, week, total;
	struct rollup *roll;
	size_t nroll;
	redisReply *logins;
	redisReply *mdays[ROLLUP_DAYS];	/* :m:<day> of the recent days */
	const redisReply **msgs;	/* their records, newest first */
	size_t nmsgs;
	struct place *geo;	/* sorted: type, then most logins first */
	size_t ngeo;
	redisReply *open;	/* HGETALL alerts_open */
	const redisReply **alerts;	/* its records, newest first */
	size_t nalerts;
};

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai account [-c FILE] [--json] [--hex] "
	    "[-n N] NAME\n");
}

/* ---- reading ---- */

static void
add_counters(struct counters *dst, const struct counters *src)
{
	size_t i;

	for (i = 0; i < NCOUNT; i++)
		dst->v[i] += src->v[i];
}

static void
add_rollup(struct account *a, const char *p, size_t n, long long v)
{
	size_t i;

	for (i = 0; i < a->nroll; i++)
		if (a->roll[i].key.len == n && memcmp(a->roll[i].key.data, p,
		    n) == 0) {
			a->roll[i].n += v;
			return;
		}
	a->roll = xrealloc(a->roll, (a->nroll + 1) * sizeof(*a->roll));
	buf_init(&a->roll[a->nroll].key);
	buf_add(&a->roll[a->nroll].key, p, n);
	a->roll[a->nroll++].n = v;
}

/* read_lr - a day's login roll-ups (:lr:<day>): their counts "n" */
static void
read_lr(struct account *a, const redisReply *r)
{
	struct buf v;
	size_t i;

	buf_init(&v);
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *f = r->element[i], *e = r->element[i + 1];

		if (f->type == REDIS_REPLY_STRING &&
		    e->type == REDIS_REPLY_STRING &&
		    show_json_get(e->str, e->len, "n", &v) == 0)
			add_rollup(a, f->str, f->len, strtoll(v.data, NULL, 10));
	}
	buf_free(&v);
}

/* msg_time_cmp - messages newest first by their "time", then bytes */
static int
msg_time_cmp(const void *x, const void *y)
{
	const redisReply *a = *(const redisReply *const *)x;
	const redisReply *b = *(const redisReply *const *)y;
	struct buf ta, tb;
	int c;

	buf_init(&ta);
	buf_init(&tb);
	(void)show_json_get(a->str, a->len, "time", &ta);
	(void)show_json_get(b->str, b->len, "time", &tb);
	c = strcmp(tb.data ? tb.data : "", ta.data ? ta.data : "");
	buf_free(&ta);
	buf_free(&tb);
	if (c == 0 && (c = memcmp(b->str, a->str, FM_MIN(a->len,
	    b->len))) == 0)
		c = (b->len > a->len) - (b->len < a->len);
	return c;
}

/* read_msgs - the records of the recent :m:<day> hashes, newest first,
 * at most show */
static void
read_msgs(struct account *a, int show)
{
	size_t d, i, n = 0;

	for (d = 0; d < ROLLUP_DAYS; d++)
		if (a->mdays[d] && a->mdays[d]->type == REDIS_REPLY_ARRAY)
			n += a->mdays[d]->elements / 2;
	a->msgs = xcalloc(n + 1, sizeof(*a->msgs));
	for (d = 0; d < ROLLUP_DAYS; d++)
		for (i = 1; a->mdays[d] && a->mdays[d]->type ==
		    REDIS_REPLY_ARRAY && i < a->mdays[d]->elements; i += 2)
			if (a->mdays[d]->element[i]->type == REDIS_REPLY_STRING)
				a->msgs[a->nmsgs++] = a->mdays[d]->element[i];
	if (a->nmsgs > 1)
		qsort(a->msgs, a->nmsgs, sizeof(*a->msgs), msg_time_cmp);
	if (show > 0 && a->nmsgs > (size_t)show)
		a->nmsgs = (size_t)show;
}

/* read_day - a day hash: its counters */
static void
read_day(struct day *d, const redisReply *r)
{
	size_t i, k;

	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		long long n = strtoll(v->str ? v->str : "0", NULL, 10);

		for (k = 0; k < NCOUNT; k++)
			if (strcmp(f->str, counter_names[k]) == 0) {
				d->c.v[k] += n;
				d->present = 1;
			}
	}
}

static int
cmp_rollup(const void *x, const void *y)
{
	const struct rollup *a = x, *b = y;
	int c;

	if (a->n != b->n)
		return (a->n < b->n) - (a->n > b->n);
	/* the same count: by field bytes (a hash has no order to keep) */
	c = memcmp(a->key.data, b->key.data, FM_MIN(a->key.len, b->key.len));
	return c ? c : (a->key.len > b->key.len) - (a->key.len < b->key.len);
}

/* read_place - a :geo field and its value "<count>|<first>|<last>|<name>" */
static int
read_place(struct place *pl, const redisReply *f, const redisReply *v)
{
	static const char *const pfx[] = { "cc:", "asn:", "city:" };
	const char *p = v->str, *end = v->str + v->len, *bar[3];
	size_t i, n;
	char *e;

	for (i = 0; i < nitems(pfx); i++) {
		n = strlen(pfx[i]);
		if (f->len > n && memcmp(f->str, pfx[i], n) == 0)
			break;
	}
	if (i == nitems(pfx))
		return -1;
	for (n = 0; n < 3; n++) {
		if ((bar[n] = memchr(p, '|', (size_t)(end - p))) == NULL)
			return -1;
		p = bar[n] + 1;
	}
	if (i == PLACE_ASN && (f->len - 4 > 10 ||
	    strspn(f->str + 4, "0123456789") != f->len - 4))
		return -1;	/* not a number: nothing fumidai writes */
	pl->type = (enum place_type)i;
	pl->count = strtoll(v->str, &e, 10);
	if (e != bar[0] || pl->count < 0)
		return -1;
	buf_init(&pl->key);
	buf_init(&pl->first);
	buf_init(&pl->last);
	buf_init(&pl->name);
	n = strlen(pfx[i]);
	buf_add(&pl->key, f->str + n, f->len - n);
	buf_add(&pl->first, bar[0] + 1, (size_t)(bar[1] - bar[0] - 1));
	buf_add(&pl->last, bar[1] + 1, (size_t)(bar[2] - bar[1] - 1));
	/* A bad escape keeps what decoded: the name is only shown. */
	(void)show_json_unescape(&pl->name, bar[2] + 1,
	    (size_t)(end - bar[2] - 1));
	return 0;
}

static int
cmp_place(const void *x, const void *y)
{
	const struct place *a = x, *b = y;
	int c;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if ((c = strcmp(b->last.data ? b->last.data : "",
	    a->last.data ? a->last.data : "")) != 0)
		return c;
	return strcmp(a->key.data ? a->key.data : "",
	    b->key.data ? b->key.data : "");
}

/* read_geo - the account's login geography; malformed fields are skipped */
static void
read_geo(struct account *a, const redisReply *r)
{
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return;
	a->geo = xcalloc(r->elements / 2, sizeof(*a->geo));
	for (i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING &&
		    read_place(&a->geo[a->ngeo], r->element[i],
		    r->element[i + 1]) == 0)
			a->ngeo++;
	if (a->ngeo > 1)
		qsort(a->geo, a->ngeo, sizeof(*a->geo), cmp_place);
}

/* alert_last - the "last" of an alert record as us (0 when unreadable) */
static int64_t
alert_last(const redisReply *r)
{
	struct buf v;
	int64_t t = 0;

	buf_init(&v);
	if (show_json_get(r->str, r->len, "last", &v) == 0)
		(void)show_iso_us(v.data, v.len, &t);
	buf_free(&v);
	return t;
}

/* cmp_alert - newest first, then by record text for a stable order */
static int
cmp_alert(const void *x, const void *y)
{
	const redisReply *a = *(const redisReply *const *)x;
	const redisReply *b = *(const redisReply *const *)y;
	int64_t ta = alert_last(a), tb = alert_last(b);
	int c;

	if (ta != tb)
		return ta > tb ? -1 : 1;
	if ((c = memcmp(a->str, b->str, FM_MIN(a->len, b->len))) != 0)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

/* read_open - the records of the account's alerts_open hash, sorted */
static void
read_open(struct account *a)
{
	const redisReply *r = a->open;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return;
	a->alerts = xcalloc(r->elements / 2, sizeof(*a->alerts));
	for (i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i + 1]->type == REDIS_REPLY_STRING)
			a->alerts[a->nalerts++] = r->element[i + 1];
	if (a->nalerts > 1)
		qsort(a->alerts, a->nalerts, sizeof(*a->alerts), cmp_alert);
}

/* day_recent - the roll-ups and messages of recent day d (the replies
 * after its counters): 0, 1 after an error reply, -1 */
static int
day_recent(redisContext *c, struct account *a, size_t d, char *err,
    size_t errlen)
{
	redisReply *r;
	int got, rc = 0;

	if ((got = store_sync_reply(c, &r, err, errlen)) == -1)
		return -1;
	rc |= got == 1;
	compact_day_reply(&r, "lr");
	history_expand_day(r, HISTORY_DAY_LR, a->days[d].name, a->name.data,
	    a->name.len);
	read_lr(a, r);
	freeReplyObject(r);
	if ((got = store_sync_reply(c, &r, err, errlen)) == -1)
		return -1;
	rc |= got == 1;
	compact_day_reply(&r, "m");
	history_expand_day(r, HISTORY_DAY_M, a->days[d].name, a->name.data,
	    a->name.len);
	a->mdays[d] = r;
	return rc;
}

/* fetch - everything about the account, in one pipelined round */
static int
fetch(redisContext *c, const struct fumidai *cf, struct account *a, int show,
    char *err, size_t errlen)
{
	struct buf k;
	redisReply *r;
	int64_t now = now_us();
	static const char *const day_keys[] = { "c", "lr", "m" };
	size_t i, j;
	int rc = 0;
	int got;

	a->ndays = (size_t)(cf->retention_days > 0 ? cf->retention_days : 1);
	a->days = xcalloc(a->ndays, sizeof(*a->days));
	buf_init(&k);
	store_key_account(&k, cf, a->name.data, a->name.len, ":applied");
	redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	buf_reset(&k);
	store_key_account(&k, cf, a->name.data, a->name.len, ":logins");
	redisAppendCommand(c, "LRANGE %b 0 %d", k.data, k.len, show - 1);
	buf_reset(&k);
	store_key_account(&k, cf, a->name.data, a->name.len, ":geo");
	redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	buf_reset(&k);
	store_key_account(&k, cf, a->name.data, a->name.len, ":alerts_open");
	redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	for (i = 0; i < a->ndays; i++) {
		scripts_day(now - (int64_t)i * 86400 * 1000000, a->days[i].name);
		for (j = 0; j < (i < ROLLUP_DAYS ? 3u : 1u); j++)
			compact_day_cmd(c, cf, a->name.data, a->name.len,
			    day_keys[j], a->days[i].name);
	}
	buf_free(&k);
	for (i = 0; i < FIXED + a->ndays; i++) {
		if ((got = store_sync_reply(c, &r, err, errlen)) == -1)
			return -1;
		if (got == 1)
			rc = -1;
		if (i == 0)
			a->last = r;
		else if (i == 1) {
			history_expand_logins(r);	/* stored form -> JSON */
			a->logins = r;
		}
		else if (i == 2) {
			read_geo(a, r);
			freeReplyObject(r);
		} else if (i == 3) {
			a->open = r;
			read_open(a);
		} else {
			struct day *d = &a->days[i - FIXED];

			compact_day_reply(&r, "c");
			read_day(d, r);
			got = i - FIXED < ROLLUP_DAYS ? day_recent(c, a,
			    i - FIXED, err, errlen) : 0;
			if (got == -1) {
				freeReplyObject(r);
				return -1;
			}
			if (got == 1)
				rc = -1;
			if (i - FIXED == 0)
				add_counters(&a->today, &d->c);
			if (i - FIXED < 7)
				add_counters(&a->week, &d->c);
			add_counters(&a->total, &d->c);
			freeReplyObject(r);
		}
	}
	if (a->nroll > 1)
		qsort(a->roll, a->nroll, sizeof(*a->roll), cmp_rollup);
	read_msgs(a, show);
	return rc;
}

static void
account_free(struct account *a)
{
	size_t i;

	buf_free(&a->name);
	if (a->last)
		freeReplyObject(a->last);
	if (a->logins)
		freeReplyObject(a->logins);
	for (i = 0; i < ROLLUP_DAYS; i++)
		if (a->mdays[i])
			freeReplyObject(a->mdays[i]);
	free(a->msgs);
	for (i = 0; i < a->nroll; i++)
		buf_free(&a->roll[i].key);
	free(a->roll);
	for (i = 0; i < a->ngeo; i++) {
		buf_free(&a->geo[i].key);
		buf_free(&a->geo[i].first);
		buf_free(&a->geo[i].last);
		buf_free(&a->geo[i].name);
	}
	free(a->geo);
	free(a->alerts);
	if (a->open)
		freeReplyObject(a->open);
	free(a->days);
}

/* last_get - a field of the applied hash (NULL when absent) */
static const redisReply *
last_get(const struct account *a, const char *field)
{
	size_t i;

	for (i = 0; a->last->type == REDIS_REPLY_ARRAY &&
	    i + 1 < a->last->elements; i += 2)
		if (strcmp(a->last->element[i]->str, field) == 0)
			return a->last->element[i + 1];
	return NULL;
}

/* ---- human output ---- */

static void
print_last(const struct account *a, const char *what, const char *pfx)
{
	const redisReply *t, *ip, *svc, *mech;
	char field[32];

	snprintf(field, sizeof(field), "%s_time", pfx);
	if ((t = last_get(a, field)) == NULL)
		return;
	snprintf(field, sizeof(field), "%s_ip", pfx);
	ip = last_get(a, field);
	snprintf(field, sizeof(field), "%s_service", pfx);
	svc = last_get(a, field);
	snprintf(field, sizeof(field), "%s_mech", pfx);
	mech = last_get(a, field);
	printf("  %-14s ", what);
	show_put_term(t->str, t->len);
	if (ip && ip->len) {
		printf(" from ");
		show_put_term(ip->str, ip->len);
	}
	if (svc && svc->len) {
		printf(" (");
		show_put_term(svc->str, svc->len);
		if (mech && mech->len) {
			printf(", ");
			show_put_term(mech->str, mech->len);
		}
		printf(")");
	}
	printf("\n");
}

static void
print_counters(const struct account *a, int retention)
{
	static const char *const label[NCOUNT] = { "logins ok",
	    "logins failed", "messages", "recipients", "bytes", "delivered",
	    "deferred", "bounced", "other delivery" };
	char total[32];
	size_t i;

	snprintf(total, sizeof(total), "%d days", retention);
	printf("\n  %-16s %12s %12s %12s\n", "", "today", "7 days", total);
	for (i = 0; i < NCOUNT; i++)
		printf("  %-16s %12lld %12lld %12lld\n", label[i],
		    a->today.v[i], a->week.v[i], a->total.v[i]);
}

static void
print_days(const struct account *a)
{
	size_t i, shown = 0;

	for (i = 0; i < a->ndays && shown < 14; i++) {
		const struct day *d = &a->days[i];

		if (!d->present)
			continue;
		if (shown++ == 0)
			printf("\n  %-10s %9s %9s %9s %11s\n", "day", "ok",
			    "failed", "messages", "recipients");
		printf("  %.4s-%.2s-%.2s %9lld %9lld %9lld %11lld\n", d->name,
		    d->name + 4, d->name + 6, d->c.v[0], d->c.v[1], d->c.v[2],
		    d->c.v[3]);
	}
}

static void
print_rollups(const struct account *a, int show)
{
	size_t i;

	if (a->nroll == 0)
		return;
	printf("\n  logins by address, last %d days (result address "
	    "service count)\n", ROLLUP_DAYS);
	for (i = 0; i < a->nroll && (show <= 0 || (int)i < show); i++) {
		const struct buf *k = &a->roll[i].key;
		const char *p1 = memchr(k->data, '|', k->len), *p2;

		p2 = p1 ? memchr(p1 + 1, '|', k->len -
		    (size_t)(p1 + 1 - k->data)) : NULL;
		if (p2 == NULL)
			continue;
		printf("    %-5.*s %-39.*s ", (int)(p1 - k->data), k->data,
		    (int)(p2 - p1 - 1), p1 + 1);
		show_put_term(p2 + 1, k->len - (size_t)(p2 + 1 - k->data));
		printf(" %lld\n", a->roll[i].n);
	}
}

/* print_records - history entries, the chosen fields of each */
static void
print_records(redisReply *const *r, size_t n, const char *title,
    const char *const *fields, const char *const *labels)
{
	struct buf v;
	size_t i, j;

	if (n == 0)
		return;
	buf_init(&v);
	printf("\n  %s (newest first)\n", title);
	for (i = 0; i < n; i++) {
		printf("   ");
		for (j = 0; fields[j] != NULL; j++) {
			if (show_json_get(r[i]->str, r[i]->len,
			    fields[j], &v) == -1 || v.len == 0)
				continue;
			printf(" %s", labels[j]);
			show_put_term(v.data, v.len);
		}
		printf("\n");
	}
	buf_free(&v);
}

/* newest_event - the account's latest event time known (us, 0: none): its
 * last login, last failure, last message; what "open" is measured against,
 * since alerts live on event time */
static int64_t
newest_event(const struct account *a)
{
	static const char *const f[] = { "login_time", "fail_time" };
	const redisReply *v;
	struct buf t;
	int64_t us, max = 0;
	size_t i;

	for (i = 0; i < nitems(f); i++)
		if ((v = last_get(a, f[i])) != NULL &&
		    show_iso_us(v->str, v->len, &us) == 0 && us > max)
			max = us;
	buf_init(&t);
	if (a->nmsgs > 0 && show_json_get(a->msgs[0]->str, a->msgs[0]->len,
	    "time", &t) == 0 && show_iso_us(t.data, t.len, &us) == 0 &&
	    us > max)
		max = us;
	buf_free(&t);
	return max;
}

/* print_alert - one record of alerts_open: two lines */
static void
print_alert(const redisReply *r, int64_t newest)
{
	static const char *const f[] = { "last", "severity", "kind", "count",
	    "ip", "net", "until", "summary" };
	struct buf v[nitems(f)];
	int64_t until = 0;
	size_t i;

	for (i = 0; i < nitems(f); i++) {
		buf_init(&v[i]);
		(void)show_json_get(r->str, r->len, f[i], &v[i]);
	}
	printf("    ");
	for (i = 0; i < 3; i++) {
		show_put_term(v[i].data ? v[i].data : "", v[i].len);
		printf(" ");
	}
	printf("count=");
	show_put_term(v[3].data ? v[3].data : "", v[3].len);
	for (i = 4; i < 6; i++)
		if (v[i].len) {
			printf(" %s=", f[i]);
			show_put_term(v[i].data, v[i].len);
		}
	(void)show_iso_us(v[6].data ? v[6].data : "", v[6].len, &until);
	printf(" %s until ", until > newest ? "open" : "closed");
	show_put_term(v[6].data ? v[6].data : "", v[6].len);
	printf("\n      ");
	show_put_term(v[7].data ? v[7].data : "", v[7].len);
	printf("\n");
	for (i = 0; i < nitems(f); i++)
		buf_free(&v[i]);
}

static void
print_alerts(const struct account *a)
{
	int64_t newest;
	size_t i;

	if (a->nalerts == 0)
		return;
	newest = newest_event(a);
	printf("\n  alerts (newest first; open while their cooldown runs, "
	    "in event time)\n");
	for (i = 0; i < a->nalerts; i++)
		print_alert(a->alerts[i], newest);
}

/* print_geo - countries, ASNs and cities of successful logins */
static void
print_geo(const struct account *a)
{
	static const char *const title[] = { "countries", "networks (ASN)",
	    "cities" };
	const struct place *pl;
	size_t i, shown = 0;
	int type = -1;

	for (i = 0; i < a->ngeo; i++) {
		pl = &a->geo[i];
		if ((int)pl->type != type) {
			type = (int)pl->type;
			shown = 0;
			printf("\n  login %s (count first last)\n",
			    title[type]);
		}
		if (shown++ >= SHOW_DEFAULT) {
			if (shown == SHOW_DEFAULT + 1)
				printf("    ...\n");
			continue;
		}
		printf("    %s", pl->type == PLACE_ASN ? "AS" : "");
		show_put_term(pl->key.data, pl->key.len);
		if (pl->name.len) {
			printf(" ");
			show_put_term(pl->name.data, pl->name.len);
		}
		printf("  %lld ", pl->count);
		show_put_term(pl->first.data, pl->first.len);
		printf(" ");
		show_put_term(pl->last.data, pl->last.len);
		printf("\n");
	}
}

static void
print_human(const struct account *a)
{
	static const char *const lf[] = { "time", "result", "ip", "service",
	    "mech", "attempts", "host", "reason", NULL };
	static const char *const ll[] = { "", "", "", "", "", "attempts=",
	    "host=", "reason=", NULL };
	static const char *const mf[] = { "time", "qid", "from", "size",
	    "nrcpt", "ip", "service", "msgid", "subject", NULL };
	static const char *const ml[] = { "", "", "from=", "size=", "nrcpt=",
	    "ip=", "", "msgid=", "subject=", NULL };

	printf("account ");
	show_put_term(a->name.data, a->name.len);
	printf("\n");
	print_last(a, "last login", "login");
	print_last(a, "last failure", "fail");
	print_alerts(a);
	print_counters(a, (int)a->ndays);
	print_days(a);
	print_rollups(a, SHOW_DEFAULT);
	print_geo(a);
	print_records(a->logins->type == REDIS_REPLY_ARRAY ?
	    a->logins->element : NULL, a->logins->type == REDIS_REPLY_ARRAY ?
	    a->logins->elements : 0, "recent logins", lf, ll);
	print_records((redisReply *const *)a->msgs, a->nmsgs,
	    "recent messages", mf, ml);
}

/* ---- JSON output ---- */

static void
json_counters(struct buf *b, const char *name, const struct counters *c)
{
	size_t i;

	buf_printf(b, "\"%s\":{", name);
	for (i = 0; i < NCOUNT; i++)
		buf_printf(b, "%s\"%s\":%lld", i ? "," : "", counter_names[i],
		    c->v[i]);
	buf_addc(b, '}');
}

/* json_record - a stored record: our own JSON object, copied; anything
 * else as a JSON string */
static void
json_record(struct buf *b, const redisReply *e)
{
	if (e->len >= 2 && e->str[0] == '{' && e->str[e->len - 1] == '}')
		buf_add(b, e->str, e->len);
	else {
		buf_addc(b, '"');
		scripts_json_bin(b, e->str, e->len);
		buf_addc(b, '"');
	}
}

/* json_records - stored records are our own JSON objects: copied */
static void
json_records(struct buf *b, const char *name, redisReply *const *r,
    size_t n)
{
	size_t i;

	buf_printf(b, ",\"%s\":[", name);
	for (i = 0; i < n; i++) {
		if (i)
			buf_addc(b, ',');
		json_record(b, r[i]);
	}
	buf_addc(b, ']');
}

/* json_alerts - the alerts_open records, newest first, as stored */
static void
json_alerts(struct buf *b, const struct account *a)
{
	size_t i;

	buf_add(b, ",\"alerts\":[", 11);
	for (i = 0; i < a->nalerts; i++) {
		if (i)
			buf_addc(b, ',');
		json_record(b, a->alerts[i]);
	}
	buf_addc(b, ']');
}

static void
json_last(struct buf *b, const struct account *a)
{
	size_t i, n = 0;

	buf_add(b, ",\"last\":{", 9);
	for (i = 0; a->last->type == REDIS_REPLY_ARRAY &&
	    i + 1 < a->last->elements; i += 2) {
		const redisReply *f = a->last->element[i];
		const redisReply *v = a->last->element[i + 1];

		if (memchr(f->str, ':', f->len) != NULL)
			continue;	/* s:<stream> sequence numbers */
		buf_printf(b, "%s\"", n++ ? "," : "");
		scripts_json_bin(b, f->str, f->len);
		buf_add(b, "\":\"", 3);
		scripts_json_bin(b, v->str, v->len);
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

static void
json_rollups(struct buf *b, const struct account *a)
{
	size_t i, n = 0;

	buf_add(b, ",\"addresses_7d\":[", 17);
	for (i = 0; i < a->nroll; i++) {
		const struct buf *k = &a->roll[i].key;
		const char *p1 = memchr(k->data, '|', k->len), *p2;

		p2 = p1 ? memchr(p1 + 1, '|', k->len -
		    (size_t)(p1 + 1 - k->data)) : NULL;
		if (p2 == NULL)
			continue;
		if (n++)
			buf_addc(b, ',');
		buf_add(b, "{\"result\":\"", 11);
		scripts_json_bin(b, k->data, (size_t)(p1 - k->data));
		buf_add(b, "\",\"ip\":\"", 8);
		scripts_json_bin(b, p1 + 1, (size_t)(p2 - p1 - 1));
		buf_add(b, "\",\"service\":\"", 13);
		scripts_json_bin(b, p2 + 1, k->len - (size_t)(p2 + 1 - k->data));
		buf_printf(b, "\",\"count\":%lld}", a->roll[i].n);
	}
	buf_addc(b, ']');
}

/* json_place - one place of the geography */
static void
json_place(struct buf *b, const struct place *pl, size_t *n)
{
	const char *colon;
	size_t i;

	buf_add(b, *n ? ",{" : "{", *n ? 2 : 1);
	(*n)++;
	if (pl->type == PLACE_COUNTRY) {
		buf_add(b, "\"code\":\"", 8);
		scripts_json_bin(b, pl->key.data, pl->key.len);
		buf_add(b, "\",\"name\":\"", 10);
	} else if (pl->type == PLACE_ASN) {
		buf_printf(b, "\"asn\":%s,\"org\":\"", pl->key.data);
	} else {
		colon = memchr(pl->key.data, ':', pl->key.len);
		i = colon ? (size_t)(colon - pl->key.data) : 0;
		buf_add(b, "\"country\":\"", 11);
		scripts_json_bin(b, pl->key.data, i);
		buf_add(b, "\",\"city\":\"", 10);
		if (colon)
			scripts_json_bin(b, colon + 1, pl->key.len - i - 1);
		else
			scripts_json_bin(b, pl->key.data, pl->key.len);
		buf_add(b, "\",\"name\":\"", 10);
	}
	scripts_json_bin(b, pl->name.data, pl->name.len);
	buf_printf(b, "\",\"count\":%lld,\"first\":\"", pl->count);
	scripts_json_bin(b, pl->first.data, pl->first.len);
	buf_add(b, "\",\"last\":\"", 10);
	scripts_json_bin(b, pl->last.data, pl->last.len);
	buf_add(b, "\"}", 2);
}

static void
json_geo(struct buf *b, const struct account *a)
{
	static const char *const name[] = { "countries", "asns", "cities" };
	size_t i, k, n;

	buf_add(b, ",\"geography\":{", 14);
	for (k = 0; k < nitems(name); k++) {
		buf_printf(b, "%s\"%s\":[", k ? "," : "", name[k]);
		for (i = 0, n = 0; i < a->ngeo; i++)
			if (a->geo[i].type == (enum place_type)k)
				json_place(b, &a->geo[i], &n);
		buf_addc(b, ']');
	}
	buf_addc(b, '}');
}

static void
print_json(const struct account *a, int found)
{
	struct buf b;
	size_t i, n = 0;

	buf_init(&b);
	buf_add(&b, "{\"account\":\"", 12);
	scripts_json_bin(&b, a->name.data, a->name.len);
	buf_printf(&b, "\",\"found\":%s", found ? "true" : "false");
	if (found) {
		json_last(&b, a);
		buf_add(&b, ",\"counters\":{", 13);
		json_counters(&b, "today", &a->today);
		buf_addc(&b, ',');
		json_counters(&b, "7d", &a->week);
		buf_addc(&b, ',');
		json_counters(&b, "retention", &a->total);
		buf_add(&b, "},\"days\":{", 10);
		for (i = 0; i < a->ndays; i++)
			if (a->days[i].present) {
				if (n++)
					buf_addc(&b, ',');
				json_counters(&b, a->days[i].name, &a->days[i].c);
			}
		buf_addc(&b, '}');
		json_rollups(&b, a);
		json_records(&b, "logins", a->logins->type ==
		    REDIS_REPLY_ARRAY ? a->logins->element : NULL,
		    a->logins->type == REDIS_REPLY_ARRAY ?
		    a->logins->elements : 0);
		json_records(&b, "messages", (redisReply *const *)a->msgs,
		    a->nmsgs);
		json_geo(&b, a);
		json_alerts(&b, a);
	}
	buf_add(&b, "}\n", 2);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

int
cmd_account(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	int ch, json = 0, hex = 0, show = SHOW_DEFAULT, found, rc = 0;
	struct account a;
	struct fumidai *cf;
	struct redisd *rd = NULL;
	redisContext *c;
	char err[512];

	while ((ch = getopt_long(argc, argv, "c:jxn:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
		case 'x': hex = 1; break;
		case 'n': show = atoi(optarg); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 2;
	}
	memset(&a, 0, sizeof(a));
	buf_init(&a.name);
	if (hex ? hex_decode(&a.name, argv[optind], strlen(argv[optind])) :
	    (buf_adds(&a.name, argv[optind]), 0)) {
		fprintf(stderr, "fumidai: account: --hex NAME is not hex\n");
		buf_free(&a.name);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL) {
		buf_free(&a.name);
		return 2;
	}
	if (show <= 0)
		show = cf->history_max > 0 ? cf->history_max : 1;
	rd = cmd_redis_up(cf);
	if ((c = store_connect_sync(cf, err, sizeof(err))) == NULL ||
	    fetch(c, cf, &a, show, err, sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: account: %s\n", err);
		rc = 2;
		goto out;
	}
	found = a.last->type == REDIS_REPLY_ARRAY && a.last->elements > 0;
	if (json)
		print_json(&a, found);
	else if (found)
		print_human(&a);
	else {
		struct buf e;

		buf_init(&e);
		show_term_escape(&e, a.name.data, a.name.len);
		fprintf(stderr, "fumidai: account %s: nothing recorded\n",
		    e.data ? e.data : "");
		buf_free(&e);
	}
	rc = found ? 0 : 1;
out:
	if (c)
		redisFree(c);
	redisd_stop(rd);
	account_free(&a);
	conf_free(cf);
	return rc;
}
