/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * postfix.c - parser plugin for Postfix's log lines.
 *
 * The core hands us lines whose program tag starts with "postfix"
 * ("postfix/smtpd", "postfix/submission/smtpd", "postfix-in/qmgr" ...).  We
 * dispatch on the tag's last component (smtpd, qmgr, cleanup, postscreen;
 * anything else may log deliveries), then on fixed message prefixes through
 * tables of {prefix, handler}.  Handlers fill the event in place, pointing
 * into the line, and emit it:
 *
 *   smtpd   connect from / disconnect from (auth=OK/TOTAL), QID: client=
 *           (sasl_method, sasl_username), warning: ...: SASL X authentication
 *           failed, NOQUEUE|QID: reject:
 *   cleanup QID: message-id=<...>, QID: info|warning: header Subject: ...
 *           (header_checks "/^Subject:/ INFO" or WARN)
 *   qmgr    QID: from=<...>, size=, nrcpt= / QID: removed / QID: from=<...>,
 *           status=expired, returned to sender (a DELIVERY, no recipient)
 *   postsuper QID: removed (deleted by the administrator)
 *   others  QID: to=<...>, [orig_to=<...>,] relay=, ..., status=X (reason)
 *
 * smtpd events carry the service (submission, smtps, ... from a three-part
 * tag, "smtp" otherwise) and the smtpd pid as text in `session`, which is
 * how the correlator ties a session's lines together.
 *
 * SECURITY: client names, HELO names, addresses, SASL usernames and server
 * replies are attacker-controlled.  Every scanner stays inside the message;
 * where a field could be forged by text inside an earlier field, the
 * anchor is chosen on the side the attacker cannot write (see sd_client,
 * sd_sasl_fail, pf_rcpt_end).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fumidai/plugin.h"
#include "scan.h"

/* Everything one handler needs about the line being parsed. */
struct pfl {
	const struct fm_line *ln;
	struct fm_event *ev;
	fm_emit_fn *emit;
	void *arg;
	char pid[24];		/* the smtpd pid as text (event session) */
};

typedef int pf_fn(struct pfl *, const char *, const char *);

/* A message prefix and its handler; the handler gets the text after it. */
struct pf_rule {
	const char *pfx;
	size_t n;
	pf_fn *fn;
};
#define RULE(s, f)	{ s, sizeof(s) - 1, f }

static int claims(const char *, size_t);
static void *init(fm_log_fn *, const char **);
static int parse(void *, const struct fm_line *, struct fm_event *,
    fm_emit_fn *, void *);
static void fini(void *);
static int pf_rules(const struct pf_rule *, size_t, struct pfl *,
    const char *, const char *, int *);
static int pf_emit(struct pfl *, int);
static int pf_ignore(struct pfl *, const char *, const char *);
static int pf_smtpd(struct pfl *, const char *, const char *);
static int pf_qmgr(struct pfl *, const char *, const char *);
static int qm_expired(struct pfl *, const char *, const char *);
static int pf_cleanup(struct pfl *, const char *, const char *);
static int pf_postscreen(struct pfl *, const char *, const char *);
static int pf_other(struct pfl *, const char *, const char *);
static int pf_postsuper(struct pfl *, const char *, const char *);
static int pf_delivery(struct pfl *, const char *, const char *);
static const char *pf_qid(struct pfl *, const char *, const char *);
static struct fm_str pf_service(struct fm_str);
static int sd_connect(struct pfl *, const char *, const char *);
static int sd_disconnect(struct pfl *, const char *, const char *);
static int sd_warning(struct pfl *, const char *, const char *);
static int sd_noqueue(struct pfl *, const char *, const char *);
static int sd_queued(struct pfl *, const char *, const char *);
static int sd_client(struct pfl *, const char *, const char *);
static int sd_reject(struct pfl *, const char *, const char *);
static int sd_sasl_fail(struct pfl *, const char *, const char *);

