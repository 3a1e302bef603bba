/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * incident_summary.c - the answers an incident report asks for, computed
 * from the records of `fumidai incident` (incident.h): how many logins and
 * failed attempts, from which addresses, countries and ASNs, the first and
 * last suspicious event, how many messages and recipients, to which
 * recipient domains, with which delivery outcomes; and summary.json.
 *
 * The records are read as history_json writes them, field by field, so that
 * fields a version does not have are simply absent: login records ("type"
 * "login": time, ip, service, result, attempts, cc, asn, asorg), day
 * roll-ups (any other type: result, ip, service, n or count, first, last,
 * cc, asn, asorg) and messages (time, ip, nrcpt, size, inferred, rcpt:
 * [{to, status}]).  When there are roll-ups they give the counts (they are
 * complete; the login list may be trimmed), else the login records do; the
 * times come from both.  Suspicious: the account's alerts, failed logins
 * against it (grouped by address and service; the roll-ups' overflow
 * address "*" is a group too), successful logins from an address, country
 * or ASN it had not logged in from in the retention before the range (only
 * when it had logged in before).  Tallies are hashed: an attack from many
 * addresses stays linear.
 *
 * SECURITY: every value is untrusted bytes; nothing here prints them, the
 * writers escape them (summary.json with scripts_json_bin).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "scripts.h"
#include "show.h"
#include "util.h"

/* What the account did before the range: the baseline of "new". */
struct known {
	struct tallies ok_ip, cc, asn;
};

/* The per-address groups that become suspicious events. */
struct groups {
	struct tallies fail, ok, okcc, okasn;
};

static struct tally *tally_get(struct tallies *t, const char *p, size_t n);
static void	tally_time(struct tally *t, int64_t first, int64_t last);
static struct tally *fail_group(struct groups *g, const struct buf *ip,
		    const char *p, size_t n, struct buf *t);
static void	login_line(struct incident *in, struct groups *g,
		    const char *p, size_t n, int counting);
static void	message_line(struct incident *in, const char *p, size_t n);
static void	known_read(const struct incident *in, struct known *k);
static void	events_build(struct incident *in, struct groups *g,
		    struct known *k);
static void	geo_fallback(struct incident *in);

const char *
incident_line(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nl;

	if (s == NULL || s >= end)
		return NULL;
	if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
		nl = end;
	*len = (size_t)(nl - s);
	*p = nl + 1;
	return s;
}

