/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_account.c - `fumidai account NAME [--json] [--hex] [-n N] [-c FILE]`:
 * what Redis holds about one account: last login and failure, counters for
 * today, the last 7 days and the whole retention, logins by address, the
 * recent login history and the messages it sent.  Exit 0 when something is
 * recorded, 1 when nothing is, 2 on a usage, configuration or Redis error.
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
#include "redisd.h"
#include "conf.h"
#include "scripts.h"
#include "store.h"
#include "util.h"

#define SHOW_DEFAULT	20	/* history entries shown without -n */
#define ROLLUP_DAYS	7

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
	redisReply *logins, *msgs;
};

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai account [-c FILE] [--json] [--hex] "
	    "[-n N] NAME\n");
}

/* term_escape - printable text for a terminal: valid UTF-8 kept, control
 * characters, backslash and invalid bytes as \xNN */
static void
term_escape(struct buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, k;

	while (i < n) {
		k = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		if (k > 1 && i + k <= n && utf8_valid(p + i, k) &&
		    !(s[i] == 0xc2 && s[i + 1] < 0xa0)) {	/* C1 controls */
			buf_add(b, p + i, k);
			i += k;
			continue;
		}
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			buf_addc(b, (char)s[i]);
		else {
			char e[4] = { '\\', 'x', hex[s[i] >> 4], hex[s[i] & 15] };

			buf_add(b, e, 4);
		}
		i++;
	}
}

