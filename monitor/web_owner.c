/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web_owner.c - owners log in to the dashboard with their mail password:
 * POST /api/owner/login {"account","password"} is checked against the
 * IMAP server of web.owner_login (AUTHENTICATE PLAIN, then LOGOUT) and,
 * when that server says OK, answered with the same fm_owner cookie an
 * owner link gives (web.link_ttl long), so the owner page shows that
 * account and no other.
 *
 * The dashboard is one event loop: the IMAP exchange runs on bufferevents
 * (names resolved with evdns), never blocking it for the server's
 * auth_failure_delay, and each attempt ends after WEB_OWNER_TIMEOUT_S.
 * imap:// is plain text, so only loopback servers (checked again on the
 * connected socket) unless web.owner_login_tls = "starttls"; imaps:// and
 * STARTTLS verify the certificate against the system's CAs and the host
 * name (or address) unless web.owner_login_verify = 0.
 *
 * Answers: 200 {"ok":true} and the cookie; 401 {"error":"login failed"}
 * for a wrong password and an unknown account alike; 503 when the server
 * cannot be reached or answers out of protocol; 429 after
 * WEB_OWNER_FAILS failures in WEB_OWNER_WINDOW_S from one client address
 * or for one account (counted when an attempt starts, given back when it
 * succeeds or the server is unreachable, so parallel guesses count too).
 * An IPv6 client counts by its /64.  The counters live in a table of
 * WEB_OWNER_SLOTS: when it is full the oldest entry not at its limit is
 * forgotten, and when every entry is at its limit every attempt gets 429.  Behind a reverse proxy every client has the
 * proxy's address, so the per-address limit is then everyone's.
 *
 * SECURITY: the account and the password are attacker-controlled bytes.
 * They travel only inside the base64 of SASL PLAIN (so CR, LF, quotes and
 * spaces cannot make another IMAP command); a NUL, which would break
 * PLAIN's fields, an empty or an overlong value is refused before any
 * connection.  The password is never logged or kept: the request body,
 * the decoded field and the encoded exchange are wiped (explicit_bzero)
 * once sent.  The account is logged through log_escape only.  The server's
 * lines are bounded (WEB_OWNER_LINE_MAX) and never logged; after STARTTLS
 * bytes the server sent in plain text are refused.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "listen.h"
#include "log.h"
#include "show.h"
#include "web.h"

#define WEB_OWNER_LINE_MAX	8192	/* bytes of a server's line */

enum ostate {
	S_CONNECT,	/* TCP connect */
	S_TLS,		/* TLS handshake (imaps, or after STARTTLS) */
	S_GREET,	/* waiting for "* OK" */
	S_STARTTLS,	/* "a1 STARTTLS" sent */
	S_AUTH,		/* "a2 AUTHENTICATE PLAIN" sent, waiting for "+" */
	S_RESULT,	/* credentials sent, waiting for a2's answer */
	S_LOGOUT,	/* answered; "a3 LOGOUT" sent */
};

struct slot {
	unsigned char id[32];	/* SHA-256 of "ip\0" addr or "acct\0" name */
	int64_t since;		/* mono_us() of the window's first attempt */
	int n;			/* attempts charged in the window */
};

struct attempt {
	struct web_owner *o;
	struct attempt *prev, *next;
	struct evhttp_request *req;	/* NULL once answered */
	struct bufferevent *bev;
	struct event *timer;
	enum ostate state;
	struct buf acct;		/* raw bytes */
	struct buf sasl;		/* base64 of "\0" acct "\0" password */
	char client[64];		/* the browser's address */
	unsigned char kip[32], kacct[32];
};

struct web_owner {
	struct web *w;			/* borrowed */
	struct event_base *base;
	struct web_owner_target t;
	SSL_CTX *ssl;			/* made on first TLS use */
	struct evdns_base *dns;		/* made for the first host name */
	struct attempt *list;		/* in flight */
	int pending;
	struct slot *slots;		/* WEB_OWNER_SLOTS */
};