/* skip_value - past one JSON value at p (strings, nesting); end on error */
static const char *
skip_value(const char *p, const char *end)
{
	int depth = 0, str = 0;

	for (; p < end; p++) {
		if (str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				str = 0;
			else
				continue;
			if (depth == 0 && !str)
				return p + 1;
			continue;
		}
		if (*p == '"')
			str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p;	/* end of the enclosing array */
			if (--depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
	}
	return end;
}

const char *
incident_array_next(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *e;

	while (s < end && (*s == '[' || *s == ',' || isspace((unsigned char)*s)))
		s++;
	if (s >= end || *s == ']')
		return NULL;
	e = skip_value(s, end);
	if (e <= s)
		return NULL;
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

void
incident_strings(struct buf *out, const struct buf *arr, const char *sep)
{
	const char *p = arr->data, *end = arr->data + arr->len, *e;
	size_t n;
	int k = 0;

	while (arr->len && arr->data[0] == '[' &&
	    (e = incident_array_next(&p, end, &n)) != NULL) {
		if (n < 2 || e[0] != '"')
			continue;
		if (k++)
			buf_adds(out, sep);
		(void)show_json_unescape(out, e + 1, n - 2);
	}
}

int64_t
incident_time(const char *p, size_t n, const char *name, struct buf *tmp)
{
	int64_t us = 0;

	if (show_json_get(p, n, name, tmp) == 0)
		(void)show_iso_us(tmp->data, tmp->len, &us);
	return us;
}

/* num - a numeric field, def when absent */
static long long
num(const char *p, size_t n, const char *name, struct buf *tmp,
    long long def)
{
	if (show_json_get(p, n, name, tmp) == -1 || tmp->len == 0)
		return def;
	return strtoll(tmp->data, NULL, 10);
}

/* slot - where key p lives (or would go) in t's hash */
static size_t
slot(const struct tallies *t, const char *p, size_t n)
{
	size_t i = (size_t)fnv1a64(p, n, 0xcbf29ce484222325ULL) & (t->cap - 1);
	const struct tally *x;

	while (t->idx[i] != 0) {
		x = &t->v[t->idx[i] - 1];
		if (x->key.len == n && (n == 0 || memcmp(x->key.data, p, n) == 0))
			break;
		i = (i + 1) & (t->cap - 1);
	}
	return i;
}

/* reindex - the hash rebuilt for at least want keys */
static void
reindex(struct tallies *t, size_t want)
{
	size_t i;

	free(t->idx);
	for (t->cap = 16; t->cap < 2 * want; t->cap *= 2)
		;
	t->idx = xcalloc(t->cap, sizeof(*t->idx));
	for (i = 0; i < t->n; i++)
		t->idx[slot(t, t->v[i].key.data ? t->v[i].key.data : "",
		    t->v[i].key.len)] = i + 1;
}

/* tally_find - the tally of key p, or NULL */
static struct tally *
tally_find(struct tallies *t, const char *p, size_t n)
{
	size_t i;

	if (t->idx == NULL)
		reindex(t, t->n + 1);
	i = slot(t, p ? p : "", n);
	return t->idx[i] ? &t->v[t->idx[i] - 1] : NULL;
}

static struct tally *
tally_get(struct tallies *t, const char *p, size_t n)
{
	struct tally *x;

	if (p == NULL)
		p = "";
	if ((x = tally_find(t, p, n)) != NULL)
		return x;
	if (2 * (t->n + 1) > t->cap)
		reindex(t, t->n + 1);
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	x = &t->v[t->n];
	memset(x, 0, sizeof(*x));
	buf_init(&x->key);
	buf_init(&x->note);
	buf_add(&x->key, p, n);
	t->idx[slot(t, p, n)] = ++t->n;
	return x;
}

static int
tally_has(struct tallies *t, const struct buf *k)
{
	return tally_find(t, k->data, k->len) != NULL;
}

/* tallies_sort - sorted (the hash is dropped: positions changed) */
static void
tallies_sort(struct tallies *t, int (*cmp)(const void *, const void *))
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), cmp);
	free(t->idx);
	t->idx = NULL;
	t->cap = 0;
}

static void
tally_time(struct tally *t, int64_t first, int64_t last)
{
	if (first && (t->first == 0 || first < t->first))
		t->first = first;
	if (last && last > t->last)
		t->last = last;
}

static void
tallies_free(struct tallies *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		buf_free(&t->v[i].key);
		buf_free(&t->v[i].note);
	}
	free(t->v);
	free(t->idx);
	memset(t, 0, sizeof(*t));
}

/* by_count - most first (ok + fail + messages + n), then by key */
static int
by_count(const void *x, const void *y)
{
	const struct tally *a = x, *b = y;
	long long ca = a->ok + a->fail + a->msgs + a->n;
	long long cb = b->ok + b->fail + b->msgs + b->n;
	int c;

	if (ca != cb)
		return ca < cb ? 1 : -1;
	c = memcmp(a->key.data ? a->key.data : "", b->key.data ?
	    b->key.data : "", FM_MIN(a->key.len, b->key.len));
	return c ? c : (a->key.len > b->key.len) - (a->key.len < b->key.len);
}

static void
minmax(int64_t *first, int64_t *last, int64_t t0, int64_t t1)
{
	if (t0 && (*first == 0 || t0 < *first))
		*first = t0;
	if (t1 && t1 > *last)
		*last = t1;
}

