/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_smtp.c - `fumidai audit smtp HOST[:PORT]`: the posture of one SMTP
 * listener as an unauthenticated client sees it.  Findings, each with a
 * severity and the server's words as evidence: AUTH advertised on an MX
 * port (25), AUTH offered before STARTTLS (passwords in plaintext), no
 * STARTTLS, VRFY or EXPN answering, a banner naming the software (and its
 * version), and on a submission port (587, 465 or --submission) mail
 * accepted without AUTH: MAIL and RCPT to an external address, stopped
 * there (never DATA).  Exit 0 no findings, 1 findings, 2 could not run.
 *
 * SECURITY: the server's replies are untrusted: kept as bytes, matched
 * only case-insensitively against fixed words, printed escaped.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "audit.h"
#include "util.h"

#define SMTP_MAX_FINDINGS	16

struct smtp_finding {
	const char *id, *severity, *what;
	char *evidence;			/* server's words (untrusted) */
};

struct smtp_opts {
	struct audit_target target;
	const char *helo, *to, *from;
	int json, submission, tls, no_tls, timeout_ms;
};

enum smtp_step {
	SS_HELLO, SS_VRFY, SS_VRFY_NONE, SS_EXPN, SS_RSET, SS_MAIL, SS_RCPT,
	SS_QUIT, SS_DONE,
};

struct smtp_audit {
	struct smtp_opts *o;
	struct event_base *base;
	struct smtpc *c;
	struct audit_hello hello;
	enum smtp_step step;
	int vrfy_code, vrfy_none_code, expn_code, mail_code, rcpt_code;
	char *vrfy_text, *expn_text, *rcpt_text;
	int tls;
	char tls_info[128];
	int failed;
	char err[300];
	struct smtp_finding f[SMTP_MAX_FINDINGS];
	size_t nf;
	struct buf transcript;
};

/* Software names a banner should not give away. */
static const char *const software[] = {
	"postfix", "exim", "sendmail", "microsoft", "exchange", "qmail",
	"opensmtpd", "haraka", "hmailserver", "mdaemon", "zimbra", "courier",
	"kerio", "communigate", "mailenable", "axigen", "smartermail",
	"domino", "icewarp", "mercury", "argosoft", "james", "imail",
};

static void
smtp_finding(struct smtp_audit *a, const char *id, const char *sev,
    const char *what, const char *evidence)
{
	struct smtp_finding *f;

	if (a->nf == SMTP_MAX_FINDINGS)
		return;
	f = &a->f[a->nf++];
	f->id = id;
	f->severity = sev;
	f->what = what;
	f->evidence = xstrdup(evidence != NULL ? evidence : "");
}

/* smtp_banner_leak - the software's name in the banner; *version set when
 * a "N.N" follows it closely */
static const char *
smtp_banner_leak(const char *banner, int *version)
{
	const char *p, *q;
	size_t i, n;

	*version = 0;
	for (i = 0; i < nitems(software); i++) {
		n = strlen(software[i]);
		for (p = banner; *p != '\0'; p++)
			if (strncasecmp(p, software[i], n) == 0)
				break;
		if (*p == '\0')
			continue;
		for (q = p + n; *q != '\0' && q < p + n + 24; q++)
			if (isdigit((unsigned char)q[0]) && q[1] == '.' &&
			    isdigit((unsigned char)q[2]))
				*version = 1;
		return software[i];
	}
	return NULL;
}

