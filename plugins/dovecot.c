/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dovecot.c - parser plugin for Dovecot's log lines (2.0 to 2.4).
 *
 * Dovecot logs through syslog ("host dovecot[pid]: imap-login: Login: ...")
 * or to its own log_path, where the process name is the tag ("imap-login:
 * Info: Login: ...", "auth-worker(123): Info: ...", "imap(bob)<1><S>:
 * Info: ...").  Either way we first read a process token - name, optional
 * "(args)", optional "<pid><session>" groups - then skip a level prefix and
 * dispatch on the process name through a table:
 *
 *   *-login      Login: -> LOGIN_OK; "(auth failed, N attempts" -> LOGIN_FAIL
 *                with attempts N; "(proxy dest auth failed)" -> LOGIN_FAIL
 *   auth, auth-worker, dovecot-auth
 *                DRIVER(user,ip[,<session>]): Password mismatch | unknown
 *                user | pam_authenticate() failed | invalid credentials |
 *                Login failed (checkpassword), the
 *                2.4 form auth(user,ip,sasl:mech)<session>: DRIVER: reason,
 *                and pam_unix(dovecot:auth): authentication failure; ...
 *                -> LOGIN_FAIL origin AUTHD (FM_F_NOSESSION without session)
 *   imap, pop3, submission, managesieve (with a user)
 *                Disconnected / Logged out / Connection closed -> LOGOUT
 *
 * The correlator merges an AUTHD failure with the front end's line about the
 * same attempt, so each attempt counts once.
 *
 * SECURITY: user names are attacker-controlled (a login process logs what
 * the client sent).  Fields after the user (rip, lip, session) are Dovecot's
 * own, so they are found from the right; auth-process lines are split at the
 * first "," that is followed by a valid address, which is exact under the
 * default auth_username_chars.  Passwords that auth_verbose_passwords may
 * append to a reason are never copied into an event.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fumidai/plugin.h"
#include "scan.h"

/* A process token: "imap-login", "auth-worker(123)", "imap(bob)<9><S>". */
struct dc_tok {
	struct fm_str name;
	struct fm_str args;	/* inside (...), empty when none */
	int has_args;
	struct fm_str grp[2];	/* first two <...> groups */
	int ngrp;
};

/* Everything one handler needs about the line being parsed. */
struct dcl {
	const struct fm_line *ln;
	struct fm_event *ev;
	fm_emit_fn *emit;
	void *arg;
	struct dc_tok tok;
	int lvl;		/* level letter of "Info: " etc., or 0 */
};

typedef int dc_fn(struct dcl *, const char *, const char *);

struct dc_proc {
	const char *name;
	size_t n;
	dc_fn *fn;
};
#define PROC(s, f)	{ s, sizeof(s) - 1, f }

static int claims(const char *, size_t);
static void *init(fm_log_fn *, const char **);
static int parse(void *, const struct fm_line *, struct fm_event *,
    fm_emit_fn *, void *);
static void fini(void *);
static const char *dc_token(const char *, const char *, struct dc_tok *, int);
static const char *dc_groups(const char *, const char *, struct dc_tok *,
    int);
static int dc_emit(struct dcl *, int);
static int dc_ignore(struct dcl *, const char *, const char *);
static int dc_login(struct dcl *, const char *, const char *);
static int dc_mail(struct dcl *, const char *, const char *);
static int dc_authd(struct dcl *, const char *, const char *);
static void dc_elems(struct dcl *, const char *, const char *);
static int dc_driver(struct dcl *, const char *, const char *);
static int dc_auth24(struct dcl *, const char *, const char *);
static int dc_pam_unix(struct dcl *, const char *, const char *);
static int dc_user_ip(struct dcl *, const char *, const char *);
static int dc_reason(struct dcl *, const char *, const char *);

/* Process names; the login processes' service is the name minus "-login". */
static const struct dc_proc procs[] = {
	PROC("imap-login", dc_login),
	PROC("pop3-login", dc_login),
	PROC("submission-login", dc_login),
	PROC("managesieve-login", dc_login),
	PROC("auth", dc_authd),
	PROC("auth-worker", dc_authd),
	PROC("dovecot-auth", dc_authd),
	PROC("imap", dc_mail),
	PROC("pop3", dc_mail),
	PROC("submission", dc_mail),
	PROC("managesieve", dc_mail),
	PROC("lmtp", dc_ignore),
	PROC("lda", dc_ignore),
	PROC("dovecot-lda", dc_ignore),
	PROC("deliver", dc_ignore),
	PROC("master", dc_ignore),
	PROC("config", dc_ignore),
	PROC("log", dc_ignore),
	PROC("anvil", dc_ignore),
	PROC("stats", dc_ignore),
	PROC("old-stats", dc_ignore),
	PROC("ssl-params", dc_ignore),
	PROC("ssl-build-param", dc_ignore),
	PROC("doveadm", dc_ignore),
	PROC("indexer", dc_ignore),
	PROC("indexer-worker", dc_ignore),
	PROC("dict", dc_ignore),
	PROC("dict-async", dc_ignore),
	PROC("quota-status", dc_ignore),
	PROC("imap-hibernate", dc_ignore),
	PROC("imap-urlauth", dc_ignore),
	PROC("imap-urlauth-login", dc_ignore),
	PROC("imap-urlauth-worker", dc_ignore),
	PROC("replicator", dc_ignore),
	PROC("aggregator", dc_ignore),
	PROC("director", dc_ignore),
	PROC("dsync-server", dc_ignore),
	PROC("pop3c", dc_ignore),
	PROC("imapc", dc_ignore),
};

/* Auth-process reasons that mean "this password did not log in". */
static const struct {
	const char *s;
	size_t n;
	int keep;		/* reason is the rest of the line, not s */
} reasons[] = {
	{ "Password mismatch", 17, 0 },
	{ "unknown user", 12, 0 },
	{ "invalid credentials", 19, 0 },
	{ "Invalid credentials", 19, 0 },
	{ "pam_authenticate() failed: ", 27, 1 },
	{ "Login failed (status=", 21, 1 },	/* checkpassword */
};

/* claims - "dovecot" and the process names Dovecot's log_path tags with */
static int
claims(const char *prog, size_t len)
{
	const char *e = prog + len, *q = prog;
	size_t i, n;

	while (q < e && (SC_ALNUM(*q) || *q == '-' || *q == '_'))
		q++;
	if (q < e && *q != '(' && *q != '<')
		return 0;
	n = (size_t)(q - prog);
	if (n == 7 && memcmp(prog, "dovecot", 7) == 0)
		return 1;
	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		if (procs[i].n == n && memcmp(prog, procs[i].name, n) == 0)
			return 1;
	return 0;
}

static void *
init(fm_log_fn *log, const char **err)
{
	static int self;	/* stateless: the correlator keeps the state */

	(void)log;
	(void)err;
	return &self;
}

static void
fini(void *self)
{
	(void)self;
}

static int
parse(void *self, const struct fm_line *ln, struct fm_event *ev,
    fm_emit_fn *emit, void *arg)
{
	struct dcl l;
	const char *p = ln->msg, *e = ln->msg + ln->msglen, *tp, *te;
	size_t i;

	(void)self;
	/* No memset of l (rep stos per line): dc_token clears l.tok and
	 * sc_level sets l.lvl before any handler reads them. */
	l.lvl = 0;
	l.ln = ln;
	l.ev = ev;
	l.emit = emit;
	l.arg = arg;
	tp = ln->program.p;
	te = tp + ln->program.len;
	if (SC_EQ(ln->program, "dovecot")) {
		/* syslog: the process token is in the message */
		if (SC_PFX(p, e, "dovecot: "))
			p += 9;
		if ((p = dc_token(p, e, &l.tok, 0)) == NULL)
			return FM_PARSE_UNKNOWN;
	} else if (dc_token(tp, te, &l.tok, 1) == NULL)
		return FM_PARSE_UNKNOWN;
	p = sc_level(p, e, &l.lvl);
	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
		if (sc_eq(l.tok.name, procs[i].name, procs[i].n))
			return procs[i].fn(&l, p, e);
	return FM_PARSE_UNKNOWN;
}

/*
 * dc_token - "name[(args)][<g1><g2>]" then ": " (or, for a tag, the end).
 * The args end at the first ')' after which the rest of the token parses;
 * returns what follows the token, or NULL.
 */
static const char *
dc_token(const char *p, const char *e, struct dc_tok *t, int tag)
{
	const char *q = p, *r, *s;

	memset(t, 0, sizeof(*t));
	while (q < e && (SC_ALNUM(*q) || *q == '-' || *q == '_'))
		q++;
	if (q == p)
		return NULL;
	t->name = sc_str(p, q);
	if (q >= e || *q != '(')
		return dc_groups(q, e, t, tag);
	for (r = q + 1; (r = sc_chr(r, e, ')')) != NULL; r++) {
		if ((s = dc_groups(r + 1, e, t, tag)) != NULL) {
			t->args = sc_str(q + 1, r);
			t->has_args = 1;
			return s;
		}
	}
	return NULL;
}

/* dc_groups - "<pid><session>" groups, then ": " or the end of a tag */
static const char *
dc_groups(const char *q, const char *e, struct dc_tok *t, int tag)
{
	const char *r;

	t->ngrp = 0;
	while (q < e && *q == '<') {
		for (r = q + 1; r < e && (SC_ALNUM(*r) || *r == '+' ||
		    *r == '/' || *r == '=' || *r == '-' || *r == '_'); r++)
			;
		if (r >= e || *r != '>')
			return NULL;
		if (t->ngrp < 2)
			t->grp[t->ngrp] = sc_str(q + 1, r);
		t->ngrp++;
		q = r + 1;
	}
	if (tag)
		return q == e ? q : NULL;
	if (q < e && *q == ':') {
		if (q + 1 == e)
			return e;
		if (q[1] == ' ')
			return q + 2;
	}
	return NULL;
}

static int
dc_emit(struct dcl *l, int kind)
{
	l->ev->kind = kind;
	l->emit(l->arg, l->ev);
	return FM_PARSE_EVENT;
}

static int
dc_ignore(struct dcl *l, const char *p, const char *e)
{
	(void)l;
	(void)p;
	(void)e;
	return FM_PARSE_IGNORED;
}

/*
 * dc_login - a login process: "Login: user=<u>, method=M, rip=IP, ...",
 * "<why> (auth failed, N attempts[ in S secs])[ (code)]: user=<u>, ...",
 * "Disconnected (proxy dest auth failed): user=<u>, ...".
 */
static int
dc_login(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *el, *q;
	int64_t n = 1;

	ev->service = sc_str(l->tok.name.p, l->tok.name.p + l->tok.name.len - 6);
	if ((q = SC_SKIP(p, e, "Login: ")) != NULL) {
		dc_elems(l, q, e);
		if (ev->af == 0 || ev->account.len == 0)
			return FM_PARSE_UNKNOWN;	/* always logged: cut line */
		return dc_emit(l, FM_EV_LOGIN_OK);
	}
	/* The reason is Dovecot's; the elements after it hold user text. */
	if ((el = SC_FIND(p, e, ": user=<")) == NULL &&
	    (el = SC_FIND(p, e, ": method=")) == NULL &&
	    (el = SC_FIND(p, e, ": rip=")) == NULL)
		return l->lvl || SC_PFX(p, e, "proxy(") ||
		    SC_FIND(p, e, "rip=") ? FM_PARSE_IGNORED : FM_PARSE_UNKNOWN;
	if ((q = SC_FIND(p, el, "(auth failed, ")) != NULL) {
		if (sc_uint(q + 14, el, &n) == NULL || n < 1)
			n = 1;
		ev->reason.p = "auth failed";
		ev->reason.len = 11;
	} else if (SC_FIND(p, el, "(proxy dest auth failed)") != NULL) {
		ev->reason.p = "proxy dest auth failed";
		ev->reason.len = 22;
	} else
		return FM_PARSE_IGNORED;
	dc_elems(l, el + 2, e);
	ev->attempts = n > 1000000 ? 1000000 : (int)n;
	ev->origin = FM_ORIGIN_FRONT;
	return dc_emit(l, FM_EV_LOGIN_FAIL);
}

/*
 * dc_elems - "user=<U>, method=M, rip=IP, lip=IP, mpid=N, TLS, session=<S>"
 * (any may be missing).  rip is the last "rip=" (only Dovecot's fields
 * follow it); the user ends at the '>' before it or before the last
 * ">, method=" ahead of it.
 */
static void
dc_elems(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *rip, *lim, *u, *m, *q;

	lim = e;
	for (q = e; (rip = SC_RFIND(p, q, "rip=")) != NULL; q = rip + 3)
		if (rip == p || rip[-1] == ' ')
			break;
	if (rip != NULL) {
		q = sc_addr_end(rip + 4, e);
		(void)sc_ip(rip + 4, q, ev);
		if ((u = SC_FIND(q, e, "session=<")) != NULL &&
		    (m = sc_chr(u + 9, e, '>')) != NULL)
			ev->session = sc_str(u + 9, m);
		lim = rip;
		while (lim > p && (lim[-1] == ' ' || lim[-1] == ','))
			lim--;
	}
	if ((u = SC_SKIP(p, lim, "user=<")) != NULL) {
		if (lim > u && lim[-1] == '>') {
			ev->account = sc_str(u, lim - 1);
			return;
		}
		if ((m = SC_RFIND(u, lim, ">, method=")) != NULL) {
			ev->account = sc_str(u, m);
			ev->mech = sc_mech(sc_str(m + 10, lim));
		}
		return;
	}
	if ((m = SC_FIND(p, lim, "method=")) != NULL) {
		for (q = m + 7; q < lim && *q != ','; q++)
			;
		ev->mech = sc_mech(sc_str(m + 7, q));
	}
}

/* dc_mail - a mail process "imap(user)<pid><session>: ...": its end */
static int
dc_mail(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;

	if (!l->tok.has_args || l->tok.args.len == 0)
		return FM_PARSE_IGNORED;
	if (!SC_PFX(p, e, "Disconnected") && !SC_PFX(p, e, "Logged out") &&
	    !SC_PFX(p, e, "Connection closed"))
		return FM_PARSE_IGNORED;
	ev->service = l->tok.name;
	ev->account = l->tok.args;
	if (l->tok.ngrp >= 2)
		ev->session = l->tok.grp[1];
	return dc_emit(l, FM_EV_LOGOUT);
}

/* dc_authd - the auth process and its workers */
static int
dc_authd(struct dcl *l, const char *p, const char *e)
{
	struct dc_tok t;
	const char *q;
	int r;

	if (l->lvl == 'D')
		return FM_PARSE_IGNORED;
	l->ev->origin = FM_ORIGIN_AUTHD;
	l->ev->attempts = 1;
	/* Dovecot 2.4: "auth(user,ip,sasl:mech)<session>: driver: reason" */
	if (l->tok.has_args && sc_chr(l->tok.args.p,
	    l->tok.args.p + l->tok.args.len, ',') != NULL)
		return dc_auth24(l, p, e);
	/* "conn unix:auth-worker (pid=1,uid=2): auth-worker<55>: " */
	if (SC_PFX(p, e, "conn ") && (q = SC_FIND(p, e, "): ")) != NULL &&
	    (q = dc_token(q + 3, e, &t, 0)) != NULL)
		p = sc_level(q, e, &r);
	if (SC_PFX(p, e, "pam_unix(dovecot"))
		return dc_pam_unix(l, p, e);
	if ((r = dc_driver(l, p, e)) != FM_PARSE_UNKNOWN)
		return r;
	return l->lvl ? FM_PARSE_IGNORED : FM_PARSE_UNKNOWN;
}

/*
 * dc_user_ip - "user,ip[,<session>|,session-ish|,]" as Dovecot writes inside
 * a driver's or 2.4 auth's parentheses: the user ends at the first ',' that
 * is followed by a valid address ending at ',' or the end.
 */
static int
dc_user_ip(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *c, *a, *s;

	for (c = p; (c = sc_chr(c, e, ',')) != NULL; c++) {
		if ((a = sc_chr(c + 1, e, ',')) == NULL)
			a = e;
		if (sc_ip(c + 1, a, ev) == -1)
			continue;
		ev->account = sc_str(p, c);
		if (a < e && a + 1 < e && a[1] == '<' &&
		    (s = sc_chr(a + 2, e, '>')) != NULL)
			ev->session = sc_str(a + 2, s);
		return 0;
	}
	return -1;
}

/* dc_reason - classify an auth failure reason at p; IGNORED when it is not
 * a failed password */
static int
dc_reason(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (!sc_pfx(p, e, reasons[i].s, reasons[i].n))
			continue;
		if (reasons[i].keep)
			ev->reason = sc_str(p, e);
		else
			ev->reason = sc_str(reasons[i].s,
			    reasons[i].s + reasons[i].n);
		if (ev->session.len == 0)
			ev->flags |= FM_F_NOSESSION;
		return dc_emit(l, FM_EV_LOGIN_FAIL);
	}
	return FM_PARSE_IGNORED;
}

