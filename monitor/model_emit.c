/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * model_emit.c - the second half of the batch builder (model.c): each
 * subject's operations written as one EVALSHA of the apply script in RESP
 * form: the batch, the subject's keys, its last-seen fields, its counter,
 * set, record and roll-up operations (roll-ups and message patches in the
 * compact form history.lua reads), and the detectors' events and settings.
 *
 * SECURITY: everything from logs travels as length-prefixed binary
 * arguments; record text was JSON-escaped by model.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model_int.h"
#include "scripts.h"

/* unknown_user - a failure for a name the server does not know */
static int
unknown_user(const struct fm_event *ev)
{
	return ev->reason.len == 12 && memcmp(ev->reason.p, "unknown user",
	    12) == 0;
}

/* ---- operations -> commands ---- */

/* A writer counts arguments (out NULL) or writes them as RESP bulks. */
struct writer {
	struct buf *out;
	size_t argc;
};

static void
resp_len(struct buf *b, char type, size_t n)
{
	char num[24], *p = num + sizeof(num);

	*--p = '\n';
	*--p = '\r';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	*--p = type;
	buf_add(b, p, (size_t)(num + sizeof(num) - p));
}

static void
arg(struct writer *w, const void *p, size_t n)
{
	w->argc++;
	if (w->out == NULL)
		return;
	resp_len(w->out, '$', n);
	buf_reserve(w->out, n + 2);
	if (n)
		memcpy(w->out->data + w->out->len, p, n);
	memcpy(w->out->data + w->out->len + n, "\r\n", 2);
	w->out->len += n + 2;
	w->out->data[w->out->len] = '\0';
}

static void
args(struct writer *w, const char *s)
{
	arg(w, s, strlen(s));
}

static void
argn(struct writer *w, long long v)
{
	char d[24];

	arg(w, d, model_num(d, v));
}

static void
argref(struct writer *w, const struct model *md, struct sref r)
{
	arg(w, md->text.data + r.off, r.len);
}

/* day_secs - seconds of us from the start of its UTC day */
static int64_t
day_secs(int64_t us)
{
	int64_t s = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;

	return ((s % 86400) + 86400) % 86400;
}

/* roll_slot - one text slot of a stored roll-up (history.lua): "\37" and
 * the JSON-escaped text (empty: absent) */
static void
roll_slot(struct buf *b, const char *p, size_t n)
{
	buf_addc(b, '\37');
	scripts_json_bin(b, p, n);
}

/* roll_rec - a roll-up of the batch as the U operation's record, in the
 * stored form (history.lua, doc/redis.md): count, first and last time (s
 * from the day's start), then what the newest login said and its place;
 * trailing empty slots left out */
static void
roll_rec(struct model *md, const struct roll *ru, int ok, struct buf *b)
{
	const struct geo_result *r = ru->geo != NIL ? &md->geo[ru->geo] : NULL;
	const struct fm_event *ev = ru->ev;
	size_t end;

	buf_reset(b);
	buf_addi(b, ru->n);
	buf_addc(b, '\37');
	buf_addi(b, day_secs(ru->first));
	buf_addc(b, '\37');
	buf_addi(b, day_secs(ru->last));
	end = b->len;
	roll_slot(b, ev->mech.p, ev->mech.len);
	roll_slot(b, ev->host.p, ev->host.len);
	if (!ok)
		roll_slot(b, ev->reason.p, ev->reason.len);
	else
		buf_addc(b, '\37');
	if (r != NULL) {
		roll_slot(b, r->country, strlen(r->country));
		roll_slot(b, r->city, strlen(r->city));
		buf_addc(b, '\37');
		if (r->asn != 0)
			buf_addu(b, r->asn);
		roll_slot(b, r->asn_org, strlen(r->asn_org));
	}
	/* trailing empty slots left out */
	while (b->len > end && b->data[b->len - 1] == '\37')
		b->len--;
}

/* emit_msg - the M operation of one message */
static void
emit_msg(struct model *md, const struct group *g, struct writer *w)
{
	const struct item *it;
	uint32_t i;

	args(w, "M");
	argref(w, md, g->suffix);
	args(w, md->qttl);
	arg(w, g->day, 8);
	argref(w, md, g->field);
	argn(w, g->n);
	for (i = g->head; i != NIL; i = it->next) {
		it = &md->item[i];
		argref(w, md, it->s);
	}
}

