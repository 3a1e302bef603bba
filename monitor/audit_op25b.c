/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_op25b.c - `fumidai audit op25b --target HOST[:PORT]...`: run from a
 * host on the client network, does Outbound Port 25 Blocking hold?  For
 * each target (the user's own external MX or a host they control; there is
 * no built-in one) it tries port 25 (or PORT) and the submission ports 587
 * and 465, all at once.  Port 25 is "blocked" (refused, reset or
 * unreachable), "filtered" (no answer before --timeout) or "open" (TCP
 * connected; the banner is read when one comes).  OP25B holds ("pass")
 * when no target's port 25 is open and some submission port is reachable;
 * "fail" when a port 25 is open; "inconclusive" when nothing at all is
 * reachable (no way to tell blocking from a dead network).  Exit 0, 1, 2.
 *
 * SECURITY: only the greeting is read, kept as bytes, printed escaped.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "audit.h"
#include "util.h"

#define OP25B_MAX_TARGETS	16
#define OP25B_PORTS		3	/* 25 (or PORT), 587, 465 */

enum probe_state { PS_PENDING, PS_OPEN, PS_BLOCKED, PS_FILTERED, PS_ERROR };
static const char *const state_names[] = {
	"pending", "open", "blocked", "filtered", "error",
};

struct op25b;
struct probe {
	struct op25b *o;
	struct smtpc *c;
	char port[16];
	enum probe_state st;
	int quitting;			/* QUIT sent after the banner */
	char *banner;			/* greeting (untrusted), or NULL */
	char detail[300];
};

struct op25b {
	struct event_base *base;
	struct audit_target t[OP25B_MAX_TARGETS];
	struct probe p[OP25B_MAX_TARGETS][OP25B_PORTS];
	size_t nt;
	int pending, json, timeout_ms;
};

static void
probe_done(struct probe *p)
{
	smtpc_free(p->c);
	p->c = NULL;
	if (--p->o->pending == 0)
		event_base_loopbreak(p->o->base);
}

static void
probe_cb(struct smtpc *c, enum smtpc_ev ev, void *arg)
{
	struct probe *p = arg;
	enum smtpc_errkind k;

	if (p->quitting) {
		probe_done(p);
		return;
	}
	if (ev == SMTPC_EV_REPLY) {
		p->st = PS_OPEN;
		p->banner = xstrdup(smtpc_reply_raw(c));
		snprintf(p->detail, sizeof(p->detail), "banner read");
		p->quitting = 1;
		if (smtpc_quit(c) == -1)
			probe_done(p);
		return;
	}
	k = smtpc_errkind(c);
	p->st = k == SMTPC_E_REFUSED ? PS_BLOCKED : k == SMTPC_E_CONNECT_TIMEOUT ?
	    PS_FILTERED : k == SMTPC_E_OTHER ? PS_ERROR : PS_OPEN;
	snprintf(p->detail, sizeof(p->detail), "%s%s", p->st == PS_OPEN ?
	    "connected, then: " : "", smtpc_error(c));
	probe_done(p);
}

/* probe_start - one connection; a failure to start is a result too */
static void
probe_start(struct op25b *o, struct probe *p, const char *host)
{
	p->o = o;
	p->c = smtpc_new(o->base, o->timeout_ms, probe_cb, p);
	o->pending++;
	if (smtpc_connect(p->c, host, p->port, strcmp(p->port, "465") == 0)
	    == -1) {
		p->st = smtpc_errkind(p->c) == SMTPC_E_REFUSED ? PS_BLOCKED :
		    PS_ERROR;
		snprintf(p->detail, sizeof(p->detail), "%s",
		    smtpc_error(p->c));
		probe_done(p);
	}
}

/* op25b_verdict - AUDIT_PASS, AUDIT_FINDINGS or AUDIT_NORUN */
static int
op25b_verdict(const struct op25b *o)
{
	size_t i;
	int open25 = 0, sub = 0;

	for (i = 0; i < o->nt; i++) {
		open25 |= o->p[i][0].st == PS_OPEN;
		sub |= o->p[i][1].st == PS_OPEN || o->p[i][2].st == PS_OPEN;
	}
	return open25 ? AUDIT_FINDINGS : sub ? AUDIT_PASS : AUDIT_NORUN;
}

static const char *
verdict_name(int rc)
{
	return rc == AUDIT_PASS ? "pass" : rc == AUDIT_FINDINGS ? "fail" :
	    "inconclusive";
}

