/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web.c - the dashboard's HTTP server (see web.h): one evhttp on the exact
 * address of web.listen; routes /healthz, /o/<token> (owner links), POST
 * /login and /logout, /api/owner/login (web_owner.c), /api/ (web_api.c)
 * and the static front-end files.
 *
 * Every answer gets the security headers first, so no path can forget
 * them.  Authentication is decided here once per request (struct web_who)
 * and handed to the API, which only checks the role a route needs.
 *
 * SECURITY: see web.h.  Paths, cookies, tokens and form fields are
 * bounded and never logged unescaped; secrets are compared in constant
 * time; failed password logins are limited to WEB_LOGIN_FAILS a minute
 * (then 429, for everyone: the password is the admins' only one);
 * anonymous loopback access also needs a loopback Host header, against
 * DNS rebinding, and no proxy's forwarding headers.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "geo.h"
#include "listen.h"
#include "log.h"
#include "store.h"
#include "web.h"

#define WEB_CSP	"default-src 'self'; img-src 'self' data:; " \
	"style-src 'self'; script-src 'self'; frame-ancestors 'none'"
#define WEB_PATH_MAX	256	/* bytes of a static path */
#define WEB_FILE_MAX	(32 << 20)

static const struct {
	const char *ext, *type;
} ctypes[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".map", "application/json" },
};

static void headers(struct evhttp_request *);
static int ct_equal(const char *, size_t, const char *, size_t);
static int cookie(struct evhttp_request *, const char *, struct buf *);
static int local_host(struct evhttp_request *);
static void who_init(struct web *, struct evhttp_request *, struct web_who *);
static void send_page(struct evhttp_request *, int, const char *);
static void redirect(struct evhttp_request *, const char *, const char *);
static void owner_link(struct web *, struct evhttp_request *, const char *);
static void login(struct web *, struct evhttp_request *);
static void serve_static(struct web *, struct evhttp_request *, const char *,
    const struct web_who *);
static void request_cb(struct evhttp_request *, void *);

/* headers - what every answer carries */
static void
headers(struct evhttp_request *req)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

	evhttp_add_header(oh, "Content-Security-Policy", WEB_CSP);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
}

/* ct_equal - constant time in the length of b (the secret) */
static int
ct_equal(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < bn; i++)
		diff |= (unsigned char)(b[i] ^ (i < an ? a[i] : ~b[i]));
	return diff == 0 && an == bn;
}

/* cookie - the value of cookie name into v (bounded); 0 / -1 */
static int
cookie(struct evhttp_request *req, const char *name, struct buf *v)
{
	const char *h, *p, *e;
	size_t n = strlen(name);

	buf_reset(v);
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
	for (p = h; p != NULL && *p != '\0'; p = e) {
		while (*p == ' ' || *p == ';')
			p++;
		if ((e = strchr(p, ';')) == NULL)
			e = p + strlen(p);
		if (strncmp(p, name, n) == 0 && p[n] == '=' &&
		    (size_t)(e - p) - n - 1 <= 4096) {
			buf_add(v, p + n + 1, (size_t)(e - p) - n - 1);
			return 0;
		}
	}
	return -1;
}

/* local_host - the Host header names loopback: a page of another site
 * that a DNS trick points at 127.0.0.1 must not get the anonymous admin
 * access of a browser on this machine.  Not base_url's host, and nothing
 * that came through a proxy (Forwarded, X-Forwarded-For, X-Real-IP): a
 * reverse proxy on this machine (TLS for base_url) connects from loopback
 * on behalf of anyone. */
static int
local_host(struct evhttp_request *req)
{
	const struct evkeyvalq *ih = evhttp_request_get_input_headers(req);
	const char *h = evhttp_find_header(ih, "Host"), *e, *br;
	size_t n;

	if (h == NULL || evhttp_find_header(ih, "Forwarded") != NULL ||
	    evhttp_find_header(ih, "X-Forwarded-For") != NULL ||
	    evhttp_find_header(ih, "X-Forwarded-Host") != NULL ||
	    evhttp_find_header(ih, "X-Real-IP") != NULL)
		return 0;
	n = strlen(h);
	br = strchr(h, ']');
	if ((e = strrchr(h, ':')) != NULL && (br == NULL || br < e) &&
	    strspn(e + 1, "0123456789") == strlen(e + 1))
		n = (size_t)(e - h);
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
	    (n >= 9 && strncmp(h, "127.", 4) == 0 &&
	    strspn(h, "0123456789.") >= n);
}