static void
emit_group(struct model *md, const struct group *g, struct writer *w)
{
	const struct item *it;
	uint32_t i, k, c, m;
	char op[2] = { g->op, '\0' };

	if (g->op == 0) {
		for (i = g->head; i != NIL; i = it->next) {
			it = &md->item[i];
			argref(w, md, it->s);
		}
		return;
	}
	if (g->op == 'M') {
		emit_msg(md, g, w);
		return;
	}
	/* in chunks, for Lua's unpack */
	for (i = g->head, k = 0; i != NIL; k += c) {
		c = g->n - k < CHUNK ? g->n - k : CHUNK;
		args(w, op);
		argref(w, md, g->suffix);
		if (g->op == 'L')
			args(w, md->hmax);
		else if (g->op == 'S')
			args(w, md->cap);
		else if (g->op == 'U')
			args(w, md->rucap);
		else if (g->op == 'Z')
			args(w, md->topcap);
		argn(w, c);
		for (m = 0; m < c && i != NIL; m++, i = it->next) {
			it = &md->item[i];
			argref(w, md, it->s);
			if (g->op == 'I' || g->op == 'K' || g->op == 'H' ||
			    g->op == 'Z')
				argn(w, it->val);
			else if (g->op == 'U') {
				roll_rec(md, &md->roll[it->val],
				    md->text.data[it->s.off] == 'o',
				    &md->scratch);
				arg(w, md->scratch.data, md->scratch.len);
			}
		}
	}
}

/* emit_last - the "last seen" field groups of the applied hash */
static void
emit_last(const struct subj *sj, struct writer *w)
{
	const struct fm_event *ev, *l[2] = { sj->last_ok, sj->last_fail };
	char t[32], ip[64];
	int ok, i;

	argn(w, (l[0] != NULL) + (l[1] != NULL));
	for (i = 0; i < 2; i++) {
		if ((ev = l[i]) == NULL)
			continue;
		ok = i == 0;
		time_format(ev->time, t, sizeof(t));
		addr_format(ev->af, ev->addr, ip, sizeof(ip));
		if (sj->type != 'a') {
			args(w, ok ? "ok_time" : "fail_time");
			args(w, t);
			argn(w, 1);
			args(w, ok ? "ok_account" : "fail_account");
			arg(w, ev->account.p, ev->account.len);
			continue;
		}
		args(w, ok ? "login_time" : "fail_time");
		args(w, t);
		argn(w, 3);
		args(w, ok ? "login_ip" : "fail_ip");
		args(w, ip);
		args(w, ok ? "login_service" : "fail_service");
		arg(w, ev->service.p, ev->service.len);
		args(w, ok ? "login_mech" : "fail_mech");
		arg(w, ev->mech.p, ev->mech.len);
	}
}

/* argesc - v JSON-escaped (any bytes in, valid JSON string text out) */
static void
argesc(struct writer *w, struct model *md, struct fm_str v)
{
	buf_reset(&md->scratch);
	scripts_json_bin(&md->scratch, v.p, v.len);
	arg(w, md->scratch.data, md->scratch.len);
}

static void
argf(struct writer *w, double v)
{
	char d[32];
	int n = snprintf(d, sizeof(d), "%.4f", v);

	arg(w, d, (size_t)n);
}

/* model_det_cfg - the detector settings as one argument, numbers separated by
 * commas in the order detect.lua reads them (one argument: the script
 * parses a short string faster than Redis hands it 36) */
void
model_det_cfg(struct model *md, int geo)
{
	const struct fumidai *cf = md->cf;
	const struct fm_detect *d = &cf->detect;
	const int v[] = {
		d->cooldown,
		d->bf_window, d->bf_threshold, d->bf_long_window,
		d->bf_long_threshold, d->bf_stale_interval,
		d->di_window, d->di_ips, d->di_long_window, d->di_long_ips,
		d->su_window, d->su_failures,
		d->sp_window, d->sp_accounts, d->sp_long_window,
		d->sp_long_accounts, d->sp_net_accounts,
		d->uu_window, d->uu_users,
		d->sg_window, d->sg_factor, d->sg_min,
		d->learn_days, d->learn_logins, d->travel_speed,
		d->travel_min_km, d->countries, d->countries_window,
		d->send_window, d->send_messages, d->send_recipients,
		d->send_min, d->send_factor, d->send_days,
		d->send_after_login, geo,
	};
	size_t i;

	buf_reset(&md->dcfg);
	for (i = 0; i < nitems(v); i++) {
		if (i > 0)
			buf_addc(&md->dcfg, ',');
		buf_addi(&md->dcfg, v[i]);
	}
}

