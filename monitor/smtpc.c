/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * smtpc.c - the audits' SMTP client: a bufferevent, a timer that bounds the
 * connect and every reply, a reply reader for "250-..."/"250 ..." lines,
 * and STARTTLS through libevent's OpenSSL filter (no certificate check).
 * One command is in flight at a time; the caller's callback drives the
 * dialogue, in the manner of OpenSMTPD's smtp_client state machine.
 *
 * SECURITY: replies are untrusted bytes, bounded in size (smtpc.h); they
 * are never interpreted beyond the reply code and EHLO keywords.
 */
#include "config.h"

#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "smtpc.h"
#include "util.h"

enum smtpc_state {
	ST_IDLE,		/* nothing in flight */
	ST_CONNECTING,		/* TCP connect */
	ST_HANDSHAKE,		/* TLS handshake */
	ST_REPLY,		/* waiting for a reply */
	ST_DONE,		/* closed or failed */
};

struct smtpc {
	struct event_base *base;
	struct bufferevent *bev;	/* socket, or TLS filter over it */
	struct event *timer;		/* connect / reply timeout */
	SSL_CTX *ctx;			/* made on first TLS use */
	smtpc_cb *cb;
	void *arg;
	int timeout_ms;
	enum smtpc_state state;
	int implicit_tls;		/* TLS right after connect (465) */
	int tls;			/* TLS is up */
	int ehlo_pending;		/* the command in flight is EHLO */
	char host[256];			/* as given, for SNI */
	char peer[64];			/* numeric address connected to */
	char tls_info[128];
	int code;			/* last reply's code */
	size_t nlines;			/* lines in the reply being read */
	struct buf text;		/* last reply without code prefixes */
	struct buf raw;			/* last reply as received */
	struct buf ehlo;		/* latest EHLO reply text */
	struct buf log;			/* transcript, one line each */
	enum smtpc_errkind errkind;
	char err[256];
};

static void smtpc_read_cb(struct bufferevent *, void *);
static void smtpc_event_cb(struct bufferevent *, short, void *);
static void smtpc_timer_cb(evutil_socket_t, short, void *);
static void smtpc_fail(struct smtpc *, enum smtpc_errkind, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int smtpc_tls_start(struct smtpc *);
static void smtpc_note(struct smtpc *, char, const char *, size_t);

static const char *const errkind_names[] = {
	"none", "refused", "connect-timeout", "timeout", "closed", "protocol",
	"tls", "other",
};

struct smtpc *
smtpc_new(struct event_base *base, int timeout_ms, smtpc_cb *cb, void *arg)
{
	struct smtpc *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	c->timer = evtimer_new(base, smtpc_timer_cb, c);
	buf_init(&c->text);
	buf_init(&c->raw);
	buf_init(&c->ehlo);
	buf_init(&c->log);
	return c;
}

void
smtpc_free(struct smtpc *c)
{
	if (c == NULL)
		return;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	buf_free(&c->text);
	buf_free(&c->raw);
	buf_free(&c->ehlo);
	buf_free(&c->log);
	free(c);
}

/* smtpc_arm - (re)start the timeout for what is now in flight */
static void
smtpc_arm(struct smtpc *c)
{
	struct timeval tv;

	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* smtpc_note - one transcript line: dir is 'C', 'S' or '*' */
static void
smtpc_note(struct smtpc *c, char dir, const char *p, size_t n)
{
	size_t i;

	buf_addc(&c->log, dir);
	buf_adds(&c->log, ": ");
	for (i = 0; i < n; i++)		/* the log is '\n'-separated text */
		buf_addc(&c->log, p[i] == '\0' || p[i] == '\n' ? '?' : p[i]);
	buf_addc(&c->log, '\n');
}

/* smtpc_fail - the connection is over: tell the caller (last thing done) */
static void
smtpc_fail(struct smtpc *c, enum smtpc_errkind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->errkind = kind;
	c->state = ST_DONE;
	evtimer_del(c->timer);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	smtpc_note(c, '*', c->err, strlen(c->err));
	c->cb(c, SMTPC_EV_ERROR, c->arg);
}

int
smtpc_connect(struct smtpc *c, const char *host, const char *port, int tls)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->implicit_tls = tls;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		c->errkind = SMTPC_E_OTHER;
		snprintf(c->err, sizeof(c->err), "%s: %s", host,
		    gai_strerror(rc));
		return -1;
	}
	getnameinfo(res->ai_addr, res->ai_addrlen, c->peer, sizeof(c->peer),
	    NULL, 0, NI_NUMERICHOST);
	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, smtpc_read_cb, NULL, smtpc_event_cb, c);
	c->state = ST_CONNECTING;
	smtpc_arm(c);
	rc = bufferevent_socket_connect(c->bev, res->ai_addr,
	    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (rc == -1) {
		c->errkind = errno == ECONNREFUSED || errno == ENETUNREACH ||
		    errno == EHOSTUNREACH ? SMTPC_E_REFUSED : SMTPC_E_OTHER;
		snprintf(c->err, sizeof(c->err), "connect %s port %s: %s",
		    c->peer, port, strerror(errno));
		bufferevent_free(c->bev);
		c->bev = NULL;
		evtimer_del(c->timer);
		c->state = ST_DONE;
		return -1;
	}
	return 0;
}