/* place_note - "CC ASN" of a record, for its address */
static void
place_note(struct tally *t, const struct buf *cc, const struct buf *asn)
{
	if (t->note.len || (cc->len == 0 && asn->len == 0))
		return;
	buf_add(&t->note, cc->data ? cc->data : "", cc->len);
	if (asn->len)
		buf_printf(&t->note, "%sAS%s", cc->len ? " " : "", asn->data);
}

/* fail_group - the failures from one address to one service: key
 * "<ip>\0<service>", note the service */
static struct tally *
fail_group(struct groups *g, const struct buf *ip, const char *p, size_t n,
    struct buf *t)
{
	struct tally *x;
	struct buf k;

	buf_init(&k);
	buf_add(&k, ip->data ? ip->data : "", ip->len);
	buf_addc(&k, '\0');
	if (show_json_get(p, n, "service", t) == 0)
		buf_add(&k, t->data, t->len);
	x = tally_get(&g->fail, k.data, k.len);
	if (x->note.len == 0 && t->len)
		buf_add(&x->note, t->data, t->len);
	buf_free(&k);
	return x;
}

/*
 * login_line - one login record or roll-up.  counting: it adds to the
 * counts (roll-ups when there are any, else records); its times count
 * either way.
 */
static void
login_line(struct incident *in, struct groups *g, const char *p, size_t n,
    int counting)
{
	struct summary *s = &in->s;
	struct buf ip, cc, asn, t;
	struct tally *x;
	int64_t t0, t1;
	long long cnt;
	int ok;

	buf_init(&ip);
	buf_init(&cc);
	buf_init(&asn);
	buf_init(&t);
	ok = show_json_get(p, n, "result", &t) == 0 && strcmp(t.data, "ok") == 0;
	(void)show_json_get(p, n, "ip", &ip);
	(void)show_json_get(p, n, "cc", &cc);
	(void)show_json_get(p, n, "asn", &asn);
	if ((t0 = incident_time(p, n, "time", &t)) != 0)
		t1 = t0;
	else {
		t0 = incident_time(p, n, "first", &t);
		t1 = incident_time(p, n, "last", &t);
	}
	cnt = num(p, n, "attempts", &t, -1);
	if (cnt < 0)
		cnt = num(p, n, "n", &t, -1);
	if (cnt < 0)
		cnt = num(p, n, "count", &t, 1);
	if (!counting)
		cnt = 0;
	if ((t1 && t1 < in->h.since) || (t0 && t0 >= in->h.until))
		goto out;	/* a roll-up of a day only partly in range */
	if (ok) {
		s->ok += cnt;
		minmax(&s->first_ok, &s->last_ok, t0, t1);
	} else {
		s->fail += cnt;
		minmax(&s->first_fail, &s->last_fail, t0, t1);
	}
	if (ip.len == 0 || strcmp(ip.data, "*") != 0) {	/* "*": overflow */
		x = tally_get(&s->ips, ip.data, ip.len);
		*(ok ? &x->ok : &x->fail) += cnt;
		tally_time(x, t0, t1);
		place_note(x, &cc, &asn);
	}
	x = ok ? tally_get(&g->ok, ip.data, ip.len) : fail_group(g, &ip, p, n,
	    &t);
	x->n += cnt;
	tally_time(x, t0, t1);
	if (cc.len) {
		x = tally_get(&s->countries, cc.data, cc.len);
		*(ok ? &x->ok : &x->fail) += cnt;
		tally_time(x, t0, t1);
		if (ok)
			tally_time(tally_get(&g->okcc, cc.data, cc.len), t0, t1);
	}
	if (asn.len) {
		x = tally_get(&s->asns, asn.data, asn.len);
		*(ok ? &x->ok : &x->fail) += cnt;
		tally_time(x, t0, t1);
		if (x->note.len == 0)
			(void)show_json_get(p, n, "asorg", &x->note);
		if (ok)
			tally_time(tally_get(&g->okasn, asn.data, asn.len), t0,
			    t1);
	}
out:
	buf_free(&ip);
	buf_free(&cc);
	buf_free(&asn);
	buf_free(&t);
}

