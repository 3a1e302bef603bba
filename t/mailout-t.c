/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailout-t.c - mailout.c against a scripted SMTP server on loopback (in
 * this process, on the same event base) and a fake sendmail script: the
 * dialogue, dot-stuffing, how replies and exit statuses map to OK, RETRY
 * and DROP, timeouts, and addresses refused before use.  The plugins that
 * build the messages are tested by mailmsg-t.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "fumidai/notifier.h"
#include "mailout.h"
#include "util.h"
#include "tap.h"

static struct event_base *base;

/* ---- a scripted SMTP server ------------------------------------------- */

struct srv {
	struct evconnlistener *lis;
	int port;
	/* replies ("250 ok"): greeting, ehlo, mail, rcpt[i], data, final */
	const char *greeting, *ehlo, *helo, *starttls, *mail, *data, *final;
	const char *rcpt[4];
	int silent;		/* never answer after the greeting */
	int conns;		/* connections so far */
	int closed;		/* connections over */
	int nrcpt;
	int in_data;
	struct buf log;		/* commands received, one a line */
	struct buf msg;		/* DATA as received (up to the dot line) */
};

static void
srv_reply(struct bufferevent *bev, const char *r)
{
	bufferevent_write(bev, r, strlen(r));
	bufferevent_write(bev, "\r\n", 2);
}

static void
srv_line(struct srv *s, struct bufferevent *bev, const char *l, size_t n)
{
	if (s->in_data) {
		if (n == 1 && l[0] == '.') {
			s->in_data = 0;
			srv_reply(bev, s->final);
			return;
		}
		buf_add(&s->msg, l, n);
		buf_adds(&s->msg, "\r\n");
		return;
	}
	buf_add(&s->log, l, n);
	buf_addc(&s->log, '\n');
	if (s->silent)
		return;
	if (strncmp(l, "EHLO ", 5) == 0)
		srv_reply(bev, s->ehlo);
	else if (strncmp(l, "HELO ", 5) == 0)
		srv_reply(bev, s->helo);
	else if (strcmp(l, "STARTTLS") == 0)
		srv_reply(bev, s->starttls);
	else if (strncmp(l, "MAIL FROM:", 10) == 0)
		srv_reply(bev, s->mail);
	else if (strncmp(l, "RCPT TO:", 8) == 0)
		srv_reply(bev, s->rcpt[s->nrcpt < 4 ? s->nrcpt++ : 3]);
	else if (strcmp(l, "DATA") == 0) {
		srv_reply(bev, s->data);
		s->in_data = s->data[0] == '3';
	} else if (strcmp(l, "QUIT") == 0) {
		srv_reply(bev, "221 bye");
		bufferevent_flush(bev, EV_WRITE, BEV_FINISHED);
	} else
		srv_reply(bev, "500 what");
}

static void
srv_read_cb(struct bufferevent *bev, void *arg)
{
	struct srv *s = arg;
	char *l;
	size_t n;

	while ((l = evbuffer_readln(bufferevent_get_input(bev), &n,
	    EVBUFFER_EOL_CRLF_STRICT)) != NULL) {
		srv_line(s, bev, l, n);
		free(l);
	}
}

static void
srv_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct srv *s = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(bev);
		s->closed++;
	}
}

static void
srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct srv *s = arg;
	struct bufferevent *bev;

	(void)l;
	(void)sa;
	(void)salen;
	s->conns++;
	s->nrcpt = 0;
	s->in_data = 0;
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, srv_read_cb, NULL, srv_event_cb, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	srv_reply(bev, s->greeting);
}

