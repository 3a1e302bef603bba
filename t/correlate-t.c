/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * correlate-t.c - unit tests for the correlator: queue-id attribution, one
 * LOGIN_OK per smtpd session, auth=N without a submission, merging of a
 * backend failure with its front-end line (by session and by address),
 * expiry on event time, flush, checkpoint round trip and bounded size;
 * POP-before-SMTP attribution (window edges, shared addresses, checkpoint).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "event.h"
#include "tap.h"
#include "util.h"

#define SEC 1000000LL
#define T0 (1780000000LL * SEC)

/* What came out of the correlator, as NDJSON lines plus a few fields. */
struct rec {
	struct buf json;
	int n;
	int kind[64];
	char account[64][64];
	char reason[64][64];
	int attempts[64];
	int flags[64];
	int origin[64];
	uint64_t line[64];
	char ip[64][48];
	int64_t via_time[64];
	int via_accounts[64];
	char via_service[64][8];
};

static void
rec_emit(void *arg, const struct fm_event *ev)
{
	struct rec *r = arg;
	int i = r->n;

	event_json(&r->json, ev, "t");
	buf_addc(&r->json, '\n');
	r->n++;
	if (i >= 64)
		return;
	r->kind[i] = ev->kind;
	snprintf(r->account[i], 64, "%.*s", (int)ev->account.len, ev->account.p);
	snprintf(r->reason[i], 64, "%.*s", (int)ev->reason.len, ev->reason.p);
	r->attempts[i] = ev->attempts;
	r->flags[i] = ev->flags;
	r->origin[i] = ev->origin;
	r->line[i] = ev->line_no;
	addr_format(ev->af, ev->addr, r->ip[i], sizeof(r->ip[i]));
	r->via_time[i] = ev->via_time;
	r->via_accounts[i] = ev->via_accounts;
	snprintf(r->via_service[i], 8, "%.*s", (int)ev->via_service.len,
	    ev->via_service.p);
}

static void
rec_reset(struct rec *r)
{
	struct buf b = r->json;

	memset(r, 0, sizeof(*r));
	r->json = b;
	buf_reset(&r->json);
}

static struct fm_str
S(const char *s)
{
	struct fm_str r = { s, strlen(s) };

	return r;
}

static uint64_t lineno;

/* ev - an event of kind at T0 + sec */
static struct fm_event
ev(int kind, double sec)
{
	struct fm_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.time = T0 + (int64_t)(sec * SEC);
	e.host = S("mx");
	e.program = S("postfix/submission/smtpd");
	e.service = S("submission");
	e.size = -1;
	e.pid = 100;
	e.line_no = ++lineno;
	return e;
}

static void
ip(struct fm_event *e, const char *a)
{
	addr_parse(a, strlen(a), &e->af, e->addr);
}

static struct fm_event
submit(double t, const char *qid, const char *acct, const char *pid)
{
	struct fm_event e = ev(FM_EV_MSG_SUBMIT, t);

	e.queue_id = S(qid);
	e.account = S(acct);
	e.session = S(pid);
	e.mech = S(*acct ? "PLAIN" : "");
	e.client_name = S("client.example");
	ip(&e, "192.0.2.10");
	return e;
}

static struct fm_event
authd(double t, const char *acct, const char *addr, const char *sess,
    const char *reason)
{
	struct fm_event e = ev(FM_EV_LOGIN_FAIL, t);

	e.program = S("dovecot");
	e.service = S("");
	e.origin = FM_ORIGIN_AUTHD;
	e.attempts = 1;
	e.account = S(acct);
	e.session = S(sess);
	e.reason = S(reason);
	if (*sess == '\0')
		e.flags = FM_F_NOSESSION;
	ip(&e, addr);
	return e;
}

/* front - a Dovecot login process' failure line (session S) */
static struct fm_event
front(double t, const char *acct, const char *addr, const char *sess, int n)
{
	struct fm_event e = ev(FM_EV_LOGIN_FAIL, t);

	e.program = S("dovecot");
	e.service = S("imap");
	e.account = S(acct);
	e.session = S(sess);
	e.attempts = n;
	e.reason = S("auth failed");
	ip(&e, addr);
	return e;
}