/* domain - the lower-case domain of an address (after its last @) */
static void
domain(struct buf *d, const char *p, size_t n)
{
	const char *at = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '@')
			at = p + i;
	buf_reset(d);
	if (at == NULL)
		return;
	for (at++; at < p + n; at++)
		buf_addc(d, (char)tolower((unsigned char)*at));
}

/* rcpts - the recipients of a message: domains and delivery outcomes */
static void
rcpts(struct summary *s, const struct buf *arr, struct buf *v, struct buf *d)
{
	const char *p = arr->data, *end = arr->data + arr->len, *e;
	size_t n;

	while ((e = incident_array_next(&p, end, &n)) != NULL) {
		if (show_json_get(e, n, "to", v) == 0) {
			domain(d, v->data, v->len);
			tally_get(&s->domains, d->data, d->len)->n++;
		}
		if (show_json_get(e, n, "status", v) == -1 || v->len == 0) {
			buf_reset(v);
			buf_adds(v, "pending");
		}
		tally_get(&s->status, v->data, v->len)->n++;
	}
}

static void
message_line(struct incident *in, const char *p, size_t n)
{
	struct summary *s = &in->s;
	struct buf v, d, e;
	long long nr, size;

	buf_init(&v);
	buf_init(&d);
	buf_init(&e);
	s->messages++;
	nr = num(p, n, "nrcpt", &v, 0);
	s->recipients += nr > 0 ? nr : 0;
	if ((size = num(p, n, "size", &v, 0)) > 0)
		s->bytes += size;
	if (show_json_get(p, n, "inferred", &v) == 0 &&
	    strcmp(v.data, "true") == 0)
		s->inferred++;
	if (show_json_get(p, n, "ip", &v) == 0) {
		struct tally *x = tally_get(&s->ips, v.data, v.len);
		int64_t t = incident_time(p, n, "time", &d);

		x->msgs++;
		tally_time(x, t, t);
	}
	if (show_json_get(p, n, "rcpt", &v) == 0 && v.len && v.data[0] == '[')
		rcpts(s, &v, &d, &e);
	else if (nr > 0)
		tally_get(&s->status, "unknown", 7)->n += nr;
	buf_free(&v);
	buf_free(&d);
	buf_free(&e);
}

/* known_read - successful logins before the range: addresses, places */
static void
known_read(const struct incident *in, struct known *k)
{
	const char *p = in->known.data, *end = p + in->known.len, *l;
	struct buf v;
	size_t n;

	buf_init(&v);
	while ((l = incident_line(&p, end, &n)) != NULL) {
		if (show_json_get(l, n, "result", &v) == -1 ||
		    strcmp(v.data, "ok") != 0)
			continue;
		if (show_json_get(l, n, "ip", &v) == 0 && v.len)
			(void)tally_get(&k->ok_ip, v.data, v.len);
		if (show_json_get(l, n, "cc", &v) == 0 && v.len)
			(void)tally_get(&k->cc, v.data, v.len);
		if (show_json_get(l, n, "asn", &v) == 0 && v.len)
			(void)tally_get(&k->asn, v.data, v.len);
	}
	buf_free(&v);
}

static void
susp_add(struct summary *s, const char *kind, const char *what, size_t wn,
    const struct buf *ip, long long count, int64_t first, int64_t last)
{
	struct susp *e;

	s->ev = xrealloc(s->ev, (s->nev + 1) * sizeof(*s->ev));
	e = &s->ev[s->nev++];
	e->kind = kind;
	buf_init(&e->what);
	buf_init(&e->ip);
	buf_add(&e->what, what ? what : "", wn);
	if (ip)
		buf_add(&e->ip, ip->data ? ip->data : "", ip->len);
	e->count = count;
	e->first = first;
	e->last = last ? last : first;
}

