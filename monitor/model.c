/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * model.c - what a batch writes to Redis: events aggregated per subject
 * into the operations of the apply script (see scripts.c), then one
 * EVALSHA per subject in RESP form.
 *
 * Per batch, every subject (account, address, the global one) gets one
 * command.  Counters of one key are summed, set and HyperLogLog members
 * deduplicated, records kept in log order.  An account's logins are
 * rolled up per day, result, address and service (one entry per batch
 * with its count, first and last time, in the stored form of history.lua;
 * the script merges it into the day's hash); every line about one of its messages (submission,
 * Message-ID, Subject, qmgr, deliveries) becomes a JSON patch of that
 * message's record, all patches of a batch in one operation.  The global
 * subject gets the day's top accounts and addresses and the countries and
 * ASNs of logins; a GeoIP lookup is made once per address per batch.
 * Tables are reused from batch to batch: nothing is allocated per event
 * once they have grown.
 *
 * SECURITY: event text is attacker-controlled.  It is never interpreted:
 * account names are hex-encoded into keys, record text is JSON-escaped
 * (bytes of invalid UTF-8 become \u00XX so every record is valid JSON),
 * and everything else travels as binary-safe arguments.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "mime.h"
#include "log.h"
#include "model.h"
#include "scripts.h"
#include "sessions.h"

#include "model_int.h"

static void model_geo_open(struct model *md);
static uint32_t sref_text(struct model *md, const void *p, size_t n);
static uint32_t *map_get(struct model *md, uint32_t val_if_new,
    int *found);
static uint32_t subject(struct model *md, char type, const void *id,
    size_t n);
static uint32_t group(struct model *md, uint32_t s, char op,
    const char *suffix, size_t n);
static uint32_t item_new(struct model *md, uint32_t g);
static void count(struct model *md, uint32_t s, const struct tb *t,
    const char *name, size_t nlen, int64_t v, int hour);
static void member(struct model *md, uint32_t s, char op,
    const char *suffix, const char *m, size_t n);
static void raw(struct model *md, uint32_t s, const void *p, size_t n);
static void rawi(struct model *md, uint32_t s, int64_t v);
static void bucket(struct model *md, int64_t us, struct tb *t);
static void on_event(struct model *md, const struct fm_event *ev,
    int64_t fallback);

/* ---- command lists ---- */

void
model_cmds_init(struct model_cmds *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->data);
}

void
model_cmds_add(struct model_cmds *c, const void *p, size_t n)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->len = xrealloc(c->len, c->cap * sizeof(*c->len));
	}
	buf_add(&c->data, p, n);
	c->len[c->n++] = (uint32_t)n;
}

void
model_cmds_reset(struct model_cmds *c)
{
	buf_reset(&c->data);
	c->n = 0;
}

void
model_cmds_free(struct model_cmds *c)
{
	buf_free(&c->data);
	free(c->len);
	memset(c, 0, sizeof(*c));
}
/* ---- the builder's tables ---- */

struct model *
model_new(const struct fumidai *cf)
{
	struct model *md = xcalloc(1, sizeof(*md));
	long long ttl = (long long)(cf->retention_days > 0 ?
	    cf->retention_days : 1) * 86400;

	md->cf = cf;
	buf_init(&md->text);
	buf_init(&md->keys);
	buf_init(&md->kb);
	buf_init(&md->scratch);
	buf_init(&md->dcfg);
	md->day_start = INT64_MIN;
	snprintf(md->ttl, sizeof(md->ttl), "%lld", ttl);
	/* addresses and networks are for detectors and investigations of
	 * recent attacks, not the accounts' history: they need not last as
	 * long (a phone's rotating IPv6 addresses would otherwise cost more
	 * than the history itself) */
	snprintf(md->attl, sizeof(md->attl), "%lld",
	    FM_MIN(ttl, (long long)FM_MAX(cf->addr_retention_days, 1) * 86400));
	snprintf(md->hmax, sizeof(md->hmax), "%d",
	    cf->history_max > 0 ? cf->history_max : 1);
	snprintf(md->qttl, sizeof(md->qttl), "%lld",
	    ttl < SCRIPTS_QID_TTL ? ttl : (long long)SCRIPTS_QID_TTL);
	snprintf(md->cap, sizeof(md->cap), "%d", SCRIPTS_SET_CAP);
	snprintf(md->rucap, sizeof(md->rucap), "%d", SCRIPTS_ROLLUP_CAP);
	snprintf(md->topcap, sizeof(md->topcap), "%d", SCRIPTS_TOP_CAP);
	model_geo_open(md);
	md->ss = sessions_new(cf);
	model_det_cfg(md, md->g != NULL);
	return md;
}

/* model_geo_open - the configured GeoIP databases (places in the history
 * and the global geography; the detectors' when they are on); without
 * them the geography detectors are off (said once), everything else runs */
