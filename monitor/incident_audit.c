/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * incident_audit.c - the scheduled audits' results in force during the
 * range of `fumidai incident` (audits.json, audits.csv): for every audit
 * configured or recorded in Redis (<prefix>{g}:audit:<name>, found by
 * SCAN), the history entries of {g}:audit_hist:<name> (audit_sched.c, doc/
 * redis.md) of runs that started in the range, and the run before the range
 * (its result was in force when the range began); the latest run's entry
 * (the audit's state now, in or after the range) and its whole output when
 * it is one of those runs.  An audit with no such run is left out.
 *
 * SECURITY: the entries hold the audited servers' words (escaped by the
 * store script; JSON copied as stored) and names found by SCAN may hold any
 * bytes: JSON escapes them with scripts_json_bin, CSV with
 * history_csv_text.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fumidai.h"
#include "incident.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

static void
add_name(struct incident *in, const char *p, size_t n)
{
	struct audit_rec *a;
	size_t i;

	for (i = 0; i < in->naudits; i++)
		if (in->audits[i].name.len == n &&
		    memcmp(in->audits[i].name.data, p, n) == 0)
			return;
	in->audits = xrealloc(in->audits, (in->naudits + 1) *
	    sizeof(*in->audits));
	a = &in->audits[in->naudits++];
	memset(a, 0, sizeof(*a));
	buf_init(&a->name);
	buf_add(&a->name, p, n);
}

/* scan_names - the audits recorded: SCAN MATCH <prefix>{g}:audit:* */
static int
scan_names(redisContext *c, struct incident *in)
{
	struct buf pat, k;
	redisReply *r = NULL;
	char cursor[32] = "0";
	size_t i;

	buf_init(&pat);
	buf_init(&k);
	scripts_tag_global(&k, in->h.cf);
	buf_adds(&k, ":audit:");
	for (i = 0; i < k.len; i++) {	/* the prefix is literal */
		if (strchr("*?[]\\", k.data[i]) != NULL)
			buf_addc(&pat, '\\');
		buf_addc(&pat, k.data[i]);
	}
	buf_addc(&pat, '*');
	do {
		redisAppendCommand(c, "SCAN %s MATCH %b COUNT 1000", cursor,
		    pat.data, pat.len);
		if (store_sync_reply(c, &r, in->err, sizeof(in->err)) != 0 ||
		    r->type != REDIS_REPLY_ARRAY || r->elements != 2)
			break;
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			const redisReply *e = r->element[1]->element[i];

			if (e->type == REDIS_REPLY_STRING && e->len > k.len)
				add_name(in, e->str + k.len, e->len - k.len);
		}
		freeReplyObject(r);
		r = NULL;
	} while (strcmp(cursor, "0") != 0);
	buf_free(&pat);
	buf_free(&k);
	if (r == NULL)
		return 0;
	freeReplyObject(r);
	if (in->err[0] == '\0')
		snprintf(in->err, sizeof(in->err), "SCAN: unexpected reply");
	return -1;
}

/* in_force - the runs in force during the range, oldest first */
static void
in_force(struct incident *in, struct audit_rec *a)
{
	const redisReply *h = a->hist;
	struct buf t;
	int64_t us;
	size_t i, before = SIZE_MAX;

	if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements == 0)
		return;
	a->runs = xcalloc(h->elements, sizeof(*a->runs));
	buf_init(&t);
	for (i = h->elements; i-- > 0;) {	/* oldest first */
		if (h->element[i]->type != REDIS_REPLY_STRING ||
		    (us = incident_time(h->element[i]->str,
		    h->element[i]->len, "time", &t)) == 0)
			continue;
		if (us < in->h.since)
			before = i;
		else if (us < in->h.until) {
			if (before != SIZE_MAX)
				a->runs[a->nruns++] = before;
			before = SIZE_MAX;
			a->runs[a->nruns++] = i;
		}
	}
	if (before != SIZE_MAX)	/* in force through the whole range */
		a->runs[a->nruns++] = before;
	a->latest_in = a->nruns && a->runs[a->nruns - 1] == 0;
	buf_free(&t);
}

int
incident_audits_read(redisContext *c, struct incident *in)
{
	struct buf k;
	size_t i;
	int rc = 0;

	for (i = 0; i < in->h.cf->naudits; i++)
		add_name(in, in->h.cf->audits[i].name,
		    strlen(in->h.cf->audits[i].name));
	if (scan_names(c, in) == -1)
		return -1;
	buf_init(&k);
	for (i = 0; i < in->naudits; i++) {
		struct audit_rec *a = &in->audits[i];

		buf_reset(&k);
		scripts_tag_global(&k, in->h.cf);
		buf_adds(&k, ":audit:");
		buf_add(&k, a->name.data, a->name.len);
		redisAppendCommand(c, "HMGET %b type target summary json time",
		    k.data, k.len);
		buf_reset(&k);
		scripts_tag_global(&k, in->h.cf);
		buf_adds(&k, ":audit_hist:");
		buf_add(&k, a->name.data, a->name.len);
		redisAppendCommand(c, "LRANGE %b 0 -1", k.data, k.len);
	}
	buf_free(&k);
	for (i = 0; i < in->naudits; i++) {
		struct audit_rec *a = &in->audits[i];

		if (store_sync_reply(c, &a->h, in->err, sizeof(in->err)) != 0 ||
		    store_sync_reply(c, &a->hist, in->err,
		    sizeof(in->err)) != 0)
			rc = -1;
		if (rc == 0)
			in_force(in, a);
	}
	return rc;
}