static void attempt_free(struct attempt *);
static void answer(struct attempt *, int, const char *);
static void finish(struct attempt *, int, const char *);
static int tls_start(struct attempt *);
static void read_cb(struct bufferevent *, void *);
static void event_cb(struct bufferevent *, short, void *);
static void timer_cb(evutil_socket_t, short, void *);

/* web_owner_target - see web.h: "imap://HOST[:PORT]" or "imaps://..."
 * with HOST a name, an IPv4 address or a bracketed IPv6 address */
int
web_owner_target(const struct fumidai *cf, struct web_owner_target *t,
    char *err, size_t errlen)
{
	const char *u = cf->web.owner_login, *tls = cf->web.owner_login_tls;
	const char *h, *e, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n;
	char *end;
	long port;

	memset(t, 0, sizeof(*t));
	if (u == NULL || *u == '\0') {
		if (tls != NULL) {
			snprintf(err, errlen, "web.owner_login_tls without "
			    "web.owner_login");
			return -1;
		}
		return 0;
	}
	if (tls != NULL && strcmp(tls, "starttls") != 0 &&
	    strcmp(tls, "none") != 0) {
		snprintf(err, errlen, "web.owner_login_tls: expected "
		    "\"starttls\" or \"none\"");
		return -1;
	}
	if (strncmp(u, "imap://", 7) == 0) {
		h = u + 7;
		t->mode = tls != NULL && strcmp(tls, "starttls") == 0 ?
		    WEB_OWNER_STARTTLS : WEB_OWNER_PLAIN;
		t->port = 143;
	} else if (strncmp(u, "imaps://", 8) == 0) {
		h = u + 8;
		t->mode = WEB_OWNER_IMAPS;
		t->port = 993;
		if (tls != NULL && strcmp(tls, "starttls") == 0) {
			snprintf(err, errlen, "imaps:// is TLS already; "
			    "owner_login_tls = \"starttls\" is for imap://");
			return -1;
		}
	} else
		goto bad;
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			goto bad;
		colon = e[1] == ':' ? e + 1 : NULL;
		if (e[1] != '\0' && colon == NULL)
			goto bad;
		h++;
	} else {
		colon = strchr(h, ':');
		e = colon ? colon : h + strlen(h);
	}
	n = (size_t)(e - h);
	if (n == 0 || n >= sizeof(t->host) || strspn(h, "abcdefghijklmnopqrstuvw"
	    "xyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") < n)
		goto bad;
	memcpy(t->host, h, n);
	t->host[n] = '\0';
	if (colon != NULL) {
		port = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
			goto bad;
		t->port = (int)port;
	}
	if (inet_pton(AF_INET, t->host, &a4) == 1)
		t->numeric = 1;
	else if (inet_pton(AF_INET6, t->host, &a6) == 1)
		t->numeric = 2;
	else if (strchr(t->host, ':') != NULL)
		goto bad;
	if (t->mode == WEB_OWNER_PLAIN && ((t->numeric == 1 &&
	    (ntohl(a4.s_addr) >> 24) != 127) || (t->numeric == 2 &&
	    !IN6_IS_ADDR_LOOPBACK(&a6)))) {
		snprintf(err, errlen, "plain imap:// sends passwords in clear "
		    "text: only to a loopback address (or set owner_login_tls "
		    "= \"starttls\", or use imaps://)");
		return -1;
	}
	return 1;
bad:
	snprintf(err, errlen, "expected \"imap://HOST:PORT\" or "
	    "\"imaps://HOST:PORT\"");
	return -1;
}

/* ---- failure counters ---- */

static void
slot_id(unsigned char id[32], const char *kind, const char *p, size_t n)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 32;

	memset(id, 0, 32);
	if (c == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, kind, strlen(kind) + 1) == 1 &&
	    EVP_DigestUpdate(c, p, n) == 1)
		EVP_DigestFinal_ex(c, id, &len);
	EVP_MD_CTX_free(c);
}