int
smtpc_cmd(struct smtpc *c, const char *line)
{
	size_t n = strlen(line);

	if (c->state != ST_IDLE || c->bev == NULL ||
	    strpbrk(line, "\r\n") != NULL || n > SMTPC_LINE_MAX)
		return -1;
	c->ehlo_pending = strncasecmp(line, "EHLO ", 5) == 0;
	smtpc_note(c, 'C', line, n);
	bufferevent_write(c->bev, line, n);
	bufferevent_write(c->bev, "\r\n", 2);
	c->state = ST_REPLY;
	c->code = 0;
	c->nlines = 0;
	buf_reset(&c->text);
	buf_reset(&c->raw);
	smtpc_arm(c);
	return 0;
}

int
smtpc_data(struct smtpc *c, const char *p, size_t n)
{
	char note[64];

	if (c->state != ST_IDLE || c->bev == NULL)
		return -1;
	snprintf(note, sizeof(note), "(message, %zu bytes)", n);
	smtpc_note(c, 'C', note, strlen(note));
	c->ehlo_pending = 0;
	bufferevent_write(c->bev, p, n);
	bufferevent_write(c->bev, ".\r\n", 3);
	c->state = ST_REPLY;
	c->code = 0;
	c->nlines = 0;
	buf_reset(&c->text);
	buf_reset(&c->raw);
	smtpc_arm(c);
	return 0;
}

int
smtpc_starttls(struct smtpc *c)
{
	if (c->state != ST_IDLE || c->bev == NULL || c->tls)
		return -1;
	return smtpc_tls_start(c);
}

/* smtpc_tls_start - put the OpenSSL filter over the socket bufferevent */
static int
smtpc_tls_start(struct smtpc *c)
{
	struct bufferevent *tb;
	SSL *ssl;

	if (c->ctx == NULL) {
		if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			return -1;
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	if ((ssl = SSL_new(c->ctx)) == NULL)
		return -1;
	if (c->host[0] != '\0' && c->host[0] != '[' &&
	    strspn(c->host, "0123456789.:abcdefABCDEF") != strlen(c->host))
		SSL_set_tlsext_host_name(ssl, c->host);
	/* anything the server sent before TLS is not trusted afterwards */
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	tb = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tb == NULL) {
		SSL_free(ssl);
		return -1;
	}
	c->bev = tb;
	bufferevent_setcb(tb, smtpc_read_cb, NULL, smtpc_event_cb, c);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	c->state = ST_HANDSHAKE;
	smtpc_arm(c);
	return 0;
}

/* smtpc_tls_up - the handshake is done: note what was negotiated */
static void
smtpc_tls_up(struct smtpc *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	c->tls = 1;
	snprintf(c->tls_info, sizeof(c->tls_info), "%s %s",
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	smtpc_note(c, '*', "TLS established ", 16);
	c->log.len--;		/* join the info to the same line */
	buf_adds(&c->log, c->tls_info);
	buf_addc(&c->log, '\n');
}

/* smtpc_connected - TCP is up: start TLS (465) or wait for the greeting */
static void
smtpc_connected(struct smtpc *c)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "connected to %s", c->peer);
	smtpc_note(c, '*', msg, strlen(msg));
	if (c->implicit_tls) {
		if (smtpc_tls_start(c) == -1)
			smtpc_fail(c, SMTPC_E_TLS, "cannot start TLS");
		return;
	}
	c->state = ST_REPLY;
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	smtpc_arm(c);
}

/* smtpc_sockerr - the pending error of the socket under bev, else errno */
static int
smtpc_sockerr(struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	int e = 0;
	socklen_t len = sizeof(e);

	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 &&
	    e != 0)
		return e;
	return errno;
}

static void
smtpc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpc *c = arg;
	unsigned long e;
	int se;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == ST_CONNECTING) {
			smtpc_connected(c);
		} else if (c->state == ST_HANDSHAKE) {
			smtpc_tls_up(c);
			if (c->implicit_tls) {	/* now the greeting */
				c->state = ST_REPLY;
				smtpc_arm(c);
				return;
			}
			c->state = ST_IDLE;
			evtimer_del(c->timer);
			c->cb(c, SMTPC_EV_TLS, c->arg);
		}
		return;
	}
	se = smtpc_sockerr(bev);
	if (c->state == ST_CONNECTING) {
		smtpc_fail(c, se == ECONNREFUSED || se == ECONNRESET ||
		    se == EHOSTUNREACH || se == ENETUNREACH ? SMTPC_E_REFUSED :
		    SMTPC_E_OTHER, "connect %s: %s", c->peer, strerror(se));
	} else if (c->state == ST_HANDSHAKE || c->tls) {
		e = bufferevent_get_openssl_error(bev);
		if (e == 0 && (what & BEV_EVENT_EOF))
			smtpc_fail(c, SMTPC_E_CLOSED, "connection closed%s",
			    c->state == ST_HANDSHAKE ? " during TLS handshake" :
			    "");
		else
			smtpc_fail(c, SMTPC_E_TLS, "TLS: %s", e ?
			    ERR_reason_error_string(e) : strerror(se));
	} else if (what & BEV_EVENT_EOF) {
		smtpc_fail(c, SMTPC_E_CLOSED, "connection closed by server");
	} else {
		smtpc_fail(c, SMTPC_E_CLOSED, "connection error: %s",
		    strerror(se));
	}
}

