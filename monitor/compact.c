/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * compact.c - archived history days: the pass that folds an account's old
 * day hashes into :h:<day>, the command around it, the daemon's child that
 * runs it, and the readers' way to a day (see compact.h).
 *
 * A pass finds the day hashes by SCAN (every account's ":c:", ":lr:" and
 * ":m:" keys of days up to the one asked), then, per account day, asks the
 * archive script (archive_main.lua) for the day as it stands (the live
 * hashes merged with an archive a late write left beside them, and a token
 * naming that state), writes the entries (archive.lua's raw form, sorted,
 * so the same day always gives the same bytes) through lz_compress, and
 * hands the blob back with the token: the script stores it and drops the
 * hashes only if nothing was written in between, so a pass running beside
 * the daemon (or another pass) never loses a write.  A day written
 * meanwhile is left for the next pass.  Reads and writes are pipelined,
 * PIPE account days at a time.
 *
 * SECURITY: keys come from SCAN of our own prefix and are checked to be an
 * account's day hash before use; fields and values are copied as bytes.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cmd.h"
#include "compact.h"
#include "conf.h"
#include "log.h"
#include "lz.h"
#include "redisd.h"
#include "scripts.h"
#include "store.h"
#include "util.h"
#include "webchild.h"

#define SCAN_COUNT	1000
#define PIPE		64	/* account days read, then written, at once */
#define POLL_MS		500	/* the daemon's waitpid polling */

/* an archived field and its value, pointing into the raw archive */
struct apair {
	const char *f, *v;
	size_t fl, vl;
};

/* one account day: its subject tag ("<prefix>{a:<hex>}") and day */
struct aday {
	char *tag;
	size_t len;
	char day[9];
};

void
compact_through(const struct fumidai *cf, int64_t us, char out[9])
{
	out[0] = '\0';
	if (cf->archive_after_days <= 0 || us <= 0)
		return;
	scripts_day(us - (int64_t)cf->archive_after_days * 86400 * 1000000,
	    out);
}

/* day_key - the account day of key "<prefix>{a:<hex>}:<c|lr|m>:<day>",
 * into *d (0), or -1 when key is something else */