/* who_init - the roles of the request's credentials */
static void
who_init(struct web *w, struct evhttp_request *req, struct web_who *who)
{
	const char *tok = w->cf->web.admin_token, *h;
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	const struct sockaddr *sa = con ? evhttp_connection_get_addr(con) : NULL;
	struct buf v;
	int64_t exp, now = now_us() / 1000000;

	memset(who, 0, sizeof(*who));
	buf_init(&who->acct);
	buf_init(&v);
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (tok != NULL && h != NULL && strncasecmp(h, "Bearer ", 7) == 0 &&
	    ct_equal(h + 7, strlen(h + 7), tok, strlen(tok)))
		who->admin = 1;
	if (!who->admin && cookie(req, "fm_admin", &v) == 0 &&
	    weblink_admin_check(w->akey, v.data, v.len, now) == WEBLINK_OK)
		who->admin = 1;
	if (!who->admin && w->cf->web.anonymous_loopback && sa != NULL &&
	    listen_is_loopback(sa) && local_host(req))
		who->admin = 1;
	if (cookie(req, "fm_owner", &v) == 0 &&
	    weblink_owner_check(w->key, v.data, v.len, now, &who->acct,
	    &exp) == WEBLINK_OK)
		who->owner = 1;
	buf_free(&v);
}

static void
send_page(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (out != NULL)
		evbuffer_add_printf(out, "<!DOCTYPE html>\n<html><head><meta "
		    "charset=\"utf-8\"><title>fumidai</title></head><body><p>%s"
		    "</p></body></html>\n", text);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", out);
	if (out != NULL)
		evbuffer_free(out);
}

/* redirect - 303 to a local path, with a Set-Cookie or none */
static void
redirect(struct evhttp_request *req, const char *to, const char *setcookie)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

	evhttp_add_header(oh, "Location", to);
	evhttp_add_header(oh, "Cache-Control", "no-store");
	if (setcookie != NULL)
		evhttp_add_header(oh, "Set-Cookie", setcookie);
	evhttp_send_reply(req, 303, "See Other", NULL);
}

void
web_json(struct evhttp_request *req, int code, const struct buf *body)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(oh, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	if (code == 401)
		evhttp_add_header(oh, "WWW-Authenticate",
		    "Bearer realm=\"fumidai\"");
	if (out != NULL)
		evbuffer_add(out, body->data ? body->data : "", body->len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", out);
	if (out != NULL)
		evbuffer_free(out);
}

void
web_error(struct evhttp_request *req, int code, const char *msg)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "{\"error\":");
	json_str(&b, msg, strlen(msg));
	buf_adds(&b, "}\n");
	web_json(req, code, &b);
	buf_free(&b);
}

/* owner_link - GET /o/<token>: a valid one becomes the owner's cookie */
static void
owner_link(struct web *w, struct evhttp_request *req, const char *tok)
{
	struct buf acct, c;
	int64_t exp, now = now_us() / 1000000;
	int rc;

	buf_init(&acct);
	rc = weblink_owner_check(w->key, tok, strlen(tok), now, &acct, &exp);
	buf_free(&acct);
	if (rc == WEBLINK_EXPIRED) {
		log_info("service=web msg=\"expired owner link refused\"");
		send_page(req, 403, "This link has expired. Ask your mail "
		    "administrator for a new one.");
		return;
	}
	if (rc != WEBLINK_OK) {
		log_info("service=web msg=\"invalid owner link refused\"");
		send_page(req, 403, "This link is not valid.");
		return;
	}
	buf_init(&c);
	web_owner_cookie(w, &c, tok, exp - now);
	redirect(req, "/owner.html", c.data);
	buf_free(&c);
}

void
web_owner_cookie(const struct web *w, struct buf *c, const char *tok,
    int64_t maxage)
{
	/* Lax, not Strict: the link is opened from the owner's (web) mail, and
	 * a browser withholds Strict cookies all along a navigation another
	 * site started, so the 303 to /owner.html would arrive without it.
	 * Lax sends it only with top-level GETs, which read nothing a page of
	 * another site could see; the one POST needs X-Fumidai-CSRF. */
	buf_printf(c, "fm_owner=%s; HttpOnly; SameSite=Lax; Path=/; "
	    "Max-Age=%lld%s", tok, (long long)maxage,
	    w->secure ? "; Secure" : "");
}