/* new_places - successful logins from what the account had not used */
static void
new_places(struct summary *s, const struct tallies *seen,
    struct tallies *before, struct tallies *out, const char *kind)
{
	struct tally *x;
	size_t i;

	if (before->n == 0)
		return;
	for (i = 0; i < seen->n; i++) {
		if (tally_has(before, &seen->v[i].key))
			continue;
		x = tally_get(out, seen->v[i].key.data, seen->v[i].key.len);
		x->isnew = 1;
		susp_add(s, kind, x->key.data, x->key.len, NULL, 0,
		    seen->v[i].first, seen->v[i].last);
	}
}

static int
by_first(const void *x, const void *y)
{
	const struct susp *a = x, *b = y;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return strcmp(a->kind, b->kind);
}

static void
events_build(struct incident *in, struct groups *g, struct known *k)
{
	struct summary *s = &in->s;
	struct buf v, ip, t;
	int64_t t0, t1;
	long long cnt;
	size_t i;

	buf_init(&v);
	buf_init(&ip);
	buf_init(&t);
	for (i = 0; i < in->nalerts; i++) {
		const char *p = in->alerts[i].data;
		size_t n = in->alerts[i].len;

		(void)show_json_get(p, n, "ip", &ip);
		(void)show_json_get(p, n, "kind", &v);
		tally_get(&s->kinds, v.data, v.len)->n++;
		cnt = num(p, n, "count", &t, 1);
		t0 = incident_time(p, n, "first", &t);
		t1 = incident_time(p, n, "last", &t);
		susp_add(s, "alert", v.data, v.len, &ip, cnt, t0, t1);
	}
	for (i = 0; i < g->fail.n; i++) {
		const struct tally *x = &g->fail.v[i];

		buf_reset(&ip);
		buf_add(&ip, x->key.data, strlen(x->key.data));	/* to \0 */
		if (x->n > 0 || x->first)
			susp_add(s, "failed_login", x->note.data, x->note.len,
			    &ip, x->n, x->first, x->last);
	}
	for (i = 0; in->has_known && i < g->ok.n; i++)
		if (g->ok.v[i].key.len && !tally_has(&k->ok_ip,
		    &g->ok.v[i].key)) {
			tally_get(&s->ips, g->ok.v[i].key.data,
			    g->ok.v[i].key.len)->isnew = 1;
			susp_add(s, "new_address", NULL, 0, &g->ok.v[i].key,
			    g->ok.v[i].n, g->ok.v[i].first, g->ok.v[i].last);
		}
	new_places(s, &g->okcc, &k->cc, &s->countries, "new_country");
	new_places(s, &g->okasn, &k->asn, &s->asns, "new_asn");
	buf_free(&v);
	buf_free(&ip);
	buf_free(&t);
}

/* geo_fallback - countries and ASNs from :geo when no record names them
 * (first and last per place, not counts of the range); a place first seen
 * in the range while the account had another one before is new */
static void
geo_fallback(struct incident *in)
{
	struct summary *s = &in->s;
	struct tally *x;
	size_t i, j;
	int before;

	if (s->countries.n || s->asns.n || in->ngeo == 0)
		return;
	s->geo_fallback = 1;
	for (i = 0; i < in->ngeo; i++) {
		const struct geo_place *g = &in->geo[i];

		if (g->last < in->h.since || g->first >= in->h.until)
			continue;
		x = tally_get(g->kind == 'c' ? &s->countries : &s->asns,
		    g->key.data, g->key.len);
		tally_time(x, g->first, g->last);
		if (g->kind == 'a')
			buf_add(&x->note, g->name.data ? g->name.data : "",
			    g->name.len);
		for (j = 0, before = 0; j < in->ngeo; j++)
			before |= in->geo[j].kind == g->kind &&
			    in->geo[j].first && in->geo[j].first < in->h.since;
		if (before && g->first >= in->h.since) {
			x->isnew = 1;
			susp_add(s, g->kind == 'c' ? "new_country" : "new_asn",
			    g->key.data, g->key.len, NULL, 0, g->first, 0);
		}
	}
}