static int
day_key(const char *k, size_t n, size_t plen, struct aday *d)
{
	const char *p = k + plen, *end = k + n, *close;
	size_t i;

	if (n < plen + 16 || memcmp(p, "{a:", 3) != 0 ||
	    (close = memchr(p + 3, '}', (size_t)(end - p - 3))) == NULL)
		return -1;
	for (i = 3; p + i < close; i++)
		if (hex_digit((unsigned char)p[i]) == -1)
			return -1;
	p = close + 1;
	if (end - p == 11 && memcmp(p, ":c:", 3) == 0)
		p += 3;
	else if (end - p == 12 && memcmp(p, ":lr:", 4) == 0)
		p += 4;
	else if (end - p == 11 && memcmp(p, ":m:", 3) == 0)
		p += 3;
	else
		return -1;
	for (i = 0; i < 8; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	d->tag = (char *)k;
	d->len = (size_t)(close + 1 - k);
	memcpy(d->day, p, 8);
	d->day[8] = '\0';
	return 0;
}

static int
aday_cmp(const void *x, const void *y)
{
	const struct aday *a = x, *b = y;
	int c = memcmp(a->tag, b->tag, FM_MIN(a->len, b->len));

	if (c == 0)
		c = (a->len > b->len) - (a->len < b->len);
	return c ? c : strcmp(a->day, b->day);
}

/* find - the distinct account days up to through, sorted; their number,
 * or -1 (err) */
static long
find(redisContext *c, const struct fumidai *cf, const char *through,
    struct aday **out, char *err, size_t errlen)
{
	const char *pfx = cf->redis.prefix ? cf->redis.prefix : "";
	struct buf pat;
	struct aday *v = NULL, d;
	redisReply *r;
	char cursor[32] = "0";
	size_t i, n = 0, cap = 0, k;

	buf_init(&pat);
	store_key_pattern(&pat, cf, "{a:*}:*");
	do {
		redisAppendCommand(c, "SCAN %s MATCH %b COUNT %d", cursor,
		    pat.data, pat.len, SCAN_COUNT);
		if (store_sync_reply(c, &r, err, errlen) != 0 ||
		    r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			if (r != NULL)
				freeReplyObject(r);
			if (err[0] == '\0')
				snprintf(err, errlen, "SCAN: unexpected reply");
			for (i = 0; i < n; i++)
				free(v[i].tag);
			free(v);
			buf_free(&pat);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			const redisReply *e = r->element[1]->element[i];

			if (e->type != REDIS_REPLY_STRING || day_key(e->str,
			    e->len, strlen(pfx), &d) == -1 ||
			    strcmp(d.day, through) > 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n] = d;
			v[n++].tag = xmemdup(d.tag, d.len);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	buf_free(&pat);
	if (n > 1)
		qsort(v, n, sizeof(*v), aday_cmp);
	for (i = k = 0; i < n; i++) {		/* one per account day */
		if (k > 0 && aday_cmp(&v[k - 1], &v[i]) == 0) {
			free(v[i].tag);
			continue;
		}
		v[k++] = v[i];
	}
	*out = v;
	return (long)k;
}

/* day_cmd - append EVALSHA of the archive script on an account day */
static void
day_cmd(redisContext *c, const struct aday *d, int argc, const char **argv,
    const size_t *lens)
{
	static const char *const sfx[] = { ":c:", ":lr:", ":m:", ":h:" };
	const char *av[12];
	size_t al[12];
	struct buf k[4];
	int i;

	av[0] = "EVALSHA";
	av[1] = scripts_archive_sha();
	av[2] = "4";
	for (i = 0; i < 4; i++) {
		buf_init(&k[i]);
		buf_add(&k[i], d->tag, d->len);
		buf_adds(&k[i], sfx[i]);
		buf_adds(&k[i], d->day);
		av[3 + i] = k[i].data;
		al[3 + i] = k[i].len;
	}
	al[0] = 7;
	al[1] = 40;
	al[2] = 1;
	for (i = 0; i < argc; i++) {
		av[7 + i] = argv[i];
		al[7 + i] = lens[i];
	}
	redisAppendCommandArgv(c, 7 + argc, av, al);
	for (i = 0; i < 4; i++)
		buf_free(&k[i]);
}

void
compact_day_cmd(redisContext *c, const struct fumidai *cf, const char *acct,
    size_t len, const char *kind, const char *day)
{
	struct aday d;
	struct buf tag;
	const char *argv[2] = { "raw", strcmp(kind, "lr") == 0 ? "l" : kind };
	size_t lens[2] = { 3, 1 };

	buf_init(&tag);
	scripts_tag_account(&tag, cf, acct, len);
	d.tag = tag.data;
	d.len = tag.len;
	snprintf(d.day, sizeof(d.day), "%s", day);
	day_cmd(c, &d, 2, argv, lens);
	buf_free(&tag);
}

/* get_varint - a LEB128 varint at *p (< end) into *v; -1 when bad */
static int
get_varint(const unsigned char **p, const unsigned char *end, size_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 5 && *p < end; i++) {
		*v |= (size_t)(**p & 0x7f) << (7 * i);
		if (*(*p)++ < 0x80)
			return 0;
	}
	return -1;
}

static redisReply *
str_reply(const char *p, size_t n)
{
	redisReply *r = xcalloc(1, sizeof(*r));

	r->type = REDIS_REPLY_STRING;
	r->str = xmalloc(n + 1);	/* hiredis frees it with free() */
	memcpy(r->str, p, n);
	r->str[n] = '\0';
	r->len = n;
	return r;
}

/* arch_find - the index of field f among the n archived pairs (sorted by
 * field bytes, as the pass writes them), or -1 */
static long
arch_find(const struct apair *a, size_t n, const redisReply *f)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(a[mid].f, f->str, FM_MIN(a[mid].fl, f->len));
		if (c == 0)
			c = (a[mid].fl > f->len) - (a[mid].fl < f->len);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
apair_cmp(const void *x, const void *y)
{
	const struct apair *a = x, *b = y;
	int c = memcmp(a->f, b->f, FM_MIN(a->fl, b->fl));

	return c ? c : (a->fl > b->fl) - (a->fl < b->fl);
}

/* arch_pairs - the entries of kind in raw archive [p, end) into *out (they
 * point into raw), sorted by field; their number, or -1 when damaged */
static long
arch_pairs(const unsigned char *p, const unsigned char *end, char kind,
    struct apair **out)
{
	struct apair *v = NULL;
	size_t n = 0, cap = 0, fl, vl;
	const unsigned char *f;
	int sorted = 1;
	char k;

	while (p < end) {
		k = (char)*p++;
		if (get_varint(&p, end, &fl) == -1 || fl > (size_t)(end - p))
			goto bad;
		f = p;
		p += fl;
		if (get_varint(&p, end, &vl) == -1 || vl > (size_t)(end - p))
			goto bad;
		if (k == kind) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n].f = (const char *)f;
			v[n].fl = fl;
			v[n].v = (const char *)p;
			v[n].vl = vl;
			if (n > 0 && apair_cmp(&v[n - 1], &v[n]) > 0)
				sorted = 0;
			n++;
		}
		p += vl;
	}
	if (!sorted)
		qsort(v, n, sizeof(*v), apair_cmp);
	*out = v;
	return (long)n;
bad:
	free(v);
	return -1;
}

