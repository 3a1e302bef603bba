/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_relay.c - `fumidai audit relay HOST[:PORT]`: does the server relay
 * for strangers?  One session runs a matrix of relay attempts, each as
 * RSET, MAIL FROM, RCPT TO and never DATA: every address form nmap's
 * smtp-open-relay tries (null and external senders, the server's own name
 * and IP literal, percent hack, quoted local parts, double at, source
 * routes, bang paths) plus external-to-external with the server's own
 * domains as sender.  A 2xx to RCPT makes that test "open"; a 5xx at MAIL
 * or RCPT "closed"; a 4xx or a lost connection "inconclusive".  Overall:
 * open when any test is open, closed when all are closed, else
 * inconclusive.  A dropped connection is reopened (at most 3 times) and
 * the matrix goes on where it stopped.
 *
 * With --sink ADDRESS (and only then) DATA is sent, once: after the
 * matrix, if some test got a 2xx to RCPT, the first such test form is
 * tried again with the user's sink address in place of the external
 * recipient, and a small labelled test message (Subject "fumidai open
 * relay test ID") goes through DATA.  The reply to the final dot is
 * reported; delivery into the sink mailbox is the proof, which the user
 * checks.  The sink transaction does not change any verdict.
 *
 * SECURITY: the server's replies are untrusted text: stored as bytes,
 * printed escaped.  Only reserved example domains are used by default.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "audit.h"
#include "util.h"

#define RELAY_MAX_TESTS		32
#define RELAY_MAX_DOMAINS	8
#define RELAY_RECONNECTS	3
/* Postfix slows every reply down once a session has 10 errors
 * (smtpd_soft_error_limit): start a fresh session before that. */
#define RELAY_ERRORS_PER_SESSION 8

enum relay_verdict { RV_NOTRUN, RV_CLOSED, RV_OPEN, RV_INCONCLUSIVE };
static const char *const verdict_names[] = {
	"not-run", "closed", "open", "inconclusive",
};

struct relay_test {
	char *name;			/* what is tried */
	char *from, *to;		/* the envelope */
	int mail_code, rcpt_code;	/* 0: not sent / no reply */
	char *mail_text, *rcpt_text;	/* replies (untrusted) */
	char *error;			/* connection failure, if any */
	enum relay_verdict verdict;
};

struct relay_opts {
	struct audit_target target;
	const char *to;			/* external recipient */
	const char *from;		/* external sender */
	const char *domains[RELAY_MAX_DOMAINS];	/* the server's own */
	size_t ndomains;
	const char *helo;
	const char *sink;		/* --sink: prove delivery, or NULL */
	int timeout_ms, no_tls, json;
};

enum relay_step {
	RS_HELLO, RS_RSET, RS_MAIL, RS_RCPT, RS_DATA, RS_DOT, RS_QUIT, RS_DONE,
};

/* The one DATA transaction of --sink, after the matrix. */
struct relay_sink {
	int prepared;			/* the matrix is over: decided */
	int active;			/* a transaction is to be (was) made */
	size_t form;			/* index of the relaying test used */
	struct relay_test t;		/* its envelope and MAIL/RCPT replies */
	int data_code, dot_code;	/* replies to DATA and to the dot */
	char *data_text, *dot_text;
	char id[40];			/* in the Subject and Message-ID */
	char msgid[320];
};

struct relay_audit {
	struct relay_opts *o;
	struct event_base *base;
	struct smtpc *c;
	struct audit_hello hello;	/* of the current connection */
	char *banner, *server;		/* from the first connection */
	char ipl[80];			/* "[127.0.0.1]" */
	char tls_info[128];
	int tls;
	struct relay_test tests[RELAY_MAX_TESTS];
	size_t ntests, cur;		/* cur == ntests: the sink, if any */
	struct relay_sink sink;
	enum relay_step step;
	int reconnects;
	int errors;			/* rejections in this session */
	int recycle;			/* QUIT to start a fresh session */
	int failed;			/* could not run at all */
	char err[300];
	struct buf transcript;		/* JSON array items, comma-joined */
};

static void relay_cb(struct smtpc *, enum smtpc_ev, void *);
static void relay_lost(struct relay_audit *, const char *);
static void relay_next(struct relay_audit *);

/* relay_add - one test of the matrix */
static void
relay_add(struct relay_test *tests, size_t *n, const char *name,
    const char *from, const char *to)
{
	struct relay_test *t;

	if (*n == RELAY_MAX_TESTS)
		return;
	t = &tests[(*n)++];
	t->name = xstrdup(name);
	t->from = xstrdup(from);
	t->to = xstrdup(to);
}

/* relay_matrix - the tests for recipient to into tests[*n], once the
 * server's name and address are known */
static void
relay_matrix(struct relay_audit *a, const char *to, struct relay_test *tests,
    size_t *n)
{
	const char *at = strrchr(to, '@');
	const char *srv = a->server, *ip = a->ipl, *dot;
	char lp[256], dom[256], f[600], r[1200];
	size_t i;

	snprintf(lp, sizeof(lp), "%.*s", (int)(at - to), to);
	snprintf(dom, sizeof(dom), "%s", at + 1);
	relay_add(tests, n, "null sender", "", to);
	relay_add(tests, n, "external sender", a->o->from, to);
	snprintf(f, sizeof(f), "fumidai-audit@%s", srv);
	relay_add(tests, n, "sender at server name", f, to);
	snprintf(f, sizeof(f), "fumidai-audit@%s", ip);
	relay_add(tests, n, "sender at server IP literal", f, to);
#define R(name, ...) do { snprintf(r, sizeof(r), __VA_ARGS__); \
	relay_add(tests, n, name, f, r); } while (0)
	R("percent hack at IP literal", "%s%%%s@%s", lp, dom, ip);
	R("percent hack at server name", "%s%%%s@%s", lp, dom, srv);
	R("quoted local part with at", "\"%s@%s\"", lp, dom);
	R("quoted local part with percent", "\"%s%%%s\"", lp, dom);
	R("double at, IP literal", "%s@%s@%s", lp, dom, ip);
	R("quoted local part at IP literal", "\"%s@%s\"@%s", lp, dom, ip);
	R("double at, server name", "%s@%s@%s", lp, dom, srv);
	R("source route via IP literal", "@%s:%s@%s", ip, lp, dom);
	R("source route via server name", "@%s:%s@%s", srv, lp, dom);
	R("bang path", "%s!%s", dom, lp);
	R("bang path at IP literal", "%s!%s@%s", dom, lp, ip);
	R("bang path at server name", "%s!%s@%s", dom, lp, srv);
#undef R
	/* external to external, posing as one of the server's own domains */
	if ((dot = strchr(srv, '.')) != NULL && strchr(dot + 1, '.') != NULL) {
		snprintf(f, sizeof(f), "fumidai-audit@%s", dot + 1);
		relay_add(tests, n, "sender at server's parent domain", f, to);
	}
	for (i = 0; i < a->o->ndomains; i++) {
		snprintf(f, sizeof(f), "fumidai-audit@%s", a->o->domains[i]);
		relay_add(tests, n, "sender at own domain", f, to);
	}
}

