/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpc.c - POST over http:// and https:// on the event loop (see httpc.h).
 *
 * One evhttp connection per request.  libevent calls the request callback
 * from inside the connection's own processing, where the connection must
 * not be freed; so the callback only records the result and arms a
 * zero-delay timer, which frees the connection and then calls done.  A
 * name (not an address) in a URL is resolved with evdns, made on first use,
 * so nothing blocks the loop.
 *
 * SECURITY: see httpc.h.  Certificates are verified (SSL_VERIFY_PEER with
 * the host name or address checked by OpenSSL), TLS 1.2 at least.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "httpc.h"
#include "log.h"
#include "util.h"

struct hreq {
	struct httpc *h;
	struct hreq *prev, *next;
	struct evhttp_connection *evcon;
	struct event *ev_done;		/* finishes outside libevent's callback */
	fm_done_fn *done;
	void *token;
	int finished;			/* the result is in */
	int status;
	char detail[HTTPC_DETAIL_MAX + 64];
};

struct httpc {
	struct event_base *base;
	struct evdns_base *dns;		/* made for the first host name */
	SSL_CTX *ssl;			/* made for the first https URL */
	struct hreq *reqs;		/* in flight */
	size_t n;
};

/* The parts of a URL a request needs. */
struct hurl {
	int tls;
	char host[256];			/* without brackets */
	int port;
	int numeric;			/* host is an address */
	char hosthdr[300];		/* Host: header value */
	struct buf path;		/* path and query */
};

static int hurl_parse(struct hurl *, const char *, char *, size_t);
static struct bufferevent *httpc_bev(struct httpc *, const struct hurl *,
    char *, size_t);
static int httpc_headers(struct evhttp_request *, const struct hurl *,
    const char *const *, size_t, char *, size_t);
static void hreq_finish(struct hreq *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void hreq_cb(struct evhttp_request *, void *);
static void hreq_error_cb(enum evhttp_request_error, void *);
static void hreq_done_cb(evutil_socket_t, short, void *);
static void hreq_free(struct hreq *);

struct httpc *
httpc_new(struct event_base *base)
{
	struct httpc *h = xcalloc(1, sizeof(*h));

	h->base = base;
	return h;
}

size_t
httpc_pending(const struct httpc *h)
{
	return h != NULL ? h->n : 0;
}

/* hurl_parse - scheme, host, port and path of an http(s) URL */
static int
hurl_parse(struct hurl *u, const char *url, char *err, size_t errlen)
{
	struct evhttp_uri *uri;
	const char *scheme, *host, *path, *query;
	size_t hl;
	unsigned char a[16];
	int rc = -1;

	memset(u, 0, sizeof(*u));
	buf_init(&u->path);
	if ((uri = evhttp_uri_parse_with_flags(url, 0)) == NULL) {
		snprintf(err, errlen, "not a URL");
		return -1;
	}
	scheme = evhttp_uri_get_scheme(uri);
	host = evhttp_uri_get_host(uri);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "not an http:// or https:// URL");
		goto out;
	}
	u->tls = strcasecmp(scheme, "https") == 0;
	if (host == NULL || (hl = strlen(host)) == 0 || hl >= sizeof(u->host)) {
		snprintf(err, errlen, "URL without a host");
		goto out;
	}
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']')
		memcpy(u->host, host + 1, hl - 2);
	else
		memcpy(u->host, host, hl);
	u->numeric = inet_pton(AF_INET, u->host, a) == 1 ||
	    inet_pton(AF_INET6, u->host, a) == 1;
	u->port = evhttp_uri_get_port(uri);
	if (u->port <= 0)
		u->port = u->tls ? 443 : 80;
	if (u->port == (u->tls ? 443 : 80))
		snprintf(u->hosthdr, sizeof(u->hosthdr), "%s", host);
	else
		snprintf(u->hosthdr, sizeof(u->hosthdr), "%s:%d", host, u->port);
	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	buf_adds(&u->path, path != NULL && *path != '\0' ? path : "/");
	if (query != NULL) {
		buf_addc(&u->path, '?');
		buf_adds(&u->path, query);
	}
	rc = 0;
out:
	evhttp_uri_free(uri);
	return rc;
}