/* smtpd lines that do not start with a queue id */
static const struct pf_rule smtpd_rules[] = {
	RULE("connect from ", sd_connect),
	RULE("disconnect from ", sd_disconnect),
	RULE("warning: ", sd_warning),
	RULE("NOQUEUE: ", sd_noqueue),
	RULE("lost connection after ", pf_ignore),
	RULE("timeout after ", pf_ignore),
	RULE("improper command pipelining ", pf_ignore),
	RULE("too many errors after ", pf_ignore),
	RULE("Anonymous TLS connection ", pf_ignore),
	RULE("Trusted TLS connection ", pf_ignore),
	RULE("Untrusted TLS connection ", pf_ignore),
	RULE("Verified TLS connection ", pf_ignore),
	RULE("SSL_accept error ", pf_ignore),
	RULE("TLS SNI ", pf_ignore),
	RULE("discarding EHLO keywords", pf_ignore),
	RULE("non-SMTP command from ", pf_ignore),
	RULE("fatal: ", pf_ignore),
	RULE("error: ", pf_ignore),
	RULE("panic: ", pf_ignore),
	RULE("connect to ", pf_ignore),
	RULE("table ", pf_ignore),
	RULE("setting up TLS connection ", pf_ignore),
	RULE("proxy-reject: ", pf_ignore),
	RULE("proxy-accept: ", pf_ignore),
};

/* smtpd lines "QID: ..." */
static const struct pf_rule smtpd_qid_rules[] = {
	RULE("client=", sd_client),
	RULE("reject: ", sd_reject),
	RULE("milter-reject: ", sd_reject),
	RULE("reject_warning: ", pf_ignore),
	RULE("milter-discard: ", pf_ignore),
	RULE("milter-hold: ", pf_ignore),
	RULE("discard: ", pf_ignore),
	RULE("hold: ", pf_ignore),
	RULE("filter: ", pf_ignore),
	RULE("redirect: ", pf_ignore),
	RULE("warning: ", pf_ignore),
	RULE("info: ", pf_ignore),
	RULE("replace: ", pf_ignore),
	RULE("prepend: ", pf_ignore),
	RULE("lost connection ", pf_ignore),
	RULE("enabling PIX workarounds", pf_ignore),
};

/* Programs by the last component of the tag; others go to pf_other. */
static const struct pf_rule programs[] = {
	RULE("smtpd", pf_smtpd),
	RULE("qmgr", pf_qmgr),
	RULE("oqmgr", pf_qmgr),
	RULE("cleanup", pf_cleanup),
	RULE("postscreen", pf_postscreen),
	RULE("postsuper", pf_postsuper),
};

/* claims - tags whose first path component starts with "postfix" */
static int
claims(const char *prog, size_t len)
{
	return len >= 7 && memcmp(prog, "postfix", 7) == 0;
}

static void *
init(fm_log_fn *log, const char **err)
{
	static int self;	/* stateless: every line stands alone */

	(void)log;
	(void)err;
	return &self;
}

static void
fini(void *self)
{
	(void)self;
}

/* pf_rules - run the first rule whose prefix starts [p, e); *hit says
 * whether one did */
static int
pf_rules(const struct pf_rule *r, size_t n, struct pfl *l, const char *p,
    const char *e, int *hit)
{
	size_t i;

	*hit = 0;
	if (p >= e)
		return FM_PARSE_UNKNOWN;
	for (i = 0; i < n; i++) {
		if (r[i].pfx[0] != *p || !sc_pfx(p, e, r[i].pfx, r[i].n))
			continue;
		*hit = 1;
		return r[i].fn(l, p + r[i].n, e);
	}
	return FM_PARSE_UNKNOWN;
}

static int
pf_emit(struct pfl *l, int kind)
{
	l->ev->kind = kind;
	l->emit(l->arg, l->ev);
	return FM_PARSE_EVENT;
}

static int
pf_ignore(struct pfl *l, const char *p, const char *e)
{
	(void)l;
	(void)p;
	(void)e;
	return FM_PARSE_IGNORED;
}

static int
parse(void *self, const struct fm_line *ln, struct fm_event *ev,
    fm_emit_fn *emit, void *arg)
{
	struct pfl l;
	struct fm_str comp = ln->program;
	const char *slash;
	size_t i;

	(void)self;
	l.ln = ln;
	l.ev = ev;
	l.emit = emit;
	l.arg = arg;
	if (comp.len > 0 && (slash = memrchr(comp.p, '/', comp.len)) != NULL)
		comp = sc_str(slash + 1, comp.p + comp.len);
	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (sc_eq(comp, programs[i].pfx, programs[i].n))
			return programs[i].fn(&l, ln->msg, ln->msg + ln->msglen);
	return pf_other(&l, ln->msg, ln->msg + ln->msglen);
}