static void
relay_test_free(struct relay_test *t)
{
	free(t->name);
	free(t->from);
	free(t->to);
	free(t->mail_text);
	free(t->rcpt_text);
	free(t->error);
}

/* relay_sink_prepare - the matrix is over: with --sink and a test that
 * relayed, make the sink transaction from the first such test's form */
static void
relay_sink_prepare(struct relay_audit *a)
{
	struct relay_sink *s = &a->sink;
	struct relay_test m[RELAY_MAX_TESTS];
	size_t i, n = 0;

	s->prepared = 1;
	if (a->o->sink == NULL)
		return;
	for (i = 0; i < a->ntests && a->tests[i].verdict != RV_OPEN; i++)
		;
	if (i == a->ntests)
		return;
	memset(m, 0, sizeof(m));
	relay_matrix(a, a->o->sink, m, &n);	/* same forms, same order */
	if (i < n) {
		s->form = i;
		s->t = m[i];
		memset(&m[i], 0, sizeof(m[i]));
		s->active = 1;
		snprintf(s->id, sizeof(s->id), "%llx.%x",
		    (unsigned long long)now_us(), (unsigned)getpid());
		snprintf(s->msgid, sizeof(s->msgid),
		    "<fumidai-relay-test.%s@%s>", s->id, a->o->helo);
	}
	while (n > 0)
		relay_test_free(&m[--n]);
}

