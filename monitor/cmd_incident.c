/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_incident.c - `fumidai incident ACCOUNT --since T0 [--until T1] --out
 * DIR [-c FILE] [--hex]`: one evidence bundle of what an account did in a
 * time range, for an incident report or an owner asking "what did my
 * account do?".  DIR gets logins.json/.csv (login records and the day
 * roll-ups), messages.json/.csv (messages sent), alerts.json (the alerts of
 * the stream <prefix>{g}:alerts whose account is this one and whose events
 * overlap the range, latest records), summary.json (the answers an incident
 * report asks for), report.html (the same, readable) and MANIFEST.sha256
 * (`sha256sum -c` checks the bundle).  The records are read as `fumidai
 * history` reads them (cmd_history.h).  Exit 0, 1 when a file cannot be
 * written, 2 on a usage, configuration or Redis error.
 *
 * SECURITY: the records hold attacker-controlled text.  JSON files carry it
 * JSON-escaped, CSV files quoted and formula-defused (history_csv_text),
 * the HTML report terminal-escaped and then HTML-escaped, so no name can
 * inject markup or script.  File names in DIR are fixed.
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
#include "redisd.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

#define CHUNK	1000	/* stream entries per XRANGE */

/* The bundle, in the order of the manifest. */
static const char *const files[] = { "alerts.json", "logins.csv",
    "logins.json", "messages.csv", "messages.json", "report.html",
    "summary.json" };

/* A set of distinct strings (addresses, countries, kinds), kept in order. */
struct strset {
	struct buf *v;
	size_t n;
};

/* The answers of summary.json and the report. */
struct summary {
	long long ok, fail, messages, recipients, bytes;
	char first_ok[32], last_ok[32], first_fail[32], last_fail[32];
	struct strset ips, fail_ips, countries, kinds;
};

struct incident {
	struct history h;
	const char *out;
	struct buf *alerts;	/* latest records of its alerts, as stored */
	size_t nalerts;
	struct summary s;
	char err[512];
};

static void	usage(void);
static int	parse_args(struct incident *in, int argc, char **argv,
		    const char **path, const char **since, const char **until);
static int	read_alerts(redisContext *c, struct incident *in);
static void	keep_alert(struct incident *in, const redisReply *r);
static int	read_geo(redisContext *c, struct incident *in);
static void	summarize(struct incident *in);
static void	set_add(struct strset *s, const char *p, size_t n);
static void	json_array(struct buf *b, const struct buf *nd);
static void	write_summary(struct buf *b, const struct incident *in);
static void	write_report(struct buf *b, const struct incident *in);
static void	html(struct buf *b, const char *p, size_t n);
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
set_add(struct strset *s, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].len == n && memcmp(s->v[i].data, p, n) == 0)
			return;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	buf_init(&s->v[s->n]);
	buf_add(&s->v[s->n++], p, n);
}

static void
set_free(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		buf_free(&s->v[i]);
	free(s->v);
}

/* read_geo - the countries of :geo whose logins overlap the range (the
 * geography keeps a first and last time per country, not every login) */
static int
read_geo(redisContext *c, struct incident *in)
{
	struct buf k, t;
	redisReply *r;
	const char *bar1, *bar2;
	int64_t first, last;
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
	buf_init(&t);
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	    i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];

		if (f->len < 4 || memcmp(f->str, "cc:", 3) != 0 ||
		    (bar1 = memchr(v->str, '|', v->len)) == NULL ||
		    (bar2 = memchr(bar1 + 1, '|', v->len -
		    (size_t)(bar1 + 1 - v->str))) == NULL)
			continue;
		first = last = 0;
		(void)show_iso_us(bar1 + 1, (size_t)(bar2 - bar1 - 1), &first);
		buf_reset(&t);
		buf_add(&t, bar2 + 1, v->len - (size_t)(bar2 + 1 - v->str));
		if (memchr(t.data, '|', t.len) != NULL)
			t.len = (size_t)((char *)memchr(t.data, '|', t.len) -
			    t.data);
		(void)show_iso_us(t.data, t.len, &last);
		if (last >= in->h.since && first < in->h.until)
			set_add(&in->s.countries, f->str + 3, f->len - 3);
	}
	buf_free(&t);
	freeReplyObject(r);
	return 0;
}

