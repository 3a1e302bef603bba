/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_incident.c - `fumidai incident ACCOUNT --since T0 [--until T1] --out
 * DIR [-c FILE] [--hex]`: one evidence bundle of what an account did in a
 * time range, for an incident report or an owner asking "what did my
 * account do?".  This file reads Redis and writes the files; DIR gets
 * logins.json/.csv (login records and day roll-ups, as `fumidai history`
 * reads them: cmd_history.h), messages.json/.csv (messages sent, with
 * their recipients when recorded), alerts.json/.csv (the alerts of the
 * stream <prefix>{g}:alerts whose account is this one and whose events
 * overlap the range, latest records), audits.json/.csv (the audit results
 * in force: incident_audit.c), summary.json and summary.csv (the answers an
 * incident report asks for: incident_summary.c), report.en.html and report.ja.html (all of
 * it, readable: incident_report.c) and MANIFEST.sha256 (`sha256sum -c`
 * checks the bundle).  Exit 0, 1 when a file cannot be written, 2 on a
 * usage, configuration or Redis error.
 *
 * SECURITY: the records hold attacker-controlled text.  JSON files carry it
 * JSON-escaped, CSV files quoted and formula-defused (history_csv_text),
 * the HTML reports terminal-escaped and then HTML-escaped (incident_html),
 * so no name can inject markup or script.  File names in DIR are fixed.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "cmd.h"
#include "cmd_history.h"
#include "conf.h"
#include "incident.h"
#include "redisd.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

#define CHUNK	1000	/* stream entries per XRANGE */

/* The bundle, in the order of the manifest. */
static const char *const files[] = { "alerts.csv", "alerts.json",
    "audits.csv", "audits.json", "logins.csv", "logins.json",
    "messages.csv", "messages.json", "report.en.html", "report.ja.html",
    "summary.csv", "summary.json" };

static void	usage(void);
static int	parse_args(struct incident *in, int argc, char **argv,
		    const char **path, const char **since, const char **until);
static int	read_alerts(redisContext *c, struct incident *in);
static void	keep_alert(struct incident *in, const redisReply *r);
static int	read_geo(redisContext *c, struct incident *in);
static int	read_history(redisContext *c, struct incident *in);
static void	json_array(struct buf *b, const struct buf *nd);
static int	write_bundle(struct incident *in);

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai incident [-c FILE] [--hex] --since T0 "
	    "[--until T1] --out DIR ACCOUNT\n");
}

static int
parse_args(struct incident *in, int argc, char **argv, const char **path,
    const char **since, const char **until)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, hex = 0;

	while ((ch = getopt_long(argc, argv, "c:xs:u:o:h", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': *path = optarg; break;
		case 'x': hex = 1; break;
		case 's': *since = optarg; break;
		case 'u': *until = optarg; break;
		case 'o': in->out = optarg; break;
		default: usage(); return -1;
		}
	}
	if (optind != argc - 1 || *since == NULL || in->out == NULL ||
	    in->out[0] == '\0') {
		usage();
		return -1;
	}
	if (time_parse_arg(*since, &in->h.since) == -1 || (*until &&
	    time_parse_arg(*until, &in->h.until) == -1)) {
		fprintf(stderr, "fumidai: incident: bad --since or --until\n");
		return -1;
	}
	if (*until == NULL)
		in->h.until = now_us() + 1;
	if (hex ? hex_decode(&in->h.name, argv[optind], strlen(argv[optind])) :
	    (buf_adds(&in->h.name, argv[optind]), 0)) {
		fprintf(stderr, "fumidai: incident: --hex ACCOUNT is not hex\n");
		return -1;
	}
	return 0;
}

/* keep_alert - an alert record when it is this account's and in range */
static void
keep_alert(struct incident *in, const redisReply *r)
{
	struct buf v;
	int64_t first = 0, last = 0;
	int keep;

	if (r == NULL || r->type != REDIS_REPLY_STRING || r->len < 2)
		return;
	buf_init(&v);
	keep = show_json_get(r->str, r->len, "account", &v) == 0 &&
	    v.len == in->h.name.len &&
	    memcmp(v.data, in->h.name.data, v.len) == 0;
	if (keep && show_json_get(r->str, r->len, "first", &v) == 0)
		(void)show_iso_us(v.data, v.len, &first);
	if (keep && show_json_get(r->str, r->len, "last", &v) == 0)
		(void)show_iso_us(v.data, v.len, &last);
	buf_free(&v);
	if (!keep || last < in->h.since || first >= in->h.until)
		return;
	in->alerts = xrealloc(in->alerts, (in->nalerts + 1) *
	    sizeof(*in->alerts));
	buf_init(&in->alerts[in->nalerts]);
	buf_add(&in->alerts[in->nalerts++], r->str, r->len);
}