/* merged - the archived pairs a (n of them) with the live hash reply r
 * over them (counters, kind 'c', added), as a new HGETALL-shaped reply */
static redisReply *
merged(const struct apair *a, size_t n, const redisReply *r, char kind)
{
	redisReply *out = xcalloc(1, sizeof(*out));
	const redisReply *lv;
	char *taken = xcalloc(n + 1, 1), num[32];
	size_t i, m = r->elements / 2, k = 0;
	long at;

	out->type = REDIS_REPLY_ARRAY;
	out->element = xcalloc(2 * (n + m) + 1, sizeof(*out->element));
	for (i = 0; i < m; i++) {
		const redisReply *f = r->element[2 * i];

		lv = r->element[2 * i + 1];
		out->element[k++] = str_reply(f->str, f->len);
		if ((at = arch_find(a, n, f)) >= 0 && kind == 'c') {
			/* the archived value is not NUL-terminated */
			snprintf(num, sizeof(num), "%.*s",
			    (int)FM_MIN(a[at].vl, sizeof(num) - 1), a[at].v);
			snprintf(num, sizeof(num), "%lld",
			    strtoll(lv->str, NULL, 10) + strtoll(num, NULL, 10));
			out->element[k++] = str_reply(num, strlen(num));
		} else
			out->element[k++] = str_reply(lv->str, lv->len);
		if (at >= 0)
			taken[at] = 1;
	}
	for (i = 0; i < n; i++)
		if (!taken[i]) {
			out->element[k++] = str_reply(a[i].f, a[i].fl);
			out->element[k++] = str_reply(a[i].v, a[i].vl);
		}
	out->elements = k;
	free(taken);
	return out;
}

void
compact_day_reply(redisReply **rp, const char *kind)
{
	redisReply *r = *rp, *live;
	struct apair *a = NULL;
	struct buf raw;
	char err[128], k = strcmp(kind, "lr") == 0 ? 'l' : kind[0];
	long n = -1;
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_ARRAY ||
	    r->element[1]->elements % 2)
		return;		/* an error reply: the caller's to see */
	live = r->element[1];
	for (i = 0; i < live->elements; i++)
		if (live->element[i]->type != REDIS_REPLY_STRING)
			return;
	buf_init(&raw);
	/* a damaged archive reads as absent, as in the scripts */
	if (r->element[0]->len > 0 && lz_decompress(r->element[0]->str,
	    r->element[0]->len, &raw, err, sizeof(err)) == 0)
		n = arch_pairs((const unsigned char *)raw.data,
		    (const unsigned char *)raw.data + raw.len, k, &a);
	if (n < 0) {
		r->element[1] = NULL;		/* the live hash as it is */
		*rp = live;
	} else
		*rp = merged(a, (size_t)n, live, k);
	freeReplyObject(r);
	free(a);
	buf_free(&raw);
}

