/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_alerts.c - `fumidai alerts [--since TIME] [--kind K] [--json] [-n N]
 * [-c FILE]`: the alerts the detectors raised (doc/detection.md).  The
 * stream <prefix>{g}:alerts has one entry per alert, added when it opened;
 * each alert's latest record (count, last, evidence updated while it stays
 * open) is the hash <prefix>{g}:alert:<id>, and the entry's own copy stands
 * in once that hash has expired.  The stream is read in chunks, so its
 * length does not matter; with -n only the newest N are kept while reading.
 * Alerts are listed by their last event time, oldest first.  Exit 0, or 2 on
 * a usage, configuration or Redis error.
 *
 * SECURITY: records hold attacker-controlled text (account names, in the
 * summary too).  --json prints them as stored: fumidai wrote them as valid
 * JSON with every such byte escaped.  The table decodes the fields and
 * prints them with show_term_escape, so no control byte reaches a terminal.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"
#include "conf.h"
#include "redisd.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

#define CHUNK		1000	/* stream entries per XRANGE */
#define SUBJECT_W	32	/* subject column width in the table */

struct alert {
	char *json;		/* latest record, as stored */
	size_t len;
	int64_t last;		/* its "last", us (0: unreadable) */
	uint64_t seq;		/* position in the stream */
};

struct alerts {
	const struct fumidai *cf;
	redisContext *c;
	const char *kind;	/* --kind, or NULL */
	int64_t since;		/* --since, us */
	int has_since;
	long keep;		/* -n, 0: all */
	struct buf stream;	/* key of the stream */
	struct buf hkey;	/* "<prefix>{g}:alert:", the id appended */
	struct alert *v;
	size_t n, cap;
	uint64_t seq;
	char err[512];
};

static void	usage(void);
static const redisReply *entry_field(const redisReply *fields,
		    const char *name);
static int	next_id(const char *id, char *out, size_t outlen);
static int	read_chunk(struct alerts *al, const char *start, char *last,
		    size_t lastlen, int *done);
static void	consider(struct alerts *al, const redisReply *latest,
		    const redisReply *entry);
static void	prune(struct alerts *al);
static int	cmp_alert(const void *x, const void *y);
static void	print_table(const struct alerts *al, size_t from);
static void	print_row(const char *json, size_t len);
static int	list(struct alerts *al);
static int	parse_args(struct alerts *al, int argc, char **argv,
		    const char **path, int *json);

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai alerts [-c FILE] [--since TIME] "
	    "[--kind KIND] [--json] [-n N]\n");
}

/* entry_field - a field of a stream entry (NULL when absent) */
static const redisReply *
entry_field(const redisReply *fields, const char *name)
{
	size_t i;

	if (fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[i]->str, name) == 0 &&
		    fields->element[i + 1]->type == REDIS_REPLY_STRING)
			return fields->element[i + 1];
	return NULL;
}

/* next_id - the stream ID right after id ("ms-seq"), to resume XRANGE */
static int
next_id(const char *id, char *out, size_t outlen)
{
	unsigned long long ms, seq;
	char *end;

	ms = strtoull(id, &end, 10);
	if (*end != '-')
		return -1;
	seq = strtoull(end + 1, &end, 10);
	if (*end != '\0')
		return -1;
	if (seq == ~0ULL)
		snprintf(out, outlen, "%llu-0", ms + 1);
	else
		snprintf(out, outlen, "%llu-%llu", ms, seq + 1);
	return 0;
}

/* consider - keep an alert's record when it passes the filters */
static void
consider(struct alerts *al, const redisReply *latest, const redisReply *entry)
{
	const redisReply *r = latest && latest->type == REDIS_REPLY_STRING &&
	    latest->len > 0 ? latest : entry;
	struct buf v;
	int64_t last = 0;
	int keep = 1;

	if (r == NULL)
		return;
	buf_init(&v);
	if (al->kind && (show_json_get(r->str, r->len, "kind", &v) == -1 ||
	    strcmp(v.data ? v.data : "", al->kind) != 0))
		keep = 0;
	if (show_json_get(r->str, r->len, "last", &v) == 0 && v.data)
		(void)show_iso_us(v.data, v.len, &last);
	if (al->has_since && last < al->since)
		keep = 0;
	buf_free(&v);
	if (!keep)
		return;
	if (al->n == al->cap) {
		al->cap = al->cap ? al->cap * 2 : 64;
		al->v = xrealloc(al->v, al->cap * sizeof(*al->v));
	}
	al->v[al->n].json = xmemdup(r->str, r->len);
	al->v[al->n].len = r->len;
	al->v[al->n].last = last;
	al->v[al->n++].seq = al->seq;
}