/* slot_find - id's slot; with make, a new one (a free slot, else the
 * oldest that is not at its limit) when it has none; NULL when none (and
 * with make when every slot holds a key at its limit: a flood of new
 * names and addresses cannot push a limited one out) */
static struct slot *
slot_find(struct web_owner *o, const unsigned char id[32], int make)
{
	int64_t now = mono_us(), win = WEB_OWNER_WINDOW_S * 1000000LL;
	struct slot *s, *old = NULL;
	size_t i;

	for (i = 0; i < WEB_OWNER_SLOTS; i++) {
		s = &o->slots[i];
		if (s->n > 0 && now - s->since > win)
			s->n = 0;		/* the window is over */
		if (s->n > 0 && memcmp(s->id, id, 32) == 0)
			return s;
		if (s->n >= WEB_OWNER_FAILS)
			continue;		/* never forgotten early */
		if (old == NULL || (old->n > 0 && (s->n == 0 ||
		    s->since < old->since)))
			old = s;
	}
	if (!make || old == NULL)
		return NULL;
	memcpy(old->id, id, 32);
	old->since = now;
	old->n = 0;
	return old;
}

static int
slot_count(struct web_owner *o, const unsigned char id[32])
{
	struct slot *s = slot_find(o, id, 0);

	return s ? s->n : 0;
}

/* slot_give_back - an attempt that was not a failure */
static void
slot_give_back(struct web_owner *o, const unsigned char id[32])
{
	struct slot *s = slot_find(o, id, 0);

	if (s != NULL && s->n > 0)
		s->n--;
}

/* ---- the IMAP exchange ---- */

static void
attempt_free(struct attempt *a)
{
	if (a == NULL)
		return;
	if (a->prev != NULL)
		a->prev->next = a->next;
	else
		a->o->list = a->next;
	if (a->next != NULL)
		a->next->prev = a->prev;
	a->o->pending--;
	if (a->bev != NULL)
		bufferevent_free(a->bev);
	if (a->timer != NULL)
		event_free(a->timer);
	if (a->sasl.data != NULL)
		explicit_bzero(a->sasl.data, a->sasl.len);
	buf_free(&a->sasl);
	buf_free(&a->acct);
	free(a);
}

/* logline - one key=value line about attempt a */
static void
logline(struct attempt *a, const char *result, const char *why)
{
	struct buf e;

	buf_init(&e);
	log_escape(&e, a->acct.data ? a->acct.data : "", a->acct.len);
	log_info("service=web owner_login=%s account=\"%s\" client=%s%s%s%s",
	    result, e.data ? e.data : "", a->client, why ? " reason=\"" : "",
	    why ? why : "", why ? "\"" : "");
	buf_free(&e);
}

/* answer - the HTTP answer to a's request (once) */
static void
answer(struct attempt *a, int code, const char *why)
{
	struct buf c, tok, b;
	int64_t now = now_us() / 1000000;
	const struct fumidai *cf = a->o->w->cf;

	if (a->req == NULL)
		return;
	if (code != 401)
		slot_give_back(a->o, a->kip);
	if (code != 401)
		slot_give_back(a->o, a->kacct);
	logline(a, code == 200 ? "ok" : code == 401 ? "failed" : "error", why);
	buf_init(&b);
	if (code == 200) {
		buf_init(&tok);
		buf_init(&c);
		weblink_owner(&tok, a->o->w->key, a->acct.data, a->acct.len,
		    now + cf->web.link_ttl);
		web_owner_cookie(a->o->w, &c, tok.data, cf->web.link_ttl);
		evhttp_add_header(evhttp_request_get_output_headers(a->req),
		    "Set-Cookie", c.data);
		buf_adds(&b, "{\"ok\":true}\n");
		web_json(a->req, 200, &b);
		buf_free(&c);
		buf_free(&tok);
	} else
		web_error(a->req, code, code == 401 ? "login failed" :
		    "the mail server cannot be reached");
	buf_free(&b);
	a->req = NULL;
}

