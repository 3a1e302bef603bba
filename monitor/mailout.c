/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailout.c - one notification message out, over SMTP or sendmail (see
 * mailout.h).  Each submission is a job on a module list (so that
 * mailout_shutdown can find what is still in flight): an SMTP job is a
 * small state machine driven by smtpc's callback, in the manner of
 * OpenSMTPD's smtp_client; a sendmail job is a child process, a pipe the
 * loop writes the message into, a pipe it reads stderr from, and a timer
 * that reaps the child by pid once stderr is closed.
 *
 * SECURITY: envelope addresses are checked (mailout_addr_ok) before they
 * reach a command line or an argv; the message's bare CR / LF are made
 * line ends, so no byte of it can end DATA or start an SMTP command.
 * Replies and stderr are escaped before they become a detail.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "fumidai.h"
#include "log.h"
#include "mailout.h"
#include "smtpc.h"
#include "util.h"

#define MO_REAP_MS	50		/* waitpid polling once stderr closed */
#define MO_STDERR_MAX	512		/* bytes of sendmail's stderr kept */

enum mo_step {
	S_GREETING, S_EHLO, S_HELO, S_STARTTLS, S_TLS, S_EHLO2, S_MAIL,
	S_RCPT, S_DATA, S_MSG, S_QUIT,
};

struct mo_job {
	struct mo_job *prev, *next;	/* all jobs (mo_jobs) */
	struct event_base *base;
	fm_done_fn *done;
	void *token;
	int reported;			/* done has run */
	char *from;
	char **rcpts;
	size_t nrcpts;
	struct buf data;		/* the message, prepared for the path */
	char relay[300];		/* for details: as given */
	char helo[256];
	/* SMTP */
	struct smtpc *c;
	enum mo_step step;
	size_t next_rcpt;		/* RCPT in flight */
	size_t ok_rcpts, temp_rcpts, perm_rcpts;
	char rcpt_reply[MAILOUT_DETAIL_MAX + 1];	/* last refusal */
	/* sendmail */
	pid_t pid;			/* child, 0: none (reaped) */
	int in_fd, err_fd;		/* -1: closed */
	size_t off;			/* bytes of data written */
	struct event *ev_in, *ev_err, *ev_reap, *ev_deadline;
	struct buf err;			/* first bytes of stderr */
};

static struct mo_job *mo_jobs;
static size_t mo_npending;
static int mo_smtp_ms = MAILOUT_SMTP_MS;
static int mo_sendmail_ms = MAILOUT_SENDMAIL_MS;

static struct mo_job *mo_new(struct event_base *, fm_done_fn *, void *,
    const char *, const char *const *, size_t);
static void mo_free(struct mo_job *);
static void mo_report(struct mo_job *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void mo_smtp_start(struct mo_job *, const struct fumidai *,
    const char *, const char *, size_t);
static void mo_smtp_cb(struct smtpc *, enum smtpc_ev, void *);
static void mo_sendmail_start(struct mo_job *, const char *, const char *,
    size_t);
static void mo_in_cb(evutil_socket_t, short, void *);
static void mo_err_cb(evutil_socket_t, short, void *);
static void mo_reap_cb(evutil_socket_t, short, void *);
static void mo_deadline_cb(evutil_socket_t, short, void *);

int
mailout_addr_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 254 || *s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' ||
		    *s == 0x7f)
			return 0;
	return 1;
}

size_t
mailout_pending(void)
{
	return mo_npending;
}

void
mailout_set_timeouts(int smtp_ms, int sendmail_ms)
{
	mo_smtp_ms = smtp_ms > 0 ? smtp_ms : MAILOUT_SMTP_MS;
	mo_sendmail_ms = sendmail_ms > 0 ? sendmail_ms : MAILOUT_SENDMAIL_MS;
}