static void
smtpc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	(void)fd;
	(void)what;
	if (c->state == ST_CONNECTING)
		smtpc_fail(c, SMTPC_E_CONNECT_TIMEOUT,
		    "connect %s: no answer in %d ms", c->peer, c->timeout_ms);
	else
		smtpc_fail(c, SMTPC_E_TIMEOUT, "%s: no reply in %d ms",
		    c->state == ST_HANDSHAKE ? "TLS handshake" : "server",
		    c->timeout_ms);
}

/* smtpc_line - one reply line; 1 when the reply is complete, 0 for more,
 * -1 when malformed */
static int
smtpc_line(struct smtpc *c, const char *p, size_t n)
{
	int code;

	smtpc_note(c, 'S', p, n);
	if (n < 3 || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    (n > 3 && p[3] != ' ' && p[3] != '-'))
		return -1;
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (c->nlines > 0 && code != c->code)
		return -1;
	c->code = code;
	if (c->nlines++ > 0) {
		buf_addc(&c->text, '\n');
		buf_addc(&c->raw, '\n');
	}
	buf_add(&c->raw, p, n);
	if (n > 4)
		buf_add(&c->text, p + 4, n - 4);
	if (c->nlines > SMTPC_REPLY_LINES)
		return -1;
	return n == 3 || p[3] == ' ';
}

static void
smtpc_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;
	int r;

	while (c->state == ST_REPLY) {
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTPC_LINE_MAX)
				smtpc_fail(c, SMTPC_E_PROTO, "reply line too long");
			return;
		}
		r = n > SMTPC_LINE_MAX ? -1 : smtpc_line(c, line, n);
		free(line);
		if (r == -1) {
			smtpc_fail(c, SMTPC_E_PROTO, "malformed reply");
			return;
		}
		if (r == 1) {
			c->state = ST_IDLE;
			evtimer_del(c->timer);
			if (c->ehlo_pending && c->code == 250) {
				buf_reset(&c->ehlo);
				buf_add(&c->ehlo, c->text.data, c->text.len);
			}
			c->ehlo_pending = 0;
			c->cb(c, SMTPC_EV_REPLY, c->arg);
			return;
		}
	}
	/* unsolicited bytes while idle stay buffered until the next reply */
}

int
smtpc_code(const struct smtpc *c)
{
	return c->code;
}

const char *
smtpc_text(const struct smtpc *c)
{
	return c->text.data != NULL ? c->text.data : "";
}

const char *
smtpc_reply_raw(const struct smtpc *c)
{
	return c->raw.data != NULL ? c->raw.data : "";
}

const char *
smtpc_ext(const struct smtpc *c, const char *kw, size_t *len)
{
	const char *p, *eol;
	size_t kl = strlen(kw);

	if (c->ehlo.data == NULL)
		return NULL;
	/* the first line is the server's name, not an extension */
	for (p = strchr(c->ehlo.data, '\n'); p != NULL; p = eol) {
		p++;
		eol = strchr(p, '\n');
		if (strncasecmp(p, kw, kl) == 0 &&
		    (p[kl] == '\0' || p[kl] == '\n' || p[kl] == ' ' ||
		    (p[kl] == '=' && strcasecmp(kw, "AUTH") == 0)))
		{
			p += kl + (p[kl] == ' ' || p[kl] == '=');
			*len = strcspn(p, "\n");
			return p;
		}
	}
	return NULL;
}

int
smtpc_tls(const struct smtpc *c)
{
	return c->tls;
}

const char *
smtpc_tls_info(const struct smtpc *c)
{
	return c->tls_info;
}

const char *
smtpc_peer(const struct smtpc *c)
{
	return c->peer;
}

const char *
smtpc_error(const struct smtpc *c)
{
	return c->err;
}

enum smtpc_errkind
smtpc_errkind(const struct smtpc *c)
{
	return c->errkind;
}

const char *
smtpc_errkind_name(enum smtpc_errkind k)
{
	return (size_t)k < nitems(errkind_names) ? errkind_names[k] : "other";
}

void
smtpc_transcript_json(const struct smtpc *c, struct buf *b)
{
	const char *p, *eol;
	int first = 1;

	buf_addc(b, '[');
	for (p = c->log.data; p != NULL && *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			break;
		if (!first)
			buf_addc(b, ',');
		first = 0;
		json_str(b, p, (size_t)(eol - p));
	}
	buf_addc(b, ']');
}
