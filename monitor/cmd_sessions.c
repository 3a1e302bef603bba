/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_sessions.c - `fumidai sessions [-c FILE] [--json] [--hex] [-n N]
 * [ACCOUNT]`: an account's open IMAP, POP3 and SMTP sessions (<tag>:sess,
 * doc/sessions.md), oldest first; without ACCOUNT, the accounts that hold
 * open sessions (found by SCAN, at most N, default 100) with how many and
 * from which countries.  Sessions older than sessions.max_age before the
 * account's newest one are left out, as the apply script would drop them.
 * Exit 0, 1 when ACCOUNT holds no open session, 2 on a usage,
 * configuration or Redis error.
 *
 * SECURITY: account names, hosts and session ids came from logs.  Human
 * output escapes them for the terminal (show_term_escape); --json output
 * re-escapes every string (invalid UTF-8 as \u00XX).
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

#define LIST_DEFAULT	100	/* accounts listed without -n */
#define SCAN_COUNT	1000

/* The record's fields, in output order; the string ones are re-escaped. */
static const struct {
	const char *name;
	int str;
} fields[] = {
	{ "start", 1 }, { "service", 1 }, { "ip", 1 }, { "cc", 1 },
	{ "asn", 0 }, { "host", 1 }, { "mech", 1 }, { "session", 1 },
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))
#define F_START		0
#define F_CC		3
#define F_SESSION	7

struct sess {
	long long t;
	struct buf v[NFIELDS];
};

struct sessions_cmd {
	const struct fumidai *cf;
	redisContext *c;
	int json, limit;
	char err[512];
};

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai sessions [-c FILE] [--json] [--hex] "
	    "[-n N] [ACCOUNT]\n");
}

/* sess_free - the first n sessions' fields, and the array */
static void
sess_free(struct sess *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < NFIELDS; k++)
			buf_free(&s[i].v[k]);
	free(s);
}

/* sess_cmp - by start, then session id (the log's times are seconds) */
static int
sess_cmp(const void *a, const void *b)
{
	const struct sess *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return strcmp(x->v[F_SESSION].data ? x->v[F_SESSION].data : "",
	    y->v[F_SESSION].data ? y->v[F_SESSION].data : "");
}

/* load - the open sessions of the hash at key, oldest first, into *out;
 * their number, or -1 on a Redis error */
static long
load(struct sessions_cmd *sc, const struct buf *key, struct sess **out)
{
	redisReply *r = NULL;
	struct sess *s;
	struct buf t;
	long long newest = 0;
	size_t i, j, k, n = 0, age;

	*out = NULL;
	redisAppendCommand(sc->c, "HGETALL %b", key->data, key->len);
	if (store_sync_reply(sc->c, &r, sc->err, sizeof(sc->err)) != 0 ||
	    r->type != REDIS_REPLY_ARRAY) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	s = xcalloc(r->elements / 2 + 1, sizeof(*s));
	buf_init(&t);
	for (i = 1; i < r->elements; i += 2) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			continue;
		for (k = 0; k < NFIELDS; k++) {
			buf_init(&s[n].v[k]);
			(void)show_json_get(r->element[i]->str,
			    r->element[i]->len, fields[k].name, &s[n].v[k]);
		}
		buf_reset(&t);
		(void)show_json_get(r->element[i]->str, r->element[i]->len,
		    "t", &t);
		s[n].t = t.data ? strtoll(t.data, NULL, 10) : 0;
		if (n == 0 || s[n].t > newest)
			newest = s[n].t;
		n++;
	}
	buf_free(&t);
	freeReplyObject(r);
	/* leave out what the apply script would drop (event time) */
	age = (size_t)(sc->cf->sessions_max_age > 0 ?
	    sc->cf->sessions_max_age : 86400);
	for (i = k = 0; i < n; i++) {
		if (s[i].t <= newest - (long long)age) {
			for (j = 0; j < NFIELDS; j++)
				buf_free(&s[i].v[j]);
			continue;
		}
		if (k != i)
			s[k] = s[i];
		k++;
	}
	qsort(s, k, sizeof(*s), sess_cmp);
	*out = s;
	return (long)k;
}

/* json_field - ,"name":value of session field k (strings re-escaped) */
static void
json_field(struct buf *b, const struct sess *s, size_t k)
{
	const struct buf *v = &s->v[k];

	buf_printf(b, "%s\"%s\":", k ? "," : "", fields[k].name);
	if (!fields[k].str) {
		buf_adds(b, v->len && strspn(v->data, "0123456789") == v->len ?
		    v->data : "0");
		return;
	}
	buf_addc(b, '"');
	scripts_json_bin(b, v->data ? v->data : "", v->len);
	buf_addc(b, '"');
}