/* stream_field - a field of a stream entry (NULL when absent) */
static const redisReply *
stream_field(const redisReply *e, const char *name)
{
	size_t i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < e->element[1]->elements; i += 2)
		if (strcmp(e->element[1]->element[i]->str, name) == 0 &&
		    e->element[1]->element[i + 1]->type == REDIS_REPLY_STRING)
			return e->element[1]->element[i + 1];
	return NULL;
}

/* read_alerts - the alert stream in chunks, each alert's latest record */
static int
read_alerts(redisContext *c, struct incident *in)
{
	struct buf sk, hk;
	redisReply *r = NULL, *h;
	const redisReply *id, *e;
	char start[64] = "-";
	size_t i;
	int rc = 0, done = 0;

	buf_init(&sk);
	buf_init(&hk);
	scripts_tag_global(&sk, in->h.cf);
	buf_add(&hk, sk.data, sk.len);
	buf_adds(&sk, ":alerts");
	buf_adds(&hk, ":alert:");
	while (!done && rc == 0) {
		redisAppendCommand(c, "XRANGE %b %s + COUNT %d", sk.data,
		    sk.len, start, CHUNK);
		if (store_sync_reply(c, &r, in->err, sizeof(in->err)) != 0) {
			rc = -1;
			break;
		}
		done = r->type != REDIS_REPLY_ARRAY || r->elements < CHUNK;
		for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			e = r->element[i];
			if ((id = stream_field(e, "id")) == NULL)
				id = e->element[0];
			redisAppendCommand(c, "HGET %b%b json", hk.data, hk.len,
			    id->str, id->len);
		}
		for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
			e = r->element[i];
			h = NULL;
			if (store_sync_reply(c, &h, in->err,
			    sizeof(in->err)) == -1) {
				rc = -1;
				break;
			}
			keep_alert(in, h->type == REDIS_REPLY_STRING && h->len ?
			    h : stream_field(e, "json"));
			freeReplyObject(h);
			/* resume after this entry: "ms-seq" then "(" exclusive */
			snprintf(start, sizeof(start), "(%s", e->element[0]->str);
		}
		freeReplyObject(r);
		r = NULL;
	}
	if (r)
		freeReplyObject(r);
	buf_free(&sk);
	buf_free(&hk);
	return rc;
}

static void
geo_add(struct incident *in, char kind, const char *key, size_t klen,
    const char *v, size_t vlen)
{
	struct geo_place *g;
	const char *f[4];
	size_t i, nf = 0;

	f[nf++] = v;
	for (i = 0; i < vlen && nf < 4; i++)
		if (v[i] == '|')
			f[nf++] = v + i + 1;
	if (nf < 3)
		return;
	in->geo = xrealloc(in->geo, (in->ngeo + 1) * sizeof(*in->geo));
	g = &in->geo[in->ngeo++];
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	buf_init(&g->key);
	buf_init(&g->name);
	buf_add(&g->key, key, klen);
	g->count = strtoll(v, NULL, 10);
	(void)show_iso_us(f[1], (size_t)(f[2] - f[1] - 1), &g->first);
	(void)show_iso_us(f[2], nf > 3 ? (size_t)(f[3] - f[2] - 1) :
	    vlen - (size_t)(f[2] - v), &g->last);
	if (nf > 3)	/* stored JSON-escaped */
		(void)show_json_unescape(&g->name, f[3], vlen -
		    (size_t)(f[3] - v));
}

/* read_geo - the account's login geography (:geo): per country and ASN its
 * count, first and last time and name (doc/redis.md) */