/* pf_service - "submission" for postfix/submission/smtpd, else "smtp" */
static struct fm_str
pf_service(struct fm_str prog)
{
	const char *last, *prev;
	struct fm_str smtp = { "smtp", 4 };

	if (prog.len == 0 || (last = memrchr(prog.p, '/', prog.len)) == NULL ||
	    last == prog.p ||
	    (prev = memrchr(prog.p, '/', (size_t)(last - prog.p))) == NULL ||
	    last - prev < 2)
		return smtp;
	return sc_str(prev + 1, last);
}

/* pf_qid - "QID: " at p: sets the event's queue id, returns the text after */
static const char *
pf_qid(struct pfl *l, const char *p, const char *e)
{
	size_t n = sc_qid(p, e);

	if (n == 0 || p + n + 1 >= e || p[n + 1] != ' ')
		return NULL;
	l->ev->queue_id = sc_str(p, p + n);
	return p + n + 2;
}

static int
pf_smtpd(struct pfl *l, const char *p, const char *e)
{
	const char *q;
	int hit, r;

	l->ev->service = pf_service(l->ln->program);
	if (l->ln->pid >= 0)
		l->ev->session = sc_str(l->pid,
		    l->pid + sc_utoa(l->pid, (uint64_t)l->ln->pid));
	/* Most queue ids start with a digit (hex short ids, time-based long
	 * ids) and no fixed prefix does: try those first, the rest after. */
	if (p < e && SC_DIGIT(*p) && (q = pf_qid(l, p, e)) != NULL)
		return sd_queued(l, q, e);
	r = pf_rules(smtpd_rules, sizeof(smtpd_rules) / sizeof(smtpd_rules[0]),
	    l, p, e, &hit);
	if (hit)
		return r;
	if ((q = pf_qid(l, p, e)) == NULL)
		return FM_PARSE_UNKNOWN;
	return sd_queued(l, q, e);
}

static int
sd_queued(struct pfl *l, const char *p, const char *e)
{
	int hit;

	return pf_rules(smtpd_qid_rules,
	    sizeof(smtpd_qid_rules) / sizeof(smtpd_qid_rules[0]), l, p, e, &hit);
}

/* sd_connect - "connect from host[ip]" */
static int
sd_connect(struct pfl *l, const char *p, const char *e)
{
	if (sc_hostaddr(p, e, &l->ev->client_name, l->ev) == NULL)
		return FM_PARSE_UNKNOWN;
	return pf_emit(l, FM_EV_CONNECT);
}

/* sd_disconnect - "disconnect from host[ip] ehlo=1 auth=0/1 ... commands=" */
static int
sd_disconnect(struct pfl *l, const char *p, const char *e)
{
	const char *q;
	int64_t ok = 0, total;

	if ((p = sc_hostaddr(p, e, &l->ev->client_name, l->ev)) == NULL)
		return FM_PARSE_UNKNOWN;
	if ((q = SC_FIND(p, e, " auth=")) != NULL &&
	    (q = sc_uint(q + 6, e, &ok)) != NULL) {
		total = ok;
		if (q < e && *q == '/' && sc_uint(q + 1, e, &total) == NULL)
			total = ok;
		if (ok > 1000000)
			ok = 1000000;
		if (total < ok)
			total = ok;
		if (total - ok > 1000000)
			total = ok + 1000000;
		l->ev->auth_ok = (int)ok;
		l->ev->auth_fail = (int)(total - ok);
	}
	return pf_emit(l, FM_EV_DISCONNECT);
}

/* sd_warning - the SASL failure; other warnings are not events */
static int
sd_warning(struct pfl *l, const char *p, const char *e)
{
	const char *q;

	if ((q = sc_hostaddr(p, e, &l->ev->client_name, l->ev)) == NULL ||
	    (q = SC_SKIP(q, e, ": SASL ")) == NULL)
		return FM_PARSE_IGNORED;
	return sd_sasl_fail(l, q, e);
}

/*
 * sd_sasl_fail - "MECH authentication failed: REASON[, sasl_username=U]".
 * The reason comes from the SASL server and the username is last, so the
 * first ", sasl_username=" after the reason's start is the real one.
 */