void
mailout_send(struct event_base *base, const struct fumidai *cf,
    const char *relay, const char *sendmail, const char *from,
    const char *const *rcpts, size_t nrcpts, const char *msg, size_t len,
    fm_done_fn *done, void *token)
{
	struct mo_job *j;
	size_t i;

	if (!mailout_addr_ok(from)) {
		done(token, FM_NOTIFY_DROP, "invalid sender address");
		return;
	}
	if (nrcpts == 0) {
		done(token, FM_NOTIFY_DROP, "no recipient");
		return;
	}
	for (i = 0; i < nrcpts; i++)
		if (!mailout_addr_ok(rcpts[i])) {
			done(token, FM_NOTIFY_DROP, "invalid recipient address");
			return;
		}
	j = mo_new(base, done, token, from, rcpts, nrcpts);
	if (sendmail != NULL && *sendmail != '\0')
		mo_sendmail_start(j, sendmail, msg, len);
	else
		mo_smtp_start(j, cf, relay != NULL && *relay != '\0' ? relay :
		    "127.0.0.1:25", msg, len);
}

/* mo_new - a job on the list, envelope copied */
static struct mo_job *
mo_new(struct event_base *base, fm_done_fn *done, void *token,
    const char *from, const char *const *rcpts, size_t nrcpts)
{
	struct mo_job *j = xcalloc(1, sizeof(*j));
	size_t i;

	j->base = base;
	j->done = done;
	j->token = token;
	j->from = xstrdup(from);
	j->rcpts = xcalloc(nrcpts, sizeof(char *));
	for (i = 0; i < nrcpts; i++)
		j->rcpts[i] = xstrdup(rcpts[i]);
	j->nrcpts = nrcpts;
	j->in_fd = j->err_fd = -1;
	buf_init(&j->data);
	buf_init(&j->err);
	j->next = mo_jobs;
	if (mo_jobs != NULL)
		mo_jobs->prev = j;
	mo_jobs = j;
	mo_npending++;
	return j;
}

/* mo_free - off the list, everything closed (the child must be reaped) */
static void
mo_free(struct mo_job *j)
{
	size_t i;

	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		mo_jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (!j->reported)
		mo_npending--;
	smtpc_free(j->c);
	if (j->ev_in != NULL)
		event_free(j->ev_in);
	if (j->ev_err != NULL)
		event_free(j->ev_err);
	if (j->ev_reap != NULL)
		event_free(j->ev_reap);
	if (j->ev_deadline != NULL)
		event_free(j->ev_deadline);
	if (j->in_fd != -1)
		close(j->in_fd);
	if (j->err_fd != -1)
		close(j->err_fd);
	for (i = 0; i < j->nrcpts; i++)
		free(j->rcpts[i]);
	free(j->rcpts);
	free(j->from);
	buf_free(&j->data);
	buf_free(&j->err);
	free(j);
}

/* mo_report - call done once; the job itself lives on until freed */
static void
mo_report(struct mo_job *j, int status, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	if (j->reported)
		return;
	j->reported = 1;
	mo_npending--;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	j->done(j->token, status, detail);
}