/* minmax - keep the earliest and latest ISO time (same format: compares as
 * text) */
static void
minmax(char *first, char *last, const struct buf *t)
{
	if (t->len == 0 || t->len >= 32)
		return;
	if (first[0] == '\0' || strcmp(t->data, first) < 0)
		memcpy(first, t->data, t->len + 1);
	if (last[0] == '\0' || strcmp(t->data, last) > 0)
		memcpy(last, t->data, t->len + 1);
}

/* summarize - counts, times and distinct values of the records in range */
static void
summarize(struct incident *in)
{
	struct summary *s = &in->s;
	struct buf v, t;
	size_t i;
	int ok;

	buf_init(&v);
	buf_init(&t);
	for (i = 0; i < in->h.nl; i++) {
		const redisReply *e = in->h.vl[i].r;

		(void)show_json_get(e->str, e->len, "time", &t);
		ok = show_json_get(e->str, e->len, "result", &v) == 0 &&
		    strcmp(v.data, "ok") == 0;
		(void)show_json_get(e->str, e->len, "ip", &v);
		if (ok) {
			s->ok++;
			minmax(s->first_ok, s->last_ok, &t);
			if (v.len)
				set_add(&s->ips, v.data, v.len);
			continue;
		}
		if (v.len)
			set_add(&s->fail_ips, v.data, v.len);
		minmax(s->first_fail, s->last_fail, &t);
		s->fail += show_json_get(e->str, e->len, "attempts", &v) == 0 ?
		    strtoll(v.data, NULL, 10) : 1;
	}
	for (i = 0; i < in->h.nm; i++) {
		const redisReply *e = in->h.vm[i].r;

		s->messages++;
		if (show_json_get(e->str, e->len, "nrcpt", &v) == 0)
			s->recipients += strtoll(v.data, NULL, 10);
		if (show_json_get(e->str, e->len, "size", &v) == 0 &&
		    strtoll(v.data, NULL, 10) > 0)
			s->bytes += strtoll(v.data, NULL, 10);
	}
	for (i = 0; i < in->nalerts; i++)
		if (show_json_get(in->alerts[i].data, in->alerts[i].len,
		    "kind", &v) == 0)
			set_add(&s->kinds, v.data, v.len);
	buf_free(&v);
	buf_free(&t);
}

/* json_array - NDJSON lines as one JSON array */
static void
json_array(struct buf *b, const struct buf *nd)
{
	const char *p = nd->data, *end = nd->data + nd->len, *nl;
	int n = 0;

	buf_addc(b, '[');
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (n++)
			buf_addc(b, ',');
		buf_addc(b, '\n');
		buf_add(b, p, (size_t)(nl - p));
		p = nl + 1;
	}
	buf_add(b, "\n]\n", 3);
}

static void
json_set(struct buf *b, const char *name, const struct strset *s)
{
	size_t i;

	buf_printf(b, ",\"%s\":[", name);
	for (i = 0; i < s->n; i++) {
		buf_add(b, i ? ",\"" : "\"", i ? 2 : 1);
		scripts_json_bin(b, s->v[i].data, s->v[i].len);
		buf_addc(b, '"');
	}
	buf_addc(b, ']');
}

static void
json_time(struct buf *b, const char *name, const char *t)
{
	if (t[0])
		buf_printf(b, ",\"%s\":\"%s\"", name, t);
	else
		buf_printf(b, ",\"%s\":null", name);
}