static int
sd_sasl_fail(struct pfl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *m, *r, *u;

	if ((m = SC_FIND(p, e, " authentication failed")) == NULL)
		return FM_PARSE_UNKNOWN;
	ev->mech = sc_mech(sc_str(p, m));
	r = m + 22;
	if (r < e && *r == ':')
		r++;
	while (r < e && *r == ' ')
		r++;
	if ((u = SC_FIND(r, e, ", sasl_username=")) != NULL) {
		/* "(unavailable)": the auth server went away mid-dialogue */
		if (!SC_EQ(sc_str(u + 16, e), "(unavailable)"))
			ev->account = sc_str(u + 16, e);
		e = u;
	}
	while (e > r && e[-1] == ' ')
		e--;
	ev->reason = sc_str(r, e);
	/* A mechanism the server does not offer: no password was tried. */
	if (SC_EQ(ev->reason, "Invalid authentication mechanism"))
		return FM_PARSE_IGNORED;
	ev->attempts = 1;
	ev->origin = FM_ORIGIN_FRONT;
	return pf_emit(l, FM_EV_LOGIN_FAIL);
}

/* sd_noqueue - "NOQUEUE: reject: ..." (other NOQUEUE lines are not events) */
static int
sd_noqueue(struct pfl *l, const char *p, const char *e)
{
	const char *q;

	if ((q = SC_SKIP(p, e, "reject: ")) != NULL ||
	    (q = SC_SKIP(p, e, "milter-reject: ")) != NULL)
		return sd_reject(l, q, e);
	return FM_PARSE_IGNORED;
}

/*
 * sd_client - "client=host[ip][:port][, sasl_method=M, sasl_username=U]
 * [, sasl_sender=S][, orig_queue_id=Q, orig_client=C]".  The username is
 * the account Dovecot authenticated; what follows it is Postfix's own.
 */
static int
sd_client(struct pfl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *q, *u, *t;

	if ((q = sc_hostaddr(p, e, &ev->client_name, ev)) == NULL)
		return FM_PARSE_UNKNOWN;
	if ((q = SC_SKIP(q, e, ", sasl_method=")) != NULL &&
	    (u = SC_FIND(q, e, ", sasl_username=")) != NULL) {
		ev->mech = sc_mech(sc_str(q, u));
		u += 16;
		if ((t = SC_FIND(u, e, ", sasl_sender=")) != NULL ||
		    (t = SC_FIND(u, e, ", orig_queue_id=")) != NULL ||
		    (t = SC_FIND(u, e, ", orig_client=")) != NULL)
			e = t;
		ev->account = sc_str(u, e);
	}
	return pf_emit(l, FM_EV_MSG_SUBMIT);
}

/* pf_angle_end - end of an <address> value starting at p: the first '>'
 * followed by the end or by one of the keys Postfix writes after it */
static const char *
pf_angle_end(const char *p, const char *e)
{
	static const struct { const char *s; size_t n; } next[] = {
		{ " to=<", 5 }, { ", to=<", 6 }, { " proto=", 7 },
		{ ", proto=", 8 }, { " helo=<", 7 }, { ", helo=<", 8 },
	};
	const char *q;
	size_t i;

	for (q = p; (q = sc_chr(q, e, '>')) != NULL; q++) {
		if (q + 1 == e)
			return q;
		for (i = 0; i < sizeof(next) / sizeof(next[0]); i++)
			if (sc_pfx(q + 1, e, next[i].s, next[i].n))
				return q;
	}
	return NULL;
}

/*
 * sd_reject - "CMD from host[ip]: REPLY; from=<S> to=<R> proto=P helo=<H>"
 * (postscreen separates the keys with ", ").  Header/body rejects from
 * cleanup have another shape and are not events.
 */