const redisReply *
incident_audit_field(const struct audit_rec *a, size_t i)
{
	const redisReply *r = a->h;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
	    r->element[i]->type != REDIS_REPLY_STRING)
		return NULL;
	return r->element[i];
}

static void
json_field(struct buf *b, const char *name, const redisReply *r)
{
	buf_printf(b, ",\"%s\":\"", name);
	if (r)
		scripts_json_bin(b, r->str, r->len);
	buf_addc(b, '"');
}

void
incident_audits_json(struct buf *b, const struct incident *in)
{
	const redisReply *e, *out, *x;
	size_t i, j, k = 0;
	int64_t us;
	struct buf t;

	buf_init(&t);
	buf_addc(b, '[');
	for (i = 0; i < in->naudits; i++) {
		const struct audit_rec *a = &in->audits[i];

		if (a->nruns == 0)
			continue;
		buf_adds(b, k++ ? ",\n{\"name\":\"" : "\n{\"name\":\"");
		scripts_json_bin(b, a->name.data, a->name.len);
		buf_addc(b, '"');
		json_field(b, "type", incident_audit_field(a, 0));
		json_field(b, "target", incident_audit_field(a, 1));
		buf_adds(b, ",\"runs\":[");
		for (j = 0; j < a->nruns; j++) {
			e = a->hist->element[a->runs[j]];
			us = incident_time(e->str, e->len, "time", &t);
			buf_printf(b, "%s{\"in_range\":%s,", j ? "," : "",
			    us >= in->h.since ? "true" : "false");
			buf_add(b, e->str + 1, e->len - 1);
		}
		x = incident_audit_field(a, 2);
		buf_adds(b, "],\"latest\":");
		if (x && x->len)
			buf_add(b, x->str, x->len);
		else
			buf_adds(b, "null");
		out = incident_audit_field(a, 3);
		buf_adds(b, ",\"output\":");
		if (a->latest_in && out && out->len)
			buf_add(b, out->str, out->len);
		else
			buf_adds(b, "null");
		buf_addc(b, '}');
	}
	buf_adds(b, "\n]\n");
	buf_free(&t);
}

/* csv_findings - the strings of a JSON array, "; "-separated, as one field */
static void
csv_findings(struct buf *b, const struct buf *arr)
{
	struct buf all;

	buf_init(&all);
	incident_strings(&all, arr, "; ");
	history_csv_text(b, all.data ? all.data : "", all.len);
	buf_free(&all);
}

void
incident_audits_csv(struct buf *b, const struct incident *in)
{
	static const char *const f[] = { "verdict", "status" };
	const redisReply *e, *x;
	struct buf v;
	size_t i, j, m;
	int64_t us;

	buf_init(&v);
	buf_adds(b, "name,type,target,time,in_range,verdict,status,findings,"
	    "error\r\n");
	for (i = 0; i < in->naudits; i++) {
		const struct audit_rec *a = &in->audits[i];

		for (j = 0; j < a->nruns; j++) {
			e = a->hist->element[a->runs[j]];
			history_csv_text(b, a->name.data, a->name.len);
			for (m = 0; m < 2; m++) {
				x = incident_audit_field(a, m);
				buf_addc(b, ',');
				history_csv_text(b, x ? x->str : "", x ?
				    x->len : 0);
			}
			us = incident_time(e->str, e->len, "time", &v);
			buf_printf(b, ",%s,%s", v.data ? v.data : "",
			    us >= in->h.since ? "true" : "false");
			for (m = 0; m < nitems(f); m++) {
				buf_addc(b, ',');
				if (show_json_get(e->str, e->len, f[m], &v) == 0)
					history_csv_text(b, v.data, v.len);
			}
			buf_addc(b, ',');
			(void)show_json_get(e->str, e->len, "findings", &v);
			csv_findings(b, &v);
			buf_addc(b, ',');
			if (show_json_get(e->str, e->len, "error", &v) == 0 &&
			    strcmp(v.data, "null") != 0)
				history_csv_text(b, v.data, v.len);
			buf_adds(b, "\r\n");
		}
	}
	buf_free(&v);
}

void
incident_audits_free(struct incident *in)
{
	size_t i;

	for (i = 0; i < in->naudits; i++) {
		buf_free(&in->audits[i].name);
		if (in->audits[i].h)
			freeReplyObject(in->audits[i].h);
		if (in->audits[i].hist)
			freeReplyObject(in->audits[i].hist);
		free(in->audits[i].runs);
	}
	free(in->audits);
}
