/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * event.c - event kinds by name and events as JSON.
 *
 * SECURITY: every string field is log-derived and escaped by json_str.
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

/* field - ,"name":"value" when value is set; name carries its quotes */
static void
field(struct buf *b, const char *qname, size_t qlen, struct fm_str s)
{
	if (s.len == 0)
		return;
	buf_add(b, qname, qlen);
	json_str(b, s.p, s.len);
}

static void
num(struct buf *b, const char *qname, size_t qlen, int64_t v)
{
	buf_add(b, qname, qlen);
	buf_addi(b, v);
}

#define FIELD(b, name, s)	field(b, ",\"" name "\":", sizeof(name) + 3, s)
#define NUM(b, name, v)		num(b, ",\"" name "\":", sizeof(name) + 3, v)

void
event_json(struct buf *b, const struct fm_event *ev, const char *src)
{
	char tbuf[40], ip[64];
	const char *kind = event_kind_name(ev->kind);

	buf_reserve(b, 512);
	buf_addc(b, '{');
	if (ev->time) {
		time_format(ev->time, tbuf, sizeof(tbuf));
		buf_add(b, "\"time\":\"", 8);
		buf_add(b, tbuf, 27);
		buf_add(b, "\",", 2);
	}
	buf_add(b, "\"kind\":\"", 8);
	buf_adds(b, kind);
	buf_addc(b, '"');
	FIELD(b, "host", ev->host);
	FIELD(b, "program", ev->program);
	if (ev->pid >= 0)
		NUM(b, "pid", ev->pid);
	FIELD(b, "service", ev->service);
	FIELD(b, "account", ev->account);
	if (ev->af) {
		addr_format(ev->af, ev->addr, ip, sizeof(ip));
		buf_add(b, ",\"ip\":\"", 7);
		buf_adds(b, ip);
		buf_addc(b, '"');
	}
	FIELD(b, "client_name", ev->client_name);
	FIELD(b, "mech", ev->mech);
	FIELD(b, "qid", ev->queue_id);
	FIELD(b, "session", ev->session);
	FIELD(b, "msgid", ev->msgid);
	FIELD(b, "from", ev->sender);
	FIELD(b, "to", ev->rcpt);
	FIELD(b, "relay", ev->relay);
	FIELD(b, "status", ev->status);
	FIELD(b, "reason", ev->reason);
	if (ev->size >= 0 && (ev->kind == FM_EV_MSG_QUEUED || ev->size > 0))
		NUM(b, "size", ev->size);
	if (ev->nrcpt)
		NUM(b, "nrcpt", ev->nrcpt);
	if (ev->attempts)
		NUM(b, "attempts", ev->attempts);
	if (ev->kind == FM_EV_DISCONNECT || ev->auth_ok || ev->auth_fail) {
		NUM(b, "auth_ok", ev->auth_ok);
		NUM(b, "auth_fail", ev->auth_fail);
	}
	if (ev->origin == FM_ORIGIN_AUTHD)
		buf_adds(b, ",\"origin\":\"authd\"");
	if (ev->flags & FM_F_INFERRED)
		buf_adds(b, ",\"inferred\":true");
	if (src != NULL) {
		buf_add(b, ",\"src\":\"", 8);
		json_escape(b, src, strlen(src));
		buf_addc(b, ':');
		buf_addu(b, ev->line_no);
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}
