/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_audits.c - `fumidai audits [-c FILE] [--json] [-n N] [NAME]`: the
 * scheduled audits' latest results and their history, as the daemon
 * stored them (audit_sched.c; keys in doc/redis.md): every configured
 * audit, or the one named (configured or not, while Redis keeps it).  The
 * table shows each audit's runs newest first; --json prints one object per
 * audit and line (NDJSON): name, type, target, schedule, latest (the
 * newest history entry, or null), history (newest first) and output (what
 * the latest run printed, or null).  -n N: N history entries (default 10,
 * 0: all).  Exit 0; 1 when the audit named is neither configured nor
 * recorded; 2 on a usage, configuration or Redis error.
 *
 * SECURITY: results hold the audited servers' words.  The table prints
 * them through show_term_escape; --json prints records fumidai stored as
 * valid JSON (the script escaped them).
 */
#include "config.h"

#include <getopt.h>
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

struct audits {
	const struct fumidai *cf;
	redisContext *c;
	long n;			/* history entries shown, 0: all */
	int json;
	char err[512];
};

/* One audit as stored: HMGET type target summary json, LRANGE history. */
struct stored {
	redisReply *h, *hist;
};

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai audits [-c FILE] [--json] [-n N] "
	    "[NAME]\n");
}

static const struct fm_audit *
configured(const struct fumidai *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->naudits; i++)
		if (strcmp(cf->audits[i].name, name) == 0)
			return &cf->audits[i];
	return NULL;
}

/* field - element i of the HMGET reply, or NULL when absent */
static const redisReply *
field(const struct stored *st, size_t i)
{
	const redisReply *r = st->h;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
	    r->element[i]->type != REDIS_REPLY_STRING)
		return NULL;
	return r->element[i];
}

/* fetch - read one audit's keys */
static int
fetch(struct audits *au, const char *name, struct stored *st)
{
	struct buf k, h;
	int rc = 0;

	buf_init(&k);
	buf_init(&h);
	scripts_tag_global(&k, au->cf);
	buf_printf(&k, ":audit:%s", name);
	scripts_tag_global(&h, au->cf);
	buf_printf(&h, ":audit_hist:%s", name);
	redisAppendCommand(au->c, "HMGET %b type target summary json",
	    k.data, k.len);
	redisAppendCommand(au->c, "LRANGE %b 0 %ld", h.data, h.len,
	    au->n > 0 ? au->n - 1 : -1L);
	if (store_sync_reply(au->c, &st->h, au->err, sizeof(au->err)) != 0 ||
	    store_sync_reply(au->c, &st->hist, au->err, sizeof(au->err)) != 0)
		rc = -1;
	buf_free(&k);
	buf_free(&h);
	return rc;
}

/* print_list - the strings of a JSON array, comma-separated, escaped */
static void
print_list(const char *p, size_t n)
{
	struct buf s, t;
	size_t i, start;
	int first = 1;

	buf_init(&s);
	buf_init(&t);
	for (i = 0; i < n; i++) {
		if (p[i] != '"')
			continue;
		for (start = ++i; i < n && p[i] != '"'; i++)
			if (p[i] == '\\')
				i++;
		if (i >= n)
			break;
		buf_reset(&s);
		buf_reset(&t);
		(void)show_json_unescape(&s, p + start, i - start);
		show_term_escape(&t, s.data ? s.data : "", s.len);
		printf("%s%s", first ? "" : ", ", t.data ? t.data : "");
		first = 0;
	}
	buf_free(&s);
	buf_free(&t);
}

/* print_entry - one history entry as a table row */
static void
print_entry(const char *p, size_t n)
{
	static const char *const f[] = { "time", "verdict", "status",
	    "findings", "error" };
	struct buf v[nitems(f)], t;
	size_t i;

	buf_init(&t);
	for (i = 0; i < nitems(f); i++) {
		buf_init(&v[i]);
		(void)show_json_get(p, n, f[i], &v[i]);
	}
	show_term_escape(&t, v[0].data ? v[0].data : "", v[0].len);
	printf("  %-20s  ", t.data ? t.data : "");
	buf_reset(&t);
	show_term_escape(&t, v[1].data ? v[1].data : "", v[1].len);
	printf("%-12s  exit %-3s  ", t.data ? t.data : "",
	    v[2].data ? v[2].data : "?");
	print_list(v[3].data ? v[3].data : "", v[3].len);
	if (v[4].len > 0 && strcmp(v[4].data, "null") != 0) {
		buf_reset(&t);
		show_term_escape(&t, v[4].data, v[4].len);
		printf("%s%s", v[3].len > 2 ? "; " : "", t.data);
	}
	printf("\n");
	for (i = 0; i < nitems(f); i++)
		buf_free(&v[i]);
	buf_free(&t);
}