/* warning - a Postfix SASL failure warning (session: the smtpd pid) */
static struct fm_event
warning(double t, const char *acct, const char *addr, const char *pid)
{
	struct fm_event e = ev(FM_EV_LOGIN_FAIL, t);

	e.account = S(acct);
	e.session = S(pid);
	e.attempts = 1;
	e.reason = S("UGFzc3dvcmQ6");
	ip(&e, addr);
	return e;
}

static void
test_qid(void)
{
	struct correlate *c = correlate_new();
	struct rec r = { 0 };
	struct fm_event e;

	rec_reset(&r);
	e = submit(0, "4AbCdEf123", "bob", "100");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 2, "qid: submission with account -> LOGIN_OK + MSG_SUBMIT");
	is_int(r.kind[0], FM_EV_LOGIN_OK, "qid: LOGIN_OK first");
	is_str(r.account[0], "bob", "qid: LOGIN_OK account");
	is_str(r.ip[0], "192.0.2.10", "qid: LOGIN_OK ip");
	is_int(r.kind[1], FM_EV_MSG_SUBMIT, "qid: then MSG_SUBMIT");

	rec_reset(&r);
	e = ev(FM_EV_MSG_ID, 1);
	e.program = S("postfix/cleanup");
	e.service = S("");
	e.queue_id = S("4AbCdEf123");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_MSG_QUEUED, 1);
	e.queue_id = S("4AbCdEf123");
	e.service = S("");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_DELIVERY, 3);
	e.queue_id = S("4AbCdEf123");
	e.service = S("");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 3, "qid: three later events");
	ok(strcmp(r.account[0], "bob") == 0 && strcmp(r.account[1], "bob") == 0 &&
	    strcmp(r.account[2], "bob") == 0, "qid: all attributed to bob");
	ok((r.flags[2] & FM_F_INFERRED) != 0, "qid: flagged inferred");
	is_str(r.ip[2], "192.0.2.10", "qid: delivery gets the client ip");
	ok(strstr(r.json.data, "\"service\":\"submission\"") != NULL,
	    "qid: service filled in");

	rec_reset(&r);
	e = ev(FM_EV_DELIVERY, 4);
	e.host = S("other");
	e.queue_id = S("4AbCdEf123");
	correlate_event(c, &e, rec_emit, &r);
	is_str(r.account[0], "", "qid: another host's same queue id is not bob's");

	rec_reset(&r);
	e = ev(FM_EV_MSG_DONE, 5);
	e.queue_id = S("4AbCdEf123");
	correlate_event(c, &e, rec_emit, &r);
	is_str(r.account[0], "bob", "qid: MSG_DONE attributed");
	e = ev(FM_EV_DELIVERY, 6);
	e.queue_id = S("4AbCdEf123");
	correlate_event(c, &e, rec_emit, &r);
	is_str(r.account[1], "", "qid: entry dropped after MSG_DONE");
	is_int(correlate_size(c), 1, "qid: only the smtpd session is left");

	/* expiry: 7 days of event time */
	rec_reset(&r);
	e = submit(10, "5XyZ", "carol", "101");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_MSG_QUEUED, 8 * 86400);
	e.queue_id = S("5XyZ");
	correlate_event(c, &e, rec_emit, &r);
	is_str(r.account[2], "", "qid: forgotten after 7 days");
	is_int(correlate_size(c), 0, "qid: sessions expire too");
	correlate_free(c);
	buf_free(&r.json);
}