/* relay_current - the test under way: one of the matrix, then the sink
 * transaction (if any), then NULL */
static struct relay_test *
relay_current(struct relay_audit *a)
{
	if (a->cur < a->ntests)
		return &a->tests[a->cur];
	if (a->cur > a->ntests)
		return NULL;
	if (!a->sink.prepared)
		relay_sink_prepare(a);
	return a->sink.active ? &a->sink.t : NULL;
}

/* sink_add - s into the message: printable ASCII only, at most 200 bytes
 * (the server's name is untrusted; no line may break or start a dot) */
static void
sink_add(struct buf *b, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 200; i++)
		buf_addc(b, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
}

/* relay_sink_send - the test message through smtpc_data; 0 or -1 */
static int
relay_sink_send(struct relay_audit *a)
{
	const struct relay_sink *s = &a->sink;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	struct buf b;
	int rc;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_init(&b);
	buf_adds(&b, "From: fumidai relay audit <");
	sink_add(&b, a->o->from);
	buf_adds(&b, ">\r\nTo: <");
	sink_add(&b, a->o->sink);
	buf_printf(&b, ">\r\nSubject: fumidai open relay test %s\r\n"
	    "Date: %s\r\nMessage-ID: ", s->id, date);
	sink_add(&b, s->msgid);
	buf_adds(&b, "\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n"
	    "This is a test message from fumidai's open relay audit\r\n"
	    "(fumidai audit relay --sink), sent without authentication\r\n"
	    "through the mail server below to the address its user named.\r\n"
	    "If it reached that mailbox, the server relays mail for anyone:\r\n"
	    "it is an open relay.\r\n\r\nServer:    ");
	sink_add(&b, a->o->target.host);
	buf_printf(&b, " port %s (", a->o->target.port);
	sink_add(&b, a->server);
	buf_adds(&b, " ");
	sink_add(&b, a->ipl);
	buf_adds(&b, ")\r\nTest form: ");
	sink_add(&b, s->t.name);
	buf_adds(&b, "\r\nEnvelope:  MAIL FROM:<");
	sink_add(&b, s->t.from);
	buf_adds(&b, "> RCPT TO:<");
	sink_add(&b, s->t.to);
	buf_printf(&b, ">\r\nTest id:   %s\r\n", s->id);
	rc = smtpc_data(a->c, b.data, b.len);
	buf_free(&b);
	return rc;
}

/* relay_sink_reply - the sink transaction from RCPT on: DATA, the
 * message, then on to QUIT */
static void
relay_sink_reply(struct relay_audit *a, int code)
{
	struct relay_sink *s = &a->sink;
	const char *text = smtpc_text(a->c);
	int unsent = 0;

	switch (a->step) {
	case RS_RCPT:
		s->t.rcpt_code = code;
		s->t.rcpt_text = xstrdup(text);
		if (code / 100 == 2) {
			a->step = RS_DATA;
			if (smtpc_cmd(a->c, "DATA") == 0)
				return;
			unsent = 1;
		}
		break;
	case RS_DATA:
		s->data_code = code;
		s->data_text = xstrdup(text);
		if (code == 354) {
			a->step = RS_DOT;
			if (relay_sink_send(a) == 0)
				return;
			unsent = 1;
		}
		break;
	default:
		s->dot_code = code;
		s->dot_text = xstrdup(text);
		break;
	}
	if (unsent && s->t.error == NULL)
		s->t.error = xstrdup("command could not be sent");
	a->cur++;
	a->step = RS_HELLO;
	relay_next(a);
}

