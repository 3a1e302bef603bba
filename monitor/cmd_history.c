/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_history.c - `fumidai history ACCOUNT [-c FILE] [--hex] [--since T]
 * [--until T] [--logins|--sent] [--json|--csv]`: what an account did over a
 * time range, for its owner or an investigator: the recent login attempts
 * kept in <prefix>{a:<hex>}:logins, the day roll-ups `<result>|<ip>|
 * <service>` of the :lr:<day> hashes of the days in range (count, first and
 * last time, mechanism, server, reason, place), and every message it sent
 * from the :m:<day> hashes (recipients and their final status, Subject, the
 * login that sent it; doc/redis.md).  Records are filtered by their own
 * event time, since <= time < until, and shown oldest first; a roll-up
 * belongs to a UTC day, shown when the day overlaps the range.
 * Without --since the range starts retention_days before --until (default:
 * now).  Exit 0 (an account with no history too: it says so), 2 on a usage,
 * configuration or Redis error.
 *
 * SECURITY: every field comes from logs and may hold any bytes.  The table
 * escapes it with show_term_escape; --json copies fumidai's own records
 * (valid JSON, every such byte escaped) and writes new strings with
 * scripts_json_bin; --csv quotes every text field (RFC 4180), escapes it as
 * the table does, and puts a ' before a leading = + - @ so that no
 * spreadsheet runs it as a formula.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"
#include "cmd_history.h"
#include "compact.h"
#include "conf.h"
#include "history_codec.h"
#include "redisd.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

#define MAX_DAYS	4000	/* day hashes read at most (about 11 years) */

/* Columns of the CSV: one table for the three record types (a roll-up's
 * time is its day; rcpt "to status dsn" per recipient, "; " between;
 * login "service ip mech time", or "inferred service ip time accounts") */
static const char *const csv_cols[] = { "type", "time", "host", "service",
    "ip", "result", "mech", "attempts", "reason", "count", "qid", "msgid",
    "from", "size", "nrcpt", "first", "last", "cc", "city", "asn", "asorg",
    "subject", "rcpt", "login" };
/* the record field of each column ("" none) */
static const char *const csv_field[] = { "", "time", "host", "service",
    "ip", "result", "mech", "attempts", "reason", "count", "qid", "msgid",
    "from", "size", "nrcpt", "first", "last", "cc", "city", "asn", "asorg",
    "subject", "rcpt", "login" };
/* the ones written unquoted: fumidai's own numbers and times */
static const char *const csv_plain[] = { "time", "attempts", "count",
    "size", "nrcpt", "first", "last", "asn" };

static void	usage(void);
static int	parse_args(struct history *h, int argc, char **argv,
		    const char **path);
static int	in_range(const struct history *h, const redisReply *e,
		    struct buf *t, int64_t *us);
static void	keep_records(const redisReply *r, const struct history *h,
		    struct rec **v, size_t *n);
static void	read_rollups(struct history *h, const char *day,
		    const redisReply *r);
static void	read_msgs(struct history *h, const redisReply *r);
static int	cmp_rollup(const void *x, const void *y);
static void	print_table(const struct history *h);

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai history [-c FILE] [--hex] "
	    "[--since TIME] [--until TIME] [--logins|--sent] [--json|--csv] "
	    "ACCOUNT\n");
}