static void
model_geo_open(struct model *md)
{
	const struct fumidai *cf = md->cf;
	const char *env = getenv("FUMIDAI_GEO_ALLOW_LOOPBACK");
	char err[512];
	struct buf b;

	if ((cf->geoip_city == NULL || *cf->geoip_city == '\0') &&
	    (cf->geoip_asn == NULL || *cf->geoip_asn == '\0')) {
		if (cf->detect.enabled)
			log_info("msg=\"no GeoIP database configured: "
			    "geography detectors are off\"");
		return;
	}
	md->g = geo_open(cf->geoip_city, cf->geoip_asn, NULL, err, sizeof(err));
	if (md->g == NULL) {
		log_warnx("msg=\"GeoIP database unusable: geography detectors "
		    "are off\" error=\"%s\"", err);
		return;
	}
	if (env != NULL && strcmp(env, "1") == 0)
		geo_set_allow_loopback(md->g, 1);
	buf_init(&b);
	geo_describe(md->g, &b);
	log_info("msg=\"GeoIP databases open\" %s", b.data ? b.data : "");
	buf_free(&b);
	md->geo_checked = mono_us();
}

void
model_free(struct model *md)
{
	if (md == NULL)
		return;
	buf_free(&md->text);
	buf_free(&md->keys);
	buf_free(&md->kb);
	buf_free(&md->scratch);
	geo_free(md->g);
	sessions_free(md->ss);
	buf_free(&md->dcfg);
	free(md->det);
	free(md->geo);
	free(md->roll);
	free(md->slot);
	free(md->subj);
	free(md->grp);
	free(md->item);
	free(md);
}

static void
fmt_reset(struct model *md)
{
	buf_reset(&md->text);
	buf_reset(&md->keys);
	if (md->nused)
		memset(md->slot, 0, md->nslot * sizeof(*md->slot));
	md->nused = 0;
	md->nsubj = md->ngrp = md->nitem = 0;
	md->ndet = md->ngeo = md->nroll = 0;
	md->global = NIL;
	md->evg = NIL;
	memset(md->evtot, 0xff, sizeof(md->evtot));
}

static uint32_t
sref_text(struct model *md, const void *p, size_t n)
{
	uint32_t off = (uint32_t)md->text.len;

	buf_add(&md->text, p, n);
	return off;
}

static struct sref
sref_of(struct model *md, const void *p, size_t n)
{
	struct sref r;

	r.off = sref_text(md, p, n);
	r.len = (uint32_t)n;
	return r;
}

static void
map_grow(struct model *md)
{
	struct slot *old = md->slot;
	size_t i, j, n = md->nslot;

	md->nslot = n ? 2 * n : 1024;
	md->slot = xcalloc(md->nslot, sizeof(*md->slot));
	for (i = 0; i < n; i++) {
		if (old[i].h == 0)
			continue;
		for (j = old[i].h & (md->nslot - 1); md->slot[j].h != 0;
		    j = (j + 1) & (md->nslot - 1))
			;
		md->slot[j] = old[i];
	}
	free(old);
}

/* khash - a fast hash of the map's keys, 8 bytes at a time (never 0) */
static uint64_t
khash(const unsigned char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h | 1;
}

/* map_get - the value of the key in md->kb, inserted as val_if_new when
 * absent; the pointer is valid until the next call */
static uint32_t *
map_get(struct model *md, uint32_t val_if_new, int *found)
{
	uint64_t h = khash((const unsigned char *)md->kb.data, md->kb.len);
	struct slot *sl;
	size_t j;

	if (2 * (md->nused + 1) > md->nslot)
		map_grow(md);
	for (j = h & (md->nslot - 1);; j = (j + 1) & (md->nslot - 1)) {
		sl = &md->slot[j];
		if (sl->h == 0)
			break;
		if (sl->h == h && sl->klen == md->kb.len &&
		    memcmp(md->keys.data + sl->koff, md->kb.data, md->kb.len) == 0) {
			*found = 1;
			return &sl->val;
		}
	}
	sl->h = h;
	sl->koff = (uint32_t)md->keys.len;
	sl->klen = (uint32_t)md->kb.len;
	sl->val = val_if_new;
	buf_add(&md->keys, md->kb.data, md->kb.len);
	md->nused++;
	*found = 0;
	return &sl->val;
}

static void
key_start(struct model *md, char type, uint32_t idx)
{
	buf_reset(&md->kb);
	buf_addc(&md->kb, type);
	buf_add(&md->kb, &idx, sizeof(idx));
}

/* subject - the subject of type 'a' (account), 'i' (address), 'g' */
static uint32_t
subject(struct model *md, char type, const void *id, size_t n)
{
	struct subj *s;
	uint32_t idx;
	int found;

	key_start(md, 's', 0);
	buf_addc(&md->kb, type);
	buf_add(&md->kb, id, n);
	idx = *map_get(md, (uint32_t)md->nsubj, &found);
	if (found)
		return idx;
	if (md->nsubj == md->subjcap) {
		md->subjcap = md->subjcap ? 2 * md->subjcap : 256;
		md->subj = xrealloc(md->subj, md->subjcap * sizeof(*md->subj));
	}
	s = &md->subj[md->nsubj++];
	memset(s, 0, sizeof(*s));
	s->head = s->tail = s->raw = s->cday = s->totals = NIL;
	s->dhead = s->dtail = NIL;
	s->type = type;
	buf_reset(&md->scratch);
	if (type == 'a')
		scripts_tag_account(&md->scratch, md->cf, id, n);
	else if (type == 'i')
		scripts_tag_ip(&md->scratch, md->cf, ((const uint8_t *)id)[0],
		    (const uint8_t *)id + 1);
	else if (type == 'n')
		scripts_tag_net(&md->scratch, md->cf, ((const uint8_t *)id)[0],
		    (const uint8_t *)id + 1, ((const uint8_t *)id)[17]);
	else
		scripts_tag_global(&md->scratch, md->cf);
	s->tag = sref_of(md, md->scratch.data, md->scratch.len);
	return idx;
}