/* dc_driver - "passwd-file(user,ip[,<session>]): reason" */
static int
dc_driver(struct dcl *l, const char *p, const char *e)
{
	const char *q = p, *r;

	while (q < e && (SC_ALNUM(*q) || *q == '-' || *q == '_'))
		q++;
	if (q == p || q >= e || *q != '(')
		return FM_PARSE_UNKNOWN;
	/* the first "): " whose inside splits as user,ip[,...] */
	for (r = q + 1; (r = SC_FIND(r, e, "): ")) != NULL; r++) {
		l->ev->af = 0;
		if (dc_user_ip(l, q + 1, r) == 0)
			return dc_reason(l, r + 3, e);
	}
	l->ev->account.len = 0;
	l->ev->session.len = 0;
	return FM_PARSE_IGNORED;
}

/* dc_auth24 - 2.4: the user, address and mechanism are in the token */
static int
dc_auth24(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *a = l->tok.args.p, *ae = a + l->tok.args.len, *m;

	if (dc_user_ip(l, a, ae) == -1)
		return FM_PARSE_IGNORED;
	ev->session.len = 0;
	if (l->tok.ngrp >= 1)
		ev->session = l->tok.grp[0];
	if ((m = SC_RFIND(a, ae, ",sasl:")) != NULL)
		ev->mech = sc_mech(sc_str(m + 6, ae));
	/* "sql: Password mismatch": skip the driver name */
	for (m = p; m < e && (SC_ALNUM(*m) || *m == '-' || *m == '_'); m++)
		;
	if (m > p && SC_PFX(m, e, ": "))
		p = m + 2;
	return dc_reason(l, p, e);
}