static void
test_sessions(void)
{
	struct correlate *c = correlate_new();
	struct rec r = { 0 };
	struct fm_event e;
	int i, oks;

	rec_reset(&r);
	e = ev(FM_EV_CONNECT, 0);
	e.session = S("200");
	correlate_event(c, &e, rec_emit, &r);
	e = submit(1, "AAAAA1", "bob", "200");
	correlate_event(c, &e, rec_emit, &r);
	e = submit(2, "AAAAA2", "bob", "200");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_DISCONNECT, 3);
	e.session = S("200");
	e.auth_ok = 1;
	correlate_event(c, &e, rec_emit, &r);
	for (i = oks = 0; i < r.n; i++)
		oks += r.kind[i] == FM_EV_LOGIN_OK;
	is_int(oks, 1, "session: one LOGIN_OK for two submissions");
	is_int(r.n, 5, "session: connect, login, submit, submit, disconnect");
	is_int(r.kind[4], FM_EV_DISCONNECT, "session: disconnect last");
	is_str(r.account[4], "bob", "session: disconnect attributed");

	/* a new session on the same pid logs in again */
	rec_reset(&r);
	e = ev(FM_EV_CONNECT, 10);
	e.session = S("200");
	correlate_event(c, &e, rec_emit, &r);
	e = submit(11, "AAAAA3", "bob", "200");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.kind[1], FM_EV_LOGIN_OK, "session: new connect, new LOGIN_OK");

	/* auth=1 and nothing sent: a LOGIN_OK with no account */
	rec_reset(&r);
	e = ev(FM_EV_CONNECT, 20);
	e.session = S("300");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_DISCONNECT, 21);
	e.session = S("300");
	e.auth_ok = 1;
	ip(&e, "192.0.2.77");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 3, "auth=1: connect, LOGIN_OK, disconnect");
	is_int(r.kind[1], FM_EV_LOGIN_OK, "auth=1: LOGIN_OK before disconnect");
	is_str(r.account[1], "", "auth=1: no account");
	is_str(r.ip[1], "192.0.2.77", "auth=1: its client");

	/* auth=0/2: no login, and the failures are not counted again */
	rec_reset(&r);
	e = ev(FM_EV_CONNECT, 30);
	e.session = S("301");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_DISCONNECT, 31);
	e.session = S("301");
	e.auth_fail = 2;
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 2, "auth=0/2: just connect and disconnect");

	/* a disconnect with auth=1 but no connect seen (log began mid-session) */
	rec_reset(&r);
	e = ev(FM_EV_DISCONNECT, 40);
	e.session = S("302");
	e.auth_ok = 1;
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.kind[0], FM_EV_LOGIN_OK, "auth=1 without connect: LOGIN_OK");
	correlate_free(c);
	buf_free(&r.json);
}