/* srv_start - a server with every reply a 2xx (tests change some) */
static void
srv_start(struct srv *s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->greeting = "220 test ESMTP";
	s->ehlo = "250-test\r\n250-PIPELINING\r\n250 8BITMIME";
	s->helo = "250 test";
	s->starttls = "454 TLS not available";
	s->mail = s->data = "250 ok";
	s->data = "354 go ahead";
	s->final = "250 2.0.0 Ok: queued as ABC123";
	s->rcpt[0] = s->rcpt[1] = s->rcpt[2] = s->rcpt[3] = "250 ok";
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lis = evconnlistener_new_bind(base, srv_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (s->lis == NULL) {
		printf("Bail out! cannot listen on 127.0.0.1\n");
		exit(1);
	}
	getsockname(evconnlistener_get_fd(s->lis), (struct sockaddr *)&sin,
	    &len);
	s->port = ntohs(sin.sin_port);
	buf_init(&s->log);
	buf_init(&s->msg);
}

static void
srv_stop(struct srv *s)
{
	evconnlistener_free(s->lis);
	buf_free(&s->log);
	buf_free(&s->msg);
}

/* ---- running one submission -------------------------------------------- */

struct result {
	int calls, status;
	char detail[600];
};

static void
done_cb(void *token, int status, const char *detail)
{
	struct result *r = token;

	r->calls++;
	r->status = status;
	snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
}

/* run - the loop until the submission is over (done and nothing in
 * flight, the server's side closed too when there is one) */
static void
run(struct result *r, struct srv *s)
{
	struct timeval tv = { 0, 20000 };
	int guard = 0;

	while ((r->calls == 0 || mailout_pending() > 0 ||
	    (s != NULL && s->closed < s->conns)) && guard++ < 3000) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static const char *const one[] = { "owner@example.org" };
static const char *const two[] = { "a@example.org", "b@example.org" };

static void
smtp_send(struct srv *s, const char *const *rcpts, size_t n, const char *msg,
    struct result *r)
{
	char relay[64];

	memset(r, 0, sizeof(*r));
	snprintf(relay, sizeof(relay), "127.0.0.1:%d", s->port);
	mailout_send(base, NULL, relay, NULL, "fumidai@example.org", rcpts, n,
	    msg, strlen(msg), done_cb, r);
	run(r, s);
}

static void
test_smtp(void)
{
	struct srv s;
	struct result r;
	const char *msg = "Subject: x\r\n\r\nline one\n.leading dot\r\n.\n"
	    "bare\rcr\nlast without newline";

	srv_start(&s);
	smtp_send(&s, one, 1, msg, &r);
	is_int(r.calls, 1, "smtp: done called once");
	is_int(r.status, FM_NOTIFY_OK, "smtp: 250 is OK");
	ok(strstr(r.detail, "queued as ABC123") != NULL,
	    "smtp: the detail has the relay's reply (%s)", r.detail);
	ok(strstr(s.log.data, "EHLO ") == s.log.data, "smtp: EHLO first");
	ok(strstr(s.log.data, "MAIL FROM:<fumidai@example.org>\n") != NULL &&
	    strstr(s.log.data, "RCPT TO:<owner@example.org>\n") != NULL &&
	    strstr(s.log.data, "DATA\n") != NULL &&
	    strstr(s.log.data, "QUIT\n") != NULL,
	    "smtp: MAIL, RCPT, DATA, QUIT");
	ok(strstr(s.log.data, "STARTTLS") == NULL,
	    "smtp: no STARTTLS when not offered");
	is_str(s.msg.data, "Subject: x\r\n\r\nline one\r\n..leading dot\r\n"
	    "..\r\nbare\r\ncr\r\nlast without newline\r\n",
	    "smtp: the message dot-stuffed, with CRLF line ends");
	srv_stop(&s);

	/* a 4xx to RCPT, then all well: RETRY, nothing sent; then OK */
	srv_start(&s);
	s.rcpt[0] = "451 4.3.0 try later";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_RETRY, "smtp: 451 to RCPT is RETRY");
	ok(strstr(s.log.data, "DATA") == NULL, "smtp: no DATA after a 451");
	ok(strstr(r.detail, "451 4.3.0 try later") != NULL,
	    "smtp: the detail says why (%s)", r.detail);
	s.rcpt[0] = "250 ok";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_OK, "smtp: the retry is accepted");
	is_int(s.conns, 2, "smtp: one connection each");
	srv_stop(&s);

	srv_start(&s);
	s.rcpt[0] = "550 5.1.1 no such user";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_DROP, "smtp: 550 to the only RCPT is DROP");
	srv_stop(&s);

	srv_start(&s);
	s.rcpt[0] = "550 5.1.1 no such user";
	smtp_send(&s, two, 2, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_OK,
	    "smtp: one RCPT refused, one accepted: sent, OK");
	ok(strstr(r.detail, "refused") != NULL, "smtp: ... the detail says "
	    "a recipient was refused (%s)", r.detail);
	srv_stop(&s);

	srv_start(&s);
	s.rcpt[1] = "452 4.5.3 too many recipients";
	smtp_send(&s, two, 2, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_RETRY,
	    "smtp: one RCPT 250, one 452: RETRY before DATA (no duplicate)");
	ok(strstr(s.log.data, "DATA") == NULL, "smtp: ... no DATA");
	srv_stop(&s);

	srv_start(&s);
	s.final = "554 5.7.1 content rejected";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_DROP, "smtp: 554 to the message is DROP");
	s.final = "451 4.7.1 later";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_RETRY, "smtp: 451 to the message is RETRY");
	s.final = "250 ok";
	s.mail = "553 5.7.1 sender refused";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_DROP, "smtp: 553 to MAIL FROM is DROP");
	s.mail = "250 ok";
	s.greeting = "421 busy";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_RETRY, "smtp: 421 greeting is RETRY");
	s.greeting = "220 test";
	s.ehlo = "502 no EHLO here";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_OK, "smtp: EHLO refused: HELO, then OK");
	ok(strstr(s.log.data, "HELO ") != NULL, "smtp: ... HELO was sent");
	s.ehlo = "250-test\r\n250 STARTTLS";
	smtp_send(&s, one, 1, "x\r\n", &r);
	is_int(r.status, FM_NOTIFY_RETRY,
	    "smtp: STARTTLS offered but refused (454): RETRY");
	ok(strstr(s.log.data, "STARTTLS\n") != NULL, "smtp: ... it was tried");
	srv_stop(&s);

	/* silence after the greeting: the reply timeout */
	srv_start(&s);
	s.silent = 1;
	mailout_set_timeouts(300, 0);
	smtp_send(&s, one, 1, "x\r\n", &r);
	mailout_set_timeouts(0, 0);
	is_int(r.status, FM_NOTIFY_RETRY, "smtp: no reply: RETRY");
	ok(strstr(r.detail, "no reply") != NULL, "smtp: ... (%s)", r.detail);
	srv_stop(&s);
}