static void
put_varint(struct buf *b, size_t v)
{
	while (v >= 128) {
		buf_addc(b, (char)(0x80 | (v & 0x7f)));
		v >>= 7;
	}
	buf_addc(b, (char)v);
}

/* a field and its value in a hash reply */
struct pair {
	const redisReply *f, *v;
};

static int
pair_cmp(const void *x, const void *y)
{
	const redisReply *a = ((const struct pair *)x)->f;
	const redisReply *b = ((const struct pair *)y)->f;
	int c = memcmp(a->str, b->str, FM_MIN(a->len, b->len));

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* entries - append the raw entries of kind from hash reply r (field,
 * value, ...), sorted by field; their number, or -1 for a reply of
 * another shape */
static long
entries(struct buf *raw, char kind, const redisReply *r)
{
	struct pair *p;
	size_t i, n;

	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
		return -1;
	n = r->elements / 2;
	p = xcalloc(n + 1, sizeof(*p));
	for (i = 0; i < n; i++) {
		p[i].f = r->element[2 * i];
		p[i].v = r->element[2 * i + 1];
		if (p[i].f->type != REDIS_REPLY_STRING ||
		    p[i].v->type != REDIS_REPLY_STRING) {
			free(p);
			return -1;
		}
	}
	qsort(p, n, sizeof(*p), pair_cmp);
	for (i = 0; i < n; i++) {
		buf_addc(raw, kind);
		put_varint(raw, p[i].f->len);
		buf_add(raw, p[i].f->str, p[i].f->len);
		put_varint(raw, p[i].v->len);
		buf_add(raw, p[i].v->str, p[i].v->len);
	}
	free(p);
	return (long)n;
}

/* fold - the blob of one "read" reply into blob (*rawlen: its bytes
 * before compression); its field count, 0 when there is nothing to fold
 * (no live hash), -1 when the day cannot be */
static long
fold(const redisReply *r, struct buf *blob, size_t *rawlen,
    struct compact_stats *st)
{
	static const char kinds[] = "clm";
	struct buf raw;
	long n = 0, k;
	int i;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 6 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[4]->type != REDIS_REPLY_INTEGER ||
	    r->element[5]->type != REDIS_REPLY_INTEGER ||
	    r->element[5]->integer != 0) {
		st->bad++;
		return -1;
	}
	if (r->element[4]->integer == 0)
		return 0;
	buf_init(&raw);
	for (i = 0; i < 3; i++) {
		if ((k = entries(&raw, kinds[i], r->element[1 + i])) == -1) {
			buf_free(&raw);
			st->bad++;
			return -1;
		}
		n += k;
	}
	buf_reset(blob);
	if (raw.len > 0)
		lz_compress(raw.data, raw.len, blob);
	*rawlen = raw.len;
	buf_free(&raw);
	return n;
}

/* chunk - read, fold and write back days v[0..n-1]; 0, or -1 (err) */
static int
chunk(redisContext *c, const struct aday *v, size_t n,
    struct compact_stats *st, char *err, size_t errlen)
{
	const char *rd[1] = { "read" }, *wr[3];
	size_t rdl[1] = { 4 }, wrl[3], i, nw = 0;
	redisReply *r, **reads = xcalloc(n, sizeof(*reads));
	struct buf blob;
	long *fields = xcalloc(n, sizeof(*fields));
	size_t *sizes = xcalloc(n, sizeof(*sizes));
	size_t *raws = xcalloc(n, sizeof(*raws)), rawlen = 0;
	int rc = 0, got;