static void
test_dedupe(void)
{
	struct correlate *c = correlate_new();
	struct rec r = { 0 };
	struct fm_event e;

	/* Dovecot: two auth lines, then the login process' line */
	rec_reset(&r);
	e = authd(0, "bob", "198.51.100.7", "Sess1", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = authd(3, "bob", "198.51.100.7", "Sess1", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 0, "dedupe: auth lines are held");
	is_int(correlate_size(c), 2, "dedupe: two held");
	e = front(9, "", "198.51.100.7", "Sess1", 2);
	e.line_no = 4242;
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "dedupe: one LOGIN_FAIL for the attempt");
	is_int(r.attempts[0], 2, "dedupe: attempts from the front line");
	is_str(r.account[0], "bob", "dedupe: account from the auth line");
	is_str(r.reason[0], "Password mismatch", "dedupe: reason from auth");
	is_int(r.origin[0], FM_ORIGIN_FRONT, "dedupe: origin front");
	is_int((int)r.line[0], 4242, "dedupe: src is the front line");
	is_int(correlate_size(c), 0, "dedupe: nothing left held");
	correlate_flush(c, rec_emit, &r);
	is_int(r.n, 1, "dedupe: flush emits nothing more");

	/* wrong password, then the right one: the login releases the failure */
	rec_reset(&r);
	e = authd(20, "bob", "198.51.100.8", "Sess2", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_LOGIN_OK, 21);
	e.session = S("Sess2");
	e.account = S("bob");
	e.service = S("imap");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 2, "release: held failure and the login");
	ok(strstr(r.json.data, "\"service\":\"imap\"") != NULL &&
	    strstr(r.json.data, "\"origin\":\"authd\"") != NULL &&
	    strstr(r.json.data, "\"service\":\"imap\"") <
	    strstr(r.json.data, "\"kind\":\"login_ok\""),
	    "release: the failure gets the login's service");
	ok(r.kind[0] == FM_EV_LOGIN_FAIL && r.origin[0] == FM_ORIGIN_AUTHD &&
	    r.kind[1] == FM_EV_LOGIN_OK, "release: failure first, as logged");
	is_int(correlate_size(c), 0, "release: nothing left held");
	rec_reset(&r);
	e = authd(30, "", "198.51.100.8", "", "pam_unix: authentication failure");
	correlate_event(c, &e, rec_emit, &r);
	e = authd(30, "bob", "198.51.100.8", "Sess3", "pam_authenticate() failed");
	correlate_event(c, &e, rec_emit, &r);
	e = ev(FM_EV_LOGIN_OK, 31);
	e.session = S("Sess3");
	e.account = S("bob");
	ip(&e, "198.51.100.8");
	correlate_event(c, &e, rec_emit, &r);
	correlate_flush(c, rec_emit, &r);
	is_int(r.n, 2, "release: PAM's line about the failure is not counted again");

	/* Postfix via Dovecot SASL: no session, matched by address */
	rec_reset(&r);
	e = authd(100, "alice@example.com", "203.0.113.5", "", "unknown user");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(101, "", "203.0.113.5", "777");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "nosession: one event");
	is_str(r.account[0], "alice@example.com", "nosession: account from auth");
	is_str(r.reason[0], "unknown user", "nosession: reason from auth");
	is_int(r.attempts[0], 1, "nosession: one attempt");

	/* local part vs full address: same login */
	rec_reset(&r);
	e = authd(200, "carol", "203.0.113.6", "", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(200, "Carol@example.com", "203.0.113.6", "778");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "nosession: carol ~ Carol@example.com");
	is_str(r.account[0], "Carol@example.com", "nosession: front account kept");

	/* an IMAP failure never takes a Postfix check's auth line ... */
	rec_reset(&r);
	e = authd(250, "frank", "203.0.113.9", "", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = authd(251, "frank", "203.0.113.9", "SessF", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = front(252, "frank", "203.0.113.9", "SessF", 1);
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "imap front: one event for its own session");
	is_int(correlate_size(c), 1, "imap front: the SMTP auth line stays held");
	e = warning(253, "frank", "203.0.113.9", "781");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 2, "imap front: the Postfix warning claims it");
	is_str(r.reason[1], "Password mismatch", "imap front: with its reason");
	is_int(correlate_size(c), 0, "imap front: nothing held");

	/* ... but does take PAM's own line about its attempt */
	rec_reset(&r);
	e = authd(260, "", "203.0.113.10", "", "pam_unix: authentication failure");
	correlate_event(c, &e, rec_emit, &r);
	e = authd(260, "gina", "203.0.113.10", "SessG", "unknown user");
	correlate_event(c, &e, rec_emit, &r);
	e = front(261, "gina", "203.0.113.10", "SessG", 1);
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "pam: one event for pam_unix + dovecot + front");
	is_str(r.reason[0], "unknown user", "pam: Dovecot's reason preferred");
	is_int(correlate_size(c), 0, "pam: nothing held");
	rec_reset(&r);
	e = authd(270, "", "203.0.113.11", "", "pam_unix: authentication failure");
	correlate_event(c, &e, rec_emit, &r);
	e = authd(270, "hal", "203.0.113.11", "", "pam_authenticate() failed: x");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(270, "hal", "203.0.113.11", "782");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "pam: Postfix warning takes both backend lines");
	is_str(r.reason[0], "pam_authenticate() failed: x", "pam: Dovecot's reason");
	is_int(correlate_size(c), 0, "pam: nothing held after the warning");

	/* other account, other address: not merged */
	rec_reset(&r);
	e = authd(300, "dave", "203.0.113.7", "", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(301, "erin", "203.0.113.7", "779");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(301, "dave", "203.0.113.8", "780");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 2, "nosession: mismatches emitted alone");
	is_int(correlate_size(c), 1, "nosession: dave's auth line still held");
	correlate_flush(c, rec_emit, &r);
	is_int(r.n, 3, "flush: held line emitted");
	is_int(r.origin[2], FM_ORIGIN_AUTHD, "flush: as it was (authd)");
	is_str(r.account[2], "dave", "flush: dave");
	correlate_free(c);
	buf_free(&r.json);
}