/* print_row - one session as a table row, terminal-safe */
static void
print_row(const struct sess *s)
{
	static const size_t col[] = { 0, 1, 2, 3, 4, 5, 7 };
	struct buf v[nitems(col)];
	size_t i;

	for (i = 0; i < nitems(col); i++) {
		buf_init(&v[i]);
		if (s->v[col[i]].len)
			show_term_escape(&v[i], s->v[col[i]].data,
			    s->v[col[i]].len);
		else
			buf_adds(&v[i], "-");
	}
	printf("%-27s  %-11s  %-15s  %-2s  %-10s  %s|%s\n", v[0].data,
	    v[1].data, v[2].data, v[3].data, v[4].data, v[5].data, v[6].data);
	for (i = 0; i < nitems(col); i++)
		buf_free(&v[i]);
}

/* show_account - one account's sessions; 0, 1 (none) or -1 */
static int
show_account(struct sessions_cmd *sc, const struct buf *name)
{
	struct buf key, line;
	struct sess *s;
	long n, i;
	size_t k;

	buf_init(&key);
	scripts_tag_account(&key, sc->cf, name->data ? name->data : "",
	    name->len);
	buf_adds(&key, ":sess");
	n = load(sc, &key, &s);
	buf_free(&key);
	if (n < 0)
		return -1;
	buf_init(&line);
	if (sc->json) {
		buf_adds(&line, "{\"account\":\"");
		scripts_json_bin(&line, name->data ? name->data : "", name->len);
		buf_adds(&line, "\",\"sessions\":[");
		for (i = 0; i < n; i++) {
			buf_adds(&line, i ? ",{" : "{");
			for (k = 0; k < NFIELDS; k++)
				json_field(&line, &s[i], k);
			buf_addc(&line, '}');
		}
		buf_adds(&line, "]}\n");
		fwrite(line.data, 1, line.len, stdout);
	} else if (n == 0) {
		printf("no open sessions\n");
	} else {
		printf("%-27s  %-11s  %-15s  %-2s  %-10s  %s\n", "START",
		    "SERVICE", "IP", "CC", "ASN", "HOST|SESSION");
		for (i = 0; i < n; i++)
			print_row(&s[i]);
	}
	buf_free(&line);
	sess_free(s, (size_t)n);
	return n > 0 ? 0 : 1;
}

/* One account of the list. */
struct acct {
	struct buf name;
	long n;
	struct buf cc;		/* its countries, "JP,US" */
	struct buf last;	/* newest start */
};

/* acct_cmp - by name, bytewise */
static int
acct_cmp(const void *a, const void *b)
{
	const struct acct *x = a, *y = b;
	size_t n = FM_MIN(x->name.len, y->name.len);
	int c = n ? memcmp(x->name.data, y->name.data, n) : 0;

	if (c != 0)
		return c;
	return x->name.len < y->name.len ? -1 : x->name.len > y->name.len;
}

/* acct_fill - count and place account a's sessions; 0 / -1 */
static int
acct_fill(struct sessions_cmd *sc, const char *key, size_t klen,
    struct acct *a)
{
	struct buf k;
	struct sess *s;
	long i, j, n;

	buf_init(&k);
	buf_add(&k, key, klen);
	n = load(sc, &k, &s);
	buf_free(&k);
	if (n < 0)
		return -1;
	a->n = n;
	for (i = 0; i < n; i++) {
		const struct buf *c = &s[i].v[F_CC];

		for (j = 0; j < i; j++)
			if (s[j].v[F_CC].len == c->len && c->len &&
			    memcmp(s[j].v[F_CC].data, c->data, c->len) == 0)
				break;
		if (j == i && c->len) {
			if (a->cc.len)
				buf_addc(&a->cc, ',');
			buf_add(&a->cc, c->data, c->len);
		}
	}
	if (n > 0)
		buf_add(&a->last, s[n - 1].v[F_START].data,
		    s[n - 1].v[F_START].len);
	sess_free(s, (size_t)n);
	return 0;
}

/* scan - the accounts holding a :sess key, at most sc->limit, into *out;
 * their number (*more: some were left out), or -1 */
static long
scan(struct sessions_cmd *sc, struct acct **out, int *more)
{
	const char *pfx = sc->cf->redis.prefix ? sc->cf->redis.prefix : "";
	struct buf pat;
	struct acct *a = xcalloc((size_t)sc->limit + 1, sizeof(*a));
	redisReply *r = NULL, *e;
	char cursor[32] = "0";
	size_t i, plen = strlen(pfx);
	long n = 0, rc = 0;

	*more = 0;
	buf_init(&pat);
	store_key_pattern(&pat, sc->cf, "{a:*}:sess");
	do {
		redisAppendCommand(sc->c, "SCAN %s MATCH %b COUNT %d", cursor,
		    pat.data, pat.len, SCAN_COUNT);
		if (store_sync_reply(sc->c, &r, sc->err, sizeof(sc->err)) != 0 ||
		    r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			rc = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; rc == 0 && i < r->element[1]->elements; i++) {
			e = r->element[1]->element[i];
			if (e->type != REDIS_REPLY_STRING || e->len < plen + 9)
				continue;
			if (n == sc->limit) {
				*more = 1;
				break;
			}
			buf_init(&a[n].name);
			buf_init(&a[n].cc);
			buf_init(&a[n].last);
			if (hex_decode(&a[n].name, e->str + plen + 3,
			    e->len - plen - 9) == -1 ||
			    acct_fill(sc, e->str, e->len, &a[n]) == -1 ||
			    a[n].n == 0) {
				buf_free(&a[n].name);
				buf_free(&a[n].cc);
				buf_free(&a[n].last);
				if (sc->err[0])
					rc = -1;
				continue;
			}
			n++;
		}
		freeReplyObject(r);
		r = NULL;
	} while (rc == 0 && !*more && strcmp(cursor, "0") != 0);
	if (r)
		freeReplyObject(r);
	buf_free(&pat);
	qsort(a, (size_t)n, sizeof(*a), acct_cmp);
	*out = a;
	return rc == 0 ? n : -1;
}