void
incident_summarize(struct incident *in)
{
	struct groups g;
	struct known k;
	const char *p, *end, *l;
	struct buf ty;
	size_t n;
	int rollups = 0, roll;

	memset(&g, 0, sizeof(g));
	memset(&k, 0, sizeof(k));
	buf_init(&ty);
	end = in->lnd.data + in->lnd.len;
	for (p = in->lnd.data; (l = incident_line(&p, end, &n)) != NULL;)
		rollups |= show_json_get(l, n, "type", &ty) == 0 &&
		    strcmp(ty.data, "login") != 0;
	for (p = in->lnd.data; (l = incident_line(&p, end, &n)) != NULL;) {
		roll = show_json_get(l, n, "type", &ty) == 0 &&
		    strcmp(ty.data, "login") != 0;
		login_line(in, &g, l, n, roll == rollups);
	}
	end = in->mnd.data + in->mnd.len;
	for (p = in->mnd.data; (l = incident_line(&p, end, &n)) != NULL;)
		message_line(in, l, n);
	known_read(in, &k);
	events_build(in, &g, &k);
	geo_fallback(in);
	if (in->s.nev > 1)
		qsort(in->s.ev, in->s.nev, sizeof(*in->s.ev), by_first);
	tallies_sort(&in->s.ips, by_count);
	tallies_sort(&in->s.countries, by_count);
	tallies_sort(&in->s.asns, by_count);
	tallies_sort(&in->s.domains, by_count);
	tallies_sort(&in->s.status, by_count);
	tallies_sort(&in->s.kinds, by_count);
	tallies_free(&g.fail);
	tallies_free(&g.ok);
	tallies_free(&g.okcc);
	tallies_free(&g.okasn);
	tallies_free(&k.ok_ip);
	tallies_free(&k.cc);
	tallies_free(&k.asn);
	buf_free(&ty);
}

/* ---- summary.json ---- */

static void
jstr(struct buf *b, const char *name, const struct buf *v)
{
	buf_printf(b, "\"%s\":\"", name);
	scripts_json_bin(b, v->data ? v->data : "", v->len);
	buf_addc(b, '"');
}

static void
jtime(struct buf *b, const char *name, int64_t us)
{
	char t[32];

	if (us == 0) {
		buf_printf(b, "\"%s\":null", name);
		return;
	}
	time_format(us, t, sizeof(t));
	buf_printf(b, "\"%s\":\"%s\"", name, t);
}

static void
jevent(struct buf *b, const struct susp *e)
{
	buf_printf(b, "{\"kind\":\"%s\",", e->kind);
	jstr(b, "what", &e->what);
	buf_addc(b, ',');
	jstr(b, "ip", &e->ip);
	buf_printf(b, ",\"count\":%lld,", e->count);
	jtime(b, "first", e->first);
	buf_addc(b, ',');
	jtime(b, "last", e->last);
	buf_addc(b, '}');
}

/* jtallies - [{"<key>":..., counts}] of one kind of tally */
static void
jtallies(struct buf *b, const char *name, const char *key,
    const struct tallies *t, int what, int fallback)
{
	size_t i;

	buf_printf(b, ",\n\"%s\":[", name);
	for (i = 0; i < t->n; i++) {
		const struct tally *x = &t->v[i];

		buf_adds(b, i ? ",{" : "{");
		jstr(b, key, &x->key);
		if (what == 'n') {
			buf_printf(b, ",\"count\":%lld}", x->n);
			continue;
		}
		if (fallback)
			buf_adds(b, ",\"ok\":null,\"fail\":null");
		else
			buf_printf(b, ",\"ok\":%lld,\"fail\":%lld", x->ok,
			    x->fail);
		if (what == 'i')
			buf_printf(b, ",\"messages\":%lld", x->msgs);
		if (what != 'c') {
			buf_addc(b, ',');
			jstr(b, what == 'a' ? "name" : "place", &x->note);
		}
		buf_addc(b, ',');
		jtime(b, "first", x->first);
		buf_addc(b, ',');
		jtime(b, "last", x->last);
		buf_printf(b, ",\"new\":%s}", x->isnew ? "true" : "false");
	}
	buf_addc(b, ']');
}