/* smtp_judge - turn what was seen into findings */
static void
smtp_judge(struct smtp_audit *a)
{
	const struct audit_hello *h = &a->hello;
	int ver;

	if (h->banner != NULL && smtp_banner_leak(h->banner, &ver) != NULL)
		smtp_finding(a, "banner-software", "low", ver ?
		    "the greeting names the server software and its version" :
		    "the greeting names the server software", h->banner);
	if (!a->o->submission && (h->auth_plain || h->auth_tls))
		smtp_finding(a, "auth-on-mx", "medium",
		    "AUTH is advertised on an MX port to unauthenticated "
		    "clients (password guessing target)",
		    h->auth_plain ? h->auth_plain : h->auth_tls);
	if (h->auth_plain != NULL && !a->o->tls)
		smtp_finding(a, "auth-before-tls", "high",
		    "AUTH is offered before STARTTLS: passwords can travel in "
		    "plaintext", h->auth_plain);
	if (!a->o->tls && !h->starttls_offered)
		smtp_finding(a, "starttls-missing", a->o->submission ? "high" :
		    "medium", "STARTTLS is not offered", "EHLO lists no STARTTLS");
	else if (!a->o->tls && h->starttls_code != 0 && !a->tls)
		smtp_finding(a, "starttls-broken", "medium",
		    "STARTTLS is offered but does not work", h->err[0] ?
		    h->err : "STARTTLS refused");
	if (a->vrfy_code == 250 || a->vrfy_code == 251 ||
	    (a->vrfy_code / 100 == 2 && a->vrfy_none_code != a->vrfy_code))
		smtp_finding(a, "vrfy-enabled", "medium",
		    "VRFY tells which addresses exist", a->vrfy_text);
	else if (a->vrfy_code / 100 == 2)
		smtp_finding(a, "vrfy-enabled", "low", "VRFY is enabled (its "
		    "answers did not tell a real address from a made-up one "
		    "here)", a->vrfy_text);
	if (a->expn_code / 100 == 2)
		smtp_finding(a, "expn-enabled", "medium",
		    "EXPN expands addresses and lists", a->expn_text);
	if (a->o->submission && a->rcpt_code / 100 == 2)
		smtp_finding(a, "submission-without-auth", "high",
		    "the submission port accepts mail to an external address "
		    "without AUTH", a->rcpt_text);
}

static void
smtp_finish(struct smtp_audit *a)
{
	struct buf b;

	a->step = SS_DONE;
	buf_init(&b);
	smtpc_transcript_json(a->c, &b);
	buf_add(&a->transcript, b.data, b.len);
	buf_free(&b);
	a->tls = smtpc_tls(a->c);
	snprintf(a->tls_info, sizeof(a->tls_info), "%s", smtpc_tls_info(a->c));
	smtpc_free(a->c);
	a->c = NULL;
	event_base_loopbreak(a->base);
}

/* smtp_send - the next command after step; SS_DONE when nothing is left */
static void
smtp_next(struct smtp_audit *a)
{
	char line[600];

	switch (a->step) {
	case SS_HELLO:
		a->step = SS_VRFY;
		snprintf(line, sizeof(line), "VRFY postmaster");
		break;
	case SS_VRFY:
		a->step = SS_VRFY_NONE;
		snprintf(line, sizeof(line), "VRFY fumidai-audit-no-such-user-%ld",
		    (long)(mono_us() % 1000000));
		break;
	case SS_VRFY_NONE:
		a->step = SS_EXPN;
		snprintf(line, sizeof(line), "EXPN postmaster");
		break;
	case SS_EXPN:
		a->step = a->o->submission ? SS_RSET : SS_QUIT;
		snprintf(line, sizeof(line), a->o->submission ? "RSET" : "QUIT");
		break;
	case SS_RSET:
		a->step = SS_MAIL;
		snprintf(line, sizeof(line), "MAIL FROM:<%s>", a->o->from);
		break;
	case SS_MAIL:
		a->step = SS_RCPT;
		snprintf(line, sizeof(line), "RCPT TO:<%s>", a->o->to);
		break;
	default:
		a->step = SS_QUIT;
		snprintf(line, sizeof(line), "QUIT");
		break;
	}
	if (smtpc_cmd(a->c, line) == -1)
		smtp_finish(a);
}

