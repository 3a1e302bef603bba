/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web.h - the dashboard server of `fumidai web` (web.c: HTTP, static
 * files, authentication; web_api.c: the JSON API read from Redis;
 * web_feedback.c: the owners' "this was (not) me").  The contract with the
 * front-end is doc/dashboard.md; the settings are the `web` group.
 *
 * It runs as a process of its own (started by `fumidai run` when
 * web.enabled, see webchild.h): the HTTP parser that anyone who reaches
 * web.listen talks to and the reader of every account's data stay apart
 * from the log follower, and its synchronous Redis connection may block
 * only it.
 *
 * SECURITY: requests are untrusted.  Admins authenticate with the bearer
 * token or the password form (an HMAC-signed cookie, under a key derived
 * from the key and admin_password: a new password ends the cookies of the
 * old one); owners with a signed,
 * expiring link (weblink.h) whose account is the only one they can read.
 * POSTs need the header X-Fumidai-CSRF: 1 (a cross-site form cannot set
 * it).  Static paths are a fixed character set without "..", resolved
 * under the assets directory.  Account names and log text leave only
 * JSON-escaped; every answer carries CSP, nosniff and frame denial.
 */
#ifndef FM_WEB_H
#define FM_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"
#include "util.h"
#include "weblink.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;
struct evconnlistener;
struct redisContext;
struct geo;
struct web_owner;

#define WEB_ADMIN_COOKIE_TTL	(12 * 3600)	/* s a password login lasts */
#define WEB_BODY_MAX		8192		/* bytes of a request body */
#define WEB_HEADERS_MAX		16384
#define WEB_TIMEOUT_S		30
#define WEB_LOGIN_FAILS		10	/* failed logins a minute, then 429 */
#define WEB_ACCEPT_PAUSE_MS	1000	/* no accept() for this after EMFILE */

struct web {
	const struct fumidai *cf;	/* borrowed */
	struct evhttp *http;
	struct evconnlistener *lst;	/* owned by http once bound */
	struct redisContext *rc;	/* NULL until needed, and after errors */
	unsigned char key[WEBLINK_KEY_LEN];
	unsigned char akey[WEBLINK_KEY_LEN];	/* admin cookies: key and
						 * admin_password's */
	char *assets;			/* realpath of web.assets, or NULL */
	int secure;			/* base_url is https: Secure cookies */
	struct geo *geo;		/* GeoIP, opened on first use, or NULL */
	int geo_tried;
	int64_t fail_since;		/* start of the failed logins' minute */
	int fails;			/* failed password logins in it */
	struct web_owner *owner;	/* owners' IMAP logins (web_owner.c),
					 * NULL when web.owner_login is unset */
	struct event *resume;		/* accepting again after EMFILE */
	int64_t accept_warned;		/* mono_us() of that warning */
};

/* Who asks: an admin, an owner (acct: the account of the token), both or
 * none. */
struct web_who {
	int admin;
	int owner;
	struct buf acct;
};

/* web_new - bind web.listen on base and serve; NULL + err */
struct web *web_new(struct event_base *base, const struct fumidai *cf,
    char *err, size_t errlen);
void web_free(struct web *w);

/* web_redis - the Redis connection, (re)connected now; NULL when Redis
 * cannot be reached (logged) */
struct redisContext *web_redis(struct web *w);
/* web_redis_lost - after an I/O error: drop the connection */
void web_redis_lost(struct web *w);
/* web_json - send body (JSON) with code and the API's headers */
void web_json(struct evhttp_request *req, int code, const struct buf *body);
/* web_error - {"error": msg} with code */
void web_error(struct evhttp_request *req, int code, const char *msg);

/* web_api - answer a request under /api/ (web_api.c) */
void web_api(struct web *w, struct evhttp_request *req, const char *path,
    const struct web_who *who);
/* web_feedback - POST /api/me/feedback (web_feedback.c) */
void web_feedback(struct web *w, struct evhttp_request *req,
    const struct web_who *who);
/* web_learn_text - the Lua that adds a place to an account's learned
 * places in its detector state (exposed for documentation and tests) */
const char *web_learn_text(void);
/* web_geo - the GeoIP databases of the configuration (opened on first
 * use; NULL when none or unusable, logged once) */
struct geo *web_geo(struct web *w);

/* web_owner_cookie - the Set-Cookie value of an owner token tok that
 * lasts maxage s, into c (web.c: links and logins set the same cookie) */
void web_owner_cookie(const struct web *w, struct buf *c, const char *tok,
    int64_t maxage);

/*
 * Owners' login against the mail server's own IMAP authentication
 * (web_owner.c; web.owner_login).  POST /api/owner/login with
 * {"account","password"} (and X-Fumidai-CSRF) becomes the owner cookie
 * when the IMAP server accepts them (AUTHENTICATE PLAIN, on the event
 * loop).  See web_owner.c for the limits.
 */
#define WEB_OWNER_PLAIN		0	/* imap://, loopback only */
#define WEB_OWNER_STARTTLS	1	/* imap:// and owner_login_tls */
#define WEB_OWNER_IMAPS		2	/* imaps:// */
#define WEB_OWNER_TIMEOUT_S	10	/* a whole login attempt */
#define WEB_OWNER_FAILS		5	/* failures per window, then 429 */
#define WEB_OWNER_WINDOW_S	600	/* per client address and account */
#define WEB_OWNER_SLOTS		4096	/* addresses and accounts remembered */
#define WEB_OWNER_PENDING	64	/* attempts in flight at once */
#define WEB_OWNER_ACCOUNT_MAX	256	/* bytes of an account */
#define WEB_OWNER_PASSWORD_MAX	1024	/* bytes of a password */

struct web_owner_target {
	char host[256];		/* a name or an address (no brackets) */
	int port;
	int mode;		/* WEB_OWNER_* */
	int numeric;		/* host is an address */
};

/* web_owner_target - web.owner_login and web.owner_login_tls of cf into
 * t: 1, or 0 when unset, or -1 + err (for conf.c too) */
int web_owner_target(const struct fumidai *cf, struct web_owner_target *t,
    char *err, size_t errlen);
/* web_owner_new - NULL when web.owner_login is unset; w is borrowed */
struct web_owner *web_owner_new(struct event_base *base, struct web *w);
/* web_owner_free - drop the attempts in flight (their requests are not
 * answered: evhttp frees them); NULL is fine */
void web_owner_free(struct web_owner *o);
/* web_owner_login - /api/owner/login: GET says {"enabled":true|false}
 * (for the login page), POST logs in (404 when off) */
void web_owner_login(struct web *w, struct evhttp_request *req);

#endif