static uint32_t
group_new(struct model *md, uint32_t s, char op, const char *suffix,
    size_t n)
{
	struct group *g;
	struct subj *sj = &md->subj[s];
	uint32_t idx = (uint32_t)md->ngrp;

	if (md->ngrp == md->grpcap) {
		md->grpcap = md->grpcap ? 2 * md->grpcap : 256;
		md->grp = xrealloc(md->grp, md->grpcap * sizeof(*md->grp));
	}
	g = &md->grp[md->ngrp++];
	g->op = op;
	g->suffix = sref_of(md, suffix, n);
	g->field.off = g->field.len = 0;
	g->day[0] = '\0';
	g->head = g->tail = NIL;
	g->n = 0;
	g->next = NIL;
	if (sj->tail == NIL)
		sj->head = idx;
	else
		md->grp[sj->tail].next = idx;
	sj->tail = idx;
	return idx;
}

/* group - the subject's group of operation op on key suffix */
static uint32_t
group(struct model *md, uint32_t s, char op, const char *suffix, size_t n)
{
	uint32_t idx;
	int found;

	key_start(md, 'g', s);
	buf_addc(&md->kb, op);
	buf_add(&md->kb, suffix, n);
	idx = *map_get(md, (uint32_t)md->ngrp, &found);
	if (!found)
		group_new(md, s, op, suffix, n);
	return idx;
}

static uint32_t
item_new(struct model *md, uint32_t g)
{
	struct item *it;
	struct group *gp = &md->grp[g];
	uint32_t idx = (uint32_t)md->nitem;

	if (md->nitem == md->itemcap) {
		md->itemcap = md->itemcap ? 2 * md->itemcap : 1024;
		md->item = xrealloc(md->item, md->itemcap * sizeof(*md->item));
	}
	it = &md->item[md->nitem++];
	memset(it, 0, sizeof(*it));
	it->next = NIL;
	if (gp->tail == NIL)
		gp->head = idx;
	else
		md->item[gp->tail].next = idx;
	gp->tail = idx;
	gp->n++;
	return idx;
}

/* field - the item named p in group g, created empty when new */
static uint32_t
field(struct model *md, uint32_t g, const char *p, size_t n, int *isnew)
{
	uint32_t idx;
	int found;

	key_start(md, 'f', g);
	buf_add(&md->kb, p, n);
	idx = *map_get(md, (uint32_t)md->nitem, &found);
	*isnew = !found;
	if (!found) {
		item_new(md, g);
		md->item[idx].s = sref_of(md, p, n);
	}
	return idx;
}

static void
incr(struct model *md, uint32_t g, const char *name, size_t n, int64_t v)
{
	uint32_t it;
	int isnew;

	it = field(md, g, name, n, &isnew);
	md->item[it].val += v;
}

/* cday - the subject's ":c:<day>" group of t's day */
static uint32_t
cday(struct model *md, uint32_t s, const struct tb *t)
{
	struct subj *sj = &md->subj[s];
	char suffix[16];
	uint32_t g;

	if (sj->cday == NIL || sj->cday_start != t->day_start) {
		memcpy(suffix, ":c:", 3);
		memcpy(suffix + 3, t->day, 8);
		g = group(md, s, 'I', suffix, 11);
		sj = &md->subj[s];
		sj->cday = g;
		sj->cday_start = t->day_start;
	}
	return sj->cday;
}

/* count - add v to counter name of the subject's day bucket (and hour) */
static void
count(struct model *md, uint32_t s, const struct tb *t, const char *name,
    size_t nlen, int64_t v, int hour)
{
	char hf[80];
	uint32_t g = cday(md, s, t);

	incr(md, g, name, nlen, v);
	if (hour && nlen + 4 <= sizeof(hf)) {
		memcpy(hf, name, nlen);
		hf[nlen] = ':';
		memcpy(hf + nlen + 1, t->hh, 2);
		incr(md, g, hf, nlen + 3, v);
	}
}

static uint32_t
totals(struct model *md, uint32_t s)
{
	if (md->subj[s].totals == NIL)
		md->subj[s].totals = group(md, s, 'K', ":totals", 7);
	return md->subj[s].totals;
}

static void
total(struct model *md, uint32_t s, const char *name, int64_t v)
{
	incr(md, totals(md, s), name, strlen(name), v);
}

/* ev_count - count an event of kind k (name "ev.<kind>", n bytes) in the
 * global day, hour and totals, through per-kind caches of their items */
static void
ev_count(struct model *md, const struct tb *t, int k, const char *name,
    size_t n)
{
	uint32_t g = cday(md, md->global, t);
	char hf[40];
	int isnew;

	if (g != md->evg) {
		memset(md->evday, 0xff, sizeof(md->evday));
		md->evg = g;
		md->evhh[0] = '\0';
	}
	if (memcmp(md->evhh, t->hh, 2) != 0) {
		memset(md->evhour, 0xff, sizeof(md->evhour));
		memcpy(md->evhh, t->hh, 2);
	}
	if (md->evday[k] == NIL)
		md->evday[k] = field(md, g, name, n, &isnew);
	md->item[md->evday[k]].val++;
	if (md->evhour[k] == NIL) {
		memcpy(hf, name, n);
		hf[n] = ':';
		memcpy(hf + n + 1, t->hh, 2);
		md->evhour[k] = field(md, g, hf, n + 3, &isnew);
	}
	md->item[md->evhour[k]].val++;
	if (md->evtot[k] == NIL)
		md->evtot[k] = field(md, totals(md, md->global), name, n,
		    &isnew);
	md->item[md->evtot[k]].val++;
}