/* last_event - the suspicious event that ended last */
static const struct susp *
last_event(const struct summary *s)
{
	const struct susp *e = NULL;
	size_t i;

	for (i = 0; i < s->nev; i++)
		if (e == NULL || s->ev[i].last >= e->last)
			e = &s->ev[i];
	return e;
}

void
incident_summary_json(struct buf *b, const struct incident *in)
{
	const struct summary *s = &in->s;
	size_t i;

	buf_adds(b, "{");
	jstr(b, "account", &in->h.name);
	buf_addc(b, ',');
	jtime(b, "since", in->h.since);
	buf_addc(b, ',');
	jtime(b, "until", in->h.until);
	buf_printf(b, ",\n\"suspicious\":%s,\"statement\":\"%s\",\n",
	    s->nev ? "true" : "false", s->nev ? "suspicious events were found" :
	    "nothing suspicious was found");
	buf_adds(b, "\"first_suspicious\":");
	if (s->nev)
		jevent(b, &s->ev[0]);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\n\"last_suspicious\":");
	if (s->nev)
		jevent(b, last_event(s));
	else
		buf_adds(b, "null");
	buf_adds(b, ",\n\"suspicious_events\":[");
	for (i = 0; i < s->nev; i++) {
		buf_adds(b, i ? ",\n" : "\n");
		jevent(b, &s->ev[i]);
	}
	buf_printf(b, "],\n\"logins_ok\":%lld,\"failed_attempts\":%lld,", s->ok,
	    s->fail);
	jtime(b, "first_login", s->first_ok);
	buf_addc(b, ',');
	jtime(b, "last_login", s->last_ok);
	buf_addc(b, ',');
	jtime(b, "first_failure", s->first_fail);
	buf_addc(b, ',');
	jtime(b, "last_failure", s->last_fail);
	jtallies(b, "addresses", "ip", &s->ips, 'i', 0);
	jtallies(b, "countries", "cc", &s->countries, 'c', s->geo_fallback);
	jtallies(b, "asns", "asn", &s->asns, 'a', s->geo_fallback);
	buf_printf(b, ",\n\"messages\":%lld,\"recipients\":%lld,\"bytes\":%lld,"
	    "\"inferred_messages\":%lld", s->messages, s->recipients, s->bytes,
	    s->inferred);
	jtallies(b, "recipient_domains", "domain", &s->domains, 'n', 0);
	jtallies(b, "delivery", "status", &s->status, 'n', 0);
	buf_printf(b, ",\n\"alerts\":%zu", in->nalerts);
	jtallies(b, "alert_kinds", "kind", &s->kinds, 'n', 0);
	buf_printf(b, ",\n\"audits\":%zu}\n", in->naudits);
}

/* ---- summary.csv: one table, a row per answer ---- */

static void
csv_time(struct buf *b, int64_t us)
{
	char t[32];

	buf_addc(b, ',');
	if (us) {
		time_format(us, t, sizeof(t));
		buf_adds(b, t);
	}
}

/* csv_row - section,key,detail,ok,fail,messages,count,first,last,new; a
 * negative number is left empty */