/* httpc_ssl_ctx - the client TLS context: system CAs, peer verified */
static SSL_CTX *
httpc_ssl_ctx(struct httpc *h, char *err, size_t errlen)
{
	if (h->ssl != NULL)
		return h->ssl;
	if ((h->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "TLS: cannot make a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(h->ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(h->ssl, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(h->ssl) != 1)
		log_warnx("service=notify msg=\"TLS: cannot read the system's "
		    "CA certificates; https notifications will fail\"");
	return h->ssl;
}

/* httpc_bev - the connection's bufferevent: plain, or TLS with the host's
 * name (or address) checked against the certificate */
static struct bufferevent *
httpc_bev(struct httpc *h, const struct hurl *u, char *err, size_t errlen)
{
	struct bufferevent *bev;
	SSL_CTX *ctx;
	SSL *ssl;
	int ok;

	if (!u->tls)
		return bufferevent_socket_new(h->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((ctx = httpc_ssl_ctx(h, err, errlen)) == NULL)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL) {
		snprintf(err, errlen, "TLS: cannot make a session");
		return NULL;
	}
	if (u->numeric)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    u->host) == 1;
	else
		ok = SSL_set1_host(ssl, u->host) == 1 &&
		    SSL_set_tlsext_host_name(ssl, u->host) == 1;
	if (!ok) {
		snprintf(err, errlen, "TLS: cannot set the name to verify");
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(h->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		snprintf(err, errlen, "TLS: cannot make a connection");
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* header_ok - "Name: value" with a token name and no CR, LF or NUL */
static int
header_ok(const char *s, size_t *namelen)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	const char *p;

	for (p = s; *p != '\0' && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(tchar, *p) != NULL))
			return 0;
	if (p == s || *p != ':' || p - s > 100)
		return 0;
	*namelen = (size_t)(p - s);
	for (; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == 0x7f)
			return 0;
	return 1;
}

/* httpc_headers - ours, then the caller's lines (checked) */
static int
httpc_headers(struct evhttp_request *req, const struct hurl *u,
    const char *const *headers, size_t nheaders, char *err, size_t errlen)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char name[128];
	const char *v;
	size_t i, nl;

	evhttp_add_header(out, "Host", u->hosthdr);
	evhttp_add_header(out, "User-Agent", "fumidai/" PACKAGE_VERSION);
	evhttp_add_header(out, "Connection", "close");
	for (i = 0; i < nheaders; i++) {
		if (!header_ok(headers[i], &nl)) {
			snprintf(err, errlen, "header %zu is not \"Name: value\" "
			    "on one line", i + 1);
			return -1;
		}
		memcpy(name, headers[i], nl);
		name[nl] = '\0';
		if (strcasecmp(name, "Host") == 0 ||
		    strcasecmp(name, "Content-Length") == 0 ||
		    strcasecmp(name, "Connection") == 0 ||
		    strcasecmp(name, "Transfer-Encoding") == 0) {
			snprintf(err, errlen, "header %s is fumidai's own", name);
			return -1;
		}
		for (v = headers[i] + nl + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(name, "User-Agent") == 0)
			evhttp_remove_header(out, "User-Agent");
		evhttp_add_header(out, name, v);
	}
	return 0;
}

void
httpc_post(struct httpc *h, const char *url, const char *const *headers,
    size_t nheaders, const char *body, size_t len, int timeout_s,
    fm_done_fn *done, void *token)
{
	struct hreq *r = xcalloc(1, sizeof(*r));
	struct evhttp_request *req;
	struct bufferevent *bev;
	struct evdns_base *dns = NULL;
	struct hurl u;
	char err[256];

	r->h = h;
	r->done = done;
	r->token = token;
	if ((r->ev_done = evtimer_new(h->base, hreq_done_cb, r)) == NULL)
		fatalx("evtimer_new");
	if ((r->next = h->reqs) != NULL)
		r->next->prev = r;
	h->reqs = r;
	h->n++;
	if (hurl_parse(&u, url, err, sizeof(err)) == -1) {
		hreq_finish(r, FM_NOTIFY_DROP, "%s", err);
		buf_free(&u.path);
		return;
	}
	if (!u.numeric && h->dns == NULL)
		h->dns = evdns_base_new(h->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!u.numeric)
		dns = h->dns;
	if ((bev = httpc_bev(h, &u, err, sizeof(err))) == NULL) {
		hreq_finish(r, FM_NOTIFY_RETRY, "%s", err);
		buf_free(&u.path);
		return;
	}
	r->evcon = evhttp_connection_base_bufferevent_new(h->base, dns, bev,
	    u.host, (unsigned short)u.port);
	if (r->evcon == NULL) {
		bufferevent_free(bev);
		hreq_finish(r, FM_NOTIFY_RETRY, "cannot make a connection");
		buf_free(&u.path);
		return;
	}
	evhttp_connection_set_timeout(r->evcon, timeout_s > 0 ? timeout_s :
	    HTTPC_TIMEOUT_S);
	evhttp_connection_set_retries(r->evcon, 0);
	evhttp_connection_set_max_headers_size(r->evcon, 65536);
	evhttp_connection_set_max_body_size(r->evcon, HTTPC_BODY_MAX);
	req = evhttp_request_new(hreq_cb, r);
	evhttp_request_set_error_cb(req, hreq_error_cb);
	if (httpc_headers(req, &u, headers, nheaders, err, sizeof(err)) == -1) {
		evhttp_request_free(req);
		hreq_finish(r, FM_NOTIFY_DROP, "%s", err);
		buf_free(&u.path);
		return;
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	if (evhttp_make_request(r->evcon, req, EVHTTP_REQ_POST,
	    u.path.data) == -1)
		hreq_finish(r, FM_NOTIFY_RETRY, "cannot send the request");
	buf_free(&u.path);
}

/* hreq_finish - keep the first result; done is called from the timer */
static void
hreq_finish(struct hreq *r, int status, const char *fmt, ...)
{
	static const struct timeval now = { 0, 0 };
	va_list ap;

	if (r->finished)
		return;
	r->finished = 1;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	evtimer_add(r->ev_done, &now);
}

/* hreq_tls_error - the TLS failure of the request's connection, if any */
static void
hreq_tls_error(struct hreq *r, char *out, size_t outlen)
{
	struct bufferevent *bev;
	unsigned long e;

	*out = '\0';
	if (r->evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(r->evcon)) == NULL)
		return;
	if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		memcpy(out, ": TLS: ", 8);
		ERR_error_string_n(e, out + 7, outlen - 7);
	}
}