/* member - add m to the set / HyperLogLog op at suffix, once per batch */
static void
member(struct model *md, uint32_t s, char op, const char *suffix,
    const char *m, size_t n)
{
	int isnew;

	field(md, group(md, s, op, suffix, strlen(suffix)), m, n, &isnew);
}

static void
raw(struct model *md, uint32_t s, const void *p, size_t n)
{
	struct subj *sj = &md->subj[s];
	uint32_t it;

	if (sj->raw == NIL)
		sj->raw = group_new(md, s, 0, "", 0);
	it = item_new(md, md->subj[s].raw);
	md->item[it].s = sref_of(md, p, n);
}

size_t
model_num(char *out, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	return n;
}

static void
raws(struct model *md, uint32_t s, const char *str)
{
	raw(md, s, str, strlen(str));
}

static void
rawi(struct model *md, uint32_t s, int64_t v)
{
	char d[24];

	raw(md, s, d, model_num(d, v));
}

static void
bucket(struct model *md, int64_t us, struct tb *t)
{
	int64_t sec = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
	int64_t day = (sec >= 0 ? sec : sec - 86399) / 86400 * 86400;
	int h;

	if (day != md->day_start) {
		scripts_day(us, md->day);
		md->day_start = day;
	}
	t->us = us;
	t->day_start = day;
	memcpy(t->day, md->day, sizeof(t->day));
	h = (int)((sec - day) / 3600);
	t->hh[0] = (char)('0' + h / 10);
	t->hh[1] = (char)('0' + h % 10);
	t->hh[2] = '\0';
}

static void
jfield(struct buf *b, const char *name, struct fm_str v)
{
	buf_add(b, ",\"", 2);
	buf_adds(b, name);
	buf_add(b, "\":\"", 3);
	scripts_json_bin(b, v.p, v.len);
	buf_addc(b, '"');
}

/* ---- events -> operations ---- */

/* daysuffix - ":<name>:<day>" into out (>= strlen(name) + 11 bytes) */
static void
daysuffix(char *out, const char *name, const struct tb *t)
{
	size_t n = strlen(name);

	out[0] = ':';
	memcpy(out + 1, name, n);
	out[n + 1] = ':';
	memcpy(out + n + 2, t->day, 9);
}

/* qsuffix - ":q:<len(host)>:<host>:<qid>", unambiguous for any bytes */
static void
qsuffix(struct buf *b, const struct fm_event *ev)
{
	buf_reset(b);
	buf_add(b, ":q:", 3);
	buf_addu(b, ev->host.len);
	buf_addc(b, ':');
	buf_add(b, ev->host.p, ev->host.len);
	buf_addc(b, ':');
	buf_add(b, ev->queue_id.p, ev->queue_id.len);
}

static uint32_t
account(struct model *md, const struct fm_event *ev)
{
	return subject(md, 'a', ev->account.p, ev->account.len);
}

static void
keep_last(struct subj *sj, const struct fm_event *ev, int ok)
{
	const struct fm_event **l = ok ? &sj->last_ok : &sj->last_fail;

	if (*l == NULL || ev->time >= (*l)->time)
		*l = ev;
}

/* ---- detector events ---- */

/* det_add - queue ev for subject s's detectors, in log order; repeated
 * failures of one second merge for the global subject (it only counts) */
static uint32_t
det_add(struct model *md, uint32_t s, const struct fm_event *ev, char kind,
    const struct tb *t, int64_t n)
{
	struct subj *sj = &md->subj[s];
	int64_t sec = t->us >= 0 ? t->us / 1000000 : (t->us - 999999) / 1000000;
	struct det *d;
	uint32_t idx;

	if (sj->type == 'g' && sj->dtail != NIL && md->det[sj->dtail].t == sec) {
		md->det[sj->dtail].n += n;
		return sj->dtail;
	}
	if (md->ndet == md->detcap) {
		md->detcap = md->detcap ? 2 * md->detcap : 256;
		md->det = xrealloc(md->det, md->detcap * sizeof(*md->det));
	}
	idx = (uint32_t)md->ndet++;
	d = &md->det[idx];
	d->ev = ev;
	d->t = sec;
	d->n = n;
	d->geo = NIL;
	d->qn = 0;
	d->next = NIL;
	d->kind = kind;
	if (sj->dtail == NIL)
		sj->dhead = idx;
	else
		md->det[sj->dtail].next = idx;
	sj->dtail = idx;
	return idx;
}

/* geo_of - where ev's address is, when a database knows (NIL: nowhere);
 * looked up once per address per batch */
static uint32_t
geo_of(struct model *md, const struct fm_event *ev)
{
	struct geo_result *r;
	uint32_t *v;
	int found;

	if (md->g == NULL || ev->af == 0)
		return NIL;
	key_start(md, 'G', 0);
	buf_addc(&md->kb, (char)ev->af);
	buf_add(&md->kb, ev->addr, sizeof(ev->addr));
	v = map_get(md, NIL, &found);
	if (found)
		return *v;
	if (md->ngeo == md->geocap) {
		md->geocap = md->geocap ? 2 * md->geocap : 64;
		md->geo = xrealloc(md->geo, md->geocap * sizeof(*md->geo));
	}
	r = &md->geo[md->ngeo];
	if (geo_lookup(md->g, ev->af, ev->addr, r) == 0)
		return NIL;	/* (*v stays NIL: nowhere, for the batch) */
	*v = (uint32_t)md->ngeo;
	return (uint32_t)md->ngeo++;
}