/* body - the request body (at most WEB_BODY_MAX bytes) into b */
static void
body(struct evhttp_request *req, struct buf *b)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = in ? evbuffer_get_length(in) : 0;

	buf_reset(b);
	if (n > WEB_BODY_MAX)
		n = WEB_BODY_MAX;
	buf_reserve(b, n + 1);
	if (n > 0)
		evbuffer_copyout(in, b->data, n);
	b->len = n;
	b->data[n] = '\0';
}

/* login - POST /login with the form field password */
static void
login(struct web *w, struct evhttp_request *req)
{
	const char *pw = w->cf->web.admin_password, *got;
	struct evkeyvalq q;
	struct buf b, c;
	int64_t now = mono_us();

	if (now - w->fail_since > 60 * 1000000LL) {
		w->fail_since = now;
		w->fails = 0;
	}
	if (w->fails >= WEB_LOGIN_FAILS) {
		log_warnx("service=web msg=\"too many failed admin logins; "
		    "refusing for a minute\"");
		send_page(req, 429, "Too many failed logins. Try again in a "
		    "minute.");
		return;
	}
	buf_init(&b);
	body(req, &b);
	TAILQ_INIT(&q);
	got = NULL;
	if (evhttp_parse_query_str(b.data, &q) == 0)
		got = evhttp_find_header(&q, "password");
	if (pw == NULL || got == NULL ||
	    !ct_equal(got, strlen(got), pw, strlen(pw))) {
		evhttp_clear_headers(&q);
		buf_free(&b);
		log_info("service=web msg=\"admin login refused\"");
		w->fails++;
		redirect(req, "/login.html?failed=1", NULL);
		return;
	}
	evhttp_clear_headers(&q);
	buf_init(&c);
	buf_adds(&c, "fm_admin=");
	weblink_admin(&c, w->akey, now_us() / 1000000 + WEB_ADMIN_COOKIE_TTL);
	buf_printf(&c, "; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s",
	    WEB_ADMIN_COOKIE_TTL, w->secure ? "; Secure" : "");
	log_info("service=web msg=\"admin logged in\"");
	redirect(req, "/", c.data);
	buf_free(&c);
	buf_free(&b);
}

/* path_ok - a static path: [A-Za-z0-9._/-], no "..", no "//" */
static int
path_ok(const char *p)
{
	size_t n = strlen(p), i;

	if (n == 0 || n > WEB_PATH_MAX || p[0] != '/' || strstr(p, "..") ||
	    strstr(p, "//"))
		return 0;
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._/-", p[i]) == NULL)
			return 0;
	return 1;
}

static const char *
ctype(const char *path)
{
	size_t i, n = strlen(path), e;

	for (i = 0; i < nitems(ctypes); i++) {
		e = strlen(ctypes[i].ext);
		if (n > e && strcmp(path + n - e, ctypes[i].ext) == 0)
			return ctypes[i].type;
	}
	return "application/octet-stream";
}

/* page_allowed - HTML pages need their role; other files are public */
static int
page_allowed(const char *path, const struct web_who *who)
{
	size_t n = strlen(path);

	if (n < 5 || strcmp(path + n - 5, ".html") != 0 ||
	    strcmp(path, "/login.html") == 0)
		return 1;
	if (strcmp(path, "/owner.html") == 0)
		return who->owner || who->admin;
	return who->admin;
}

/* open_asset - the file of path under the assets directory, or -1 */
static int
open_asset(struct web *w, const char *path, struct stat *st)
{
	char full[PATH_MAX], real[PATH_MAX];
	size_t an = strlen(w->assets);
	int fd;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", w->assets, path) >=
	    sizeof(full) || realpath(full, real) == NULL ||
	    strncmp(real, w->assets, an) != 0 || real[an] != '/')
		return -1;
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) ||
	    st->st_size > WEB_FILE_MAX) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
serve_static(struct web *w, struct evhttp_request *req, const char *path,
    const struct web_who *who)
{
	struct evbuffer *out;
	struct stat st;
	int fd;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if (!path_ok(path)) {
		send_page(req, 404, "Not found.");
		return;
	}
	if (!page_allowed(path, who)) {
		redirect(req, "/login.html", NULL);
		return;
	}
	if (w->assets == NULL || (fd = open_asset(w, path, &st)) == -1) {
		send_page(req, 404, "Not found.");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		close(fd);
		send_page(req, 500, "No memory.");
		return;
	}
	if (st.st_size > 0 && evbuffer_add_file(out, fd, 0, st.st_size) == -1) {
		/* libevent 2.1 leaves fd open when it fails (the segment is
		 * never made, or never freed) */
		close(fd);
		evbuffer_free(out);
		send_page(req, 500, "Cannot read the file.");
		return;
	} else if (st.st_size == 0)
		close(fd);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype(path));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", strncmp(path, "/assets/", 8) == 0 ?
	    "max-age=3600" : "no-cache");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* api - /api/...: POSTs need the CSRF header; roles checked by route */