static int
sd_reject(struct pfl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *q, *r, *x;

	for (q = p; q < e && ((*q >= 'A' && *q <= 'Z') || *q == '-'); q++)
		;
	if (q == p || (q = SC_SKIP(q, e, " from ")) == NULL)
		return FM_PARSE_IGNORED;
	if ((q = sc_hostaddr(q, e, &ev->client_name, ev)) == NULL ||
	    (q = SC_SKIP(q, e, ": ")) == NULL)
		return FM_PARSE_UNKNOWN;
	/* the reply ends where Postfix's "; from=<" (or "; to=<" for VRFY,
	 * "; proto=" for EHLO and CONNECT) begins */
	r = SC_FIND(q, e, "; from=<");
	if ((x = SC_FIND(q, r ? r : e, "; to=<")) != NULL)
		r = x;
	if ((x = SC_FIND(q, r ? r : e, "; proto=")) != NULL)
		r = x;
	ev->reason = sc_str(q, r ? r : e);
	if (r == NULL)
		return pf_emit(l, FM_EV_REJECT);
	q = r + 2;
	if ((r = SC_SKIP(q, e, "from=<")) != NULL &&
	    (x = pf_angle_end(r, e)) != NULL) {
		ev->sender = sc_str(r, x);
		q = x + 1;
		if (q < e && *q == ',')
			q++;
		if (q < e && *q == ' ')
			q++;
	}
	if ((r = SC_SKIP(q, e, "to=<")) != NULL &&
	    (x = pf_angle_end(r, e)) != NULL)
		ev->rcpt = sc_str(r, x);
	return pf_emit(l, FM_EV_REJECT);
}

/*
 * qm_expired - after "QID: from=<": "S>, status=expired, returned to
 * sender": the message left the queue undelivered past
 * maximal_queue_lifetime, every recipient still deferred with it; a
 * DELIVERY with status "expired" and no recipient
 */
static int
qm_expired(struct pfl *l, const char *q, const char *e)
{
	const char *s;

	if ((s = SC_RFIND(q, e, ">, status=expired")) == NULL)
		return FM_PARSE_IGNORED;
	l->ev->sender = sc_str(q, s);
	l->ev->status = sc_str(s + 10, s + 17);
	if ((q = SC_SKIP(s + 17, e, ", ")) != NULL)
		l->ev->reason = sc_str(q, e);
	return pf_emit(l, FM_EV_DELIVERY);
}

/* pf_qmgr - "QID: from=<S>, size=N, nrcpt=M (queue active)", "QID: removed",
 * and deliveries qmgr logs itself (dead destinations, expiry) */
static int
pf_qmgr(struct pfl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *q, *s;
	int64_t v;

	if ((p = pf_qid(l, p, e)) == NULL)
		return FM_PARSE_IGNORED;
	if ((q = SC_SKIP(p, e, "from=<")) != NULL) {
		/* The sender is the only free text: anchor on the last key. */
		if ((s = SC_RFIND(q, e, ">, size=")) == NULL)
			return qm_expired(l, q, e);
		ev->sender = sc_str(q, s);
		if ((q = sc_uint(s + 8, e, &v)) != NULL)
			ev->size = v;
		if (q != NULL && (q = SC_SKIP(q, e, ", nrcpt=")) != NULL &&
		    sc_uint(q, e, &v) != NULL)
			ev->nrcpt = v > 1000000000 ? 1000000000 : (int)v;
		return pf_emit(l, FM_EV_MSG_QUEUED);
	}
	if (e - p == 7 && memcmp(p, "removed", 7) == 0)
		return pf_emit(l, FM_EV_MSG_DONE);
	if ((q = SC_SKIP(p, e, "to=<")) != NULL)
		return pf_delivery(l, q, e);
	return FM_PARSE_IGNORED;
}

/*
 * cl_subject - after "info: header " or "warning: header ": "Subject: TEXT
 * from CLIENT; from=<S> to=<R> proto=P helo=<H>" (CLIENT "name[addr]" or
 * "local").  TEXT, S, R and H are the sender's: TEXT ends at the last
 * " from " before the first "; from=<" (a Subject holding that text is cut
 * short there, which only shortens the sender's own words).  Another
 * header's line is not an event.
 */
static int
cl_subject(struct pfl *l, const char *p, const char *e)
{
	const char *q, *end;
	size_t i;

	for (i = 0; i < 8; i++)
		if (p + i >= e || (p[i] | 0x20) != "subject:"[i])
			return FM_PARSE_IGNORED;
	p += 8;
	if (p < e && *p == ' ')
		p++;
	if ((q = SC_FIND(p, e, "; from=<")) == NULL ||
	    (end = SC_RFIND(p, q, " from ")) == NULL)
		return FM_PARSE_UNKNOWN;
	l->ev->subject = sc_str(p, end);
	return pf_emit(l, FM_EV_MSG_ID);
}