/* relay_connect - open (or reopen) the session; -1 when it cannot start */
static int
relay_connect(struct relay_audit *a)
{
	smtpc_free(a->c);
	audit_hello_free(&a->hello);
	audit_hello_init(&a->hello, a->o->helo, a->o->no_tls);
	a->step = RS_HELLO;
	a->errors = 0;
	a->recycle = 0;
	a->c = smtpc_new(a->base, a->o->timeout_ms, relay_cb, a);
	if (smtpc_connect(a->c, a->o->target.host, a->o->target.port, 0) ==
	    -1) {
		snprintf(a->err, sizeof(a->err), "%s", smtpc_error(a->c));
		return -1;
	}
	return 0;
}

/* relay_keep_transcript - move the connection's transcript to the audit */
static void
relay_keep_transcript(struct relay_audit *a)
{
	struct buf b;

	if (a->c == NULL)
		return;
	buf_init(&b);
	smtpc_transcript_json(a->c, &b);
	if (b.len > 2) {
		if (a->transcript.len > 0)
			buf_addc(&a->transcript, ',');
		buf_add(&a->transcript, b.data + 1, b.len - 2);
	}
	buf_free(&b);
}

/* relay_finish - stop the loop; the results are in a */
static void
relay_finish(struct relay_audit *a)
{
	a->step = RS_DONE;
	relay_keep_transcript(a);
	smtpc_free(a->c);
	a->c = NULL;
	event_base_loopbreak(a->base);
}

/* relay_next - start the current test (RSET), or QUIT after the last */
static void
relay_next(struct relay_audit *a)
{
	char line[1300];
	struct relay_test *t = relay_current(a);

	if (t == NULL || (a->step == RS_HELLO &&
	    a->errors >= RELAY_ERRORS_PER_SESSION)) {
		a->recycle = t != NULL;
		a->step = RS_QUIT;
		if (smtpc_quit(a->c) == -1)
			relay_finish(a);
		return;
	}
	switch (a->step) {
	case RS_RSET:
		snprintf(line, sizeof(line), "MAIL FROM:<%s>", t->from);
		a->step = RS_MAIL;
		break;
	case RS_MAIL:
		snprintf(line, sizeof(line), "RCPT TO:<%s>", t->to);
		a->step = RS_RCPT;
		break;
	default:
		snprintf(line, sizeof(line), "RSET");
		a->step = RS_RSET;
		break;
	}
	if (smtpc_cmd(a->c, line) == -1) {
		t->verdict = RV_INCONCLUSIVE;
		t->error = xstrdup("command could not be sent");
		a->cur++;
		a->step = RS_HELLO;
		relay_next(a);
	}
}

/* relay_reply - a reply inside the matrix */
static void
relay_reply(struct relay_audit *a)
{
	struct relay_test *t = relay_current(a);
	int code = smtpc_code(a->c);

	if (code == 421) {		/* the server is closing: reopen */
		relay_lost(a, "server said 421");
		return;
	}
	if (t == &a->sink.t && a->step >= RS_RCPT) {
		relay_sink_reply(a, code);
		return;
	}
	if (a->step == RS_MAIL) {
		t->mail_code = code;
		t->mail_text = xstrdup(smtpc_text(a->c));
		if (code / 100 != 2) {
			a->errors++;
			t->verdict = code / 100 == 5 ? RV_CLOSED :
			    RV_INCONCLUSIVE;
			a->cur++;
			a->step = RS_HELLO;
		}
	} else if (a->step == RS_RCPT) {
		t->rcpt_code = code;
		t->rcpt_text = xstrdup(smtpc_text(a->c));
		a->errors += code / 100 != 2;
		t->verdict = code / 100 == 2 ? RV_OPEN : code / 100 == 5 ?
		    RV_CLOSED : RV_INCONCLUSIVE;
		a->cur++;
		a->step = RS_HELLO;
	}
	relay_next(a);
}