/* net_subject - the /prefix4 (/prefix6) network of ev's address, or NIL */
static uint32_t
net_subject(struct model *md, const struct fm_event *ev)
{
	uint8_t id[18];
	int plen = ev->af == 4 ? md->cf->detect.sp_prefix4 :
	    md->cf->detect.sp_prefix6;
	int i, bits = ev->af == 4 ? 32 : 128;

	if (plen <= 0 || plen >= bits)
		return NIL;
	memset(id, 0, sizeof(id));
	id[0] = ev->af;
	for (i = 0; i < plen / 8; i++)
		id[1 + i] = ev->addr[i];
	if (plen % 8)
		id[1 + i] = (uint8_t)(ev->addr[i] & (0xff00 >> (plen % 8)));
	id[17] = (uint8_t)plen;
	return subject(md, 'n', id, sizeof(id));
}

/* login_detect - a login attempt for the detectors of every subject */
static void
login_detect(struct model *md, const struct fm_event *ev, struct tb *t,
    int ok, int64_t n)
{
	uint32_t s, d;

	if (!ok)
		det_add(md, md->global, ev, 'f', t, n);
	if (ev->account.len == 0)
		return;
	d = det_add(md, account(md, ev), ev, ok ? 'o' : 'f', t, n);
	if (ok)
		md->det[d].geo = geo_of(md, ev);
	if (ev->af == 0)
		return;
	det_add(md, subject(md, 'i', &ev->af, 1 + sizeof(ev->addr)), ev,
	    ok ? 'o' : 'f', t, n);
	if ((s = net_subject(md, ev)) != NIL)
		det_add(md, s, ev, ok ? 'o' : 'f', t, n);
}

/* login_record - an attempt's :logins record in its stored form (doc/redis.md
 * "Recent attempts"): slots separated by \37, the trailing empty ones left
 * out: time (Unix us), ip, service, result (o / f), mech, host, reason,
 * attempts (when not 1).  Text slots hold the JSON string contents, so no
 * slot holds a byte below 0x20; history_expand_logins gives the JSON back */
static void
login_record(struct buf *b, const struct fm_event *ev, struct tb *t,
    const char *ip, int ok, int64_t n)
{
	const struct fm_str *v[3] = { &ev->mech, &ev->host, &ev->reason };
	int i, gap = 0;

	buf_reset(b);
	buf_addi(b, t->us);
	buf_addc(b, '\37');
	buf_adds(b, ip);
	buf_addc(b, '\37');
	scripts_json_bin(b, ev->service.p, ev->service.len);
	buf_add(b, ok ? "\37o" : "\37f", 2);
	for (i = 0; i < 4; i++) {
		if (i < 3 ? v[i]->len == 0 : n == 1) {
			gap++;		/* written only when a slot follows */
			continue;
		}
		for (; gap >= 0; gap--)
			buf_addc(b, '\37');
		gap = 0;
		if (i < 3)
			scripts_json_bin(b, v[i]->p, v[i]->len);
		else
			buf_addi(b, n);
	}
}

/* rollup - the login in the batch's roll-up of its day, result, address
 * and service (the U operation on ":lr:<day>") */
static void
rollup(struct model *md, uint32_t s, const struct fm_event *ev,
    const struct tb *t, const char *ip, int ok, int64_t n)
{
	struct buf *b = &md->scratch;
	struct roll *ru;
	char suffix[16];
	uint32_t g, it;
	int isnew;

	daysuffix(suffix, "lr", t);
	g = group(md, s, 'U', suffix, strlen(suffix));
	buf_reset(b);
	buf_adds(b, ok ? "ok|" : "fail|");
	buf_adds(b, ip);
	buf_addc(b, '|');
	buf_add(b, ev->service.p, ev->service.len);
	it = field(md, g, b->data, b->len, &isnew);
	if (isnew) {
		if (md->nroll == md->rollcap) {
			md->rollcap = md->rollcap ? 2 * md->rollcap : 64;
			md->roll = xrealloc(md->roll, md->rollcap *
			    sizeof(*md->roll));
		}
		ru = &md->roll[md->nroll];
		memset(ru, 0, sizeof(*ru));
		ru->first = ru->last = t->us;
		md->item[it].val = (int64_t)md->nroll++;
	}
	ru = &md->roll[md->item[it].val];
	ru->n += n;
	if (t->us < ru->first)
		ru->first = t->us;
	if (ru->ev == NULL || t->us >= ru->last) {
		ru->last = t->us;
		ru->ev = ev;
		ru->geo = geo_of(md, ev);
	}
}

static void
login_account(struct model *md, const struct fm_event *ev, struct tb *t,
    const char *ip, int ok, int64_t n)
{
	uint32_t s = account(md, ev), g, it;
	struct buf *b = &md->scratch;

	count(md, s, t, ok ? "login_ok" : "login_fail", ok ? 8 : 10, n, 0);
	rollup(md, s, ev, t, ip, ok, n);
	login_record(b, ev, t, ip, ok, n);
	g = group(md, s, 'L', ":logins", 7);
	it = item_new(md, g);
	md->item[it].s = sref_of(md, b->data, b->len);
	keep_last(&md->subj[s], ev, ok);
}