static void
api(struct web *w, struct evhttp_request *req, const char *path,
    const struct web_who *who)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *csrf;

	if (m == EVHTTP_REQ_POST) {
		csrf = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "X-Fumidai-CSRF");
		if (!who->admin && !who->owner) {
			web_error(req, 401, "authentication required");
			return;
		}
		if (csrf == NULL || strcmp(csrf, "1") != 0) {
			web_error(req, 403, "the X-Fumidai-CSRF header is missing");
			return;
		}
		if (strcmp(path, "/api/me/feedback") == 0) {
			web_feedback(w, req, who);
			return;
		}
		web_error(req, 405, "method not allowed");
		return;
	}
	if (m != EVHTTP_REQ_GET) {
		web_error(req, 405, "method not allowed");
		return;
	}
	web_api(w, req, path, who);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct web_who who;

	headers(req);
	if (path == NULL || *path != '/') {
		send_page(req, 400, "Bad request.");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		struct evbuffer *out = evbuffer_new();

		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain; charset=utf-8");
		if (out != NULL)
			evbuffer_add(out, "ok\n", 3);
		evhttp_send_reply(req, 200, "OK", out);
		if (out != NULL)
			evbuffer_free(out);
		return;
	}
	if (strncmp(path, "/o/", 3) == 0 && m == EVHTTP_REQ_GET) {
		owner_link(w, req, path + 3);
		return;
	}
	if (strcmp(path, "/login") == 0 && m == EVHTTP_REQ_POST) {
		login(w, req);
		return;
	}
	if (strcmp(path, "/logout") == 0 && m == EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Set-Cookie", "fm_admin=; Path=/; Max-Age=0");
		redirect(req, "/login.html", "fm_owner=; Path=/; Max-Age=0");
		return;
	}
	if (strcmp(path, "/api/owner/login") == 0) {
		web_owner_login(w, req);
		return;
	}
	who_init(w, req, &who);
	if (strncmp(path, "/api/", 5) == 0)
		api(w, req, path, &who);
	else if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
		serve_static(w, req, path, &who);
	else
		send_page(req, 405, "Method not allowed.");
	buf_free(&who.acct);
}

struct geo *
web_geo(struct web *w)
{
	const char *env = getenv("FUMIDAI_GEO_ALLOW_LOOPBACK");
	char err[512];

	if (w->geo_tried)
		return w->geo;
	w->geo_tried = 1;
	if ((w->cf->geoip_city == NULL || *w->cf->geoip_city == '\0') &&
	    (w->cf->geoip_asn == NULL || *w->cf->geoip_asn == '\0'))
		return NULL;
	if ((w->geo = geo_open(w->cf->geoip_city, w->cf->geoip_asn, NULL, err,
	    sizeof(err))) == NULL)
		log_warnx("service=web msg=\"GeoIP: %s\"", err);
	else if (env != NULL && strcmp(env, "1") == 0)
		geo_set_allow_loopback(w->geo, 1);	/* test suites, as model.c */
	return w->geo;
}

struct redisContext *
web_redis(struct web *w)
{
	char err[512];

	if (w->rc != NULL && w->rc->err == 0)
		return w->rc;
	web_redis_lost(w);
	if ((w->rc = store_connect_sync(w->cf, err, sizeof(err))) == NULL)
		log_warnx("service=web msg=\"Redis: %s\"", err);
	return w->rc;
}

void
web_redis_lost(struct web *w)
{
	if (w->rc != NULL)
		redisFree(w->rc);
	w->rc = NULL;
}

/* admin_key - the key of admin cookies: HMAC(key, "admin-cookie\0"
 * admin_password), so that a new password ends every password login's
 * cookie (logging out only drops the browser's copy) */