/* relay_lost - the connection failed: give up, or reopen and go on */
static void
relay_lost(struct relay_audit *a, const char *why)
{
	struct relay_test *t;

	if (a->server == NULL) {	/* never got going */
		snprintf(a->err, sizeof(a->err), "%s", why);
		a->failed = 1;
		relay_finish(a);
		return;
	}
	if (a->step != RS_HELLO && (t = relay_current(a)) != NULL) {
		free(t->error);
		t->error = xstrdup(why);
		t->verdict = RV_INCONCLUSIVE;
		/* do not retry a test forever, nor send a message twice */
		if (a->reconnects > 0 || (a->step >= RS_RCPT &&
		    a->step <= RS_DOT))
			a->cur++;
	}
	if (a->step == RS_QUIT || relay_current(a) == NULL ||
	    a->reconnects++ >= RELAY_RECONNECTS) {
		relay_finish(a);
		return;
	}
	relay_keep_transcript(a);
	if (relay_connect(a) == -1)
		relay_finish(a);
}

/* relay_ready - the session is open: first time, build the matrix */
static void
relay_ready(struct relay_audit *a)
{
	if (a->server == NULL) {
		a->banner = xstrdup(a->hello.banner);
		a->server = xstrdup(a->hello.name[0] != '\0' ?
		    a->hello.name : a->o->target.host);
		snprintf(a->ipl, sizeof(a->ipl), strchr(smtpc_peer(a->c), ':') ?
		    "[IPv6:%s]" : "[%s]", smtpc_peer(a->c));
		a->tls = smtpc_tls(a->c);
		snprintf(a->tls_info, sizeof(a->tls_info), "%s",
		    smtpc_tls_info(a->c));
		relay_matrix(a, a->o->to, a->tests, &a->ntests);
	}
	a->step = RS_HELLO;	/* relay_next starts a test with RSET */
	relay_next(a);
}

static void
relay_cb(struct smtpc *c, enum smtpc_ev ev, void *arg)
{
	struct relay_audit *a = arg;
	int r;

	if (ev == SMTPC_EV_ERROR && a->step != RS_QUIT) {
		relay_lost(a, smtpc_error(c));
		return;
	}
	/* a server may close before its 221 reaches us (seen with TLS) */
	if (a->step == RS_QUIT) {
		if (!a->recycle)
			relay_finish(a);
		else {
			relay_keep_transcript(a);
			if (relay_connect(a) == -1)
				relay_finish(a);
		}
		return;
	}
	if (a->step != RS_HELLO || a->hello.phase == AH_READY) {
		relay_reply(a);
		return;
	}
	if ((r = audit_hello_step(&a->hello, c, ev)) == -1) {
		relay_lost(a, a->hello.err);
		if (a->server == NULL && a->hello.banner != NULL)
			a->failed = 1;
		return;
	}
	if (r == 1)
		relay_ready(a);
}

/* relay_overall - open if any test is open, closed if all are closed */
static enum relay_verdict
relay_overall(const struct relay_audit *a, size_t *nopen)
{
	size_t i, closed = 0;

	*nopen = 0;
	for (i = 0; i < a->ntests; i++) {
		if (a->tests[i].verdict == RV_OPEN)
			(*nopen)++;
		else if (a->tests[i].verdict == RV_CLOSED)
			closed++;
	}
	if (*nopen > 0)
		return RV_OPEN;
	return a->ntests > 0 && closed == a->ntests ? RV_CLOSED :
	    RV_INCONCLUSIVE;
}

