/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * event.c - event kinds by name and events as JSON.
 *
 * SECURITY: every string field is log-derived and escaped by json_escape_to.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "event.h"

static const char *const kinds[FM_EV__COUNT] = {
	[FM_EV_NONE] = "none",
	[FM_EV_LOGIN_OK] = "login_ok",
	[FM_EV_LOGIN_FAIL] = "login_fail",
	[FM_EV_CONNECT] = "connect",
	[FM_EV_DISCONNECT] = "disconnect",
	[FM_EV_LOGOUT] = "logout",
	[FM_EV_MSG_SUBMIT] = "msg_submit",
	[FM_EV_MSG_ID] = "msg_id",
	[FM_EV_MSG_QUEUED] = "msg_queued",
	[FM_EV_DELIVERY] = "delivery",
	[FM_EV_MSG_DONE] = "msg_done",
	[FM_EV_REJECT] = "reject",
};

const char *
event_kind_name(int kind)
{
	if (kind < 0 || kind >= FM_EV__COUNT || kinds[kind] == NULL)
		return "none";
	return kinds[kind];
}

int
event_kind_parse(const char *name)
{
	int k;

	for (k = 1; k < FM_EV__COUNT; k++)
		if (strcmp(kinds[k], name) == 0)
			return k;
	return -1;
}

/*
 * JSON is written straight into the buffer: event_json reserves an upper
 * bound of the event's size once (fixed text, numbers, and 6 bytes per byte
 * of string for the worst escape), then appends without further checks.
 */
#define FIXED_MAX	1024	/* names, punctuation, numbers, time, ip */

#define PUT(o, lit)	(memcpy((o), (lit), sizeof(lit) - 1), (o) + sizeof(lit) - 1)

/* put_u64 - v in decimal at o, two digits a step; returns the end */
static char *
put_u64(char *o, uint64_t v)
{
	static const char d2[] =
	    "00010203040506070809101112131415161718192021222324252627282930313233"
	    "34353637383940414243444546474849505152535455565758596061626364656667"
	    "6869707172737475767778798081828384858687888990919293949596979899";
	static const uint64_t p10[] = {
		10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
		10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
		100000000000ULL, 1000000000000ULL, 10000000000000ULL,
		100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
		100000000000000000ULL, 1000000000000000000ULL,
		10000000000000000000ULL,
	};
	/* digits: from the bit length (log10 2 ~ 1233/4096), then one compare */
	size_t t = (size_t)((64 - __builtin_clzll(v | 1)) * 1233) >> 12;
	size_t n = t + 1 - (t > 0 && v < p10[t - 1]);
	char *p;

	p = o + n;
	while (v >= 100) {
		p -= 2;
		memcpy(p, d2 + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(p - 2, d2 + 2 * v, 2);
	else
		p[-1] = (char)('0' + v);
	return o + n;
}

static char *
put_i64(char *o, int64_t v)
{
	if (v < 0) {
		*o++ = '-';
		return put_u64(o, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(o, (uint64_t)v);
}

/* put_str - ,"name":"value" when value is set; qname carries its quotes */
static inline char *
put_str(char *o, const char *qname, size_t qlen, struct fm_str s)
{
	if (s.len == 0)
		return o;
	memcpy(o, qname, qlen);
	o += qlen;
	*o++ = '"';
	o = json_escape_to(o, s.p, s.len);
	*o++ = '"';
	return o;
}

#define FIELD(o, name, s)	put_str(o, ",\"" name "\":", sizeof(name) + 3, s)
#define NUM(o, name, v)		put_i64(PUT(o, ",\"" name "\":"), v)

/* strings_len - total length of ev's strings, for the size bound */
static size_t
strings_len(const struct fm_event *ev)
{
	return ev->host.len + ev->program.len + ev->service.len +
	    ev->account.len + ev->client_name.len + ev->mech.len +
	    ev->queue_id.len + ev->session.len + ev->msgid.len +
	    ev->sender.len + ev->rcpt.len + ev->relay.len + ev->status.len +
	    ev->reason.len + ev->subject.len + ev->dsn.len;
}

void
event_json(struct buf *b, const struct fm_event *ev, const char *src)
{
	const char *kind = event_kind_name(ev->kind);
	size_t srclen = src != NULL ? strlen(src) : 0;
	char *o;

	buf_reserve(b, FIXED_MAX + 6 * (strings_len(ev) + srclen));
	o = b->data + b->len;
	*o++ = '{';
	if (ev->time) {
		/* straight into the buffer (27 bytes and a NUL, overwritten):
		 * copying from a stack buffer just written stalls the load */
		o = PUT(o, "\"time\":\"");
		time_format(ev->time, o, 28);
		o = PUT(o + 27, "\",");
	}
	o = PUT(o, "\"kind\":\"");
	o = stpcpy(o, kind);
	*o++ = '"';
	o = FIELD(o, "host", ev->host);
	o = FIELD(o, "program", ev->program);
	if (ev->pid >= 0)
		o = NUM(o, "pid", ev->pid);
	o = FIELD(o, "service", ev->service);
	o = FIELD(o, "account", ev->account);
	if (ev->af) {
		o = PUT(o, ",\"ip\":\"");
		addr_format(ev->af, ev->addr, o, 64);
		o += strlen(o);
		*o++ = '"';
	}
	o = FIELD(o, "client_name", ev->client_name);
	o = FIELD(o, "mech", ev->mech);
	o = FIELD(o, "qid", ev->queue_id);
	o = FIELD(o, "session", ev->session);
	o = FIELD(o, "msgid", ev->msgid);
	o = FIELD(o, "subject", ev->subject);
	o = FIELD(o, "from", ev->sender);
	o = FIELD(o, "to", ev->rcpt);
	o = FIELD(o, "relay", ev->relay);
	o = FIELD(o, "dsn", ev->dsn);
	o = FIELD(o, "status", ev->status);
	o = FIELD(o, "reason", ev->reason);
	if (ev->size >= 0 && (ev->kind == FM_EV_MSG_QUEUED || ev->size > 0))
		o = NUM(o, "size", ev->size);
	if (ev->nrcpt)
		o = NUM(o, "nrcpt", ev->nrcpt);
	if (ev->attempts)
		o = NUM(o, "attempts", ev->attempts);
	if (ev->kind == FM_EV_DISCONNECT || ev->auth_ok || ev->auth_fail) {
		o = NUM(o, "auth_ok", ev->auth_ok);
		o = NUM(o, "auth_fail", ev->auth_fail);
	}
	if (ev->origin == FM_ORIGIN_AUTHD)
		o = PUT(o, ",\"origin\":\"authd\"");
	if (ev->flags & FM_F_INFERRED)
		o = PUT(o, ",\"inferred\":true");
	if (src != NULL) {
		o = PUT(o, ",\"src\":\"");
		o = json_escape_to(o, src, srclen);
		*o++ = ':';
		o = put_u64(o, ev->line_no);
		*o++ = '"';
	}
	*o++ = '}';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
}