/* det_place - the place fields of an account's event (empty: unknown) */
static void
det_place(struct writer *w, struct model *md, const struct det *d)
{
	const struct geo_result *r = d->geo != NIL ? &md->geo[d->geo] : NULL;
	struct fm_str e = { "", 0 };
	int i;

	if (r == NULL) {
		for (i = 0; i < 8; i++)
			arg(w, "", 0);
		return;
	}
	args(w, r->country);
	argesc(w, md, (struct fm_str){ r->country_name, strlen(r->country_name) });
	argesc(w, md, (struct fm_str){ r->city, strlen(r->city) });
	if (r->has_coords) {
		argf(w, r->latitude);
		argf(w, r->longitude);
	} else {
		argesc(w, md, e);
		argesc(w, md, e);
	}
	argn(w, r->accuracy_km);
	argn(w, r->asn);
	argesc(w, md, (struct fm_str){ r->asn_org, strlen(r->asn_org) });
}

/* emit_det - the D operation: the subject's events for its detectors */
static void
emit_det(struct model *md, const struct subj *sj, struct writer *w)
{
	const char *tag = md->text.data + sj->tag.off;
	size_t np = strlen(md->cf->redis.prefix ? md->cf->redis.prefix : "");
	const struct det *d;
	const struct fm_event *ev;
	char ip[64], name[64];
	uint32_t i, n = 0;
	size_t off, len;

	for (i = sj->dhead; i != NIL; i = md->det[i].next)
		n++;
	args(w, "D");
	arg(w, &sj->type, 1);
	arg(w, tag + np + 1, sj->tag.len - np - 2);	/* inside the braces */
	arg(w, md->dcfg.data, md->dcfg.len);
	ev = md->det[sj->dhead].ev;
	if (sj->type == 'a')
		argesc(w, md, ev->account);
	else if (sj->type == 'i' || sj->type == 'n') {
		off = np + (sj->type == 'i' ? 4 : 3);	/* after "{ip:" "{n:" */
		len = FM_MIN(sj->tag.len - off - 1, sizeof(name));
		memcpy(name, tag + off, len);
		arg(w, name, len);
	} else
		arg(w, "", 0);
	argn(w, n);
	for (i = sj->dhead; i != NIL; i = d->next) {
		d = &md->det[i];
		ev = d->ev;
		arg(w, &d->kind, 1);
		argn(w, d->t);
		if (sj->type == 'g') {
			argn(w, d->n);
			continue;
		}
		addr_format(ev->af, ev->addr, ip, sizeof(ip));
		argn(w, d->n);
		argn(w, d->kind == 'f' && unknown_user(ev));
		argesc(w, md, ev->service);
		args(w, ip);
		if (sj->type == 'a') {
			argn(w, d->qn);
			det_place(w, md, d);
		} else
			argesc(w, md, ev->account);
	}
}

/* emit_ops - the arguments of the subject's EVALSHA (see scripts.c) */
static void
emit_ops(struct model *md, const struct subj *sj, const struct batch *b,
    struct writer *w)
{
	uint32_t g;

	args(w, "EVALSHA");
	args(w, scripts_apply_sha());
	args(w, "1");
	buf_reset(&md->scratch);
	buf_add(&md->scratch, md->text.data + sj->tag.off, sj->tag.len);
	buf_add(&md->scratch, ":applied", 8);
	arg(w, md->scratch.data, md->scratch.len);
	buf_reset(&md->scratch);
	buf_add(&md->scratch, "s:", 2);
	buf_adds(&md->scratch, b->stream ? b->stream : "");
	arg(w, md->scratch.data, md->scratch.len);
	buf_reset(&md->scratch);
	buf_addu(&md->scratch, b->seq);
	arg(w, md->scratch.data, md->scratch.len);
	args(w, sj->type == 'i' || sj->type == 'n' ? md->attl : md->ttl);
	args(w, sj->dhead != NIL ? "1" : "0");
	if (sj->type == 'a') {
		argn(w, 1);
		args(w, ":logins");
	} else if (sj->type == 'g') {
		argn(w, 1);
		args(w, ":totals");
	} else
		argn(w, 0);
	emit_last(sj, w);
	for (g = sj->head; g != NIL; g = md->grp[g].next)
		emit_group(md, &md->grp[g], w);
	if (sj->dhead != NIL)
		emit_det(md, sj, w);
}

void
model_emit_subject(struct model *md, uint32_t s, const struct batch *b,
    struct model_cmds *out)
{
	const struct subj *sj = &md->subj[s];
	struct writer w = { NULL, 0 };
	size_t start = out->data.len;

	if (sj->head == NIL && sj->last_ok == NULL && sj->last_fail == NULL &&
	    sj->dhead == NIL)
		return;
	emit_ops(md, sj, b, &w);
	resp_len(&out->data, '*', w.argc);
	w.out = &out->data;
	emit_ops(md, sj, b, &w);
	if (out->n == out->cap) {
		out->cap = out->cap ? 2 * out->cap : 16;
		out->len = xrealloc(out->len, out->cap * sizeof(*out->len));
	}
	out->len[out->n++] = (uint32_t)(out->data.len - start);
}