/* smtp_reply - keep what the reply to the command in flight says */
static void
smtp_reply(struct smtp_audit *a)
{
	int code = smtpc_code(a->c);

	switch (a->step) {
	case SS_VRFY:
		a->vrfy_code = code;
		a->vrfy_text = xstrdup(smtpc_reply_raw(a->c));
		break;
	case SS_VRFY_NONE:
		a->vrfy_none_code = code;
		break;
	case SS_EXPN:
		a->expn_code = code;
		a->expn_text = xstrdup(smtpc_reply_raw(a->c));
		break;
	case SS_MAIL:
		a->mail_code = code;
		if (code / 100 != 2)
			a->step = SS_RCPT;	/* no RCPT: QUIT next */
		break;
	case SS_RCPT:
		a->rcpt_code = code;
		free(a->rcpt_text);
		a->rcpt_text = xstrdup(smtpc_reply_raw(a->c));
		break;
	case SS_QUIT:
		smtp_finish(a);
		return;
	default:
		break;
	}
	smtp_next(a);
}

static void
smtp_cb(struct smtpc *c, enum smtpc_ev ev, void *arg)
{
	struct smtp_audit *a = arg;
	int r;

	if (a->step != SS_HELLO) {
		if (ev == SMTPC_EV_ERROR)	/* keep what was learnt */
			smtp_finish(a);
		else
			smtp_reply(a);
		return;
	}
	if ((r = audit_hello_step(&a->hello, c, ev)) == -1) {
		snprintf(a->err, sizeof(a->err), "%s", a->hello.err);
		a->failed = 1;
		smtp_finish(a);
	} else if (r == 1) {
		smtp_next(a);
	}
}

static void
smtp_print_json(const struct smtp_audit *a, int rc)
{
	const struct audit_hello *h = &a->hello;
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_adds(&b, "{\"audit\":\"smtp\",\"host\":");
	json_str(&b, a->o->target.host, strlen(a->o->target.host));
	buf_printf(&b, ",\"port\":%d,\"role\":\"%s\",\"verdict\":\"%s\"",
	    atoi(a->o->target.port), a->o->submission ? "submission" : "mx",
	    rc == AUDIT_PASS ? "pass" : rc == AUDIT_FINDINGS ? "findings" :
	    "error");
	buf_adds(&b, ",\"error\":");
	if (a->failed)
		json_str(&b, a->err, strlen(a->err));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"banner\":");
	json_str(&b, h->banner ? h->banner : "", h->banner ?
	    strlen(h->banner) : 0);
	buf_printf(&b, ",\"esmtp\":%s,\"starttls\":%s,\"tls\":%s,\"tls_info\":",
	    h->esmtp ? "true" : "false", h->starttls_offered ? "true" : "false",
	    a->tls ? "true" : "false");
	json_str(&b, a->tls_info, strlen(a->tls_info));
	buf_adds(&b, ",\"auth_before_tls\":");
	if (h->auth_plain)
		json_str(&b, h->auth_plain, strlen(h->auth_plain));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"auth_after_tls\":");
	if (h->auth_tls)
		json_str(&b, h->auth_tls, strlen(h->auth_tls));
	else
		buf_adds(&b, "null");
	buf_printf(&b, ",\"vrfy\":%d,\"expn\":%d,\"rcpt_without_auth\":%d",
	    a->vrfy_code, a->expn_code, a->rcpt_code);
	buf_adds(&b, ",\"findings\":[");
	for (i = 0; i < a->nf; i++) {
		buf_printf(&b, "%s{\"id\":\"%s\",\"severity\":\"%s\",\"what\":",
		    i ? "," : "", a->f[i].id, a->f[i].severity);
		json_str(&b, a->f[i].what, strlen(a->f[i].what));
		buf_adds(&b, ",\"evidence\":");
		json_str(&b, a->f[i].evidence, strlen(a->f[i].evidence));
		buf_addc(&b, '}');
	}
	buf_adds(&b, "],\"transcript\":");
	buf_add(&b, a->transcript.data, a->transcript.len);
	buf_adds(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void
smtp_print_text(const struct smtp_audit *a)
{
	size_t i;

	printf("smtp audit of %s port %s (%s)\n", a->o->target.host,
	    a->o->target.port, a->o->submission ? "submission" : "mx");
	if (a->hello.banner != NULL) {
		printf("  banner: ");
		audit_print_escaped(stdout, a->hello.banner);
		printf("\n");
	}
	printf("  TLS: %s\n", a->tls ? a->tls_info : "no");
	for (i = 0; i < a->nf; i++) {
		printf("  %-6s %s: %s\n         evidence: ", a->f[i].severity,
		    a->f[i].id, a->f[i].what);
		audit_print_escaped(stdout, a->f[i].evidence);
		printf("\n");
	}
	if (a->failed)
		printf("could not run: %s\n", a->err);
	else
		printf("%zu finding%s\n", a->nf, a->nf == 1 ? "" : "s");
}

static int
smtp_options(int argc, char **argv, struct smtp_opts *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "submission", no_argument, NULL, 's' },
		{ "mx", no_argument, NULL, 'm' },
		{ "tls", no_argument, NULL, 'L' },
		{ "no-tls", no_argument, NULL, 'n' },
		{ "helo", required_argument, NULL, 'H' },
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	char err[300];
	int ch, role = -1;

	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': break;
		case 'j': o->json = 1; break;
		case 's': role = 1; break;
		case 'm': role = 0; break;
		case 'L': o->tls = 1; break;
		case 'n': o->no_tls = 1; break;
		case 'H': o->helo = optarg; break;
		case 't': o->to = optarg; break;
		case 'f': o->from = optarg; break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		default: return -1;
		}
	}
	if (optind + 1 != argc || o->timeout_ms <= 0 ||
	    strlen(o->to) > 250 || strlen(o->from) > 250 ||
	    strlen(o->helo) > 250 || strpbrk(o->to, "<>\r\n") ||
	    strpbrk(o->from, "<>\r\n") || strpbrk(o->helo, " \r\n"))
		return -1;
	if (audit_target_parse(argv[optind], "25", &o->target, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: audit smtp: %s\n", err);
		return -1;
	}
	if (strcmp(o->target.port, "465") == 0)
		o->tls = 1;
	o->submission = role != -1 ? role :
	    strcmp(o->target.port, "587") == 0 || o->tls;
	return 0;
}