static int
cmp_alert(const void *x, const void *y)
{
	const struct alert *a = x, *b = y;

	if (a->last != b->last)
		return a->last < b->last ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* prune - with -n, drop all but the newest N once twice that are kept */
static void
prune(struct alerts *al)
{
	size_t i, drop;

	if (al->keep <= 0 || al->n < 2 * (size_t)al->keep + CHUNK)
		return;
	qsort(al->v, al->n, sizeof(*al->v), cmp_alert);
	drop = al->n - (size_t)al->keep;
	for (i = 0; i < drop; i++)
		free(al->v[i].json);
	memmove(al->v, al->v + drop, (size_t)al->keep * sizeof(*al->v));
	al->n = (size_t)al->keep;
}

/*
 * read_chunk - up to CHUNK entries from start on, and the latest record of
 * each (one pipelined HGET per entry whose kind may match); *done when the
 * stream has no more.  The ID of the last entry read goes to last.
 */
static int
read_chunk(struct alerts *al, const char *start, char *last, size_t lastlen,
    int *done)
{
	redisReply *r = NULL, *h = NULL;
	const redisReply *e, *id, *kind;
	size_t i;
	char *want;
	int rc = 0;

	redisAppendCommand(al->c, "XRANGE %b %s + COUNT %d", al->stream.data,
	    al->stream.len, start, CHUNK);
	if (store_sync_reply(al->c, &r, al->err, sizeof(al->err)) != 0) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	*done = r->type != REDIS_REPLY_ARRAY || r->elements < CHUNK;
	want = xcalloc(r->type == REDIS_REPLY_ARRAY ? r->elements + 1 : 1, 1);
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		snprintf(last, lastlen, "%s", e->element[0]->str);
		kind = entry_field(e->element[1], "kind");
		if (al->kind && kind && strcmp(kind->str, al->kind) != 0)
			continue;	/* kind never changes: no need to look */
		if ((id = entry_field(e->element[1], "id")) == NULL)
			id = e->element[0];
		redisAppendCommand(al->c, "HGET %b%b json", al->hkey.data,
		    al->hkey.len, id->str, id->len);
		want[i] = 1;
	}
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		if (!want[i])
			continue;
		h = NULL;
		if (store_sync_reply(al->c, &h, al->err, sizeof(al->err)) == -1) {
			rc = -1;
			break;
		}
		e = r->element[i];
		al->seq++;
		consider(al, h, entry_field(e->element[1], "json"));
		freeReplyObject(h);
	}
	free(want);
	freeReplyObject(r);
	prune(al);
	return rc;
}

/* print_row - one alert of the table */
static void
print_row(const char *json, size_t len)
{
	static const char *const f[] = { "last", "severity", "kind", "count",
	    "account", "ip", "net", "summary" };
	struct buf v[nitems(f)], subj;
	size_t i, w;

	for (i = 0; i < nitems(f); i++) {
		buf_init(&v[i]);
		(void)show_json_get(json, len, f[i], &v[i]);
	}
	buf_init(&subj);
	for (i = 4; i <= 6; i++) {
		if (v[i].len == 0)
			continue;
		if (subj.len)
			buf_addc(&subj, ' ');
		show_term_escape(&subj, v[i].data, v[i].len);
	}
	if (subj.len == 0)
		buf_addc(&subj, '-');
	/* "2026-11-25T10:30:01.000000Z" shown to the second */
	if (v[0].len > 20 && v[0].data[19] == '.') {
		v[0].len = 19;
		buf_addc(&v[0], 'Z');
	}
	for (i = 0; i < 4; i++) {
		struct buf t;

		buf_init(&t);
		show_term_escape(&t, v[i].data ? v[i].data : "", v[i].len);
		w = i == 0 ? 20 : i == 1 ? 8 : i == 2 ? 22 : 5;
		printf(i == 3 ? "%*s  " : "%-*s  ", (int)w, t.data ? t.data : "");
		buf_free(&t);
	}
	printf("%-*s  ", SUBJECT_W, subj.data);
	show_put_term(v[7].data ? v[7].data : "", v[7].len);
	printf("\n");
	buf_free(&subj);
	for (i = 0; i < nitems(f); i++)
		buf_free(&v[i]);
}