static void
write_summary(struct buf *b, const struct incident *in)
{
	const struct summary *s = &in->s;
	char t[32];

	buf_add(b, "{\"account\":\"", 12);
	scripts_json_bin(b, in->h.name.data, in->h.name.len);
	time_format(in->h.since, t, sizeof(t));
	buf_printf(b, "\",\"since\":\"%s\"", t);
	time_format(in->h.until, t, sizeof(t));
	buf_printf(b, ",\"until\":\"%s\"", t);
	buf_printf(b, ",\"logins_ok\":%lld,\"failed_attempts\":%lld", s->ok,
	    s->fail);
	json_time(b, "first_login", s->first_ok);
	json_time(b, "last_login", s->last_ok);
	json_time(b, "first_failure", s->first_fail);
	json_time(b, "last_failure", s->last_fail);
	json_set(b, "login_addresses", &s->ips);
	json_set(b, "failure_addresses", &s->fail_ips);
	json_set(b, "countries", &s->countries);
	buf_printf(b, ",\"messages\":%lld,\"recipients\":%lld,\"bytes\":%lld"
	    ",\"alerts\":%zu", s->messages, s->recipients, s->bytes,
	    in->nalerts);
	json_set(b, "alert_kinds", &s->kinds);
	buf_add(b, "}\n", 2);
}

/* html - untrusted text for HTML: terminal-escaped (no control byte, no
 * invalid UTF-8, no bidi override), then & < > " ' as entities */
static void
html(struct buf *b, const char *p, size_t n)
{
	struct buf e;
	size_t i;

	buf_init(&e);
	show_term_escape(&e, p, n);
	for (i = 0; i < e.len; i++)
		switch (e.data[i]) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_addc(b, e.data[i]);
		}
	buf_free(&e);
}

/* html_row - a table row of fields of one JSON record */
static void
html_row(struct buf *b, const char *p, size_t n, const char *const *f,
    size_t nf)
{
	struct buf v;
	size_t i;

	buf_init(&v);
	buf_adds(b, "<tr>");
	for (i = 0; i < nf; i++) {
		buf_adds(b, "<td>");
		if (show_json_get(p, n, f[i], &v) == 0)
			html(b, v.data, v.len);
		buf_adds(b, "</td>");
	}
	buf_adds(b, "</tr>\n");
	buf_free(&v);
}

static void
html_head(struct buf *b, const char *title, const char *const *h, size_t n)
{
	size_t i;

	buf_printf(b, "<h2>%s</h2>\n<table>\n<tr>", title);
	for (i = 0; i < n; i++)
		buf_printf(b, "<th>%s</th>", h[i]);
	buf_adds(b, "</tr>\n");
}

static void
html_summary(struct buf *b, const struct incident *in)
{
	const struct summary *s = &in->s;
	const struct strset *sets[] = { &s->ips, &s->fail_ips, &s->countries,
	    &s->kinds };
	static const char *const names[] = { "Addresses of successful logins",
	    "Addresses of failed logins", "Countries (GeoIP)", "Alert kinds" };
	size_t i, j;

	buf_printf(b, "<h2>Summary</h2>\n<table>\n"
	    "<tr><th>Successful logins</th><td>%lld</td></tr>\n"
	    "<tr><th>First / last successful login</th><td>%s / %s</td></tr>\n"
	    "<tr><th>Failed login attempts</th><td>%lld</td></tr>\n"
	    "<tr><th>First / last failure</th><td>%s / %s</td></tr>\n"
	    "<tr><th>Messages sent</th><td>%lld</td></tr>\n"
	    "<tr><th>Recipients</th><td>%lld</td></tr>\n"
	    "<tr><th>Alerts</th><td>%zu</td></tr>\n", s->ok,
	    s->first_ok[0] ? s->first_ok : "-", s->last_ok[0] ? s->last_ok :
	    "-", s->fail, s->first_fail[0] ? s->first_fail : "-",
	    s->last_fail[0] ? s->last_fail : "-", s->messages, s->recipients,
	    in->nalerts);
	for (i = 0; i < nitems(sets); i++) {
		buf_printf(b, "<tr><th>%s</th><td>", names[i]);
		for (j = 0; j < sets[i]->n; j++) {
			if (j)
				buf_adds(b, ", ");
			html(b, sets[i]->v[j].data, sets[i]->v[j].len);
		}
		buf_adds(b, sets[i]->n ? "</td></tr>\n" : "-</td></tr>\n");
	}
	buf_adds(b, "</table>\n");
}