void
mailout_shutdown(void)
{
	struct mo_job *j;
	int st;

	while ((j = mo_jobs) != NULL) {
		if (j->pid > 0) {
			/* a half-fed sendmail must not queue what it has */
			kill(j->pid, SIGTERM);
			while (waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
				;
			j->pid = 0;
		}
		j->reported = 1;	/* no callback at shutdown */
		mo_npending--;
		mo_free(j);
	}
}

/* ---- the message ------------------------------------------------------ */

/* mo_prepare - msg with every line ended by CRLF (SMTP: dot-stuffed) or LF
 * (sendmail); NUL bytes are left out */
static void
mo_prepare(struct buf *b, const char *msg, size_t len, int smtp)
{
	const char *eol = smtp ? "\r\n" : "\n";
	size_t i;
	int bol = 1;

	buf_reserve(b, len + len / 32 + 8);
	for (i = 0; i < len; i++) {
		char ch = msg[i];

		if (ch == '\r' || ch == '\n') {
			if (ch == '\r' && i + 1 < len && msg[i + 1] == '\n')
				i++;
			buf_adds(b, eol);
			bol = 1;
			continue;
		}
		if (ch == '\0')
			continue;
		if (bol && ch == '.' && smtp)
			buf_addc(b, '.');
		buf_addc(b, ch);
		bol = 0;
	}
	if (!bol)
		buf_adds(b, eol);
}

/* mo_escape - untrusted text (a reply, stderr) for a detail: first line,
 * bounded, escaped */
static void
mo_escape(char *out, size_t outlen, const char *p, size_t n)
{
	struct buf b;

	buf_init(&b);
	n = strcspn(p, "\n") < n ? strcspn(p, "\n") : n;
	log_escape(&b, p, FM_MIN(n, (size_t)MAILOUT_DETAIL_MAX));
	snprintf(out, outlen, "%s", b.data != NULL ? b.data : "");
	buf_free(&b);
}

/* ---- SMTP ------------------------------------------------------------- */

/* mo_helo_name - cf->instance or the system's name when a host name */
static void
mo_helo_name(char *out, size_t outlen, const struct fumidai *cf)
{
	char host[256];
	const char *cand[2];
	size_t i, n;

	cand[0] = cf != NULL ? cf->instance : NULL;
	cand[1] = gethostname(host, sizeof(host)) == 0 ? host : NULL;
	host[sizeof(host) - 1] = '\0';
	for (i = 0; i < nitems(cand); i++) {
		if (cand[i] == NULL || (n = strlen(cand[i])) == 0 || n > 253 ||
		    strspn(cand[i], "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n ||
		    cand[i][0] == '-' || cand[i][0] == '.')
			continue;
		snprintf(out, outlen, "%s", cand[i]);
		return;
	}
	snprintf(out, outlen, "localhost");
}

/* mo_relay_split - "HOST[:PORT]" / "[V6]:PORT" / "V6"; 0 or -1 */
static int
mo_relay_split(const char *relay, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *end;
	size_t n;
	char *ep;
	long p = 25;

	if (relay[0] == '[') {
		if ((end = strchr(relay, ']')) == NULL)
			return -1;
		n = (size_t)(end - relay - 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
		relay++;
	} else if ((colon = strchr(relay, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		n = strlen(relay);	/* a bare IPv6 address */
		colon = NULL;
	} else
		n = colon != NULL ? (size_t)(colon - relay) : strlen(relay);
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, relay, n);
	host[n] = '\0';
	if (colon != NULL) {
		errno = 0;
		p = strtol(colon + 1, &ep, 10);
		if (*ep != '\0' || ep == colon + 1 || p < 1 || p > 65535)
			return -1;
	}
	snprintf(port, portlen, "%ld", p);
	return 0;
}

static void
mo_smtp_start(struct mo_job *j, const struct fumidai *cf, const char *relay,
    const char *msg, size_t len)
{
	char host[256], port[8];

	snprintf(j->relay, sizeof(j->relay), "%s", relay);
	mo_prepare(&j->data, msg, len, 1);
	mo_helo_name(j->helo, sizeof(j->helo), cf);
	if (mo_relay_split(relay, host, sizeof(host), port, sizeof(port)) ==
	    -1) {
		mo_report(j, FM_NOTIFY_RETRY, "relay %s: not HOST[:PORT]", relay);
		mo_free(j);
		return;
	}
	j->c = smtpc_new(j->base, mo_smtp_ms, mo_smtp_cb, j);
	j->step = S_GREETING;
	if (smtpc_connect(j->c, host, port, 0) == -1) {
		mo_report(j, FM_NOTIFY_RETRY, "relay %s: %s", relay,
		    smtpc_error(j->c));
		mo_free(j);
	}
}

/* mo_smtp_send - send the command of step (and remember it) */
static void
mo_smtp_send(struct mo_job *j, enum mo_step step)
{
	char line[SMTPC_LINE_MAX];
	int rc;

	j->step = step;
	switch (step) {
	case S_EHLO:
	case S_EHLO2:
		snprintf(line, sizeof(line), "EHLO %s", j->helo);
		break;
	case S_HELO:
		snprintf(line, sizeof(line), "HELO %s", j->helo);
		break;
	case S_STARTTLS:
		snprintf(line, sizeof(line), "STARTTLS");
		break;
	case S_MAIL:
		snprintf(line, sizeof(line), "MAIL FROM:<%s>", j->from);
		break;
	case S_RCPT:
		snprintf(line, sizeof(line), "RCPT TO:<%s>",
		    j->rcpts[j->next_rcpt]);
		break;
	case S_DATA:
		snprintf(line, sizeof(line), "DATA");
		break;
	case S_QUIT:
		snprintf(line, sizeof(line), "QUIT");
		break;
	default:
		return;
	}
	if ((rc = smtpc_cmd(j->c, line)) == -1 && step == S_QUIT) {
		mo_free(j);
		return;
	}
	if (rc == -1) {
		mo_report(j, FM_NOTIFY_RETRY, "relay %s: cannot send a command",
		    j->relay);
		mo_free(j);
	}
}

/* mo_smtp_end - a result: report it, then say QUIT politely */
static void
mo_smtp_end(struct mo_job *j, int status, const char *what)
{
	char reply[MAILOUT_DETAIL_MAX * 4 + 8];
	const char *raw = smtpc_reply_raw(j->c);

	mo_escape(reply, sizeof(reply), raw, strlen(raw));
	mo_report(j, status, "relay %s: %s: %s", j->relay, what, reply);
	mo_smtp_send(j, S_QUIT);
}

/* mo_smtp_rcpts - every RCPT answered: on to DATA, or give up */
static void
mo_smtp_rcpts(struct mo_job *j)
{
	if (j->temp_rcpts > 0 || j->ok_rcpts == 0) {
		mo_report(j, j->temp_rcpts > 0 ? FM_NOTIFY_RETRY :
		    FM_NOTIFY_DROP, "relay %s: recipient refused: %s",
		    j->relay, j->rcpt_reply);
		mo_smtp_send(j, S_QUIT);
		return;
	}
	mo_smtp_send(j, S_DATA);
}

/* mo_smtp_ehlo - the reply to EHLO (before or after STARTTLS) or HELO */
static void
mo_smtp_ehlo(struct mo_job *j, int cls)
{
	size_t n;

	if (cls == 2 && j->step == S_EHLO && !smtpc_tls(j->c) &&
	    smtpc_ext(j->c, "STARTTLS", &n) != NULL)
		mo_smtp_send(j, S_STARTTLS);
	else if (cls == 2)
		mo_smtp_send(j, S_MAIL);
	else if (cls == 5 && j->step == S_EHLO)
		mo_smtp_send(j, S_HELO);
	else
		mo_smtp_end(j, FM_NOTIFY_RETRY, j->step == S_HELO ? "HELO" :
		    "EHLO");
}

/* mo_smtp_rcpt - the reply to one RCPT: the next, or on to DATA */
static void
mo_smtp_rcpt(struct mo_job *j, int cls)
{
	const char *raw;

	if (cls == 2)
		j->ok_rcpts++;
	else {
		*(cls == 5 ? &j->perm_rcpts : &j->temp_rcpts) += 1;
		raw = smtpc_reply_raw(j->c);
		mo_escape(j->rcpt_reply, sizeof(j->rcpt_reply), raw,
		    strlen(raw));
	}
	if (++j->next_rcpt < j->nrcpts)
		mo_smtp_send(j, S_RCPT);
	else
		mo_smtp_rcpts(j);
}

/* mo_smtp_msg - the reply to the message itself: the result */
static void
mo_smtp_msg(struct mo_job *j, int cls)
{
	if (cls == 2 && j->perm_rcpts > 0)
		mo_smtp_end(j, FM_NOTIFY_OK, j->perm_rcpts == 1 ?
		    "sent, but 1 recipient refused" :
		    "sent, but recipients refused");
	else if (cls == 2)
		mo_smtp_end(j, FM_NOTIFY_OK, "sent");
	else
		mo_smtp_end(j, cls == 5 ? FM_NOTIFY_DROP : FM_NOTIFY_RETRY,
		    "message refused");
}

/* mo_smtp_reply - one reply in state step */
static void
mo_smtp_reply(struct mo_job *j, int code)
{
	int cls = code / 100;
	int perm = cls == 5 ? FM_NOTIFY_DROP : FM_NOTIFY_RETRY;

	switch (j->step) {
	case S_GREETING:
		if (cls == 2)
			mo_smtp_send(j, S_EHLO);
		else
			mo_smtp_end(j, perm, "greeting");
		return;
	case S_EHLO:
	case S_EHLO2:
	case S_HELO:
		mo_smtp_ehlo(j, cls);
		return;
	case S_STARTTLS:
		if (code != 220 || smtpc_starttls(j->c) == -1)
			mo_smtp_end(j, FM_NOTIFY_RETRY, "STARTTLS");
		else
			j->step = S_TLS;
		return;
	case S_MAIL:
		if (cls == 2)
			mo_smtp_send(j, S_RCPT);
		else
			mo_smtp_end(j, perm, "MAIL FROM");
		return;
	case S_RCPT:
		mo_smtp_rcpt(j, cls);
		return;
	case S_DATA:
		if (code != 354 || smtpc_data(j->c, j->data.data,
		    j->data.len) == -1)
			mo_smtp_end(j, perm, "DATA");
		else
			j->step = S_MSG;
		return;
	case S_MSG:
		mo_smtp_msg(j, cls);
		return;
	default:		/* the reply to QUIT */
		mo_free(j);
		return;
	}
}

static void
mo_smtp_cb(struct smtpc *c, enum smtpc_ev ev, void *arg)
{
	struct mo_job *j = arg;
	char err[300];

	(void)c;
	switch (ev) {
	case SMTPC_EV_REPLY:
		mo_smtp_reply(j, smtpc_code(j->c));
		return;
	case SMTPC_EV_TLS:
		mo_smtp_send(j, S_EHLO2);
		return;
	case SMTPC_EV_ERROR:
	default:
		if (!j->reported) {
			mo_escape(err, sizeof(err), smtpc_error(j->c),
			    strlen(smtpc_error(j->c)));
			mo_report(j, FM_NOTIFY_RETRY, "relay %s: %s", j->relay,
			    err);
		}
		mo_free(j);
		return;
	}
}

/* ---- sendmail --------------------------------------------------------- */

/* mo_child - in the forked child: stdio, default signals, exec */
static void __attribute__((noreturn))
mo_child(const char *path, char **argv, int in, int err)
{
	sigset_t none;
	long fd, max;
	int devnull;

	if ((devnull = open("/dev/null", O_WRONLY)) == -1 ||
	    dup2(in, 0) == -1 || dup2(devnull, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	if (close_range(3, ~0U, 0) == -1) {
		max = sysconf(_SC_OPEN_MAX);
		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			(void)close((int)fd);
	}
	signal(SIGPIPE, SIG_DFL);	/* the daemon ignores it */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(path, argv);
	dprintf(2, "cannot execute %s: %s\n", path, strerror(errno));
	free(argv);
	_exit(127);
}

/* mo_spawn - fork sendmail with its pipes; 0 or -1 (errno) */
static int
mo_spawn(struct mo_job *j, const char *path)
{
	int in[2] = { -1, -1 }, err[2] = { -1, -1 }, e;
	char **argv;
	size_t i, n = 0;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1)
		goto fail;
	argv = xcalloc(j->nrcpts + 6, sizeof(char *));
	argv[n++] = (char *)path;
	argv[n++] = "-i";
	argv[n++] = "-f";
	argv[n++] = j->from;
	argv[n++] = "--";
	for (i = 0; i < j->nrcpts; i++)
		argv[n++] = j->rcpts[i];
	argv[n] = NULL;
	if ((j->pid = fork()) == 0)
		mo_child(path, argv, in[0], err[1]);
	e = errno;
	free(argv);
	if (j->pid == -1) {
		j->pid = 0;
		errno = e;
		goto fail;
	}
	close(in[0]);
	close(err[1]);
	j->in_fd = in[1];
	j->err_fd = err[0];
	(void)evutil_make_socket_nonblocking(j->in_fd);
	(void)evutil_make_socket_nonblocking(j->err_fd);
	return 0;
fail:
	e = errno;
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (err[i] != -1)
			close(err[i]);
	}
	errno = e;
	return -1;
}

static void
mo_sendmail_start(struct mo_job *j, const char *path, const char *msg,
    size_t len)
{
	struct timeval tv;

	snprintf(j->relay, sizeof(j->relay), "%s", path);
	mo_prepare(&j->data, msg, len, 0);
	if (mo_spawn(j, path) == -1) {
		mo_report(j, FM_NOTIFY_RETRY, "sendmail %s: cannot start: %s",
		    path, strerror(errno));
		mo_free(j);
		return;
	}
	j->ev_in = event_new(j->base, j->in_fd, EV_WRITE | EV_PERSIST,
	    mo_in_cb, j);
	j->ev_err = event_new(j->base, j->err_fd, EV_READ | EV_PERSIST,
	    mo_err_cb, j);
	j->ev_reap = evtimer_new(j->base, mo_reap_cb, j);
	j->ev_deadline = evtimer_new(j->base, mo_deadline_cb, j);
	if (j->ev_in == NULL || j->ev_err == NULL || j->ev_reap == NULL ||
	    j->ev_deadline == NULL)
		fatalx("event_new");
	event_add(j->ev_in, NULL);
	event_add(j->ev_err, NULL);
	tv.tv_sec = mo_sendmail_ms / 1000;
	tv.tv_usec = (mo_sendmail_ms % 1000) * 1000;
	evtimer_add(j->ev_deadline, &tv);
}

/* mo_close_in - the whole message is written (or the child is gone) */
static void
mo_close_in(struct mo_job *j)
{
	event_del(j->ev_in);
	close(j->in_fd);
	j->in_fd = -1;
}

static void
mo_in_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mo_job *j = arg;
	ssize_t n;

	(void)what;
	while (j->off < j->data.len) {
		n = write(fd, j->data.data + j->off, j->data.len - j->off);
		if (n > 0) {
			j->off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;		/* EPIPE: it exited; its status tells */
	}
	mo_close_in(j);
}

/* mo_reap_arm - poll waitpid soon */
static void
mo_reap_arm(struct mo_job *j)
{
	struct timeval tv = { 0, MO_REAP_MS * 1000 };

	evtimer_add(j->ev_reap, &tv);
}

static void
mo_err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mo_job *j = arg;
	char tmp[1024];
	ssize_t n;

	(void)what;
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n > 0) {
			if (j->err.len < MO_STDERR_MAX)
				buf_add(&j->err, tmp, FM_MIN((size_t)n,
				    MO_STDERR_MAX - j->err.len));
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;		/* EOF (or an error): the child is ending */
	}
	event_del(j->ev_err);
	close(j->err_fd);
	j->err_fd = -1;
	mo_reap_cb(-1, 0, j);
}

/* mo_exit_status - FM_NOTIFY_* for sendmail's wait status */
static int
mo_exit_status(int st)
{
	if (WIFSIGNALED(st))
		return FM_NOTIFY_RETRY;
	switch (WEXITSTATUS(st)) {
	case 0:
		return FM_NOTIFY_OK;
	case EX_TEMPFAIL:
	case EX_OSERR:
	case EX_OSFILE:
	case EX_IOERR:
	case EX_CANTCREAT:
	case EX_UNAVAILABLE:
	case EX_SOFTWARE:
	case 126:
	case 127:
		return FM_NOTIFY_RETRY;
	default:
		return FM_NOTIFY_DROP;
	}
}

/* mo_finished - the child was reaped with status st */
static void
mo_finished(struct mo_job *j, int st)
{
	char err[MAILOUT_DETAIL_MAX * 4 + 8];
	int status = mo_exit_status(st);

	j->pid = 0;
	mo_escape(err, sizeof(err), j->err.data != NULL ? j->err.data : "",
	    j->err.len);
	if (WIFSIGNALED(st))
		mo_report(j, status, "sendmail %s: killed by signal %d%s%s",
		    j->relay, WTERMSIG(st), *err ? ": " : "", err);
	else if (status != FM_NOTIFY_OK || j->off < j->data.len)
		mo_report(j, status == FM_NOTIFY_OK ? FM_NOTIFY_RETRY : status,
		    "sendmail %s: exit %d%s%s%s", j->relay, WEXITSTATUS(st),
		    j->off < j->data.len ? " before reading the message" : "",
		    *err ? ": " : "", err);
	else
		mo_report(j, FM_NOTIFY_OK, "sendmail %s: exit 0", j->relay);
	mo_free(j);
}

static void
mo_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mo_job *j = arg;
	pid_t r;
	int st;

	(void)fd;
	(void)what;
	while ((r = waitpid(j->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == j->pid) {
		mo_finished(j, st);
		return;
	}
	if (r == -1) {		/* someone else reaped it: status unknown */
		j->pid = 0;
		mo_report(j, FM_NOTIFY_RETRY, "sendmail %s: waitpid: %s",
		    j->relay, strerror(errno));
		mo_free(j);
		return;
	}
	mo_reap_arm(j);
}

static void
mo_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mo_job *j = arg;
	int st;

	(void)fd;
	(void)what;
	kill(j->pid, SIGKILL);
	while (waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
		;
	j->pid = 0;
	mo_report(j, FM_NOTIFY_RETRY, "sendmail %s: no exit in %d ms: killed",
	    j->relay, mo_sendmail_ms);
	mo_free(j);
}