static int
read_geo(redisContext *c, struct incident *in)
{
	struct buf k;
	redisReply *r;
	size_t i;

	buf_init(&k);
	store_key_account(&k, in->h.cf, in->h.name.data, in->h.name.len,
	    ":geo");
	redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	buf_free(&k);
	if (store_sync_reply(c, &r, in->err, sizeof(in->err)) != 0) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];

		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING || f->len < 4)
			continue;
		if (memcmp(f->str, "cc:", 3) == 0)
			geo_add(in, 'c', f->str + 3, f->len - 3, v->str, v->len);
		else if (f->len > 4 && memcmp(f->str, "asn:", 4) == 0)
			geo_add(in, 'a', f->str + 4, f->len - 4, v->str, v->len);
	}
	freeReplyObject(r);
	return 0;
}

/* read_history - the range's records, and the logins of the retention
 * before it (what "new" is measured against), as history_json writes them */
static int
read_history(redisContext *c, struct incident *in)
{
	struct history b;
	int64_t back = (int64_t)(in->h.cf->retention_days > 0 ?
	    in->h.cf->retention_days : 1) * DAY_US;
	int rc = 0;

	if (history_fetch(c, &in->h) == -1) {
		snprintf(in->err, sizeof(in->err), "%s", in->h.err);
		return -1;
	}
	history_json(&in->lnd, &in->h, HISTORY_LOGINS);
	history_json(&in->mnd, &in->h, HISTORY_SENT);
	memset(&b, 0, sizeof(b));
	buf_init(&b.name);
	buf_add(&b.name, in->h.name.data, in->h.name.len);
	b.cf = in->h.cf;
	b.since = in->h.since > back ? in->h.since - back : 0;
	b.until = in->h.since;
	b.ranged = b.has_since = b.logins = 1;
	if (b.until > b.since && history_fetch(c, &b) == -1) {
		snprintf(in->err, sizeof(in->err), "%s", b.err);
		rc = -1;
	} else if (b.until > b.since) {
		history_json(&in->known, &b, HISTORY_LOGINS);
		in->has_known = memmem(in->known.data ? in->known.data : "",
		    in->known.len, "\"result\":\"ok\"", 13) != NULL;
	}
	history_free(&b);
	return rc;
}

/* json_array - NDJSON lines as one JSON array */
static void
json_array(struct buf *b, const struct buf *nd)
{
	const char *p = nd->data, *end = nd->data + nd->len, *l;
	size_t n;
	int k = 0;

	buf_addc(b, '[');
	while ((l = incident_line(&p, end, &n)) != NULL) {
		if (n == 0)
			continue;
		buf_adds(b, k++ ? ",\n" : "\n");
		buf_add(b, l, n);
	}
	buf_add(b, "\n]\n", 3);
}

/* alerts_csv - the alerts' main fields, one row each */
static void
alerts_csv(struct buf *b, const struct incident *in)
{
	static const char *const f[] = { "id", "first", "last", "kind",
	    "severity", "count", "ip", "account", "summary" };
	struct buf v;
	size_t i, j;

	buf_init(&v);
	for (j = 0; j < nitems(f); j++)
		buf_printf(b, "%s%s", j ? "," : "", f[j]);
	buf_adds(b, "\r\n");
	for (i = 0; i < in->nalerts; i++) {
		for (j = 0; j < nitems(f); j++) {
			if (j)
				buf_addc(b, ',');
			if (show_json_get(in->alerts[i].data, in->alerts[i].len,
			    f[j], &v) == 0)
				history_csv_text(b, v.data, v.len);
		}
		buf_adds(b, "\r\n");
	}
	buf_free(&v);
}

/* sha256_hex - the SHA-256 of p as 64 hex digits appended to b */
static int
sha256_hex(struct buf *b, const void *p, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1)
		return -1;
	hex_encode(b, md, len);
	return 0;
}