	for (i = 0; i < n; i++)
		day_cmd(c, &v[i], 1, rd, rdl);
	for (i = 0; i < n && rc == 0; i++)
		if ((got = store_sync_reply(c, &reads[i], err, errlen)) == -1)
			rc = -1;
		else if (got == 1)
			st->bad++;
	buf_init(&blob);
	for (i = 0; i < n && rc == 0; i++) {
		if (reads[i]->type == REDIS_REPLY_ERROR ||
		    (fields[i] = fold(reads[i], &blob, &rawlen, st)) <= 0)
			continue;
		wr[0] = "write";
		wr[1] = reads[i]->element[0]->str;
		wr[2] = blob.data ? blob.data : "";
		wrl[0] = 5;
		wrl[1] = reads[i]->element[0]->len;
		wrl[2] = blob.len;
		day_cmd(c, &v[i], 3, wr, wrl);
		sizes[nw] = blob.len;
		raws[nw] = rawlen;
		fields[nw++] = fields[i];
	}
	buf_free(&blob);
	for (i = 0; i < nw && rc == 0; i++) {
		if ((got = store_sync_reply(c, &r, err, errlen)) == -1) {
			rc = -1;
			break;
		}
		if (got == 0 && r->type == REDIS_REPLY_INTEGER &&
		    r->integer == 1) {
			st->days++;
			st->fields += (uint64_t)fields[i];
			st->stored += sizes[i];
			st->raw += raws[i];
		} else if (got == 0)
			st->changed++;
		else
			st->bad++;
		freeReplyObject(r);
	}
	for (i = 0; i < n; i++)
		if (reads[i] != NULL)
			freeReplyObject(reads[i]);
	free(reads);
	free(fields);
	free(sizes);
	free(raws);
	return rc;
}

int
compact_pass(redisContext *c, const struct fumidai *cf, const char *through,
    struct compact_stats *st, char *err, size_t errlen)
{
	struct aday *v = NULL;
	long n, i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	if ((n = find(c, cf, through, &v, err, errlen)) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i += PIPE)
		rc = chunk(c, v + i, (size_t)FM_MIN(PIPE, n - i), st, err,
		    errlen);
	for (i = 0; i < n; i++)
		free(v[i].tag);
	free(v);
	return rc;
}

/* ---- the daemon's child ---- */

struct compactor {
	const struct fumidai *cf;
	struct event *ev;		/* waitpid polling */
	pid_t pid;			/* running child, 0: none */
	char done[9];			/* newest day a child was started for */
	char want[9];			/* newest day to archive */
	int again;			/* batches applied during the pass of
					 * done: one more pass of it (once) */
	int agained;			/* that second pass ran */
};

static void
compactor_start(struct compactor *cm)
{
	struct timeval tv = { POLL_MS / 1000, (POLL_MS % 1000) * 1000 };
	const char *argv[8];
	int n = 0;

	argv[n++] = "fumidai";
	argv[n++] = "compact";
	if (cm->cf->config_file != NULL) {
		argv[n++] = "-c";
		argv[n++] = cm->cf->config_file;
	}
	argv[n++] = "--through";
	argv[n++] = cm->want;
	argv[n++] = "-q";
	argv[n] = NULL;
	if ((cm->pid = webchild_spawn(argv)) == -1) {
		log_warn("service=compact msg=\"cannot start the archive pass\"");
		cm->pid = 0;
		return;
	}
	if (strcmp(cm->want, cm->done) != 0)	/* a new day */
		cm->again = cm->agained = 0;
	memcpy(cm->done, cm->want, sizeof(cm->done));
	evtimer_add(cm->ev, &tv);
}