static int
parse_args(struct history *h, int argc, char **argv, const char **path)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "logins", no_argument, NULL, 'L' },
		{ "sent", no_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = NULL, *until = NULL;
	int ch, hex = 0;

	h->logins = h->sent = 1;
	while ((ch = getopt_long(argc, argv, "c:xs:u:LSjCh", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': *path = optarg; break;
		case 'x': hex = 1; break;
		case 's': since = optarg; break;
		case 'u': until = optarg; break;
		case 'L': h->sent = 0; break;
		case 'S': h->logins = 0; break;
		case 'j': h->fmt = h->fmt == FMT_CSV ? -1 : FMT_JSON; break;
		case 'C': h->fmt = h->fmt == FMT_JSON ? -1 : FMT_CSV; break;
		default: usage(); return -1;
		}
	}
	if (optind != argc - 1 || (int)h->fmt == -1 ||
	    (!h->logins && !h->sent)) {
		usage();
		return -1;
	}
	if (since && time_parse_arg(since, &h->since) == -1) {
		fprintf(stderr, "fumidai: history: bad --since time\n");
		return -1;
	}
	if (until && time_parse_arg(until, &h->until) == -1) {
		fprintf(stderr, "fumidai: history: bad --until time\n");
		return -1;
	}
	h->has_since = since != NULL;
	h->ranged = since || until;
	if (!until)
		h->until = now_us() + 1;
	if (hex ? hex_decode(&h->name, argv[optind], strlen(argv[optind])) :
	    (buf_adds(&h->name, argv[optind]), 0)) {
		fprintf(stderr, "fumidai: history: --hex ACCOUNT is not hex\n");
		return -1;
	}
	return 0;
}

/* in_range - whether the record e (a JSON object) belongs to the range, its
 * time in *us (0: none); a record whose time cannot be read belongs only
 * when no range was asked.  t is scratch. */
static int
in_range(const struct history *h, const redisReply *e, struct buf *t,
    int64_t *us)
{
	if (e->type != REDIS_REPLY_STRING || e->len < 2 || e->str[0] != '{')
		return 0;
	*us = 0;
	if (show_json_get(e->str, e->len, "time", t) == -1 ||
	    show_iso_us(t->data, t->len, us) == -1)
		return !h->ranged;
	return *us >= h->since && *us < h->until;
}

/* keep_records - the records of a list reply in range, oldest first; a
 * record whose time cannot be read is kept only when no range was asked */
static void
keep_records(const redisReply *r, const struct history *h, struct rec **v,
    size_t *n)
{
	struct buf t;
	int64_t us;
	size_t i;

	*n = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return;
	*v = xcalloc(r->elements, sizeof(**v));
	buf_init(&t);
	for (i = r->elements; i-- > 0;) {
		const redisReply *e = r->element[i];

		if (!in_range(h, e, &t, &us))
			continue;
		(*v)[*n].r = e;
		(*v)[(*n)++].t = us;
	}
	buf_free(&t);
}

/* read_rollups - the roll-ups of one day hash (:lr:<day>) */
static void
read_rollups(struct history *h, const char *day, const redisReply *r)
{
	struct rollup *ru;
	const char *p1, *p2;
	struct buf v;
	size_t i;

	buf_init(&v);
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *f = r->element[i], *e = r->element[i + 1];

		if (f->type != REDIS_REPLY_STRING ||
		    e->type != REDIS_REPLY_STRING || e->len < 2 ||
		    e->str[0] != '{' ||
		    (p1 = memchr(f->str, '|', f->len)) == NULL ||
		    (p2 = memchr(p1 + 1, '|', f->len -
		    (size_t)(p1 + 1 - f->str))) == NULL)
			continue;
		h->roll = xrealloc(h->roll, (h->nroll + 1) * sizeof(*h->roll));
		ru = &h->roll[h->nroll++];
		memcpy(ru->day, day, sizeof(ru->day));
		buf_init(&ru->result);
		buf_init(&ru->ip);
		buf_init(&ru->service);
		buf_add(&ru->result, f->str, (size_t)(p1 - f->str));
		buf_add(&ru->ip, p1 + 1, (size_t)(p2 - p1 - 1));
		buf_add(&ru->service, p2 + 1, f->len - (size_t)(p2 + 1 - f->str));
		ru->n = show_json_get(e->str, e->len, "n", &v) == 0 ?
		    strtoll(v.data, NULL, 10) : 0;
		ru->r = e;
	}
	buf_free(&v);
}