static void
put_term(const char *p, size_t n)
{
	struct buf b;

	buf_init(&b);
	term_escape(&b, p, n);
	if (b.len)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* ---- our flat JSON records (history entries) ---- */

/* jstring - decode the JSON string at *pp (after its quote) into out;
 * \u00XX is the byte XX (that is how invalid UTF-8 was stored) */
static int
jstring(const char **pp, const char *end, struct buf *out)
{
	const char *p = *pp;
	unsigned v;
	int i, d;

	while (p < end && *p != '"') {
		if (*p != '\\') {
			buf_addc(out, *p++);
			continue;
		}
		if (++p >= end)
			return -1;
		switch (*p) {
		case 'n': buf_addc(out, '\n'); break;
		case 'r': buf_addc(out, '\r'); break;
		case 't': buf_addc(out, '\t'); break;
		case 'b': buf_addc(out, '\b'); break;
		case 'f': buf_addc(out, '\f'); break;
		case 'u':
			if (end - p < 5)
				return -1;
			for (v = 0, i = 1; i <= 4; i++) {
				if ((d = hex_digit(p[i])) < 0)
					return -1;
				v = v << 4 | (unsigned)d;
			}
			p += 4;
			if (v < 0x100)
				buf_addc(out, (char)v);
			else if (v < 0x800) {
				buf_addc(out, (char)(0xc0 | v >> 6));
				buf_addc(out, (char)(0x80 | (v & 0x3f)));
			} else {
				buf_addc(out, (char)(0xe0 | v >> 12));
				buf_addc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
				buf_addc(out, (char)(0x80 | (v & 0x3f)));
			}
			break;
		default: buf_addc(out, *p); break;
		}
		p++;
	}
	if (p >= end)
		return -1;
	*pp = p + 1;
	return 0;
}

/* rec_get - field name of a flat JSON object, decoded into out; 0 / -1 */
static int
rec_get(const char *p, size_t n, const char *name, struct buf *out)
{
	const char *end = p + n, *v;
	struct buf key;
	int found = -1;

	buf_init(&key);
	buf_reset(out);
	if (n == 0 || *p++ != '{')
		goto done;
	while (p < end && *p == '"') {
		p++;
		buf_reset(&key);
		if (jstring(&p, end, &key) == -1 || p >= end || *p++ != ':')
			break;
		if (p < end && *p == '"') {
			p++;
			buf_reset(out);
			if (jstring(&p, end, out) == -1)
				break;
		} else {
			for (v = p; p < end && *p != ',' && *p != '}'; p++)
				;
			buf_reset(out);
			buf_add(out, v, (size_t)(p - v));
		}
		if (key.data && strcmp(key.data, name) == 0) {
			found = 0;
			break;
		}
		if (p >= end || *p++ != ',')
			break;
	}
done:
	if (found == -1)
		buf_reset(out);
	buf_free(&key);
	return found;
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

/* read_day - a day hash: counters, and roll-ups for recent days */
static void
read_day(struct account *a, struct day *d, const redisReply *r, int recent)
{
	size_t i, k;

	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		long long n = strtoll(v->str ? v->str : "0", NULL, 10);

		if (memchr(f->str, '|', f->len) != NULL) {
			if (recent)
				add_rollup(a, f->str, f->len, n);
			continue;
		}
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

	return (a->n < b->n) - (a->n > b->n);
}

/* fetch - everything about the account, in one pipelined round */
static int
fetch(redisContext *c, const struct fumidai *cf, struct account *a, int show,
    char *err, size_t errlen)
{
	struct buf k;
	redisReply *r;
	int64_t now = now_us();
	size_t i;
	char suffix[16];
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
	store_key_account(&k, cf, a->name.data, a->name.len, ":msgs");
	redisAppendCommand(c, "LRANGE %b 0 %d", k.data, k.len, show - 1);
	for (i = 0; i < a->ndays; i++) {
		scripts_day(now - (int64_t)i * 86400 * 1000000, a->days[i].name);
		snprintf(suffix, sizeof(suffix), ":c:%s", a->days[i].name);
		buf_reset(&k);
		store_key_account(&k, cf, a->name.data, a->name.len, suffix);
		redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	}
	buf_free(&k);
	for (i = 0; i < 3 + a->ndays; i++) {
		if ((got = store_sync_reply(c, &r, err, errlen)) == -1)
			return -1;
		if (got == 1)
			rc = -1;
		if (i == 0)
			a->last = r;
		else if (i == 1)
			a->logins = r;
		else if (i == 2)
			a->msgs = r;
		else {
			struct day *d = &a->days[i - 3];

			read_day(a, d, r, i - 3 < ROLLUP_DAYS);
			if (i - 3 == 0)
				add_counters(&a->today, &d->c);
			if (i - 3 < 7)
				add_counters(&a->week, &d->c);
			add_counters(&a->total, &d->c);
			freeReplyObject(r);
		}
	}
	if (a->nroll > 1)
		qsort(a->roll, a->nroll, sizeof(*a->roll), cmp_rollup);
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
	if (a->msgs)
		freeReplyObject(a->msgs);
	for (i = 0; i < a->nroll; i++)
		buf_free(&a->roll[i].key);
	free(a->roll);
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
	put_term(t->str, t->len);
	if (ip && ip->len) {
		printf(" from ");
		put_term(ip->str, ip->len);
	}
	if (svc && svc->len) {
		printf(" (");
		put_term(svc->str, svc->len);
		if (mech && mech->len) {
			printf(", ");
			put_term(mech->str, mech->len);
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
		put_term(p2 + 1, k->len - (size_t)(p2 + 1 - k->data));
		printf(" %lld\n", a->roll[i].n);
	}
}

/* print_records - history entries, the chosen fields of each */
static void
print_records(const redisReply *r, const char *title,
    const char *const *fields, const char *const *labels)
{
	struct buf v;
	size_t i, j;

	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return;
	buf_init(&v);
	printf("\n  %s (newest first)\n", title);
	for (i = 0; i < r->elements; i++) {
		printf("   ");
		for (j = 0; fields[j] != NULL; j++) {
			if (rec_get(r->element[i]->str, r->element[i]->len,
			    fields[j], &v) == -1 || v.len == 0)
				continue;
			printf(" %s", labels[j]);
			put_term(v.data, v.len);
		}
		printf("\n");
	}
	buf_free(&v);
}

static void
print_human(const struct account *a)
{
	static const char *const lf[] = { "time", "result", "ip", "service",
	    "mech", "attempts", "host", "reason", NULL };
	static const char *const ll[] = { "", "", "", "", "", "attempts=",
	    "host=", "reason=", NULL };
	static const char *const mf[] = { "time", "qid", "from", "size",
	    "nrcpt", "ip", "service", "msgid", NULL };
	static const char *const ml[] = { "", "", "from=", "size=", "nrcpt=",
	    "ip=", "", "msgid=", NULL };

	printf("account ");
	put_term(a->name.data, a->name.len);
	printf("\n");
	print_last(a, "last login", "login");
	print_last(a, "last failure", "fail");
	print_counters(a, (int)a->ndays);
	print_days(a);
	print_rollups(a, SHOW_DEFAULT);
	print_records(a->logins, "recent logins", lf, ll);
	print_records(a->msgs, "recent messages", mf, ml);
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

/* json_records - stored records are our own JSON objects: copied */
static void
json_records(struct buf *b, const char *name, const redisReply *r)
{
	size_t i;

	buf_printf(b, ",\"%s\":[", name);
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (i)
			buf_addc(b, ',');
		if (e->len >= 2 && e->str[0] == '{' && e->str[e->len - 1] == '}')
			buf_add(b, e->str, e->len);
		else {
			buf_addc(b, '"');
			scripts_json_bin(b, e->str, e->len);
			buf_addc(b, '"');
		}
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
		json_records(&b, "logins", a->logins);
		json_records(&b, "messages", a->msgs);
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
		term_escape(&e, a.name.data, a.name.len);
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