static void
hreq_error_cb(enum evhttp_request_error what, void *arg)
{
	static const char *const why[] = { "timeout", "connection closed or "
	    "refused", "invalid answer", "buffer error", "cancelled",
	    "answer too long" };
	struct hreq *r = arg;
	char tls[200];

	hreq_tls_error(r, tls, sizeof(tls));
	hreq_finish(r, FM_NOTIFY_RETRY, "HTTP request failed: %s%s",
	    (size_t)what < nitems(why) ? why[what] : "error", tls);
}

/* hreq_cb - the answer (req NULL or code 0: no answer) */
static void
hreq_cb(struct evhttp_request *req, void *arg)
{
	struct hreq *r = arg;
	const char *line;
	struct buf esc;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	int st;

	if (code == 0) {	/* error_cb said why, except for connect */
		hreq_finish(r, FM_NOTIFY_RETRY, "HTTP request failed: cannot "
		    "connect, or no answer");
		return;
	}
	if (code >= 200 && code < 300)
		st = FM_NOTIFY_OK;
	else if (code >= 400 && code < 500 && code != 408 && code != 429)
		st = FM_NOTIFY_DROP;
	else
		st = FM_NOTIFY_RETRY;
	buf_init(&esc);
	if ((line = evhttp_request_get_response_code_line(req)) != NULL)
		log_escape(&esc, line, strnlen(line, HTTPC_DETAIL_MAX / 4));
	hreq_finish(r, st, "HTTP %d %s", code, esc.len ? esc.data : "");
	buf_free(&esc);
}

static void
hreq_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hreq *r = arg;
	fm_done_fn *done = r->done;
	void *token = r->token;
	char detail[sizeof(r->detail)];
	int status = r->status;

	(void)fd;
	(void)what;
	memcpy(detail, r->detail, sizeof(detail));
	hreq_free(r);
	done(token, status, detail);
}

/* hreq_free - off the list, connection closed (no callback) */
static void
hreq_free(struct hreq *r)
{
	struct httpc *h = r->h;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	h->n--;
	if (r->evcon != NULL)
		evhttp_connection_free(r->evcon);
	event_free(r->ev_done);
	free(r);
}

void
httpc_free(struct httpc *h)
{
	if (h == NULL)
		return;
	while (h->reqs != NULL)
		hreq_free(h->reqs);
	if (h->dns != NULL)
		evdns_base_free(h->dns, 0);
	SSL_CTX_free(h->ssl);
	free(h);
}