static void
print_text(const char *name, const struct fm_audit *a,
    const struct stored *st)
{
	const redisReply *type = field(st, 0), *target = field(st, 1);
	struct buf t;
	size_t i;

	buf_init(&t);
	show_term_escape(&t, target ? target->str : "", target ?
	    target->len : 0);
	printf("%s (%s %s", name, type ? type->str : a ? a->type : "?",
	    t.data ? t.data : "");
	if (a == NULL)
		printf(", not configured)\n");
	else if (a->every)
		printf(", every %d s)\n", a->every);
	else
		printf(", daily at %02d:%02d)\n", a->at / 60, a->at % 60);
	if (st->hist == NULL || st->hist->type != REDIS_REPLY_ARRAY ||
	    st->hist->elements == 0)
		printf("  never run\n");
	for (i = 0; st->hist && st->hist->type == REDIS_REPLY_ARRAY &&
	    i < st->hist->elements; i++)
		if (st->hist->element[i]->type == REDIS_REPLY_STRING)
			print_entry(st->hist->element[i]->str,
			    st->hist->element[i]->len);
	buf_free(&t);
}

/* json_or_null - a stored JSON value, or null when empty */
static void
json_or_null(struct buf *b, const redisReply *r)
{
	if (r == NULL || r->len == 0)
		buf_adds(b, "null");
	else
		buf_add(b, r->str, r->len);
}

static void
print_json(const char *name, const struct fm_audit *a,
    const struct stored *st)
{
	const redisReply *type = field(st, 0), *target = field(st, 1);
	struct buf b;
	size_t i, k = 0;

	buf_init(&b);
	buf_adds(&b, "{\"name\":\"");
	scripts_json_bin(&b, name, strlen(name));
	buf_adds(&b, "\",\"type\":\"");
	if (type != NULL || a != NULL)
		scripts_json_bin(&b, type ? type->str : a->type, type ?
		    type->len : strlen(a->type));
	buf_adds(&b, "\",\"target\":\"");
	if (target != NULL)
		scripts_json_bin(&b, target->str, target->len);
	else
		for (i = 0; a != NULL && i < a->ntargets; i++) {
			buf_adds(&b, i ? ", " : "");
			scripts_json_bin(&b, a->targets[i],
			    strlen(a->targets[i]));
		}
	buf_adds(&b, "\",\"schedule\":");
	if (a == NULL)
		buf_adds(&b, "null");
	else if (a->every)
		buf_printf(&b, "{\"every\":%d}", a->every);
	else
		buf_printf(&b, "{\"at\":\"%02d:%02d\"}", a->at / 60, a->at % 60);
	buf_adds(&b, ",\"latest\":");
	json_or_null(&b, field(st, 2));
	buf_adds(&b, ",\"history\":[");
	for (i = 0; st->hist && st->hist->type == REDIS_REPLY_ARRAY &&
	    i < st->hist->elements; i++)
		if (st->hist->element[i]->type == REDIS_REPLY_STRING) {
			buf_adds(&b, k++ ? "," : "");
			buf_add(&b, st->hist->element[i]->str,
			    st->hist->element[i]->len);
		}
	buf_adds(&b, "],\"output\":");
	json_or_null(&b, field(st, 3));
	buf_adds(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* show - one audit; 1 when there is nothing to show of it */
static int
show(struct audits *au, const char *name)
{
	const struct fm_audit *a = configured(au->cf, name);
	struct stored st = { NULL, NULL };
	int rc = 0;

	if (fetch(au, name, &st) == -1)
		rc = -1;
	else if (a == NULL && field(&st, 0) == NULL)
		rc = 1;
	else if (au->json)
		print_json(name, a, &st);
	else
		print_text(name, a, &st);
	if (st.h)
		freeReplyObject(st.h);
	if (st.hist)
		freeReplyObject(st.hist);
	return rc;
}

static int
parse_args(struct audits *au, int argc, char **argv, const char **path)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:jn:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': *path = optarg; break;
		case 'j': au->json = 1; break;
		case 'n':
			au->n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || au->n < 0) {
				fprintf(stderr, "fumidai: audits: -n %s: not a "
				    "count\n", optarg);
				return -1;
			}
			break;
		case 'h': usage(); return 1;
		default: usage(); return -1;
		}
	}
	if (argc - optind > 1) {
		usage();
		return -1;
	}
	return 0;
}

int
cmd_audits(int argc, char **argv)
{
	struct audits au;
	struct fumidai *cf;
	struct redisd *rd;
	const char *path = NULL, *name;
	size_t i;
	int rc;

	memset(&au, 0, sizeof(au));
	au.n = 10;
	if ((rc = parse_args(&au, argc, argv, &path)) != 0)
		return rc == 1 ? 0 : 2;
	name = optind < argc ? argv[optind] : NULL;
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	au.cf = cf;
	rd = cmd_redis_up(cf);
	rc = 0;
	if ((au.c = store_connect_sync(cf, au.err, sizeof(au.err))) == NULL) {
		fprintf(stderr, "fumidai: audits: cannot reach Redis: %s\n",
		    au.err);
		rc = 2;
	} else if (name != NULL) {
		if ((rc = show(&au, name)) == 1)
			fprintf(stderr, "fumidai: audits: no audit \"%s\" is "
			    "configured or recorded\n", name);
	} else {
		if (cf->naudits == 0 && !au.json)
			printf("no audits configured (audits = ( ... ) in the "
			    "configuration)\n");
		for (i = 0; i < cf->naudits && rc == 0; i++)
			rc = show(&au, cf->audits[i].name);
	}
	if (rc == -1) {
		fprintf(stderr, "fumidai: audits: %s\n", au.err);
		rc = 2;
	}
	if (au.c)
		redisFree(au.c);
	redisd_stop(rd);
	conf_free(cf);
	return rc;
}