static void
test_smtp_refused(void)
{
	struct srv s;
	struct result r;
	int port;

	srv_start(&s);
	port = s.port;
	srv_stop(&s);		/* nobody listens there now */
	s.port = port;
	s.conns = s.closed = 0;
	memset(&r, 0, sizeof(r));
	{
		char relay[64];

		snprintf(relay, sizeof(relay), "127.0.0.1:%d", port);
		mailout_send(base, NULL, relay, NULL, "f@example.org", one, 1,
		    "x", 1, done_cb, &r);
		run(&r, NULL);
	}
	is_int(r.status, FM_NOTIFY_RETRY, "smtp: connection refused: RETRY");
	is_int(r.calls, 1, "smtp: ... done called once");

	memset(&r, 0, sizeof(r));
	mailout_send(base, NULL, "127.0.0.1:notaport", NULL, "f@example.org",
	    one, 1, "x", 1, done_cb, &r);
	is_int(r.status, FM_NOTIFY_RETRY, "smtp: a bad relay setting: RETRY");
}

static void
test_addresses(void)
{
	static const char *const bad[] = { "a@b\r\nRCPT TO:<x@y>", "-oQ/tmp",
	    "a b@c", "<a@b>", "", "a@b\n" };
	struct result r;
	size_t i;
	int drops = 0, calls = 0;

	for (i = 0; i < nitems(bad); i++) {
		memset(&r, 0, sizeof(r));
		mailout_send(base, NULL, "127.0.0.1:1", NULL, "f@example.org",
		    &bad[i], 1, "x", 1, done_cb, &r);
		drops += r.status == FM_NOTIFY_DROP;
		calls += r.calls;
		memset(&r, 0, sizeof(r));
		mailout_send(base, NULL, "127.0.0.1:1", "/bin/false", bad[i],
		    one, 1, "x", 1, done_cb, &r);
		drops += r.status == FM_NOTIFY_DROP;
		calls += r.calls;
	}
	is_int(drops, 2 * nitems(bad), "addresses with CR/LF, space, <>, a "
	    "leading '-' or empty: DROP (sender or recipient)");
	is_int(calls, 2 * nitems(bad), "... done called at once, each once");
	is_int(mailout_pending(), 0, "... nothing started");
}

/* ---- sendmail ------------------------------------------------------------ */

static char tmpdir[256];

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
	chmod(path, (mode_t)mode);
}

static char *
read_file(const char *path)
{
	struct buf b;
	char tmp[4096];
	size_t n;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		buf_add(&b, tmp, n);
	fclose(fp);
	buf_addc(&b, '\0');
	return b.data;
}

static void
sendmail_run(const char *script, const char *msg, size_t len,
    struct result *r)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/sendmail", tmpdir);
	write_file(path, script, 0755);
	memset(r, 0, sizeof(*r));
	mailout_send(base, NULL, NULL, path, "fumidai@example.org", two, 2,
	    msg, len, done_cb, r);
	run(r, NULL);
}