/* content - the bytes of one file of the bundle */
static void
content(struct buf *b, const struct incident *in, const char *name)
{
	struct buf nd;
	size_t i;

	buf_init(&nd);
	if (strcmp(name, "alerts.json") == 0) {
		for (i = 0; i < in->nalerts; i++) {
			buf_add(&nd, in->alerts[i].data, in->alerts[i].len);
			buf_addc(&nd, '\n');
		}
		json_array(b, &nd);
	} else if (strcmp(name, "alerts.csv") == 0)
		alerts_csv(b, in);
	else if (strcmp(name, "audits.json") == 0)
		incident_audits_json(b, in);
	else if (strcmp(name, "audits.csv") == 0)
		incident_audits_csv(b, in);
	else if (strcmp(name, "summary.json") == 0)
		incident_summary_json(b, in);
	else if (strcmp(name, "summary.csv") == 0)
		incident_summary_csv(b, in);
	else if (strncmp(name, "report.", 7) == 0)
		incident_report(b, in, name + 7);
	else if (strcmp(name, "logins.csv") == 0)
		history_csv(b, &in->h, HISTORY_LOGINS);
	else if (strcmp(name, "messages.csv") == 0)
		history_csv(b, &in->h, HISTORY_SENT);
	else
		json_array(b, strncmp(name, "logins", 6) == 0 ? &in->lnd :
		    &in->mnd);
	buf_free(&nd);
}

/* write_bundle - the files, then their manifest */
static int
write_bundle(struct incident *in)
{
	struct buf b, man;
	char path[4096];
	size_t i;
	int rc = 0;

	if (mkdir_p(in->out, 0700) == -1) {
		snprintf(in->err, sizeof(in->err), "%s: cannot create", in->out);
		return -1;
	}
	buf_init(&b);
	buf_init(&man);
	for (i = 0; i < nitems(files) + 1 && rc == 0; i++) {
		const char *name = i < nitems(files) ? files[i] :
		    "MANIFEST.sha256";

		buf_reset(&b);
		if (i < nitems(files)) {
			content(&b, in, name);
			if (sha256_hex(&man, b.data, b.len) == -1)
				rc = -1;
			buf_printf(&man, "  %s\n", name);
		} else
			buf_add(&b, man.data, man.len);
		snprintf(path, sizeof(path), "%s/%s", in->out, name);
		if (rc == 0 && write_file_atomic(path, b.data ? b.data : "",
		    b.len, in->err, sizeof(in->err)) == -1)
			rc = -1;
	}
	buf_free(&b);
	buf_free(&man);
	return rc;
}

static void
incident_free(struct incident *in)
{
	size_t i;

	history_free(&in->h);
	for (i = 0; i < in->nalerts; i++)
		buf_free(&in->alerts[i]);
	free(in->alerts);
	for (i = 0; i < in->ngeo; i++) {
		buf_free(&in->geo[i].key);
		buf_free(&in->geo[i].name);
	}
	free(in->geo);
	buf_free(&in->lnd);
	buf_free(&in->mnd);
	buf_free(&in->known);
	incident_audits_free(in);
	incident_summary_free(&in->s);
}

int
cmd_incident(int argc, char **argv)
{
	struct incident in;
	struct fumidai *cf;
	struct redisd *rd = NULL;
	redisContext *c = NULL;
	const char *path = NULL, *since = NULL, *until = NULL;
	int rc = 0;

	memset(&in, 0, sizeof(in));
	buf_init(&in.h.name);
	if (parse_args(&in, argc, argv, &path, &since, &until) == -1) {
		buf_free(&in.h.name);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL) {
		buf_free(&in.h.name);
		return 2;
	}
	in.h.cf = cf;
	in.h.ranged = in.h.has_since = 1;
	in.h.logins = in.h.sent = 1;
	rd = cmd_redis_up(cf);
	if ((c = store_connect_sync(cf, in.err, sizeof(in.err))) == NULL ||
	    read_history(c, &in) == -1 || read_alerts(c, &in) == -1 ||
	    read_geo(c, &in) == -1 || incident_audits_read(c, &in) == -1) {
		fprintf(stderr, "fumidai: incident: %s\n", in.err);
		rc = 2;
		goto out;
	}
	incident_summarize(&in);
	if (write_bundle(&in) == -1) {
		fprintf(stderr, "fumidai: incident: %s\n", in.err);
		rc = 1;
		goto out;
	}
	printf("%s: %lld logins, %lld failed attempts, %lld messages, "
	    "%zu alerts, %zu suspicious events\n", in.out, in.s.ok, in.s.fail,
	    in.s.messages, in.nalerts, in.s.nev);
out:
	if (c)
		redisFree(c);
	redisd_stop(rd);
	incident_free(&in);
	conf_free(cf);
	return rc;
}