static void
print_table(const struct alerts *al, size_t from)
{
	size_t i;

	if (from >= al->n) {
		printf("no alerts\n");
		return;
	}
	printf("%-20s  %-8s  %-22s  %5s  %-*s  %s\n", "LAST", "SEVERITY",
	    "KIND", "COUNT", SUBJECT_W, "SUBJECT", "SUMMARY");
	for (i = from; i < al->n; i++)
		print_row(al->v[i].json, al->v[i].len);
}

/* list - the whole stream, chunk by chunk */
static int
list(struct alerts *al)
{
	char start[64] = "-", last[64];
	int done = 0;

	while (!done) {
		last[0] = '\0';
		if (read_chunk(al, start, last, sizeof(last), &done) == -1)
			return -1;
		if (last[0] == '\0' || next_id(last, start, sizeof(start)) == -1)
			break;
	}
	if (al->n > 1)
		qsort(al->v, al->n, sizeof(*al->v), cmp_alert);
	return 0;
}

static int
parse_args(struct alerts *al, int argc, char **argv, const char **path,
    int *json)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "kind", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:s:k:jn:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': *path = optarg; break;
		case 'j': *json = 1; break;
		case 'k': al->kind = optarg; break;
		case 's':
			if (time_parse_arg(optarg, &al->since) == -1) {
				fprintf(stderr, "fumidai: alerts: --since %s: "
				    "not a time (2026-11-24, 2026-11-24T10:00:00Z, "
				    "-3h, -7d, epoch seconds)\n", optarg);
				return -1;
			}
			al->has_since = 1;
			break;
		case 'n':
			al->keep = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || al->keep < 0) {
				fprintf(stderr, "fumidai: alerts: -n %s: not a "
				    "count\n", optarg);
				return -1;
			}
			break;
		case 'h': usage(); return 1;
		default: usage(); return -1;
		}
	}
	if (optind != argc) {
		usage();
		return -1;
	}
	return 0;
}

int
cmd_alerts(int argc, char **argv)
{
	struct alerts al;
	struct fumidai *cf;
	struct redisd *rd;
	const char *path = NULL;
	size_t i, from;
	int json = 0, rc;

	memset(&al, 0, sizeof(al));
	if ((rc = parse_args(&al, argc, argv, &path, &json)) != 0)
		return rc == 1 ? 0 : 2;
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	al.cf = cf;
	rd = cmd_redis_up(cf);
	buf_init(&al.stream);
	buf_init(&al.hkey);
	scripts_tag_global(&al.stream, cf);
	buf_adds(&al.stream, ":alerts");
	scripts_tag_global(&al.hkey, cf);
	buf_adds(&al.hkey, ":alert:");
	rc = 0;
	if ((al.c = store_connect_sync(cf, al.err, sizeof(al.err))) == NULL) {
		fprintf(stderr, "fumidai: alerts: cannot reach Redis: %s\n",
		    al.err);
		rc = 2;
	} else if (list(&al) == -1) {
		fprintf(stderr, "fumidai: alerts: %s\n", al.err);
		rc = 2;
	} else {
		from = al.keep > 0 && al.n > (size_t)al.keep ?
		    al.n - (size_t)al.keep : 0;
		if (!json)
			print_table(&al, from);
		for (i = from; json && i < al.n; i++) {
			fwrite(al.v[i].json, 1, al.v[i].len, stdout);
			putchar('\n');
		}
	}
	if (al.c)
		redisFree(al.c);
	redisd_stop(rd);
	for (i = 0; i < al.n; i++)
		free(al.v[i].json);
	free(al.v);
	buf_free(&al.stream);
	buf_free(&al.hkey);
	conf_free(cf);
	return rc;
}