static void
test_sendmail(void)
{
	struct result r;
	struct buf script, big;
	char path[512], *got;
	size_t i;

	buf_init(&script);
	buf_printf(&script, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s/args\n"
	    "cat > %s/msg\nexit 0\n", tmpdir, tmpdir);
	sendmail_run(script.data, "Subject: x\r\n\r\n.dot\r\nend\r\n",
	    strlen("Subject: x\r\n\r\n.dot\r\nend\r\n"), &r);
	is_int(r.status, FM_NOTIFY_OK, "sendmail: exit 0 is OK");
	is_int(r.calls, 1, "sendmail: done called once");
	snprintf(path, sizeof(path), "%s/args", tmpdir);
	got = read_file(path);
	is_str(got, "-i\n-f\nfumidai@example.org\n--\na@example.org\n"
	    "b@example.org\n", "sendmail: -i -f FROM -- RCPT...");
	free(got);
	snprintf(path, sizeof(path), "%s/msg", tmpdir);
	got = read_file(path);
	is_str(got, "Subject: x\n\n.dot\nend\n",
	    "sendmail: the message with LF line ends, not dot-stuffed");
	free(got);

	buf_reset(&script);
	buf_adds(&script, "#!/bin/sh\ncat >/dev/null\n"
	    "echo 'postdrop: warning: queue full' >&2\nexit 75\n");
	sendmail_run(script.data, "x\n", 2, &r);
	is_int(r.status, FM_NOTIFY_RETRY, "sendmail: EX_TEMPFAIL is RETRY");
	ok(strstr(r.detail, "queue full") != NULL,
	    "sendmail: stderr is in the detail (%s)", r.detail);
	buf_reset(&script);
	buf_adds(&script, "#!/bin/sh\ncat >/dev/null\nexit 67\n");
	sendmail_run(script.data, "x\n", 2, &r);
	is_int(r.status, FM_NOTIFY_DROP, "sendmail: EX_NOUSER is DROP");

	/* it exits without reading 2 MB: never OK */
	buf_init(&big);
	for (i = 0; i < 2 * 1024 * 1024 / 64; i++)
		buf_adds(&big, "0123456789012345678901234567890123456789"
		    "01234567890123456789012\n");
	buf_reset(&script);
	buf_adds(&script, "#!/bin/sh\nexit 0\n");
	sendmail_run(script.data, big.data, big.len, &r);
	is_int(r.status, FM_NOTIFY_RETRY,
	    "sendmail: exit 0 before reading the message is RETRY");
	buf_reset(&script);
	buf_printf(&script, "#!/bin/sh\nwc -c > %s/size\nexit 0\n", tmpdir);
	sendmail_run(script.data, big.data, big.len, &r);
	is_int(r.status, FM_NOTIFY_OK, "sendmail: 2 MB through the pipe");
	snprintf(path, sizeof(path), "%s/size", tmpdir);
	got = read_file(path);
	ok(got != NULL && strtoul(got, NULL, 10) == big.len,
	    "sendmail: ... all of it (%lu bytes)",
	    got ? strtoul(got, NULL, 10) : 0);
	free(got);
	buf_free(&big);

	buf_reset(&script);
	buf_adds(&script, "#!/bin/sh\nexec sleep 30\n");
	mailout_set_timeouts(0, 300);
	sendmail_run(script.data, "x\n", 2, &r);
	mailout_set_timeouts(0, 0);
	is_int(r.status, FM_NOTIFY_RETRY, "sendmail: no exit in time: killed, "
	    "RETRY");

	memset(&r, 0, sizeof(r));
	mailout_send(base, NULL, NULL, "/nonexistent/sendmail",
	    "f@example.org", one, 1, "x\n", 2, done_cb, &r);
	run(&r, NULL);
	is_int(r.status, FM_NOTIFY_RETRY, "sendmail: cannot execute: RETRY");
	buf_free(&script);
}

int
main(void)
{
	char tmpl[] = "/tmp/mailout-t-XXXXXX";
	char cmd[600];

	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	unsetenv("TZ");
	signal(SIGPIPE, SIG_IGN);	/* as the daemon does (mailout.h) */
	base = event_base_new();
	test_addresses();
	test_smtp();
	test_smtp_refused();
	test_sendmail();
	mailout_shutdown();
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