/* pf_cleanup - "QID: message-id=<id>", a logged Subject, milter rejects */
static int
pf_cleanup(struct pfl *l, const char *p, const char *e)
{
	const char *q;

	if ((p = pf_qid(l, p, e)) == NULL)
		return FM_PARSE_IGNORED;
	if ((q = SC_SKIP(p, e, "info: header ")) != NULL ||
	    (q = SC_SKIP(p, e, "warning: header ")) != NULL)
		return cl_subject(l, q, e);
	if ((q = SC_SKIP(p, e, "message-id=")) != NULL) {
		if (q < e && *q == '<' && e[-1] == '>' && e - q >= 2)
			l->ev->msgid = sc_str(q + 1, e - 1);
		else
			l->ev->msgid = sc_str(q, e);
		return pf_emit(l, FM_EV_MSG_ID);
	}
	if ((q = SC_SKIP(p, e, "milter-reject: ")) != NULL)
		return sd_reject(l, q, e);
	return FM_PARSE_IGNORED;
}

/* pf_postscreen - only its rejects are events (it fronts port 25) */
static int
pf_postscreen(struct pfl *l, const char *p, const char *e)
{
	const char *q;

	if ((q = SC_SKIP(p, e, "NOQUEUE: reject: ")) == NULL)
		return FM_PARSE_IGNORED;
	l->ev->service.p = "smtp";
	l->ev->service.len = 4;
	return sd_reject(l, q, e);
}

/* pf_other - delivery agents (smtp lmtp local virtual pipe discard error
 * retry ...) log "QID: to=<...>"; everything else there is not an event */
static int
pf_other(struct pfl *l, const char *p, const char *e)
{
	const char *q;

	if ((p = pf_qid(l, p, e)) == NULL ||
	    (q = SC_SKIP(p, e, "to=<")) == NULL)
		return FM_PARSE_IGNORED;
	return pf_delivery(l, q, e);
}

/* pf_postsuper - "QID: removed" when the administrator deletes a message */
static int
pf_postsuper(struct pfl *l, const char *p, const char *e)
{
	if ((p = pf_qid(l, p, e)) != NULL && e - p == 7 &&
	    memcmp(p, "removed", 7) == 0)
		return pf_emit(l, FM_EV_MSG_DONE);
	return FM_PARSE_IGNORED;
}

/* pf_rcpt_end - end of the recipient: the first '>' followed by the key
 * Postfix writes next (the address itself may hold '>' when quoted) */
static const char *
pf_rcpt_end(const char *p, const char *e)
{
	const char *q;

	for (q = p; (q = sc_chr(q, e, '>')) != NULL; q++)
		if (SC_PFX(q, e, ">, relay=") || SC_PFX(q, e, ">, orig_to=<"))
			return q;
	return NULL;
}

/*
 * pf_delivery - after "QID: to=<": "R>, [orig_to=<O>,] relay=X, [conn_use=N,]
 * delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=WORD (REASON)"
 */
static int
pf_delivery(struct pfl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *q, *r, *s;

	if ((q = pf_rcpt_end(p, e)) == NULL)
		return FM_PARSE_UNKNOWN;
	ev->rcpt = sc_str(p, q);
	q += 3;
	if ((r = SC_SKIP(q, e, "orig_to=<")) != NULL) {
		if ((q = SC_FIND(r, e, ">, relay=")) == NULL)
			return FM_PARSE_UNKNOWN;
		q += 3;
	}
	if ((q = SC_SKIP(q, e, "relay=")) == NULL)
		return FM_PARSE_UNKNOWN;
	if ((r = SC_FIND(q, e, ", ")) == NULL)
		r = e;
	ev->relay = sc_str(q, r);
	if ((s = SC_FIND(r, e, ", status=")) == NULL)
		return FM_PARSE_UNKNOWN;
	if ((q = SC_FIND(r, s, ", dsn=")) != NULL)
		ev->dsn = sc_str(q + 6, s);
	s += 9;
	for (q = s; q < e && *q != ' '; q++)
		;
	ev->status = sc_str(s, q);
	if ((q = SC_SKIP(q, e, " (")) != NULL)
		ev->reason = sc_str(q, e > q && e[-1] == ')' ? e - 1 : e);
	return pf_emit(l, FM_EV_DELIVERY);
}

const struct fm_parser fm_parser_plugin = {
	FM_PLUGIN_ABI,
	"postfix",
	"Postfix smtpd/cleanup/qmgr/delivery agents (Postfix 2.x-3.x syslog)",
	claims,
	init,
	parse,
	fini,
};