static void
csv_row(struct buf *b, const char *section, const struct buf *key,
    const struct buf *detail, const long long *nums, int64_t first,
    int64_t last, int isnew)
{
	size_t i;

	buf_adds(b, section);
	buf_addc(b, ',');
	history_csv_text(b, key->data ? key->data : "", key->len);
	buf_addc(b, ',');
	if (detail)
		history_csv_text(b, detail->data ? detail->data : "",
		    detail->len);
	for (i = 0; i < 4; i++)
		if (nums[i] >= 0)
			buf_printf(b, ",%lld", nums[i]);
		else
			buf_addc(b, ',');
	csv_time(b, first);
	csv_time(b, last);
	buf_adds(b, isnew ? ",true\r\n" : ",\r\n");
}

static void
csv_tallies(struct buf *b, const char *section, const struct tallies *t,
    int fallback)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct tally *x = &t->v[i];
		long long nums[4] = { fallback ? -1 : x->ok,
		    fallback ? -1 : x->fail, x->msgs, x->n };

		if (strcmp(section, "domain") == 0 ||
		    strcmp(section, "delivery") == 0 ||
		    strcmp(section, "alert_kind") == 0)
			nums[0] = nums[1] = nums[2] = -1;
		else
			nums[3] = -1;
		csv_row(b, section, &x->key, &x->note, nums, x->first,
		    x->last, x->isnew);
	}
}

void
incident_summary_csv(struct buf *b, const struct incident *in)
{
	const struct summary *s = &in->s;
	struct buf k, d;
	long long tot[4] = { s->ok, s->fail, s->messages, -1 };
	size_t i;

	buf_init(&k);
	buf_init(&d);
	buf_adds(b, "section,key,detail,ok,fail,messages,count,first,last,"
	    "new\r\n");
	buf_adds(&k, "account");
	csv_row(b, "total", &k, &in->h.name, tot, s->first_ok ? s->first_ok :
	    s->first_fail, FM_MAX(s->last_ok, s->last_fail), 0);
	buf_reset(&k);
	buf_adds(&k, "recipients");
	tot[0] = tot[1] = tot[2] = -1;
	tot[3] = s->recipients;
	csv_row(b, "total", &k, NULL, tot, 0, 0, 0);
	buf_reset(&k);
	buf_adds(&k, "suspicious");
	buf_adds(&d, s->nev ? "suspicious events were found" :
	    "nothing suspicious was found");
	tot[3] = (long long)s->nev;
	csv_row(b, "total", &k, &d, tot, s->nev ? s->ev[0].first : 0, 0, 0);
	for (i = 0; i < s->nev; i++) {
		long long n[4] = { -1, -1, -1, s->ev[i].count };

		buf_reset(&k);
		buf_adds(&k, s->ev[i].kind);
		buf_reset(&d);
		buf_add(&d, s->ev[i].what.data ? s->ev[i].what.data : "",
		    s->ev[i].what.len);
		if (s->ev[i].ip.len) {
			buf_adds(&d, d.len ? " " : "");
			buf_add(&d, s->ev[i].ip.data, s->ev[i].ip.len);
		}
		csv_row(b, "suspicious", &k, &d, n, s->ev[i].first,
		    s->ev[i].last, 0);
	}
	csv_tallies(b, "address", &s->ips, 0);
	csv_tallies(b, "country", &s->countries, s->geo_fallback);
	csv_tallies(b, "asn", &s->asns, s->geo_fallback);
	csv_tallies(b, "domain", &s->domains, 0);
	csv_tallies(b, "delivery", &s->status, 0);
	csv_tallies(b, "alert_kind", &s->kinds, 0);
	buf_free(&k);
	buf_free(&d);
}

void
incident_summary_free(struct summary *s)
{
	size_t i;

	tallies_free(&s->ips);
	tallies_free(&s->countries);
	tallies_free(&s->asns);
	tallies_free(&s->domains);
	tallies_free(&s->status);
	tallies_free(&s->kinds);
	for (i = 0; i < s->nev; i++) {
		buf_free(&s->ev[i].what);
		buf_free(&s->ev[i].ip);
	}
	free(s->ev);
}