static int
admin_key(struct web *w)
{
	const char *pw = w->cf->web.admin_password ? w->cf->web.admin_password :
	    "";
	struct buf m;
	unsigned int len = sizeof(w->akey);
	int rc;

	buf_init(&m);
	buf_add(&m, "admin-cookie", 13);	/* with its NUL */
	buf_adds(&m, pw);
	rc = HMAC(EVP_sha256(), w->key, sizeof(w->key), (unsigned char *)m.data,
	    m.len, w->akey, &len) == NULL ? -1 : 0;
	OPENSSL_cleanse(m.data, m.len);
	buf_free(&m);
	return rc;
}

/* accept_resume - the pause is over */
static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(w->lst);
}

/* accept_error - accept() failed (out of descriptors: a flood of
 * connections): pause accepting a moment instead of retrying at once, which
 * would spin, and say so at most once a minute */
static struct web *accepting;	/* the one server (the listener's argument
				 * is evhttp's own) */

static void
accept_error(struct evconnlistener *lst, void *arg)
{
	struct web *w = accepting;
	struct timeval tv = { WEB_ACCEPT_PAUSE_MS / 1000,
	    (WEB_ACCEPT_PAUSE_MS % 1000) * 1000 };
	int e = EVUTIL_SOCKET_ERROR();
	int64_t now = mono_us();

	(void)arg;
	if (w == NULL)
		return;
	if (w->accept_warned == 0 || now - w->accept_warned >= 60000000LL) {
		w->accept_warned = now;
		log_warnx("service=web error=\"%s\" msg=\"accept failed; "
		    "pausing new connections\"",
		    evutil_socket_error_to_string(e));
	}
	evconnlistener_disable(lst);
	evtimer_add(w->resume, &tv);
}

struct web *
web_new(struct event_base *base, const struct fumidai *cf, char *err,
    size_t errlen)
{
	struct web *w = xcalloc(1, sizeof(*w));
	char real[PATH_MAX];
	int lo;

	w->cf = cf;
	w->secure = cf->web.base_url != NULL &&
	    strncmp(cf->web.base_url, "https:", 6) == 0;
	if (weblink_key(cf, w->key, err, errlen) == -1 || (admin_key(w) == -1 &&
	    snprintf(err, errlen, "web: HMAC failed") > 0)) {
		OPENSSL_cleanse(w->key, sizeof(w->key));
		free(w);
		return NULL;
	}
	if (cf->web.assets != NULL && realpath(cf->web.assets, real) != NULL)
		w->assets = xstrdup(real);
	else
		log_warnx("service=web assets=%s msg=\"no front-end files "
		    "there: only the API is served\"", cf->web.assets ?
		    cf->web.assets : "");
	if ((w->http = evhttp_new(base)) == NULL ||
	    (w->lst = listen_tcp(base, cf->web.listen, "web.listen", NULL, NULL,
	    &lo, err, errlen)) == NULL) {
		if (w->http == NULL)
			snprintf(err, errlen, "web: evhttp_new failed");
		web_free(w);
		return NULL;
	}
	if (evhttp_bind_listener(w->http, w->lst) == NULL) {
		evconnlistener_free(w->lst);
		w->lst = NULL;
		snprintf(err, errlen, "web: evhttp_bind_listener failed");
		web_free(w);
		return NULL;
	}
	if (!lo)
		log_warnx("service=web listen=%s msg=\"not a loopback address\"",
		    cf->web.listen);
	evhttp_set_max_headers_size(w->http, WEB_HEADERS_MAX);
	evhttp_set_max_body_size(w->http, WEB_BODY_MAX);
	evhttp_set_timeout(w->http, WEB_TIMEOUT_S);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(w->http, request_cb, w);
	w->owner = web_owner_new(base, w);
	if ((w->resume = evtimer_new(base, accept_resume, w)) != NULL) {
		accepting = w;
		evconnlistener_set_error_cb(w->lst, accept_error);
	}
	log_info("service=web listen=%s assets=%s msg=\"dashboard started\"",
	    cf->web.listen, w->assets ? w->assets : "-");
	return w;
}

void
web_free(struct web *w)
{
	if (w == NULL)
		return;
	if (accepting == w)
		accepting = NULL;
	web_owner_free(w->owner);	/* before evhttp frees its requests */
	if (w->resume != NULL)
		event_free(w->resume);
	if (w->http != NULL)
		evhttp_free(w->http);
	else if (w->lst != NULL)
		evconnlistener_free(w->lst);
	web_redis_lost(w);
	geo_free(w->geo);
	OPENSSL_cleanse(w->key, sizeof(w->key));
	OPENSSL_cleanse(w->akey, sizeof(w->akey));
	free(w->assets);
	free(w);
}