static void
test_expiry(void)
{
	struct correlate *c = correlate_new();
	struct rec r = { 0 };
	struct fm_event e;

	rec_reset(&r);
	e = authd(0, "bob", "198.51.100.9", "", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(60, "bob", "198.51.100.9", "900");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 1, "expiry: a warning 60 s later still claims");

	rec_reset(&r);
	e = authd(100, "bob", "198.51.100.9", "", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	e = warning(161, "bob", "198.51.100.9", "900");
	correlate_event(c, &e, rec_emit, &r);
	is_int(r.n, 2, "expiry: 61 s later it does not");
	is_int(r.origin[0], FM_ORIGIN_AUTHD, "expiry: held line came out first");
	is_int(r.origin[1], FM_ORIGIN_FRONT, "expiry: then the warning");

	rec_reset(&r);
	e = authd(200, "bob", "198.51.100.9", "SessX", "Password mismatch");
	correlate_event(c, &e, rec_emit, &r);
	correlate_expire(c, T0 + 3700 * SEC, rec_emit, &r);
	is_int(r.n, 0, "expiry: session-held survives ~58 min");
	correlate_expire(c, T0 + 3801 * SEC, rec_emit, &r);
	is_int(r.n, 1, "expiry: and goes after an hour");
	is_int(correlate_size(c), 0, "expiry: nothing held");
	correlate_free(c);
	buf_free(&r.json);
}

/* a mixed stream for the checkpoint test */
static size_t
stream(struct fm_event *v)
{
	static char q[6][16], p[6][16], s[6][16];
	size_t n = 0;
	int i;

	lineno = 0;
	for (i = 0; i < 6; i++) {
		snprintf(q[i], sizeof(q[i]), "Q%04dABC", i);
		snprintf(p[i], sizeof(p[i]), "%d", 500 + i % 3);
		snprintf(s[i], sizeof(s[i]), "S%d", i);
		v[n] = ev(FM_EV_CONNECT, i * 10);
		v[n++].session = S(p[i]);
		v[n++] = submit(i * 10 + 1, q[i], i % 2 ? "bob" : "", p[i]);
		v[n++] = authd(i * 10 + 2, "mallory", "198.51.100.1",
		    i % 2 ? s[i] : "", "Password mismatch");
		v[n] = ev(FM_EV_MSG_QUEUED, i * 10 + 3);
		v[n++].queue_id = S(q[i]);
		if (i % 3 == 0)
			v[n++] = front(i * 10 + 4, "", "198.51.100.1", s[i], 1);
		v[n] = ev(FM_EV_DISCONNECT, i * 10 + 5);
		v[n].auth_ok = i % 2;
		v[n++].session = S(p[i]);
		v[n] = ev(FM_EV_MSG_DONE, i * 10 + 30);
		v[n++].queue_id = S(q[i]);
	}
	return n;
}

/* resumed - feed v[0..k), checkpoint, feed v[k..n) to a fresh correlator */
static int
resumed(const struct fm_event *v, size_t n, size_t k, struct rec *r,
    struct buf *blob)
{
	struct correlate *b = correlate_new(), *c2 = correlate_new();
	size_t i;
	int rc;

	rec_reset(r);
	for (i = 0; i < k; i++)
		correlate_event(b, &v[i], rec_emit, r);
	buf_reset(blob);
	correlate_save(b, blob);
	correlate_free(b);
	rc = correlate_load(c2, blob->data, blob->len);
	for (i = k; i < n; i++)
		correlate_event(c2, &v[i], rec_emit, r);
	correlate_flush(c2, rec_emit, r);
	correlate_free(c2);
	return rc;
}

static void
test_checkpoint(void)
{
	struct fm_event v[64];
	struct correlate *a = correlate_new(), *c2 = correlate_new();
	struct rec ra = { 0 }, rb = { 0 };
	struct buf blob, junk;
	size_t n = stream(v), i, k, differ = 0, loadfail = 0;
	int bad = 0;

	rec_reset(&ra);
	for (i = 0; i < n; i++)
		correlate_event(a, &v[i], rec_emit, &ra);
	correlate_flush(a, rec_emit, &ra);
	ok(ra.n > (int)n / 2, "checkpoint: stream gives %d events", ra.n);
	buf_init(&blob);
	for (k = 0; k <= n; k++) {
		if (resumed(v, n, k, &rb, &blob) != 0)
			loadfail++;
		if (strcmp(ra.json.data, rb.json.data) != 0) {
			if (differ++ == 0)
				diag("split %zu:\nstraight:\n%s\nresumed:\n%s", k,
				    ra.json.data, rb.json.data);
		}
	}
	is_int(loadfail, 0, "checkpoint: every mid-stream checkpoint loads");
	is_int(differ, 0, "checkpoint: identical output at every split point");

	/* damaged blobs are refused and leave an empty, working correlator */
	(void)resumed(v, n, n / 2, &rb, &blob);
	buf_init(&junk);
	for (k = 0; k < blob.len; k++) {
		if (correlate_load(c2, blob.data, k) != -1 || correlate_size(c2))
			bad++;
	}
	is_int(bad, 0, "checkpoint: every truncation refused");
	for (k = 6; k < blob.len; k += 7) {
		buf_reset(&junk);
		buf_add(&junk, blob.data, blob.len);
		junk.data[k] ^= 0x5a;
		if (correlate_load(c2, junk.data, junk.len) == -1 &&
		    correlate_size(c2) != 0)
			bad++;
	}
	is_int(bad, 0, "checkpoint: flipped bytes never half-load");
	buf_reset(&junk);
	buf_add(&junk, "FMCORR\x01\x00\x00\x00\x00\x00\x00\x00", 14);
	for (k = 0; k < 40; k++)
		buf_addc(&junk, '\xff');
	is_int(correlate_load(c2, junk.data, junk.len), -1,
	    "checkpoint: huge counts refused");
	is_int(correlate_load(c2, "garbage", 7), -1, "checkpoint: garbage");
	is_int(correlate_load(c2, blob.data, blob.len), 0, "checkpoint: reload");
	ok(correlate_size(c2) > 0, "checkpoint: reloaded state (%zu entries)",
	    correlate_size(c2));
	buf_free(&junk);
	buf_free(&blob);
	correlate_free(a);
	correlate_free(c2);
	buf_free(&ra.json);
	buf_free(&rb.json);
}

static void
count_emit(void *arg, const struct fm_event *ev)
{
	(void)ev;
	(*(size_t *)arg)++;
}

static void
test_bounds(void)
{
	struct correlate *c = correlate_new();
	struct fm_event e;
	char q[32], s[32];
	size_t i, emitted = 0, max = 0;

	for (i = 0; i < 100000; i++) {
		snprintf(q, sizeof(q), "B%08zuX", i);
		snprintf(s, sizeof(s), "%zu", i);
		e = submit(0, q, "bob", s);
		correlate_event(c, &e, count_emit, &emitted);
		if (correlate_size(c) > max)
			max = correlate_size(c);
	}
	ok(max <= 32768 + 16384, "bounds: qids and sessions capped (%zu)", max);
	emitted = 0;
	for (i = 0; i < 40000; i++) {
		snprintf(s, sizeof(s), "sess%zu", i);
		e = authd(1, "x", "192.0.2.1", s, "Password mismatch");
		correlate_event(c, &e, count_emit, &emitted);
	}
	ok(correlate_size(c) <= 32768 + 16384 + 16384,
	    "bounds: held capped (%zu)", correlate_size(c));
	is_int(emitted, 40000 - 16384, "bounds: evicted held events are emitted");
	correlate_flush(c, count_emit, &emitted);
	is_int(emitted, 40000, "bounds: every held event comes out once");
	correlate_free(c);
}

/* poplogin - a Dovecot login of acct over service from addr */
static struct fm_event
poplogin(double t, const char *acct, const char *service, const char *addr)
{
	struct fm_event e = ev(FM_EV_LOGIN_OK, t);

	e.program = S("dovecot");
	e.service = S(service);
	e.account = S(acct);
	e.mech = S("PLAIN");
	ip(&e, addr);
	return e;
}

/* queued - qmgr's line for qid */
static struct fm_event
queued(double t, const char *qid)
{
	struct fm_event e = ev(FM_EV_MSG_QUEUED, t);

	e.program = S("postfix/qmgr");
	e.service = S("");
	e.queue_id = S(qid);
	e.sender = S("someone@example.org");
	e.size = 100;
	e.nrcpt = 1;
	return e;
}

static void
feed(struct correlate *c, struct fm_event e, struct rec *r)
{
	correlate_event(c, &e, rec_emit, r);
}

/* pop_case - a fresh record and a window of w seconds */
static void
pop_case(struct correlate *c, struct rec *r, int64_t w)
{
	rec_reset(r);
	correlate_pop_window(c, w);
}

static void
test_pop(void)
{
	struct correlate *c = correlate_new(), *c2;
	struct rec r = { 0 };
	struct fm_event e;
	struct buf blob;
	char a[32];
	size_t out = 0;
	int i;

	/* off by default: nothing is remembered or inferred */
	rec_reset(&r);
	feed(c, poplogin(0, "alice", "pop3", "192.0.2.10"), &r);
	feed(c, submit(10, "P0", "", "1"), &r);
	is_int(r.n, 2, "pop: off: login and submit pass");
	is_str(r.account[1], "", "pop: off: no account");
	is_int(r.flags[1], 0, "pop: off: not inferred");
	is_int((int)correlate_size(c), 1, "pop: off: only the qid held");
	correlate_free(c);

	/* the window's edge is inclusive */
	c = correlate_new();
	pop_case(c, &r, 600);
	feed(c, poplogin(100, "alice", "pop3", "192.0.2.10"), &r);
	feed(c, submit(700, "P1", "", "1"), &r);
	feed(c, queued(701, "P1"), &r);
	is_int(r.n, 3, "pop: edge: no LOGIN_OK invented");
	is_str(r.account[1], "alice", "pop: edge: submit attributed");
	is_int(r.flags[1], FM_F_INFERRED, "pop: edge: inferred");
	ok(r.via_time[1] == T0 + 100 * SEC, "pop: edge: evidence time");
	is_str(r.via_service[1], "pop3", "pop: edge: evidence service");
	is_int(r.via_accounts[1], 1, "pop: edge: one account");
	is_str(r.account[2], "alice", "pop: edge: qmgr line attributed");
	ok(r.via_time[2] == T0 + 100 * SEC && r.via_accounts[2] == 1 &&
	    strcmp(r.via_service[2], "pop3") == 0,
	    "pop: edge: qmgr line carries the evidence");
	correlate_free(c);

	/* one microsecond past it: not attributed */
	c = correlate_new();
	pop_case(c, &r, 600);
	feed(c, poplogin(100, "alice", "pop3", "192.0.2.10"), &r);
	e = submit(700, "P2", "", "1");
	e.time++;
	feed(c, e, &r);
	is_str(r.account[1], "", "pop: past the window: no account");
	is_int(r.flags[1], 0, "pop: past the window: not inferred");
	ok(r.via_time[1] == 0, "pop: past the window: no evidence");
	correlate_free(c);

	/* several accounts share the address: the newest login wins */
	c = correlate_new();
	pop_case(c, &r, 600);
	feed(c, poplogin(100, "alice", "pop3", "192.0.2.10"), &r);
	feed(c, poplogin(200, "bob", "imap", "192.0.2.10"), &r);
	feed(c, poplogin(210, "carol", "imap", "192.0.2.99"), &r);
	feed(c, poplogin(220, "dave", "submission", "192.0.2.10"), &r);
	feed(c, submit(300, "P3", "", "1"), &r);
	is_str(r.account[4], "bob", "pop: shared: newest login's account");
	is_str(r.via_service[4], "imap", "pop: shared: its service");
	is_int(r.via_accounts[4], 2,
	    "pop: shared: two accounts (other address, SMTP login not counted)");
	feed(c, poplogin(310, "alice", "pop3", "192.0.2.10"), &r);
	feed(c, poplogin(320, "alice", "pop3", "192.0.2.10"), &r);
	feed(c, submit(330, "P4", "", "2"), &r);
	is_str(r.account[7], "alice", "pop: shared: alice again");
	is_int(r.via_accounts[7], 2, "pop: shared: still two accounts");
	ok(r.via_time[7] == T0 + 320 * SEC, "pop: shared: her newest login");

	/* an authenticated submission keeps its own account */
	feed(c, submit(340, "P5", "erin", "3"), &r);
	is_int(r.n, 10, "pop: sasl: its LOGIN_OK and the submit");
	is_str(r.account[9], "erin", "pop: sasl: own account");
	is_int(r.flags[9], 0, "pop: sasl: not inferred");
	ok(r.via_time[9] == 0, "pop: sasl: no evidence");
	feed(c, queued(341, "P5"), &r);
	ok(r.via_time[10] == 0 && strcmp(r.account[10], "erin") == 0,
	    "pop: sasl: qmgr line without evidence");

	/* no login from the address */
	e = submit(350, "P6", "", "4");
	ip(&e, "192.0.2.11");
	feed(c, e, &r);
	is_str(r.account[11], "", "pop: no login: no account");

	/* checkpoint: logins and a pending message's evidence survive */
	feed(c, submit(360, "P7", "", "5"), &r);
	buf_init(&blob);
	correlate_save(c, &blob);
	c2 = correlate_new();
	correlate_pop_window(c2, 600);
	is_int(correlate_load(c2, blob.data, blob.len), 0, "pop: ckpt: loads");
	is_int((int)correlate_size(c2), (int)correlate_size(c),
	    "pop: ckpt: same size");
	pop_case(c2, &r, 600);
	feed(c2, queued(361, "P7"), &r);
	feed(c2, submit(370, "P8", "", "6"), &r);
	is_str(r.account[0], "alice", "pop: ckpt: qmgr line attributed");
	ok(r.via_time[0] == T0 + 320 * SEC && r.via_accounts[0] == 2 &&
	    strcmp(r.via_service[0], "pop3") == 0,
	    "pop: ckpt: qmgr line keeps the evidence");
	ok(strcmp(r.account[1], "alice") == 0 && r.via_accounts[1] == 2,
	    "pop: ckpt: logins kept");
	/* expiry on event time: 600 s after the last login nothing is left */
	feed(c2, submit(921, "P9", "", "7"), &r);
	is_str(r.account[2], "", "pop: expired: no account");
	correlate_free(c2);

	/* a version 1 checkpoint (no logins table) still loads; a version 2
	 * header with only four tables does not */
	buf_reset(&blob);
	buf_add(&blob, "FMCORR\x01\0\0\0\0\0\0\0", 14);
	for (i = 0; i < 6 * 8; i++)
		buf_addc(&blob, '\0');
	c2 = correlate_new();
	is_int(correlate_load(c2, blob.data, blob.len), 0, "pop: ckpt: v1 loads");
	blob.data[6] = 2;
	is_int(correlate_load(c2, blob.data, blob.len), -1,
	    "pop: ckpt: v2 needs the logins table");
	buf_addc(&blob, '\0');
	for (i = 0; i < 7; i++)
		buf_addc(&blob, '\0');
	is_int(correlate_load(c2, blob.data, blob.len), 0, "pop: ckpt: v2 empty");
	blob.data[6] = 3;
	is_int(correlate_load(c2, blob.data, blob.len), -1,
	    "pop: ckpt: future version refused");
	correlate_free(c2);
	buf_free(&blob);

	/* bounded: logins from many addresses are capped */
	for (i = 0; i < 70000; i++) {
		snprintf(a, sizeof(a), "10.%d.%d.%d", (i >> 16) & 255,
		    (i >> 8) & 255, i & 255);
		e = poplogin(400, "x", "pop3", a);
		correlate_event(c, &e, count_emit, &out);
	}
	ok(correlate_size(c) <= 65536 + 16, "pop: bounds: logins capped (%zu)",
	    correlate_size(c));
	is_int(out, 70000, "pop: bounds: every login passes through");
	correlate_free(c);
	buf_free(&r.json);
}

int
main(void)
{
	test_qid();
	test_sessions();
	test_dedupe();
	test_expiry();
	test_checkpoint();
	test_bounds();
	test_pop();
	return done_testing();
}