/*
 * dc_pam_unix - "pam_unix(dovecot:auth): authentication failure; logname=
 * uid=0 euid=0 tty=dovecot ruser=R rhost=H[  user=U]".  ruser comes before
 * rhost and user after it: take the user from the last " user=", the
 * address from the last " rhost=" before that.
 */
static int
dc_pam_unix(struct dcl *l, const char *p, const char *e)
{
	struct fm_event *ev = l->ev;
	const char *u, *h, *q, *lim = e;

	if (SC_FIND(p, e, "): authentication failure;") == NULL)
		return FM_PARSE_IGNORED;
	if ((u = SC_RFIND(p, e, " user=")) != NULL) {
		ev->account = sc_str(u + 6, e);
		lim = u;
	}
	if ((h = SC_RFIND(p, lim, " rhost=")) != NULL) {
		q = sc_addr_end(h + 7, lim);
		(void)sc_ip(h + 7, q, ev);
	}
	/* the correlator knows PAM's lines by this reason (see is_pam) */
	ev->reason.p = "pam_unix: authentication failure";
	ev->reason.len = 32;
	ev->flags |= FM_F_NOSESSION;
	return dc_emit(l, FM_EV_LOGIN_FAIL);
}

const struct fm_parser fm_parser_plugin = {
	FM_PLUGIN_ABI,
	"dovecot",
	"Dovecot login, auth and mail processes (2.0-2.4, syslog and log_path)",
	claims,
	init,
	parse,
	fini,
};