int
audit_smtp(int argc, char **argv)
{
	struct smtp_opts o = {
		.helo = "audit.example.com", .to = "fumidai-audit@example.net",
		.from = "fumidai-audit@example.org", .timeout_ms = 10000,
	};
	struct smtp_audit a;
	size_t i;
	int rc;

	if (smtp_options(argc, argv, &o) == -1) {
		fprintf(stderr, "usage: fumidai audit smtp HOST[:PORT] [--json]"
		    " [--submission|--mx] [--tls]\n"
		    "       [--no-tls] [--helo NAME] [--to ADDR] [--from ADDR] "
		    "[--timeout MS]\n");
		return AUDIT_NORUN;
	}
	memset(&a, 0, sizeof(a));
	a.o = &o;
	a.base = audit_base();
	buf_init(&a.transcript);
	audit_hello_init(&a.hello, o.helo, o.no_tls);
	a.c = smtpc_new(a.base, o.timeout_ms, smtp_cb, &a);
	if (smtpc_connect(a.c, o.target.host, o.target.port, o.tls) == -1) {
		snprintf(a.err, sizeof(a.err), "%s", smtpc_error(a.c));
		a.failed = 1;
		smtp_finish(&a);
	} else {
		event_base_dispatch(a.base);
	}
	if (!a.failed)
		smtp_judge(&a);
	rc = a.failed ? AUDIT_NORUN : a.nf > 0 ? AUDIT_FINDINGS : AUDIT_PASS;
	if (o.json)
		smtp_print_json(&a, rc);
	else
		smtp_print_text(&a);
	for (i = 0; i < a.nf; i++)
		free(a.f[i].evidence);
	free(a.vrfy_text);
	free(a.expn_text);
	free(a.rcpt_text);
	audit_hello_free(&a.hello);
	buf_free(&a.transcript);
	event_base_free(a.base);
	return rc;
}