/* read_msgs - the records of one day hash (:m:<day>) in range */
static void
read_msgs(struct history *h, const redisReply *r)
{
	struct buf t;
	int64_t us;
	size_t i;

	if (r->type != REDIS_REPLY_ARRAY)
		return;
	buf_init(&t);
	for (i = 1; i < r->elements; i += 2) {
		const redisReply *e = r->element[i];

		if (!in_range(h, e, &t, &us))
			continue;
		h->vm = xrealloc(h->vm, (h->nm + 1) * sizeof(*h->vm));
		h->vm[h->nm].r = e;
		h->vm[h->nm++].t = us;
	}
	buf_free(&t);
}

/* cmp_rec - by time, then the record's bytes (queue id after the time) */
static int
cmp_rec(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	int c;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	c = memcmp(a->r->str, b->r->str, FM_MIN(a->r->len, b->r->len));
	return c ? c : (a->r->len > b->r->len) - (a->r->len < b->r->len);
}

static int
buf_cmp(const struct buf *a, const struct buf *b)
{
	int c = memcmp(a->data ? a->data : "", b->data ? b->data : "",
	    FM_MIN(a->len, b->len));

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* cmp_rollup - by day, then result (ok first), address, service */
static int
cmp_rollup(const void *x, const void *y)
{
	const struct rollup *a = x, *b = y;
	int c;

	if ((c = strcmp(a->day, b->day)) != 0)
		return c;
	if ((c = buf_cmp(&b->result, &a->result)) != 0)
		return c;
	if ((c = buf_cmp(&a->ip, &b->ip)) != 0)
		return c;
	return buf_cmp(&a->service, &b->service);
}

int
history_fetch(redisContext *c, struct history *h)
{
	struct buf k;
	redisReply *r;
	char (*days)[9];
	int64_t d0 = h->since - h->since % DAY_US, t = h->until - 1;
	size_t i, nd = 0, per = (size_t)(h->logins + h->sent);
	int got, rc = 0;

	days = xcalloc(MAX_DAYS, sizeof(*days));
	buf_init(&k);
	store_key_account(&k, h->cf, h->name.data, h->name.len, ":logins");
	redisAppendCommand(c, "LRANGE %b 0 -1", k.data, k.len);
	/* newest day first: a range reaching far back keeps the recent days */
	for (t -= t % DAY_US; t >= d0 && nd < MAX_DAYS; t -= DAY_US) {
		scripts_day(t, days[nd]);
		if (h->logins)
			compact_day_cmd(c, h->cf, h->name.data,
			    h->name.len, "lr", days[nd]);
		if (h->sent)
			compact_day_cmd(c, h->cf, h->name.data,
			    h->name.len, "m", days[nd]);
		nd++;
	}
	buf_free(&k);
	h->rdays = xcalloc(nd * per + 1, sizeof(*h->rdays));
	for (i = 0; i < 1 + nd * per; i++) {
		if ((got = store_sync_reply(c, &r, h->err,
		    sizeof(h->err))) == -1) {
			free(days);
			return -1;
		}
		if (got == 1)
			rc = -1;
		if (i == 0) {
			/* :logins records too become their JSON here */
			history_expand_logins(r);
			h->rlogins = r;
			continue;
		}
		/* archived days are merged here, in C */
		compact_day_reply(&r, h->logins && (i - 1) % per == 0 ?
		    "lr" : "m");
		h->rdays[h->nrdays++] = r;
		/* the one place the stored form becomes the JSON records */
		if (h->logins && (i - 1) % per == 0) {
			history_expand_day(r, HISTORY_DAY_LR,
			    days[(i - 1) / per], h->name.data, h->name.len);
			read_rollups(h, days[(i - 1) / per], r);
		} else {
			history_expand_day(r, HISTORY_DAY_M,
			    days[(i - 1) / per], h->name.data, h->name.len);
			read_msgs(h, r);
		}
	}
	free(days);
	if (h->nroll > 1)
		qsort(h->roll, h->nroll, sizeof(*h->roll), cmp_rollup);
	if (h->nm > 1)
		qsort(h->vm, h->nm, sizeof(*h->vm), cmp_rec);
	if (h->logins)
		keep_records(h->rlogins, h, &h->vl, &h->nl);
	return rc;
}

/* json_next - the next element of the JSON array text [*p, e) that is an
 * object: *p moves past it; 0, or -1 at the end (strings are skipped with
 * their escapes, so no byte inside one ends the object) */
static int
json_next(const char **p, const char *e, const char **o, size_t *on)
{
	const char *q = *p;
	int depth = 0, instr = 0;

	while (q < e && *q != '{')
		q++;
	if (q >= e)
		return -1;
	*o = q;
	for (; q < e; q++) {
		if (instr) {
			if (*q == '\\')
				q++;
			else if (*q == '"')
				instr = 0;
		} else if (*q == '"')
			instr = 1;
		else if (*q == '{')
			depth++;
		else if (*q == '}' && --depth == 0)
			break;
	}
	if (q >= e)
		return -1;
	*on = (size_t)(q + 1 - *o);
	*p = q + 1;
	return 0;
}

/* msg_rcpts - a message's recipients as "to status [dsn]" joined by sep */
static void
msg_rcpts(struct buf *out, const redisReply *e, const char *sep)
{
	static const char *const f[] = { "to", "status", "dsn" };
	struct buf a, v;
	const char *p, *o;
	size_t on, j;
	int first = 1;

	buf_init(&a);
	buf_init(&v);
	if (show_json_get(e->str, e->len, "rcpt", &a) == 0)
		for (p = a.data; json_next(&p, a.data + a.len, &o, &on) == 0;) {
			if (!first)
				buf_adds(out, sep);
			first = 0;
			for (j = 0; j < nitems(f); j++)
				if (show_json_get(o, on, f[j], &v) == 0 &&
				    v.len) {
					if (j > 0)
						buf_addc(out, ' ');
					buf_add(out, v.data, v.len);
				}
		}
	buf_free(&a);
	buf_free(&v);
}

/* msg_login - the login that sent a message as one line of text */
static void
msg_login(struct buf *out, const redisReply *e)
{
	static const char *const f[] = { "service", "ip", "mech", "time",
	    "accounts", "confidence" };
	struct buf o, v;
	size_t j;

	buf_init(&o);
	buf_init(&v);
	if (show_json_get(e->str, e->len, "login", &o) == 0) {
		if (show_json_get(o.data, o.len, "inferred", &v) == 0 &&
		    strcmp(v.data, "true") == 0)
			buf_adds(out, "inferred ");
		for (j = 0; j < nitems(f); j++)
			if (show_json_get(o.data, o.len, f[j], &v) == 0 &&
			    v.len) {
				if (j > 0)
					buf_addc(out, ' ');
				buf_add(out, v.data, v.len);
			}
	}
	buf_free(&o);
	buf_free(&v);
}

/* ---- table ---- */

/* put_field - a record's field, escaped, padded to w columns (bytes) */
static void
put_field(const redisReply *e, const char *name, int w, struct buf *v,
    struct buf *esc)
{
	buf_reset(esc);
	if (show_json_get(e->str, e->len, name, v) == 0)
		show_term_escape(esc, v->data, v->len);
	printf(" %-*s", w, esc->data ? esc->data : "");
}

static void
put_day(const char *d)
{
	printf("%.4s-%.2s-%.2s", d, d + 4, d + 6);
}

/* put_text - text escaped for the terminal, padded to w columns */
static void
put_text(const char *p, size_t n, int w, struct buf *esc)
{
	buf_reset(esc);
	show_term_escape(esc, p, n);
	printf(" %-*s", w, esc->data ? esc->data : "");
}

static void
table_logins(const struct history *h, struct buf *v, struct buf *esc)
{
	static const char *const f[] = { "time", "result", "service", "ip",
	    "mech", "attempts", "host", "reason" };
	static const int w[] = { 27, 6, 10, 15, 8, 3, 8, 0 };
	static const char *const rf[] = { "first", "last", "mech", "cc",
	    "asn", "city", "reason" };
	static const int rw[] = { 20, 20, 8, 2, 6, 0, 0 };
	size_t i, j;

	printf("\nrecent logins (%zu)\n", h->nl);
	if (h->nl)
		printf("  %-27s %-6s %-10s %-15s %-8s %-3s %-8s %s\n", "time",
		    "result", "service", "address", "mech", "n", "host",
		    "reason");
	for (i = 0; i < h->nl; i++) {
		printf(" ");
		for (j = 0; j < nitems(f); j++)
			put_field(h->vl[i].r, f[j], w[j], v, esc);
		printf("\n");
	}
	printf("\nlogins per day, address, service and result (%zu)\n",
	    h->nroll);
	if (h->nroll)
		printf("  %-10s %-6s %-39s %-10s %6s %-20s %-20s %-8s %-2s "
		    "%-6s %s\n", "day", "result", "address", "service", "count",
		    "first", "last", "mech", "cc", "asn", "city / reason");
	for (i = 0; i < h->nroll; i++) {
		const struct rollup *ru = &h->roll[i];

		printf("  ");
		put_day(ru->day);
		put_text(ru->result.data, ru->result.len, 6, esc);
		put_text(ru->ip.data, ru->ip.len, 39, esc);
		put_text(ru->service.data, ru->service.len, 10, esc);
		printf(" %6lld", ru->n);
		for (j = 0; j < nitems(rf); j++)
			put_field(ru->r, rf[j], rw[j], v, esc);
		printf("\n");
	}
}

static void
table_msgs(const struct history *h, struct buf *v, struct buf *esc)
{
	static const char *const f[] = { "time", "qid", "from", "size",
	    "nrcpt", "ip", "service", "host", "msgid" };
	static const int w[] = { 20, 12, 24, 7, 5, 15, 10, 8, 0 };
	size_t i, j;

	printf("\nmessages sent (%zu)\n", h->nm);
	if (h->nm)
		printf("  %-20s %-12s %-24s %-7s %-5s %-15s %-10s %-8s %s\n",
		    "time", "queue id", "sender", "size", "rcpts", "address",
		    "service", "host", "message-id");
	for (i = 0; i < h->nm; i++) {
		const redisReply *e = h->vm[i].r;

		printf(" ");
		for (j = 0; j < nitems(f); j++)
			put_field(e, f[j], w[j], v, esc);
		printf("\n");
		if (show_json_get(e->str, e->len, "subject", v) == 0) {
			printf("    subject:");
			put_text(v->data, v->len, 0, esc);
			printf("\n");
		}
		buf_reset(v);
		msg_login(v, e);
		if (v->len) {
			printf("    login:");
			put_text(v->data, v->len, 0, esc);
			printf("\n");
		}
		buf_reset(v);
		msg_rcpts(v, e, "\n");
		if (v->len) {
			const char *p = v->data, *nl;

			for (; p != NULL; p = nl ? nl + 1 : NULL) {
				nl = memchr(p, '\n', v->len -
				    (size_t)(p - v->data));
				printf("    to:");
				put_text(p, nl ? (size_t)(nl - p) :
				    v->len - (size_t)(p - v->data), 0, esc);
				printf("\n");
			}
		}
	}
}

static void
print_table(const struct history *h)
{
	struct buf v, esc;
	char t0[32], t1[32];

	buf_init(&v);
	buf_init(&esc);
	time_format(h->since, t0, sizeof(t0));
	time_format(h->until, t1, sizeof(t1));
	show_term_escape(&esc, h->name.data, h->name.len);
	printf("account %s\nfrom %s to %s (event time, UTC)\n",
	    esc.data ? esc.data : "", t0, t1);
	if (h->nl + h->nroll + h->nm == 0)
		printf("\nno history in this range\n");
	else {
		if (h->logins)
			table_logins(h, &v, &esc);
		if (h->sent)
			table_msgs(h, &v, &esc);
	}
	buf_free(&v);
	buf_free(&esc);
}

/* ---- NDJSON ---- */

/* rollup_rest - a stored roll-up's fields after its count "n" */
static void
rollup_rest(struct buf *b, const redisReply *e)
{
	const char *p = e->str, *q;

	if (e->len < 2 || memcmp(p, "{\"n\":", 5) != 0 ||
	    (q = memchr(p, ',', e->len)) == NULL)
		return;
	buf_add(b, q, e->len - (size_t)(q - p) - 1);
}

/* json_typed - a stored record with "type" first */
static void
json_typed(struct buf *b, const char *type, const redisReply *e)
{
	buf_printf(b, "{\"type\":\"%s\"", type);
	if (e->len > 2)
		buf_addc(b, ',');
	buf_add(b, e->str + 1, e->len - 1);
	buf_addc(b, '\n');
}

void
history_json(struct buf *b, const struct history *h, int what)
{
	size_t i;

	for (i = 0; (what & HISTORY_LOGINS) && i < h->nl; i++)
		json_typed(b, "login", h->vl[i].r);
	for (i = 0; (what & HISTORY_LOGINS) && i < h->nroll; i++) {
		const struct rollup *ru = &h->roll[i];

		buf_printf(b, "{\"type\":\"rollup\",\"day\":\"%.4s-%.2s-%.2s\","
		    "\"result\":\"", ru->day, ru->day + 4, ru->day + 6);
		scripts_json_bin(b, ru->result.data, ru->result.len);
		buf_add(b, "\",\"ip\":\"", 8);
		scripts_json_bin(b, ru->ip.data, ru->ip.len);
		buf_add(b, "\",\"service\":\"", 13);
		scripts_json_bin(b, ru->service.data, ru->service.len);
		buf_printf(b, "\",\"count\":%lld", ru->n);
		rollup_rest(b, ru->r);
		buf_add(b, "}\n", 2);
	}
	for (i = 0; (what & HISTORY_SENT) && i < h->nm; i++)
		json_typed(b, "message", h->vm[i].r);
}

/* ---- CSV ---- */

/* history_csv_text - an untrusted text field: escaped as the table does, a
 * formula lead neutralised, quoted with quotes doubled (RFC 4180) */
void
history_csv_text(struct buf *b, const char *p, size_t n)
{
	struct buf e;
	size_t i;

	buf_init(&e);
	show_term_escape(&e, p, n);
	buf_addc(b, '"');
	if (e.len > 0 && strchr("=+-@", e.data[0]) != NULL)
		buf_addc(b, '\'');
	for (i = 0; i < e.len; i++) {
		if (e.data[i] == '"')
			buf_addc(b, '"');
		buf_addc(b, e.data[i]);
	}
	buf_addc(b, '"');
	buf_free(&e);
}

static int
csv_is_plain(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(csv_plain); i++)
		if (strcmp(csv_plain[i], name) == 0)
			return 1;
	return 0;
}