/* relay_sink_note - what the sink transaction means, in words */
static const char *
relay_sink_note(const struct relay_audit *a)
{
	const struct relay_sink *s = &a->sink;

	if (!s->active)
		return "no attempt was accepted at RCPT: nothing was sent";
	if (s->dot_code / 100 == 2)
		return "the server took the test message: it relays if the "
		    "message reaches the sink mailbox (check it for the "
		    "Subject \"fumidai open relay test ID\")";
	return "the server did not take the test message";
}

static void
json_reply(struct buf *b, const char *key, int code, const char *text)
{
	buf_printf(b, ",\"%s\":", key);
	if (code == 0) {
		buf_adds(b, "null");
		return;
	}
	buf_printf(b, "{\"code\":%d,\"text\":", code);
	json_str(b, text, strlen(text));
	buf_addc(b, '}');
}

/* relay_sink_json - the "sink" member: null without --sink */
static void
relay_sink_json(const struct relay_audit *a, struct buf *b)
{
	const struct relay_sink *s = &a->sink;
	const char *no = "null";

	if (a->o->sink == NULL) {
		buf_adds(b, no);
		return;
	}
	buf_adds(b, "{\"address\":");
	json_str(b, a->o->sink, strlen(a->o->sink));
	buf_printf(b, ",\"sent\":%s,\"queued\":%s,\"form\":",
	    s->dot_code != 0 ? "true" : "false",
	    s->dot_code / 100 == 2 ? "true" : "false");
	if (s->active) {
		json_str(b, s->t.name, strlen(s->t.name));
		buf_adds(b, ",\"from\":");
		json_str(b, s->t.from, strlen(s->t.from));
		buf_adds(b, ",\"to\":");
		json_str(b, s->t.to, strlen(s->t.to));
		buf_printf(b, ",\"id\":\"%s\",\"message_id\":", s->id);
		json_str(b, s->msgid, strlen(s->msgid));
	} else
		buf_printf(b, "%s,\"from\":%s,\"to\":%s,\"id\":%s,"
		    "\"message_id\":%s", no, no, no, no, no);
	json_reply(b, "mail", s->t.mail_code, s->t.mail_text);
	json_reply(b, "rcpt", s->t.rcpt_code, s->t.rcpt_text);
	json_reply(b, "data", s->data_code, s->data_text);
	buf_adds(b, ",\"code\":");
	if (s->dot_code != 0) {
		buf_printf(b, "%d,\"text\":", s->dot_code);
		json_str(b, s->dot_text, strlen(s->dot_text));
	} else
		buf_adds(b, "null,\"text\":null");
	buf_adds(b, ",\"error\":");
	if (s->t.error != NULL)
		json_str(b, s->t.error, strlen(s->t.error));
	else
		buf_adds(b, no);
	buf_adds(b, ",\"note\":");
	json_str(b, relay_sink_note(a), strlen(relay_sink_note(a)));
	buf_addc(b, '}');
}