static void
compactor_cb(evutil_socket_t fd, short what, void *arg)
{
	struct compactor *cm = arg;
	struct timeval tv = { POLL_MS / 1000, (POLL_MS % 1000) * 1000 };
	pid_t r;
	int st;

	(void)fd;
	(void)what;
	while ((r = waitpid(cm->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == 0) {
		evtimer_add(cm->ev, &tv);
		return;
	}
	if (r == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		log_warnx("service=compact pid=%ld status=%d msg=\"archive pass "
		    "failed; the next day's pass tries again\"", (long)cm->pid,
		    r == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) :
		    -WTERMSIG(st));
	cm->pid = 0;
	if (strcmp(cm->want, cm->done) > 0)
		compactor_start(cm);
	else if (cm->again && !cm->agained) {
		/* what landed on the day while it was being archived (a
		 * delivery past midnight) is folded now, not a day later */
		cm->agained = 1;
		compactor_start(cm);
	}
}

struct compactor *
compactor_new(struct event_base *base, const struct fumidai *cf)
{
	struct compactor *cm;

	if (cf->archive_after_days <= 0)
		return NULL;
	cm = xcalloc(1, sizeof(*cm));
	cm->cf = cf;
	if ((cm->ev = evtimer_new(base, compactor_cb, cm)) == NULL)
		fatalx("evtimer_new");
	return cm;
}

void
compactor_tick(struct compactor *cm, int64_t us)
{
	char through[9];

	if (cm == NULL)
		return;
	compact_through(cm->cf, us, through);
	if (cm->pid != 0 && strcmp(through, cm->done) == 0)
		cm->again = 1;
	if (through[0] == '\0' || strcmp(through, cm->want) <= 0)
		return;
	memcpy(cm->want, through, sizeof(cm->want));
	if (cm->pid == 0)
		compactor_start(cm);
}

void
compactor_free(struct compactor *cm, int stop)
{
	if (cm == NULL)
		return;
	if (cm->pid != 0)
		(void)webchild_reap(cm->pid, stop ? 5000 : 0);
	event_free(cm->ev);
	free(cm);
}

/* ---- fumidai compact ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai compact [-c FILE] [--through YYYYMMDD] "
	    "[-q]\n");
}

int
cmd_compact(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "through", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL, *arg = NULL;
	struct compact_stats st;
	struct fumidai *cf;
	struct redisd *rd;
	redisContext *c;
	char through[9], err[512], line[256];
	int64_t t0;
	int ch, quiet = 0, rc = 0;
	size_t i;

	while ((ch = getopt_long(argc, argv, "c:t:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': arg = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc || (arg != NULL && strlen(arg) != 8)) {
		usage();
		return 2;
	}
	for (i = 0; arg != NULL && i < 8; i++)
		if (arg[i] < '0' || arg[i] > '9') {
			fprintf(stderr, "fumidai: compact: --through %s: not "
			    "YYYYMMDD\n", arg);
			return 2;
		}
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	if (arg != NULL)
		snprintf(through, sizeof(through), "%s", arg);
	else
		compact_through(cf, now_us(), through);
	if (through[0] == '\0') {
		if (!quiet)
			printf("compact: archive_after_days is 0: nothing to do\n");
		conf_free(cf);
		return 0;
	}
	rd = cmd_redis_up(cf);
	t0 = mono_us();
	if ((c = store_connect_sync(cf, err, sizeof(err))) == NULL ||
	    compact_pass(c, cf, through, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: compact: %s\n", err);
		rc = 1;
	} else {
		snprintf(line, sizeof(line), "through=%s days=%llu fields=%llu "
		    "raw_bytes=%llu stored_bytes=%llu left=%llu bad=%llu "
		    "seconds=%.2f", through, (unsigned long long)st.days,
		    (unsigned long long)st.fields, (unsigned long long)st.raw,
		    (unsigned long long)st.stored,
		    (unsigned long long)st.changed, (unsigned long long)st.bad,
		    (double)(mono_us() - t0) / 1e6);
		if (quiet)
			log_info("service=compact %s", line);
		else
			printf("compact: %s\n", line);
		rc = st.bad ? 1 : 0;
	}
	if (c)
		redisFree(c);
	redisd_stop(rd);
	conf_free(cf);
	return rc;
}