/* csv_record - one record (JSON, n bytes) as a CSV row */
static void
csv_record(struct buf *b, const char *type, const char *p, size_t n,
    const redisReply *e, struct buf *v)
{
	size_t j;

	buf_adds(b, type);
	for (j = 1; j < nitems(csv_cols); j++) {
		buf_addc(b, ',');
		buf_reset(v);
		if (e != NULL && strcmp(csv_field[j], "rcpt") == 0)
			msg_rcpts(v, e, "; ");
		else if (e != NULL && strcmp(csv_field[j], "login") == 0)
			msg_login(v, e);
		else if (show_json_get(p, n, csv_field[j], v) == -1)
			continue;
		if (v->len == 0 && e != NULL)
			continue;
		if (csv_is_plain(csv_field[j]) &&
		    v->len == strspn(v->data, "-0123456789:.TZ"))
			buf_add(b, v->data, v->len);	/* ours, not text */
		else
			history_csv_text(b, v->data, v->len);
	}
	buf_add(b, "\r\n", 2);
}

void
history_csv(struct buf *b, const struct history *h, int what)
{
	struct buf v, r;
	size_t i;

	buf_init(&v);
	buf_init(&r);
	for (i = 0; i < nitems(csv_cols); i++)
		buf_printf(b, "%s%s", i ? "," : "", csv_cols[i]);
	buf_add(b, "\r\n", 2);
	for (i = 0; (what & HISTORY_LOGINS) && i < h->nl; i++)
		csv_record(b, "login", h->vl[i].r->str, h->vl[i].r->len, NULL,
		    &v);
	for (i = 0; (what & HISTORY_LOGINS) && i < h->nroll; i++) {
		const struct rollup *ru = &h->roll[i];

		/* the roll-up as one record: its day as the time */
		buf_reset(&r);
		buf_printf(&r, "{\"time\":\"%.4s-%.2s-%.2s\",\"result\":\"",
		    ru->day, ru->day + 4, ru->day + 6);
		scripts_json_bin(&r, ru->result.data, ru->result.len);
		buf_add(&r, "\",\"ip\":\"", 8);
		scripts_json_bin(&r, ru->ip.data, ru->ip.len);
		buf_add(&r, "\",\"service\":\"", 13);
		scripts_json_bin(&r, ru->service.data, ru->service.len);
		buf_printf(&r, "\",\"count\":%lld", ru->n);
		rollup_rest(&r, ru->r);
		buf_addc(&r, '}');
		csv_record(b, "rollup", r.data, r.len, NULL, &v);
	}
	for (i = 0; (what & HISTORY_SENT) && i < h->nm; i++)
		csv_record(b, "message", h->vm[i].r->str, h->vm[i].r->len,
		    h->vm[i].r, &v);
	buf_free(&v);
	buf_free(&r);
}