static void
relay_print_json(const struct relay_audit *a, enum relay_verdict v)
{
	const struct relay_test *t;
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_adds(&b, "{\"audit\":\"relay\",\"host\":");
	json_str(&b, a->o->target.host, strlen(a->o->target.host));
	buf_printf(&b, ",\"port\":%d,\"verdict\":\"%s\",\"server\":",
	    atoi(a->o->target.port), a->failed ? "inconclusive" :
	    verdict_names[v]);
	json_str(&b, a->server ? a->server : "", a->server ? strlen(a->server)
	    : 0);
	buf_adds(&b, ",\"banner\":");
	json_str(&b, a->banner ? a->banner : "", a->banner ?
	    strlen(a->banner) : 0);
	buf_printf(&b, ",\"tls\":%s,\"tls_info\":", a->tls ? "true" : "false");
	json_str(&b, a->tls_info, strlen(a->tls_info));
	buf_adds(&b, ",\"error\":");
	if (a->failed)
		json_str(&b, a->err, strlen(a->err));
	else
		buf_adds(&b, "null");
	buf_adds(&b, ",\"tests\":[");
	for (i = 0; i < a->ntests; i++) {
		t = &a->tests[i];
		buf_adds(&b, i ? ",{\"name\":" : "{\"name\":");
		json_str(&b, t->name, strlen(t->name));
		buf_adds(&b, ",\"from\":");
		json_str(&b, t->from, strlen(t->from));
		buf_adds(&b, ",\"to\":");
		json_str(&b, t->to, strlen(t->to));
		json_reply(&b, "mail", t->mail_code, t->mail_text);
		json_reply(&b, "rcpt", t->rcpt_code, t->rcpt_text);
		buf_adds(&b, ",\"error\":");
		if (t->error != NULL)
			json_str(&b, t->error, strlen(t->error));
		else
			buf_adds(&b, "null");
		buf_printf(&b, ",\"verdict\":\"%s\"}", verdict_names[t->verdict]);
	}
	buf_adds(&b, "],\"sink\":");
	relay_sink_json(a, &b);
	buf_adds(&b, ",\"transcript\":[");
	buf_add(&b, a->transcript.data, a->transcript.len);
	buf_adds(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* relay_sink_text - the sink transaction, for people */
static void
relay_sink_text(const struct relay_audit *a)
{
	const struct relay_sink *s = &a->sink;

	printf("sink <%s>: ", a->o->sink);
	if (s->active) {
		printf("test message sent as \"%s\": ", s->t.name);
		if (s->t.error != NULL)
			audit_print_escaped(stdout, s->t.error);
		else if (s->dot_code != 0) {
			printf("%d ", s->dot_code);
			audit_print_escaped(stdout, s->dot_text);
		} else if (s->data_code != 0) {
			printf("DATA %d ", s->data_code);
			audit_print_escaped(stdout, s->data_text);
		} else if (s->t.rcpt_code != 0) {
			printf("RCPT %d ", s->t.rcpt_code);
			audit_print_escaped(stdout, s->t.rcpt_text);
		} else if (s->t.mail_code != 0) {
			printf("MAIL %d ", s->t.mail_code);
			audit_print_escaped(stdout, s->t.mail_text);
		}
		printf("\n  ");
	}
	if (s->dot_code / 100 == 2)
		printf("the server took the test message: it relays if the "
		    "message reaches\n  <%s> (check that mailbox for the "
		    "Subject \"fumidai open relay test %s\")\n", a->o->sink,
		    s->id);
	else
		printf("%s\n", relay_sink_note(a));
}

static void
relay_print_text(const struct relay_audit *a, enum relay_verdict v,
    size_t nopen)
{
	const struct relay_test *t;
	size_t i;

	printf("relay audit of %s port %s", a->o->target.host,
	    a->o->target.port);
	if (a->server != NULL) {
		printf(" (");
		audit_print_escaped(stdout, a->server);
		printf(" %s%s%s)", a->ipl, a->tls ? ", TLS " : ", no TLS",
		    a->tls ? a->tls_info : "");
	}
	printf("\n");
	for (i = 0; i < a->ntests; i++) {
		t = &a->tests[i];
		printf("  %-12s %-33s <", verdict_names[t->verdict], t->name);
		audit_print_escaped(stdout, t->from);
		printf("> -> <");
		audit_print_escaped(stdout, t->to);
		printf(">: ");
		if (t->rcpt_code != 0)
			printf("RCPT %d ", t->rcpt_code);
		else if (t->mail_code != 0)
			printf("MAIL %d ", t->mail_code);
		audit_print_escaped(stdout, t->error != NULL ? t->error :
		    t->rcpt_code != 0 ? t->rcpt_text : t->mail_code != 0 ?
		    t->mail_text : "");
		printf("\n");
	}
	if (a->o->sink != NULL)
		relay_sink_text(a);
	if (a->failed)
		printf("could not run: %s\nverdict: inconclusive\n", a->err);
	else
		printf("verdict: %s (%zu of %zu attempts accepted at RCPT)\n",
		    verdict_names[v], nopen, a->ntests);
}

static void
relay_free(struct relay_audit *a)
{
	size_t i;

	for (i = 0; i < a->ntests; i++)
		relay_test_free(&a->tests[i]);
	relay_test_free(&a->sink.t);
	free(a->sink.data_text);
	free(a->sink.dot_text);
	smtpc_free(a->c);
	audit_hello_free(&a->hello);
	free(a->banner);
	free(a->server);
	buf_free(&a->transcript);
}

static int
relay_usage(void)
{
	fprintf(stderr, "usage: fumidai audit relay HOST[:PORT] [--json] "
	    "[--to ADDR] [--from ADDR]\n"
	    "       [--from-domain D]... [--helo NAME] [--timeout MS] "
	    "[--no-tls] [--sink ADDR]\n");
	return AUDIT_NORUN;
}

/* relay_sink_bad - 1 unless addr (if any) is a plain address: something
 * with an '@', no space, control byte or angle bracket, at most 250 bytes */
static int
relay_sink_bad(const char *addr)
{
	const unsigned char *p;

	if (addr == NULL)
		return 0;
	if (strchr(addr, '@') == NULL || strlen(addr) > 250 || addr[0] == '@')
		return 1;
	for (p = (const unsigned char *)addr; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return 1;
	return 0;
}

/* relay_options - parse argv into o; -1 on a usage error */
static int
relay_options(int argc, char **argv, struct relay_opts *o)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "from-domain", required_argument, NULL, 'd' },
		{ "helo", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "no-tls", no_argument, NULL, 'n' },
		{ "sink", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char err[300];
	int ch;

	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': break;	/* no configuration needed */
		case 'j': o->json = 1; break;
		case 't': o->to = optarg; break;
		case 'f': o->from = optarg; break;
		case 'H': o->helo = optarg; break;
		case 'n': o->no_tls = 1; break;
		case 's': o->sink = optarg; break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		case 'd':
			if (o->ndomains == RELAY_MAX_DOMAINS)
				return -1;
			o->domains[o->ndomains++] = optarg;
			break;
		default: return -1;
		}
	}
	if (optind + 1 != argc || o->timeout_ms <= 0 ||
	    strchr(o->to, '@') == NULL || strlen(o->to) > 250 ||
	    strlen(o->from) > 250 || strlen(o->helo) > 250 ||
	    strpbrk(o->to, "<>\r\n") || strpbrk(o->from, "<>\r\n") ||
	    strpbrk(o->helo, " \r\n") || relay_sink_bad(o->sink))
		return -1;
	if (audit_target_parse(argv[optind], "25", &o->target, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: audit relay: %s\n", err);
		return -1;
	}
	return 0;
}

int
audit_relay(int argc, char **argv)
{
	struct relay_opts o = {
		.to = "relaytest@example.net", .from = "fumidai-audit@example.org",
		.helo = "audit.example.com", .timeout_ms = 10000,
	};
	struct relay_audit a;
	enum relay_verdict v;
	size_t nopen;
	int rc;

	if (relay_options(argc, argv, &o) == -1)
		return relay_usage();
	memset(&a, 0, sizeof(a));
	a.o = &o;
	a.base = audit_base();
	buf_init(&a.transcript);
	if (relay_connect(&a) == -1) {
		a.failed = 1;
		relay_keep_transcript(&a);
	} else {
		event_base_dispatch(a.base);
	}
	v = relay_overall(&a, &nopen);
	if (o.json)
		relay_print_json(&a, v);
	else
		relay_print_text(&a, v, nopen);
	rc = a.failed || v == RV_INCONCLUSIVE ? AUDIT_NORUN : v == RV_OPEN ?
	    AUDIT_FINDINGS : AUDIT_PASS;
	relay_free(&a);
	event_base_free(a.base);
	return rc;
}