/* finish - answer and end the exchange: LOGOUT when logged in, else close */
static void
finish(struct attempt *a, int code, const char *why)
{
	answer(a, code, why);
	if (code == 200 && a->bev != NULL) {
		a->state = S_LOGOUT;
		bufferevent_write(a->bev, "a3 LOGOUT\r\n", 11);
		return;
	}
	attempt_free(a);
}

static void
send_line(struct attempt *a, const char *s)
{
	bufferevent_write(a->bev, s, strlen(s));
}

/* tagged - line is the answer to tag: its status word (after the tag) */
static int
tagged(const char *line, const char *tag, const char *status)
{
	size_t n = strlen(tag), m = strlen(status);

	return strncmp(line, tag, n) == 0 && line[n] == ' ' &&
	    strncasecmp(line + n + 1, status, m) == 0 &&
	    (line[n + 1 + m] == ' ' || line[n + 1 + m] == '\0');
}

/* on_line - one line of the server; 0 to go on, -1 when a is gone or the
 * rest of the input must not be read */
static int
on_line(struct attempt *a, const char *l)
{
	switch (a->state) {
	case S_GREET:
		if (strncasecmp(l, "* OK", 4) != 0) {
			finish(a, 503, "no IMAP greeting");
			return -1;
		}
		if (a->o->t.mode == WEB_OWNER_STARTTLS) {
			a->state = S_STARTTLS;
			send_line(a, "a1 STARTTLS\r\n");
		} else {
			a->state = S_AUTH;
			send_line(a, "a2 AUTHENTICATE PLAIN\r\n");
		}
		return 0;
	case S_STARTTLS:
		if (l[0] == '*')
			return 0;
		if (!tagged(l, "a1", "OK")) {
			finish(a, 503, "STARTTLS refused");
			return -1;
		}
		if (evbuffer_get_length(bufferevent_get_input(a->bev)) > 0) {
			finish(a, 503, "plain text after STARTTLS");
			return -1;
		}
		if (tls_start(a) == -1)
			finish(a, 503, "TLS setup failed");
		return -1;
	case S_AUTH:
		if (l[0] == '*')
			return 0;
		if (l[0] != '+') {
			finish(a, 503, "AUTHENTICATE PLAIN refused");
			return -1;
		}
		bufferevent_write(a->bev, a->sasl.data, a->sasl.len);
		explicit_bzero(a->sasl.data, a->sasl.len);
		a->state = S_RESULT;
		return 0;
	case S_RESULT:
		if (l[0] == '*')
			return 0;
		if (tagged(l, "a2", "OK"))
			finish(a, 200, NULL);
		else if (tagged(l, "a2", "NO") && strlen(l) > 6 &&
		    strncasecmp(l + 6, "[UNAVAILABLE]", 13) == 0)
			finish(a, 503, "authentication unavailable");
		else
			finish(a, 401, NULL);	/* NO, BAD, or "+" again */
		return -1;
	case S_LOGOUT:
		if (tagged(l, "a3", "OK") || tagged(l, "a3", "BAD") ||
		    tagged(l, "a3", "NO")) {
			attempt_free(a);
			return -1;
		}
		return 0;
	default:
		finish(a, 503, "unexpected data");
		return -1;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct attempt *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *l;

	while ((l = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		if (n > WEB_OWNER_LINE_MAX || memchr(l, '\0', n) != NULL) {
			free(l);
			finish(a, 503, "bad line from the server");
			return;
		}
		if (on_line(a, l) == -1) {
			free(l);
			return;
		}
		free(l);
	}
	if (evbuffer_get_length(in) > WEB_OWNER_LINE_MAX)
		finish(a, 503, "overlong line from the server");
}

/* connected - TCP (or TLS) is up */
static void
connected(struct attempt *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (a->state == S_CONNECT && a->o->t.mode == WEB_OWNER_PLAIN &&
	    (getpeername(bufferevent_getfd(a->bev), (struct sockaddr *)&ss,
	    &sl) == -1 || !listen_is_loopback((struct sockaddr *)&ss))) {
		finish(a, 503, "plain imap:// resolved to a non-loopback "
		    "address");
		return;
	}
	if (a->state == S_CONNECT && a->o->t.mode == WEB_OWNER_IMAPS) {
		if (tls_start(a) == -1)
			finish(a, 503, "TLS setup failed");
		return;
	}
	if (a->state == S_TLS && a->o->t.mode == WEB_OWNER_STARTTLS) {
		a->state = S_AUTH;
		send_line(a, "a2 AUTHENTICATE PLAIN\r\n");
		return;
	}
	a->state = S_GREET;
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct attempt *a = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		connected(a);
		return;
	}
	if (a->state == S_LOGOUT) {
		attempt_free(a);
		return;
	}
	if (a->state == S_TLS)
		finish(a, 503, "TLS handshake or certificate failed");
	else if (a->state == S_CONNECT)
		finish(a, 503, "cannot connect");
	else
		finish(a, 503, "connection lost");
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct attempt *a = arg;

	(void)fd;
	(void)what;
	if (a->state == S_LOGOUT)
		attempt_free(a);
	else
		finish(a, 503, "timeout");
}

/* ssl_ctx - the client context: system CAs, TLS 1.2 at least, the peer
 * verified unless web.owner_login_verify = 0 */
static SSL_CTX *
ssl_ctx(struct web_owner *o)
{
	if (o->ssl != NULL)
		return o->ssl;
	if ((o->ssl = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(o->ssl, TLS1_2_VERSION);
	if (o->w->cf->web.owner_login_verify) {
		SSL_CTX_set_verify(o->ssl, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(o->ssl) != 1)
			log_warnx("service=web msg=\"TLS: cannot read the "
			    "system's CA certificates\"");
	} else
		SSL_CTX_set_verify(o->ssl, SSL_VERIFY_NONE, NULL);
	return o->ssl;
}

/* tls_start - put TLS over the connection, the host's name (or address)
 * checked against the certificate; -1 when it cannot be set up */
static int
tls_start(struct attempt *a)
{
	const struct web_owner_target *t = &a->o->t;
	struct bufferevent *tb;
	SSL_CTX *ctx;
	SSL *ssl;
	int ok;

	if ((ctx = ssl_ctx(a->o)) == NULL || (ssl = SSL_new(ctx)) == NULL)
		return -1;
	if (t->numeric)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    t->host) == 1;
	else
		ok = SSL_set1_host(ssl, t->host) == 1 &&
		    SSL_set_tlsext_host_name(ssl, t->host) == 1;
	if (!ok || (tb = bufferevent_openssl_filter_new(a->o->base, a->bev,
	    ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		return -1;
	}
	a->bev = tb;
	a->state = S_TLS;
	bufferevent_setcb(tb, read_cb, NULL, event_cb, a);
	bufferevent_enable(tb, EV_READ | EV_WRITE);
	return 0;
}

/* attempt_start - connect to the server for a; -1 (a freed, answered) */
static int
attempt_start(struct attempt *a)
{
	struct web_owner *o = a->o;
	struct timeval tv = { WEB_OWNER_TIMEOUT_S, 0 };

	if ((a->timer = evtimer_new(o->base, timer_cb, a)) == NULL ||
	    (a->bev = bufferevent_socket_new(o->base, -1,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		finish(a, 503, "no memory");
		return -1;
	}
	evtimer_add(a->timer, &tv);
	bufferevent_setcb(a->bev, read_cb, NULL, event_cb, a);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	if (!o->t.numeric && o->dns == NULL)
		o->dns = evdns_base_new(o->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (bufferevent_socket_connect_hostname(a->bev, o->t.numeric ? NULL :
	    o->dns, AF_UNSPEC, o->t.host, o->t.port) == -1) {
		finish(a, 503, "cannot connect");
		return -1;
	}
	return 0;
}

/* ---- the HTTP side ---- */

/* fields - account and password of the JSON body; -1 when unusable.  The
 * body and the decoded password are wiped by the caller. */
static int
fields(struct buf *body, struct buf *acct, struct buf *pw)
{
	buf_reserve(acct, body->len + 1);	/* no realloc: no stray copy */
	buf_reserve(pw, body->len + 1);
	if (show_json_get(body->data, body->len, "account", acct) == -1 ||
	    show_json_get(body->data, body->len, "password", pw) == -1)
		return -1;
	if (acct->len == 0 || acct->len > WEB_OWNER_ACCOUNT_MAX ||
	    memchr(acct->data, '\0', acct->len) != NULL ||
	    pw->len == 0 || pw->len > WEB_OWNER_PASSWORD_MAX ||
	    memchr(pw->data, '\0', pw->len) != NULL)
		return -1;
	return 0;
}

/* read_body - the request body into b, wiping evhttp's copy */
static void
read_body(struct evhttp_request *req, struct buf *b)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = in ? evbuffer_get_length(in) : 0;
	unsigned char *p;

	if (n > WEB_BODY_MAX)
		n = WEB_BODY_MAX;
	buf_reserve(b, n + 1);
	if (n > 0 && (p = evbuffer_pullup(in, -1)) != NULL) {
		memcpy(b->data, p, n);
		explicit_bzero(p, evbuffer_get_length(in));
	}
	b->len = n;
	b->data[n] = '\0';
}

/* sasl_plain - base64("" NUL acct NUL pw) CRLF into out (wiped later) */
static void
sasl_plain(struct buf *out, const struct buf *acct, const struct buf *pw)
{
	size_t n = acct->len + pw->len + 2;
	unsigned char *raw = xmalloc(n);

	raw[0] = '\0';
	memcpy(raw + 1, acct->data, acct->len);
	raw[1 + acct->len] = '\0';
	memcpy(raw + 2 + acct->len, pw->data, pw->len);
	buf_reserve(out, 4 * ((n + 2) / 3) + 3);
	out->len = (size_t)EVP_EncodeBlock((unsigned char *)out->data, raw,
	    (int)n);
	memcpy(out->data + out->len, "\r\n", 3);
	out->len += 2;
	explicit_bzero(raw, n);
	free(raw);
}

/* attempt_new - an attempt for req from client, or NULL when refused (and
 * answered) */
static struct attempt *
attempt_new(struct web_owner *o, struct evhttp_request *req,
    const char *client)
{
	struct attempt *a = xcalloc(1, sizeof(*a));
	struct buf body, pw;
	int bad;

	a->o = o;
	a->req = req;
	buf_init(&a->acct);
	buf_init(&a->sasl);
	snprintf(a->client, sizeof(a->client), "%s", client);
	if ((a->next = o->list) != NULL)
		a->next->prev = a;
	o->list = a;
	o->pending++;
	buf_init(&body);
	buf_init(&pw);
	read_body(req, &body);
	bad = fields(&body, &a->acct, &pw);
	if (!bad)
		sasl_plain(&a->sasl, &a->acct, &pw);
	explicit_bzero(body.data, body.len);
	if (pw.data != NULL)
		explicit_bzero(pw.data, pw.len);
	buf_free(&body);
	buf_free(&pw);
	if (bad) {
		web_error(req, 400, "expected {\"account\":\"...\","
		    "\"password\":\"...\"}");
		a->req = NULL;
		attempt_free(a);
		return NULL;
	}
	return a;
}

/* limited - 429 when the address or the account has failed too often,
 * else charge both (given back unless it fails) */
static int
limited(struct web_owner *o, struct attempt *a)
{
	struct slot *si = NULL, *sa = NULL;
	uint8_t af = 0, ip[16];

	/* an IPv6 client is counted by its /64: one host has them all */
	if (addr_parse(a->client, strlen(a->client), &af, ip) == 0)
		slot_id(a->kip, "ip", (const char *)ip, af == 6 ? 8 : 4);
	else
		slot_id(a->kip, "ip", a->client, strlen(a->client));
	slot_id(a->kacct, "acct", a->acct.data, a->acct.len);
	/* charge the address before finding the account's slot, so that
	 * the two can never be one reused slot */
	if (slot_count(o, a->kip) < WEB_OWNER_FAILS &&
	    slot_count(o, a->kacct) < WEB_OWNER_FAILS &&
	    o->pending <= WEB_OWNER_PENDING &&
	    (si = slot_find(o, a->kip, 1)) != NULL) {
		si->n++;
		if ((sa = slot_find(o, a->kacct, 1)) == NULL)
			si->n--;
	}
	if (sa == NULL) {
		logline(a, "limited", NULL);
		web_error(a->req, 429, "too many failed logins; try again "
		    "later");
		a->req = NULL;
		attempt_free(a);
		return 1;
	}
	sa->n++;
	return 0;
}

void
web_owner_login(struct web *w, struct evhttp_request *req)
{
	struct web_owner *o = w->owner;
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *csrf;
	char *addr = NULL;
	ev_uint16_t port = 0;
	struct attempt *a;

	if (m == EVHTTP_REQ_GET) {	/* the login page asks */
		struct buf b;

		buf_init(&b);
		buf_adds(&b, o ? "{\"enabled\":true}\n" : "{\"enabled\":false}\n");
		web_json(req, 200, &b);
		buf_free(&b);
		return;
	}
	if (o == NULL) {
		web_error(req, 404, "no such API");
		return;
	}
	if (m != EVHTTP_REQ_POST) {
		web_error(req, 405, "method not allowed");
		return;
	}
	csrf = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Fumidai-CSRF");
	if (csrf == NULL || strcmp(csrf, "1") != 0) {
		web_error(req, 403, "the X-Fumidai-CSRF header is missing");
		return;
	}
	if (con != NULL)
		evhttp_connection_get_peer(con, &addr, &port);
	if ((a = attempt_new(o, req, addr ? addr : "-")) == NULL ||
	    limited(o, a))
		return;
	attempt_start(a);
}

struct web_owner *
web_owner_new(struct event_base *base, struct web *w)
{
	struct web_owner_target t;
	struct web_owner *o;
	char err[256];

	if (web_owner_target(w->cf, &t, err, sizeof(err)) != 1)
		return NULL;	/* unset (or refused by conf.c already) */
	o = xcalloc(1, sizeof(*o));
	o->w = w;
	o->base = base;
	o->t = t;
	o->slots = xcalloc(WEB_OWNER_SLOTS, sizeof(*o->slots));
	log_info("service=web owner_login=%s://%s:%d%s msg=\"owners may log "
	    "in with their mail password\"", o->t.mode == WEB_OWNER_IMAPS ?
	    "imaps" : "imap", o->t.host, o->t.port, o->t.mode ==
	    WEB_OWNER_STARTTLS ? "+starttls" : "");
	return o;
}

void
web_owner_free(struct web_owner *o)
{
	if (o == NULL)
		return;
	while (o->list != NULL) {
		o->list->req = NULL;
		attempt_free(o->list);
	}
	if (o->dns != NULL)
		evdns_base_free(o->dns, 0);
	if (o->ssl != NULL)
		SSL_CTX_free(o->ssl);
	free(o->slots);
	free(o);
}