/* zincr - add v to member m of the global zset at suffix (Z operation) */
static void
zincr(struct model *md, const char *suffix, const char *m, size_t n,
    int64_t v)
{
	incr(md, group(md, md->global, 'Z', suffix, strlen(suffix)), m, n, v);
}

/* geo_count - a login in the global geography of its day: ok:<CC>,
 * fail:<CC>, asn_fail:<n> (H operation on ":geo:<day>") */
static void
geo_count(struct model *md, const struct fm_event *ev, const struct tb *t,
    int ok, int64_t n)
{
	const struct geo_result *r;
	uint32_t gi = geo_of(md, ev), g;
	char suffix[16], f[40];

	if (gi == NIL)
		return;
	daysuffix(suffix, "geo", t);
	g = group(md, md->global, 'H', suffix, strlen(suffix));
	r = &md->geo[gi];
	if (r->country[0] != '\0') {
		snprintf(f, sizeof(f), "%s:%s", ok ? "ok" : "fail", r->country);
		incr(md, g, f, strlen(f), n);
	}
	if (!ok && r->asn != 0) {
		snprintf(f, sizeof(f), "asn_fail:%u", r->asn);
		incr(md, g, f, strlen(f), n);
	}
}

static void
login(struct model *md, const struct fm_event *ev, struct tb *t, int ok)
{
	int64_t n = ok ? 1 : (ev->attempts > 0 ? ev->attempts : 1);
	const char *name = ok ? "login_ok" : "login_fail";
	char ip[64], suffix[48];
	uint32_t s;

	addr_format(ev->af, ev->addr, ip, sizeof(ip));
	count(md, md->global, t, name, strlen(name), n, 1);
	total(md, md->global, name, n);
	if (ev->account.len) {
		daysuffix(suffix, ok ? "acct_ok" : "acct_fail", t);
		member(md, md->global, 'P', suffix, ev->account.p, ev->account.len);
		daysuffix(suffix, ok ? "top_acct_ok" : "top_acct_fail", t);
		zincr(md, suffix, ev->account.p, ev->account.len, n);
	}
	if (ev->af) {
		daysuffix(suffix, ok ? "ip_ok" : "ip_fail", t);
		member(md, md->global, 'P', suffix, ip, strlen(ip));
		if (!ok) {
			daysuffix(suffix, "top_ip_fail", t);
			zincr(md, suffix, ip, strlen(ip), n);
		}
		geo_count(md, ev, t, ok, n);
		s = subject(md, 'i', &ev->af, 1 + sizeof(ev->addr));
		/* a success only adds the account to the address's day
		 * (idempotent: no counter, so no applied hash either); the
		 * accounts' roll-ups count it */
		if (!ok)
			count(md, s, t, name, strlen(name), n, 1);
		if (ev->account.len) {
			daysuffix(suffix, ok ? "ok" : "tried", t);
			member(md, s, 'S', suffix, ev->account.p, ev->account.len);
			if (!ok) {
				daysuffix(suffix, "tried_hll", t);
				member(md, s, 'P', suffix, ev->account.p,
				    ev->account.len);
			}
		}
		/* an address keeps its newest failure (nobody reads a success) */
		if (!ok)
			keep_last(&md->subj[s], ev, ok);
	}
	if (ev->account.len)
		login_account(md, ev, t, ip, ok, n);
	if (md->cf->detect.enabled)
		login_detect(md, ev, t, ok, n);
}

/* iso_s - "YYYY-MM-DDTHH:MM:SSZ" of us into out (>= 32 bytes): the
 * records of the day hashes keep seconds */
static void
iso_s(int64_t us, char *out)
{
	time_format(us, out, 32);
	out[19] = 'Z';
	out[20] = '\0';
}

/* msg_group - the M operation of ev's message: one per message a batch */
static uint32_t
msg_group(struct model *md, const struct fm_event *ev, const struct tb *t)
{
	uint32_t s = account(md, ev), g;
	size_t n0 = md->ngrp;
	struct group *gp;

	qsuffix(&md->scratch, ev);
	g = group(md, s, 'M', md->scratch.data, md->scratch.len);
	if (md->ngrp != n0) {
		buf_reset(&md->scratch);
		buf_add(&md->scratch, ev->host.p, ev->host.len);
		buf_addc(&md->scratch, '|');
		buf_add(&md->scratch, ev->queue_id.p, ev->queue_id.len);
		gp = &md->grp[g];
		gp->field = sref_of(md, md->scratch.data, md->scratch.len);
		memcpy(gp->day, t->day, sizeof(gp->day));
	}
	return g;
}

/* msg_patch - b (a JSON object, closed here) as a patch of group g */
static void
msg_patch(struct model *md, uint32_t g, struct buf *b)
{
	uint32_t it;

	buf_addc(b, '}');
	it = item_new(md, g);
	md->item[it].s = sref_of(md, b->data, b->len);
}

