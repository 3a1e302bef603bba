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

static void
field(struct buf *b, const char *name, struct fm_str s)
{
	if (s.len == 0)
		return;
	buf_addc(b, ',');
	buf_addc(b, '"');
	buf_adds(b, name);
	buf_add(b, "\":", 2);
	json_str(b, s.p, s.len);
}

static void
num(struct buf *b, const char *name, long long v)
{
	buf_printf(b, ",\"%s\":%lld", name, v);
}

void
event_json(struct buf *b, const struct fm_event *ev, const char *src)
{
	char tbuf[40], ip[64];

	buf_add(b, "{", 1);
	if (ev->time) {
		time_format(ev->time, tbuf, sizeof(tbuf));
		buf_printf(b, "\"time\":\"%s\",", tbuf);
	}
	buf_printf(b, "\"kind\":\"%s\"", event_kind_name(ev->kind));
	field(b, "host", ev->host);
	field(b, "program", ev->program);
	if (ev->pid >= 0)
		num(b, "pid", ev->pid);
	field(b, "service", ev->service);
	field(b, "account", ev->account);
	if (ev->af) {
		addr_format(ev->af, ev->addr, ip, sizeof(ip));
		buf_printf(b, ",\"ip\":\"%s\"", ip);
	}
	field(b, "client_name", ev->client_name);
	field(b, "mech", ev->mech);
	field(b, "qid", ev->queue_id);
	field(b, "session", ev->session);
	field(b, "msgid", ev->msgid);
	field(b, "from", ev->sender);
	field(b, "to", ev->rcpt);
	field(b, "relay", ev->relay);
	field(b, "status", ev->status);
	field(b, "reason", ev->reason);
	if (ev->size >= 0 && (ev->kind == FM_EV_MSG_QUEUED || ev->size > 0))
		num(b, "size", ev->size);
	if (ev->nrcpt)
		num(b, "nrcpt", ev->nrcpt);
	if (ev->attempts)
		num(b, "attempts", ev->attempts);
	if (ev->kind == FM_EV_DISCONNECT || ev->auth_ok || ev->auth_fail) {
		num(b, "auth_ok", ev->auth_ok);
		num(b, "auth_fail", ev->auth_fail);
	}
	if (ev->origin == FM_ORIGIN_AUTHD)
		buf_adds(b, ",\"origin\":\"authd\"");
	if (ev->flags & FM_F_INFERRED)
		buf_adds(b, ",\"inferred\":true");
	if (src != NULL) {
		buf_adds(b, ",\"src\":");
		buf_addc(b, '"');
		json_escape(b, src, strlen(src));
		buf_printf(b, ":%" PRIu64 "\"", ev->line_no);
	}
	buf_addc(b, '}');
}
