/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sessions.c - the events that open and end an account's sessions, as the
 * apply script's E operation (monitor/sessions.lua keeps them in
 * <tag>:sess; doc/sessions.md).
 *
 * A session starts with a successful login that names its session: the
 * Dovecot login process's "Login:" line (session=<id>) for IMAP, POP3,
 * submission and ManageSieve, and for SMTP AUTH the LOGIN_OK the correlator
 * derives from a session's first authenticated message (session: the smtpd
 * pid).  It ends with the mail process's "Disconnected" / "Logged out" line
 * (LOGOUT, same session id) or smtpd's "disconnect from" (DISCONNECT, whose
 * account the correlator filled in from the session).  The field naming a
 * session is "<host>|<service>|<id>", so a logout finds its login whatever
 * else the batch holds.
 *
 * SECURITY: hosts, services, session ids and mechanisms come from log text:
 * they travel as binary-safe arguments and reach the record JSON-escaped;
 * a country code is kept only when it is two ASCII capital letters, so the
 * Lua side may match it as text.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"
#include "scripts.h"
#include "sessions.h"
#include "util.h"

struct sessions {
	const struct fumidai *cf;
	struct buf field, rec;
	char cfg[96];
	size_t cfglen;
};

struct sessions *
sessions_new(const struct fumidai *cf)
{
	struct sessions *ss = xcalloc(1, sizeof(*ss));
	const struct fm_detect *d = &cf->detect;
	int n;

	ss->cf = cf;
	buf_init(&ss->field);
	buf_init(&ss->rec);
	n = snprintf(ss->cfg, sizeof(ss->cfg), "%d,%d,%d,%d,%d",
	    cf->sessions_max_age > 0 ? cf->sessions_max_age : 86400,
	    SESSIONS_CAP, d->enabled && d->cs_enabled, d->cs_countries,
	    d->cs_asns);
	ss->cfglen = n > 0 && (size_t)n < sizeof(ss->cfg) ? (size_t)n : 0;
	return ss;
}

void
sessions_free(struct sessions *ss)
{
	if (ss == NULL)
		return;
	buf_free(&ss->field);
	buf_free(&ss->rec);
	free(ss);
}

int
sessions_want(const struct fm_event *ev)
{
	if (ev->account.len == 0 || ev->session.len == 0)
		return 0;
	return ev->kind == FM_EV_LOGIN_OK || ev->kind == FM_EV_LOGOUT ||
	    ev->kind == FM_EV_DISCONNECT;
}

/* jstr - ,"name":"<escaped v>" */
static void
jstr(struct buf *b, const char *name, const char *p, size_t n)
{
	buf_add(b, ",\"", 2);
	buf_adds(b, name);
	buf_add(b, "\":\"", 3);
	scripts_json_bin(b, p, n);
	buf_addc(b, '"');
}

/* place - the country code (two capitals, else "") and AS number of ev's
 * client address */
static void
place(struct geo *g, const struct fm_event *ev, char cc[3], uint32_t *asn)
{
	struct geo_result r;

	cc[0] = '\0';
	*asn = 0;
	if (g == NULL || ev->af == 0 || geo_lookup(g, ev->af, ev->addr, &r) == 0)
		return;
	if (r.country[0] >= 'A' && r.country[0] <= 'Z' &&
	    r.country[1] >= 'A' && r.country[1] <= 'Z' && r.country[2] == '\0')
		memcpy(cc, r.country, 3);
	*asn = r.asn;
}

/* record - the session's JSON: start, t, cc, asn first (fixed order: the
 * Lua side reads t, cc and asn by pattern), then the attacker-reachable
 * text */
static void
record(struct sessions *ss, const struct fm_event *ev, int64_t us,
    int64_t sec, struct geo *g)
{
	struct buf *b = &ss->rec;
	char when[40], ip[64], cc[3];
	uint32_t asn;

	time_format(us, when, sizeof(when));
	addr_format(ev->af, ev->addr, ip, sizeof(ip));
	place(g, ev, cc, &asn);
	buf_reset(b);
	buf_adds(b, "{\"start\":\"");
	buf_adds(b, when);
	buf_adds(b, "\",\"t\":");
	buf_addi(b, sec);
	buf_adds(b, ",\"cc\":\"");
	buf_adds(b, cc);
	buf_adds(b, "\",\"asn\":");
	buf_addu(b, asn);
	jstr(b, "ip", ip, strlen(ip));
	jstr(b, "service", ev->service.p, ev->service.len);
	jstr(b, "host", ev->host.p, ev->host.len);
	jstr(b, "mech", ev->mech.p, ev->mech.len);
	jstr(b, "session", ev->session.p, ev->session.len);
	buf_addc(b, '}');
}

void
sessions_event(struct sessions *ss, const struct fm_event *ev, int64_t us,
    struct geo *g, sessions_put_fn *put, void *arg)
{
	int64_t sec = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
	int start = ev->kind == FM_EV_LOGIN_OK;
	char t[24], when[40];
	int n;

	buf_reset(&ss->field);
	buf_add(&ss->field, ev->host.p, ev->host.len);
	buf_addc(&ss->field, '|');
	buf_add(&ss->field, ev->service.p, ev->service.len);
	buf_addc(&ss->field, '|');
	buf_add(&ss->field, ev->session.p, ev->session.len);
	if (start)
		record(ss, ev, us, sec, g);
	n = snprintf(t, sizeof(t), "%lld", (long long)sec);
	put(arg, "E", 1);
	put(arg, ":sess", 5);
	put(arg, start ? "s" : "e", 1);
	put(arg, ss->field.data, ss->field.len);
	put(arg, t, (size_t)n);
	if (start)
		put(arg, ss->rec.data, ss->rec.len);
	else {
		time_format(us, when, sizeof(when));
		put(arg, when, strlen(when));
	}
	put(arg, ss->cfg, ss->cfglen);
}