/* msg_head - '{"time":...,"qid":...' and the client fields of ev */
static void
msg_head(struct buf *b, const struct fm_event *ev, const char *ts,
    const char *ip)
{
	buf_reset(b);
	buf_adds(b, "{\"time\":\"");
	buf_adds(b, ts);
	buf_addc(b, '"');
	jfield(b, "qid", ev->queue_id);
	if (ev->kind == FM_EV_MSG_QUEUED) {
		jfield(b, "from", ev->sender);
		if (ev->size >= 0) {
			buf_adds(b, ",\"size\":");
			buf_addi(b, ev->size);
		}
		buf_adds(b, ",\"nrcpt\":");
		buf_addi(b, ev->nrcpt);
	}
	if (ip[0] != '\0') {
		buf_adds(b, ",\"ip\":\"");
		buf_adds(b, ip);
		buf_addc(b, '"');
	}
	if (ev->service.len)
		jfield(b, "service", ev->service);
	if (ev->host.len)
		jfield(b, "host", ev->host);
}

/* msg_login - the login that sent the message: the SASL submission, or
 * the POP-before-SMTP evidence (the POP3/IMAP login it was inferred from
 * and how sure: several accounts from that address make it "low") */
static void
msg_login(struct buf *b, const struct fm_event *ev, const char *ts,
    const char *ip)
{
	char when[32];

	buf_adds(b, ",\"login\":{\"time\":\"");
	if (ev->via_time != 0 || ev->login_time != 0) {
		iso_s(ev->via_time != 0 ? ev->via_time : ev->login_time, when);
		buf_adds(b, when);
	} else
		buf_adds(b, ts);
	buf_adds(b, "\",\"ip\":\"");
	buf_adds(b, ip);
	buf_addc(b, '"');
	if (ev->via_time != 0) {
		jfield(b, "service", ev->via_service);
		buf_adds(b, ",\"inferred\":true,\"accounts\":");
		buf_addi(b, ev->via_accounts);
		buf_adds(b, ev->via_accounts > 1 ? ",\"confidence\":\"low\"}" :
		    ",\"confidence\":\"high\"}");
		return;
	}
	jfield(b, "service", ev->service);
	if (ev->mech.len)
		jfield(b, "mech", ev->mech);
	buf_addc(b, '}');
}

/* msg_event - a line about a message of a known account as a patch of its
 * record: submission (the login), Message-ID, Subject, qmgr, delivery */
static void
msg_event(struct model *md, const struct fm_event *ev, struct tb *t)
{
	uint32_t g = msg_group(md, ev, t);
	struct buf *b = &md->scratch;
	char ip[64], ts[32];

	addr_format(ev->af, ev->addr, ip, sizeof(ip));
	iso_s(t->us, ts);
	switch (ev->kind) {
	case FM_EV_MSG_SUBMIT:
	case FM_EV_MSG_QUEUED:
		msg_head(b, ev, ts, ip);
		if (ev->kind == FM_EV_MSG_SUBMIT || ev->via_time != 0)
			msg_login(b, ev, ts, ip);
		break;
	case FM_EV_MSG_ID:
		buf_reset(b);
		if (ev->msgid.len)
			buf_adds(b, "{\"msgid\":\"");
		else
			buf_adds(b, "{\"subject\":\"");
		if (ev->msgid.len)
			scripts_json_bin(b, ev->msgid.p, ev->msgid.len);
		else {
			/* RFC 2047 words decoded (kbuf: a scratch here) */
			buf_reset(&md->kb);
			mime_decode(&md->kb, ev->subject.p, ev->subject.len);
			scripts_json_bin(b, md->kb.data ? md->kb.data : "",
			    md->kb.len);
		}
		buf_addc(b, '"');
		break;
	default:	/* FM_EV_DELIVERY */
		buf_reset(b);
		if (ev->rcpt.len == 0) {	/* qmgr: expired, all of it */
			buf_adds(b, "{\"expired\":\"");
			buf_adds(b, ts);
			buf_addc(b, '"');
			break;
		}
		buf_adds(b, "{\"rcpt\":[{\"to\":\"");
		scripts_json_bin(b, ev->rcpt.p, ev->rcpt.len);
		buf_addc(b, '"');
		jfield(b, "status", ev->status);
		buf_adds(b, ",\"time\":\"");
		buf_adds(b, ts);
		buf_addc(b, '"');
		if (ev->relay.len)
			jfield(b, "relay", ev->relay);
		if (ev->dsn.len)
			jfield(b, "dsn", ev->dsn);
		buf_add(b, "}]", 2);
		break;
	}
	msg_patch(md, g, b);
}

/* msg_counters - the raw I operation of a queued message's counters (the
 * hours for the global subject only) */
static void
msg_counters(struct model *md, uint32_t s, const char *op,
    const char *suffix, const struct fm_event *ev, const struct tb *t,
    int hours)
{
	int nrcpt = ev->nrcpt > 0 ? ev->nrcpt : 0;
	int withsize = ev->size >= 0;
	char hf[32];

	raws(md, s, op);	/* I: per day, K: the totals */
	raws(md, s, suffix);
	rawi(md, s, (hours ? 4 : 2) + withsize);
	raws(md, s, "messages");
	rawi(md, s, 1);
	if (hours) {
		memcpy(hf, "messages:", 9);
		memcpy(hf + 9, t->hh, 2);
		raw(md, s, hf, 11);
		rawi(md, s, 1);
	}
	raws(md, s, "recipients");
	rawi(md, s, nrcpt);
	if (hours) {
		memcpy(hf, "recipients:", 11);
		memcpy(hf + 11, t->hh, 2);
		raw(md, s, hf, 13);
		rawi(md, s, nrcpt);
	}
	if (withsize) {
		raws(md, s, "bytes");
		rawi(md, s, ev->size);
	}
}