static void
write_report(struct buf *b, const struct incident *in)
{
	static const char *const lf[] = { "time", "result", "service", "ip",
	    "mech", "attempts", "host", "reason" };
	static const char *const mf[] = { "time", "qid", "msgid", "from",
	    "size", "nrcpt", "ip", "service", "host" };
	static const char *const af[] = { "first", "last", "kind",
	    "severity", "count", "ip", "summary" };
	char t0[32], t1[32];
	size_t i;

	time_format(in->h.since, t0, sizeof(t0));
	time_format(in->h.until, t1, sizeof(t1));
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>fumidai incident report</title>\n"
	    "<style>body{font-family:sans-serif}table{border-collapse:"
	    "collapse}td,th{border:1px solid #999;padding:2px 6px;"
	    "text-align:left}</style>\n</head>\n<body>\n"
	    "<h1>Incident report: account <code>");
	html(b, in->h.name.data, in->h.name.len);
	buf_printf(b, "</code></h1>\n<p>Events from %s to %s (event time, UTC, "
	    "end excluded), as recorded by fumidai.</p>\n", t0, t1);
	html_summary(b, in);
	html_head(b, "Logins", lf, nitems(lf));
	for (i = 0; i < in->h.nl; i++)
		html_row(b, in->h.vl[i].r->str, in->h.vl[i].r->len, lf,
		    nitems(lf));
	buf_adds(b, "</table>\n");
	html_head(b, "Messages sent", mf, nitems(mf));
	for (i = 0; i < in->h.nm; i++)
		html_row(b, in->h.vm[i].r->str, in->h.vm[i].r->len, mf,
		    nitems(mf));
	buf_adds(b, "</table>\n");
	html_head(b, "Alerts", af, nitems(af));
	for (i = 0; i < in->nalerts; i++)
		html_row(b, in->alerts[i].data, in->alerts[i].len, af,
		    nitems(af));
	buf_adds(b, "</table>\n<p>Files of this bundle and their SHA-256: "
	    "MANIFEST.sha256 (check with <code>sha256sum -c "
	    "MANIFEST.sha256</code>).</p>\n</body>\n</html>\n");
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
	int what = strncmp(name, "logins", 6) == 0 ? HISTORY_LOGINS :
	    HISTORY_SENT;
	size_t i;

	buf_init(&nd);
	if (strcmp(name, "alerts.json") == 0) {
		for (i = 0; i < in->nalerts; i++) {
			buf_add(&nd, in->alerts[i].data, in->alerts[i].len);
			buf_addc(&nd, '\n');
		}
		json_array(b, &nd);
	} else if (strcmp(name, "summary.json") == 0)
		write_summary(b, in);
	else if (strcmp(name, "report.html") == 0)
		write_report(b, in);
	else if (strstr(name, ".csv") != NULL)
		history_csv(b, &in->h, what);
	else {
		history_json(&nd, &in->h, what);
		json_array(b, &nd);
	}
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
	set_free(&in->s.ips);
	set_free(&in->s.fail_ips);
	set_free(&in->s.countries);
	set_free(&in->s.kinds);
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
	    history_fetch(c, &in.h) == -1 || read_alerts(c, &in) == -1 ||
	    read_geo(c, &in) == -1) {
		fprintf(stderr, "fumidai: incident: %s\n",
		    c ? (in.h.err[0] ? in.h.err : in.err) : in.err);
		rc = 2;
		goto out;
	}
	summarize(&in);
	if (write_bundle(&in) == -1) {
		fprintf(stderr, "fumidai: incident: %s\n", in.err);
		rc = 1;
		goto out;
	}
	printf("%s: %zu logins, %zu roll-ups, %zu messages, %zu alerts\n",
	    in.out, in.h.nl, in.h.nroll, in.h.nm, in.nalerts);
out:
	if (c)
		redisFree(c);
	redisd_stop(rd);
	incident_free(&in);
	conf_free(cf);
	return rc;
}