/* show_list - the accounts with open sessions; 0 / -1 */
static int
show_list(struct sessions_cmd *sc)
{
	struct acct *a;
	struct buf line;
	long n, i;
	int more;

	if ((n = scan(sc, &a, &more)) < 0) {
		free(a);
		return -1;
	}
	buf_init(&line);
	if (sc->json)
		buf_adds(&line, "{\"accounts\":[");
	else if (n == 0)
		printf("no open sessions\n");
	else
		printf("%-40s  %8s  %-27s  %s\n", "ACCOUNT", "SESSIONS",
		    "LAST START", "COUNTRIES");
	for (i = 0; i < n; i++) {
		if (sc->json) {
			buf_adds(&line, i ? ",{\"account\":\"" :
			    "{\"account\":\"");
			scripts_json_bin(&line, a[i].name.data ?
			    a[i].name.data : "", a[i].name.len);
			buf_adds(&line, "\",\"hex\":\"");
			hex_encode(&line, a[i].name.data ? a[i].name.data : "",
			    a[i].name.len);
			buf_printf(&line, "\",\"sessions\":%ld,\"last_start\":\"",
			    a[i].n);
			scripts_json_bin(&line, a[i].last.data ?
			    a[i].last.data : "", a[i].last.len);
			buf_adds(&line, "\",\"countries\":\"");
			scripts_json_bin(&line, a[i].cc.data ? a[i].cc.data :
			    "", a[i].cc.len);
			buf_adds(&line, "\"}");
		} else {
			buf_reset(&line);
			show_term_escape(&line, a[i].name.data ?
			    a[i].name.data : "", a[i].name.len);
			printf("%-40s  %8ld  %-27s  %s\n", line.data ?
			    line.data : "", a[i].n, a[i].last.data ?
			    a[i].last.data : "-", a[i].cc.len ? a[i].cc.data :
			    "-");
		}
		buf_free(&a[i].name);
		buf_free(&a[i].cc);
		buf_free(&a[i].last);
	}
	if (sc->json) {
		buf_printf(&line, "],\"truncated\":%s}\n", more ? "true" :
		    "false");
		fwrite(line.data, 1, line.len, stdout);
	} else if (more)
		printf("(more accounts hold sessions: -n raises the limit of "
		    "%d)\n", sc->limit);
	buf_free(&line);
	free(a);
	return 0;
}

int
cmd_sessions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sessions_cmd sc;
	struct fumidai *cf;
	struct redisd *rd;
	struct buf name;
	const char *path = NULL;
	char *end;
	int ch, hex = 0, rc;

	memset(&sc, 0, sizeof(sc));
	sc.limit = LIST_DEFAULT;
	while ((ch = getopt_long(argc, argv, "c:jxn:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'j': sc.json = 1; break;
		case 'x': hex = 1; break;
		case 'n':
			sc.limit = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || sc.limit < 1 || sc.limit > 100000) {
				usage();
				return 2;
			}
			break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (argc - optind > 1) {
		usage();
		return 2;
	}
	buf_init(&name);
	if (optind < argc && (hex ? hex_decode(&name, argv[optind],
	    strlen(argv[optind])) : (buf_adds(&name, argv[optind]), 0))) {
		fprintf(stderr, "fumidai: sessions: --hex ACCOUNT is not hex\n");
		buf_free(&name);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL) {
		buf_free(&name);
		return 2;
	}
	sc.cf = cf;
	rd = cmd_redis_up(cf);
	if ((sc.c = store_connect_sync(cf, sc.err, sizeof(sc.err))) == NULL)
		rc = -1;
	else if (optind < argc)
		rc = show_account(&sc, &name);
	else
		rc = show_list(&sc);
	if (rc == -1) {
		fprintf(stderr, "fumidai: sessions: %s\n", sc.err[0] ? sc.err :
		    "unexpected reply");
		rc = 2;
	}
	if (sc.c)
		redisFree(sc.c);
	redisd_stop(rd);
	buf_free(&name);
	conf_free(cf);
	return rc;
}