/* dedup_start / dedup_end - a Q operation guarding the arguments between */
static uint32_t
dedup_start(struct model *md, uint32_t s, const struct buf *q,
    const struct tb *t)
{
	md->subj[s].nq++;
	raws(md, s, "Q");
	raw(md, s, q->data, q->len);
	raws(md, s, md->qttl);
	raw(md, s, t->day, 8);
	raws(md, s, "0");
	return (uint32_t)md->nitem;
}

static void
dedup_end(struct model *md, uint32_t after)
{
	char d[24];

	md->item[after - 1].s = sref_of(md, d,
	    model_num(d, (int64_t)(md->nitem - after)));
}

/* message - a queued message of a known account: its record, and its
 * counters once per queue id */
static void
message(struct model *md, const struct fm_event *ev, struct tb *t)
{
	uint32_t s = account(md, ev), after, d;
	char suffix[16];

	msg_event(md, ev, t);
	memcpy(suffix, ":c:", 3);
	memcpy(suffix + 3, t->day, 9);
	qsuffix(&md->scratch, ev);
	after = dedup_start(md, s, &md->scratch, t);
	msg_counters(md, s, "I", suffix, ev, t, 0);
	dedup_end(md, after);
	if (md->cf->detect.enabled) {
		/* (det_add may move md->det: index it after the call) */
		d = det_add(md, s, ev, 'm', t, ev->nrcpt > 0 ? ev->nrcpt : 0);
		md->det[d].qn = md->subj[s].nq;
	}

	qsuffix(&md->scratch, ev);
	after = dedup_start(md, md->global, &md->scratch, t);
	msg_counters(md, md->global, "I", suffix, ev, t, 1);
	msg_counters(md, md->global, "K", ":totals", ev, t, 0);
	dedup_end(md, after);
}

static void
delivery(struct model *md, const struct fm_event *ev, struct tb *t)
{
	const char *name = "delivery_other";
	struct fm_str st = ev->status;

	if (st.len == 4 && memcmp(st.p, "sent", 4) == 0)
		name = "delivered";
	else if (st.len == 8 && memcmp(st.p, "deferred", 8) == 0)
		name = "deferred";
	else if ((st.len == 7 && memcmp(st.p, "bounced", 7) == 0) ||
	    (st.len == 7 && memcmp(st.p, "expired", 7) == 0))
		name = "bounced";
	count(md, account(md, ev), t, name, strlen(name), 1, 0);
	if (ev->queue_id.len)
		msg_event(md, ev, t);
}

/* sess_put - an argument of a session's E operation (sessions.c) */
static void
sess_put(void *arg, const void *p, size_t n)
{
	struct model *md = arg;

	raw(md, md->ssubj, p, n);
}

static void
on_event(struct model *md, const struct fm_event *ev, int64_t fallback)
{
	const char *kind = scripts_kind_name(ev->kind);
	char name[32];
	struct tb t;
	size_t n = strlen(kind);

	bucket(md, ev->time ? ev->time : fallback, &t);
	memcpy(name, "ev.", 3);
	memcpy(name + 3, kind, n + 1);
	ev_count(md, &t, ev->kind > 0 && ev->kind < FM_EV__COUNT ? ev->kind :
	    0, name, n + 3);
	if (sessions_want(ev)) {
		md->ssubj = account(md, ev);
		sessions_event(md->ss, ev, t.us, md->g, sess_put, md);
	}
	switch (ev->kind) {
	case FM_EV_LOGIN_OK:
	case FM_EV_LOGIN_FAIL:
		login(md, ev, &t, ev->kind == FM_EV_LOGIN_OK);
		break;
	case FM_EV_REJECT:
		if (ev->af)
			count(md, subject(md, 'i', &ev->af, 1 + sizeof(ev->addr)),
			    &t, "rejected", 8, 1, 1);
		break;
	case FM_EV_MSG_SUBMIT:
		if (ev->account.len && ev->queue_id.len)
			msg_event(md, ev, &t);
		break;
	case FM_EV_MSG_ID:
		if (ev->account.len && ev->queue_id.len &&
		    (ev->msgid.len || ev->subject.len))
			msg_event(md, ev, &t);
		break;
	case FM_EV_MSG_QUEUED:
		if (ev->account.len && ev->queue_id.len)
			message(md, ev, &t);
		break;
	case FM_EV_DELIVERY:
		if (ev->account.len)
			delivery(md, ev, &t);
		break;
	default:
		break;
	}
}

size_t
model_format(struct model *md, const struct batch *b,
    struct model_cmds *out)
{
	int64_t fallback = b->last_time ? b->last_time : now_us();
	size_t i, n0 = out->n;

	fmt_reset(md);
	if (md->g != NULL && mono_us() - md->geo_checked > MODEL_GEO_CHECK_US) {
		geo_reopen_if_changed(md->g);
		md->geo_checked = mono_us();
	}
	md->global = subject(md, 'g', "", 0);
	for (i = 0; i < b->nev; i++)
		on_event(md, &b->ev[i], fallback);
	for (i = 0; i < md->nsubj; i++)
		model_emit_subject(md, (uint32_t)i, b, out);
	return out->n - n0;
}