static void
op25b_print_json(const struct op25b *o, int rc)
{
	const struct probe *p;
	struct buf b;
	size_t i, j;

	buf_init(&b);
	buf_printf(&b, "{\"audit\":\"op25b\",\"verdict\":\"%s\",\"targets\":[",
	    verdict_name(rc));
	for (i = 0; i < o->nt; i++) {
		p = o->p[i];
		buf_adds(&b, i ? ",{\"host\":" : "{\"host\":");
		json_str(&b, o->t[i].host, strlen(o->t[i].host));
		buf_printf(&b, ",\"port\":%d,\"port25\":\"%s\",\"detail\":",
		    atoi(p[0].port), state_names[p[0].st]);
		json_str(&b, p[0].detail, strlen(p[0].detail));
		buf_adds(&b, ",\"banner\":");
		if (p[0].banner != NULL)
			json_str(&b, p[0].banner, strlen(p[0].banner));
		else
			buf_adds(&b, "null");
		buf_adds(&b, ",\"submission\":{");
		for (j = 1; j < OP25B_PORTS; j++) {
			buf_printf(&b, "%s\"%s\":{\"state\":\"%s\",\"detail\":",
			    j > 1 ? "," : "", p[j].port, state_names[p[j].st]);
			json_str(&b, p[j].detail, strlen(p[j].detail));
			buf_addc(&b, '}');
		}
		buf_printf(&b, "},\"submission_reachable\":%s}",
		    p[1].st == PS_OPEN || p[2].st == PS_OPEN ? "true" : "false");
	}
	buf_adds(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void
op25b_print_text(const struct op25b *o, int rc)
{
	const struct probe *p;
	size_t i, j;

	for (i = 0; i < o->nt; i++) {
		p = o->p[i];
		printf("%s port %s: %s (", o->t[i].host, p[0].port,
		    state_names[p[0].st]);
		audit_print_escaped(stdout, p[0].detail);
		printf(")\n");
		if (p[0].banner != NULL) {
			printf("  banner: ");
			audit_print_escaped(stdout, p[0].banner);
			printf("\n");
		}
		for (j = 1; j < OP25B_PORTS; j++)
			printf("  submission port %s: %s\n", p[j].port,
			    state_names[p[j].st]);
	}
	printf("verdict: %s (%s)\n", verdict_name(rc), rc == AUDIT_PASS ?
	    "port 25 to the outside is not open, submission is reachable" :
	    rc == AUDIT_FINDINGS ? "port 25 to the outside is open" :
	    "neither port 25 nor submission reachable: cannot tell");
}

static int
op25b_options(int argc, char **argv, struct op25b *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "target", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	char err[300];
	int ch;

	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': break;
		case 'j': o->json = 1; break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		case 't':
			if (o->nt == OP25B_MAX_TARGETS)
				return -1;
			if (audit_target_parse(optarg, "25", &o->t[o->nt], err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "fumidai: audit op25b: %s\n", err);
				return -1;
			}
			o->nt++;
			break;
		default: return -1;
		}
	}
	return optind == argc && o->nt > 0 && o->timeout_ms > 0 ? 0 : -1;
}

int
audit_op25b(int argc, char **argv)
{
	static const char *const sub[] = { "587", "465" };
	struct op25b o;
	size_t i, j;
	int rc;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 5000;
	if (op25b_options(argc, argv, &o) == -1) {
		fprintf(stderr, "usage: fumidai audit op25b --target HOST[:PORT]"
		    "... [--json] [--timeout MS]\n");
		return AUDIT_NORUN;
	}
	o.base = audit_base();
	for (i = 0; i < o.nt; i++) {
		snprintf(o.p[i][0].port, sizeof(o.p[i][0].port), "%s",
		    o.t[i].port);
		for (j = 1; j < OP25B_PORTS; j++)
			snprintf(o.p[i][j].port, sizeof(o.p[i][j].port), "%s",
			    sub[j - 1]);
		for (j = 0; j < OP25B_PORTS; j++)
			probe_start(&o, &o.p[i][j], o.t[i].host);
	}
	if (o.pending > 0)
		event_base_dispatch(o.base);
	rc = op25b_verdict(&o);
	if (o.json)
		op25b_print_json(&o, rc);
	else
		op25b_print_text(&o, rc);
	for (i = 0; i < o.nt; i++)
		for (j = 0; j < OP25B_PORTS; j++)
			free(o.p[i][j].banner);
	event_base_free(o.base);
	return rc;
}