void
history_free(struct history *h)
{
	size_t i;

	buf_free(&h->name);
	if (h->rlogins)
		freeReplyObject(h->rlogins);
	for (i = 0; i < h->nrdays; i++)
		freeReplyObject(h->rdays[i]);
	free(h->rdays);
	free(h->vl);
	free(h->vm);
	for (i = 0; i < h->nroll; i++) {
		buf_free(&h->roll[i].result);
		buf_free(&h->roll[i].ip);
		buf_free(&h->roll[i].service);
	}
	free(h->roll);
}

int
cmd_history(int argc, char **argv)
{
	struct history h;
	struct fumidai *cf;
	struct redisd *rd = NULL;
	redisContext *c = NULL;
	const char *path = NULL;
	int rc = 0;

	memset(&h, 0, sizeof(h));
	buf_init(&h.name);
	if (parse_args(&h, argc, argv, &path) == -1) {
		buf_free(&h.name);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL) {
		buf_free(&h.name);
		return 2;
	}
	h.cf = cf;
	if (!h.has_since)	/* the default range: the retention */
		h.since = h.until - (int64_t)(cf->retention_days > 0 ?
		    cf->retention_days : 1) * DAY_US;
	rd = cmd_redis_up(cf);
	if ((c = store_connect_sync(cf, h.err, sizeof(h.err))) == NULL ||
	    history_fetch(c, &h) == -1) {
		fprintf(stderr, "fumidai: history: %s\n", h.err);
		rc = 2;
		goto out;
	}
	if (h.fmt == FMT_TABLE)
		print_table(&h);
	else {
		int what = (h.logins ? HISTORY_LOGINS : 0) |
		    (h.sent ? HISTORY_SENT : 0);
		struct buf b;

		buf_init(&b);
		if (h.fmt == FMT_JSON)
			history_json(&b, &h, what);
		else
			history_csv(&b, &h, what);
		fwrite(b.data ? b.data : "", 1, b.len, stdout);
		buf_free(&b);
	}
out:
	if (c)
		redisFree(c);
	redisd_stop(rd);
	history_free(&h);
	conf_free(cf);
	return rc;
}
