/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.c - the Postfix policy delegation server (see policy.h).
 *
 * One bufferevent per smtpd connection.  Lines end with LF only (as
 * Postfix writes them; a CR is part of the value), a request ends with an
 * empty line, and requests on one connection are answered one at a time in
 * order: while a request waits for Redis, reading stops, and what the
 * client sent ahead stays buffered until the answer is written.  The wait
 * is bounded by policy.timeout: past it the client gets DUNNO and the late
 * reply, when it comes, finds its query orphaned and is dropped.
 *
 * The flag lookup is one HGET <prefix>{g}:flags <name>, the field being
 * the name escaped by scripts_json_bin as the alert records hold it (the
 * post script takes it from the record).  The reply text comes from
 * policy.text only: "%k" becomes the flagging alert's kind (reduced to
 * [a-z0-9_]), "%%" a percent sign, and a leading enhanced status code gets
 * the class of the action (4.x.x for DEFER, 5.x.x for REJECT).
 *
 * SECURITY: see policy.h.  Nothing a client sends reaches a reply; values
 * reach Redis as binary-safe arguments and the log through log_escape.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>

#include "listen.h"
#include "log.h"
#include "policy.h"
#include "rlink.h"
#include "scripts.h"
#include "show.h"
#include "util.h"

#define POLICY_KIND_MAX		48	/* bytes of an alert kind in a reply */
#define POLICY_TEXT_MAX		400	/* bytes of the reply text */
#define POLICY_WARN_EVERY_US	(60 * 1000000LL)	/* rate of repeated warnings */

struct pquery;

/* One smtpd connection. */
struct pclient {
	struct policy *p;
	struct pclient *prev, *next;
	struct bufferevent *bev;
	struct event *timer;		/* policy.timeout of the query */
	struct pquery *q;		/* query in flight, or NULL */
	/* the request being read */
	struct buf user;		/* sasl_username, raw bytes */
	char client[64];		/* client_address, raw (truncated) */
	int is_smtpd;			/* request=smtpd_access_policy seen */
	size_t bytes;			/* of this request so far */
	int nattrs;
};

/* A Redis query; outlives its client when the client goes first. */
struct pquery {
	struct pclient *c;		/* NULL once orphaned */
};

struct policy {
	struct event_base *base;
	const struct fumidai *cf;
	struct rlink *rl;
	struct evconnlistener *lst;
	char *unix_path;		/* socket to remove, or NULL */
	ino_t unix_ino;
	struct buf key;			/* <prefix>{g}:flags */
	struct pclient *clients;
	size_t nclients;
	int64_t warned_full, warned_slow, warned_err, warned_drop; /* mono_us */
};

static int warn_due(int64_t *);
static void pc_reset(struct pclient *);
static void pc_drop(struct pclient *, const char *);
static void reply_text(struct buf *, const char *, int, const char *, size_t);
static int pc_answer(struct pclient *, const char *, const char *);
static void pc_resume(struct pclient *, const char *, const char *);
static void log_refusal(const struct pclient *, const char *,
    const struct buf *, const struct buf *);
static void pc_refuse(struct pclient *, const char *, size_t);
static void pc_reply_cb(void *, struct redisReply *);
static void pc_timeout_cb(evutil_socket_t, short, void *);
static int pc_decide(struct pclient *);
static int pc_attr(struct pclient *, const char *, size_t);
static void pc_process(struct pclient *);
static void pc_read_cb(struct bufferevent *, void *);
static void pc_event_cb(struct bufferevent *, short, void *);
static void pc_free(struct pclient *);
static void policy_accept_cb(struct evconnlistener *, evutil_socket_t,
    struct sockaddr *, int, void *);
static void policy_error_cb(struct evconnlistener *, void *);
static int unix_clear(const struct sockaddr_un *, char *, size_t);
static void unix_own(const char *);
static int listen_unix(struct policy *, const char *, char *, size_t);
static int listen_inet(struct policy *, const char *, char *, size_t);

/* warn_due - true at most once per POLICY_WARN_EVERY_US for one warning */
static int
warn_due(int64_t *last)
{
	int64_t now = mono_us();

	if (*last != 0 && now - *last < POLICY_WARN_EVERY_US)
		return 0;
	*last = now;
	return 1;
}

/* pc_reset - forget the request read so far */
static void
pc_reset(struct pclient *c)
{
	buf_reset(&c->user);
	c->client[0] = '\0';
	c->is_smtpd = 0;
	c->bytes = 0;
	c->nattrs = 0;
}

/* pc_drop - a misbehaving client: close (and say so, not too often) */
static void
pc_drop(struct pclient *c, const char *why)
{
	if (warn_due(&c->p->warned_drop))
		log_warnx("service=policy msg=\"dropping a client\" "
		    "reason=\"%s\"", why);
	pc_free(c);
}

/*
 * reply_text - policy.text for an alert of kind (may be empty) into out,
 * the action's class on a leading enhanced status code
 */
static void
reply_text(struct buf *out, const char *tmpl, int reject, const char *kind,
    size_t klen)
{
	const char *s;
	size_t i, n;

	for (s = tmpl; *s != '\0' && out->len < POLICY_TEXT_MAX; s++) {
		if (s[0] == '%' && s[1] == 'k') {
			for (i = n = 0; i < klen && n < POLICY_KIND_MAX; i++)
				if ((kind[i] >= 'a' && kind[i] <= 'z') ||
				    (kind[i] >= '0' && kind[i] <= '9') ||
				    kind[i] == '_')
					buf_addc(out, kind[i]), n++;
			if (n == 0)
				buf_adds(out, "unknown");
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			buf_addc(out, '%');
			s++;
		} else if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			buf_addc(out, *s);
	}
	/* "4.7.1 ..." or "5.7.1 ...": the class must agree with the code */
	s = out->data;
	if (out->len >= 5 && (s[0] == '4' || s[0] == '5') && s[1] == '.') {
		for (i = 2; i < out->len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i > 2 && i < out->len && s[i] == '.')
			out->data[0] = reject ? '5' : '4';
	}
}

/* pc_answer - write "action=ACTION[ text]"; -1 when c was dropped */
static int
pc_answer(struct pclient *c, const char *action, const char *text)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (text != NULL && *text != '\0')
		evbuffer_add_printf(out, "action=%s %s\n\n", action, text);
	else
		evbuffer_add_printf(out, "action=%s\n\n", action);
	pc_reset(c);
	if (evbuffer_get_length(out) > POLICY_REQUEST_MAX) {
		pc_drop(c, "client does not read its answers");
		return -1;
	}
	return 0;
}

/* pc_resume - after an answer that came late: read what waits */
static void
pc_resume(struct pclient *c, const char *action, const char *text)
{
	if (pc_answer(c, action, text) == -1)
		return;
	bufferevent_enable(c->bev, EV_READ);
	pc_process(c);
}

/* log_refusal - one log line per refused request, every value escaped */
static void
log_refusal(const struct pclient *c, const char *action, const struct buf *kind,
    const struct buf *id)
{
	struct buf e[4];
	size_t i;

	for (i = 0; i < nitems(e); i++)
		buf_init(&e[i]);
	log_escape(&e[0], c->user.data ? c->user.data : "", c->user.len);
	log_escape(&e[1], c->client, strlen(c->client));
	log_escape(&e[2], kind->data ? kind->data : "", kind->len);
	log_escape(&e[3], id->data ? id->data : "", id->len);
	for (i = 0; i < nitems(e); i++)
		buf_addc(&e[i], '\0');	/* data set even when empty */
	log_info("service=policy action=%s account=\"%s\" client=\"%s\" "
	    "kind=\"%s\" alert=\"%s\" msg=\"flagged account refused\"",
	    action, e[0].data, e[1].data, e[2].data, e[3].data);
	for (i = 0; i < nitems(e); i++)
		buf_free(&e[i]);
}

/* pc_refuse - the account is flagged by the record j: log, DEFER/REJECT
 * (DUNNO when j is no alert record) */
static void
pc_refuse(struct pclient *c, const char *j, size_t jlen)
{
	const struct fumidai *cf = c->p->cf;
	int reject = strcmp(cf->policy.action, "REJECT") == 0;
	const char *action = reject ? "REJECT" : "DEFER";
	struct buf kind, id, text;

	buf_init(&kind);
	buf_init(&id);
	buf_init(&text);
	if (show_json_get(j, jlen, "kind", &kind) == -1 || kind.len == 0) {
		if (warn_due(&c->p->warned_err))
			log_warnx("service=policy msg=\"a flag that is no alert "
			    "record (no kind); answering DUNNO\"");
		action = "DUNNO";
	} else {
		(void)show_json_get(j, jlen, "id", &id);
		reply_text(&text, cf->policy.text ? cf->policy.text : "",
		    reject, kind.data, kind.len);
		log_refusal(c, action, &kind, &id);
	}
	pc_resume(c, action, text.data);	/* may free c */
	buf_free(&kind);
	buf_free(&id);
	buf_free(&text);
}

/* pc_reply_cb - the HGET's answer (NULL: link lost) */
static void
pc_reply_cb(void *arg, struct redisReply *r)
{
	struct pquery *q = arg;
	struct pclient *c = q->c;
	struct policy *p;

	free(q);
	if (c == NULL)
		return;		/* answered DUNNO on timeout, or gone */
	p = c->p;
	c->q = NULL;
	evtimer_del(c->timer);
	if (r != NULL && r->type == REDIS_REPLY_STRING && r->len > 0)
		pc_refuse(c, r->str, r->len);
	else {
		if ((r == NULL || r->type == REDIS_REPLY_ERROR) &&
		    warn_due(&p->warned_err))
			log_warnx("service=policy error=\"%s\" msg=\"flag "
			    "lookup failed; answering DUNNO\"", r ? r->str :
			    "link lost");
		pc_resume(c, "DUNNO", NULL);
	}
}

static void
pc_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pclient *c = arg;

	(void)fd;
	(void)what;
	if (c->q == NULL)
		return;
	c->q->c = NULL;		/* its reply will be dropped */
	c->q = NULL;
	if (warn_due(&c->p->warned_slow))
		log_warnx("service=policy timeout_ms=%d msg=\"Redis did not "
		    "answer in time; answering DUNNO\"", c->p->cf->policy.timeout_ms);
	pc_resume(c, "DUNNO", NULL);
}

/* pc_decide - a whole request: answer now (1; -1 when c was dropped), or
 * ask Redis (0) */
static int
pc_decide(struct pclient *c)
{
	struct policy *p = c->p;
	struct buf field;
	const char *argv[3];
	size_t argvlen[3];
	struct timeval tv;
	int rc;

	if (!c->is_smtpd || c->user.len == 0 || !rlink_ready(p->rl))
		return pc_answer(c, "DUNNO", NULL) == -1 ? -1 : 1;
	buf_init(&field);
	scripts_json_bin(&field, c->user.data, c->user.len);
	argv[0] = "HGET";
	argvlen[0] = 4;
	argv[1] = p->key.data;
	argvlen[1] = p->key.len;
	argv[2] = field.data;
	argvlen[2] = field.len;
	c->q = xcalloc(1, sizeof(*c->q));
	c->q->c = c;
	rc = rlink_cmd(p->rl, pc_reply_cb, c->q, 3, argv, argvlen);
	buf_free(&field);
	if (rc == -1) {
		free(c->q);
		c->q = NULL;
		return pc_answer(c, "DUNNO", NULL) == -1 ? -1 : 1;
	}
	bufferevent_disable(c->bev, EV_READ);
	tv.tv_sec = p->cf->policy.timeout_ms / 1000;
	tv.tv_usec = (p->cf->policy.timeout_ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	return 0;
}

/* pc_attr - one name=value line; -1 drops the client */
static int
pc_attr(struct pclient *c, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	size_t nlen, vlen;

	if (eq == NULL || eq == line)
		return -1;
	nlen = (size_t)(eq - line);
	vlen = len - nlen - 1;
	if (nlen == 13 && memcmp(line, "sasl_username", 13) == 0) {
		buf_reset(&c->user);
		buf_add(&c->user, eq + 1, vlen);
	} else if (nlen == 7 && memcmp(line, "request", 7) == 0)
		c->is_smtpd = vlen == 19 &&
		    memcmp(eq + 1, "smtpd_access_policy", 19) == 0;
	else if (nlen == 14 && memcmp(line, "client_address", 14) == 0)
		snprintf(c->client, sizeof(c->client), "%.*s",
		    (int)FM_MIN(vlen, sizeof(c->client) - 1), eq + 1);
	return 0;
}

/*
 * pc_process - read whole lines while no query is in flight.  A client
 * that sends a line or request past the limits, a line without '=', or a
 * NUL byte is dropped.
 */
static void
pc_process(struct pclient *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char line[POLICY_LINE_MAX + 1];
	struct evbuffer_ptr eol;
	size_t len;

	while (c->q == NULL) {
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > POLICY_LINE_MAX)
				pc_drop(c, "line too long");
			return;
		}
		len = (size_t)eol.pos;
		if (len > POLICY_LINE_MAX) {
			pc_drop(c, "line too long");
			return;
		}
		evbuffer_remove(in, line, len + 1);
		line[len] = '\0';
		if (len == 0) {
			if (pc_decide(c) != 1)
				return;		/* waiting, or c is gone */
			continue;
		}
		c->bytes += len + 1;
		if (++c->nattrs > POLICY_ATTRS_MAX ||
		    c->bytes > POLICY_REQUEST_MAX) {
			pc_drop(c, "request too long");
			return;
		}
		if (memchr(line, '\0', len) != NULL ||
		    pc_attr(c, line, len) == -1) {
			pc_drop(c, "not a policy request");
			return;
		}
	}
}

static void
pc_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pc_process(arg);
}

static void
pc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pclient *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("service=policy msg=\"closing an idle client\"");
	pc_free(c);
}

static void
pc_free(struct pclient *c)
{
	struct policy *p = c->p;

	if (c->q != NULL)
		c->q->c = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	p->nclients--;
	event_free(c->timer);
	bufferevent_free(c->bev);
	buf_free(&c->user);
	free(c);
}

static void
policy_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct policy *p = arg;
	struct pclient *c;
	struct timeval idle = { POLICY_IDLE_S, 0 };

	(void)lst;
	(void)sa;
	(void)salen;
	if (p->nclients >= POLICY_CLIENTS_MAX) {
		if (warn_due(&p->warned_full))
			log_warnx("service=policy clients=%zu msg=\"too many "
			    "clients; refusing more\"", p->nclients);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->p = p;
	buf_init(&c->user);
	c->bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(p->base, pc_timeout_cb, c);
	if (c->bev == NULL || c->timer == NULL)
		fatalx("policy: out of memory");
	bufferevent_setcb(c->bev, pc_read_cb, NULL, pc_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = p->clients;
	if (c->next != NULL)
		c->next->prev = c;
	p->clients = c;
	p->nclients++;
}

static void
policy_error_cb(struct evconnlistener *lst, void *arg)
{
	struct policy *p = arg;
	int e = EVUTIL_SOCKET_ERROR();

	(void)lst;
	if (warn_due(&p->warned_full))
		log_warnx("service=policy error=\"%s\" msg=\"accept failed\"",
		    evutil_socket_error_to_string(e));
}

/* unix_clear - make room for the socket at sun's path: a stale socket
 * (nobody answers) is removed, a live one or any other file is an error */
static int
unix_clear(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd, live;

	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "policy.listen: %s exists and is not a "
		    "socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		snprintf(err, errlen, "policy: socket: %s", strerror(errno));
		return -1;
	}
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		snprintf(err, errlen, "policy.listen: %s is in use by another "
		    "process", path);
		return -1;
	}
	(void)unlink(path);
	return 0;
}

/* unix_own - give the socket its directory's owner and group (when
 * fumidai may), so whoever may use the directory (Postfix's private/, a
 * /run directory of group postfix) may use the 0660 socket */
static void
unix_own(const char *path)
{
	struct stat dst;
	char *dir = xstrdup(path), *slash;

	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(slash != NULL ? dir : ".", &dst) == 0 &&
	    chown(path, dst.st_uid, dst.st_gid) == -1 && errno != EPERM)
		log_warn("service=policy msg=\"chown %s\"", path);
	free(dir);
}

/* listen_unix - bind path (mode 0660) and listen */
static int
listen_unix(struct policy *p, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "policy.listen: unix socket path empty "
		    "or longer than %zu bytes", sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (unix_clear(&sun, err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		snprintf(err, errlen, "policy: socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "policy.listen: bind %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	unix_own(path);
	p->unix_path = xstrdup(path);
	if (stat(path, &st) == 0)
		p->unix_ino = st.st_ino;
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	p->lst = evconnlistener_new(p->base, policy_accept_cb, p,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (p->lst == NULL) {
		snprintf(err, errlen, "policy.listen: listen %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

/* listen_inet - bind policy.listen's inet:HOST:PORT; a warning when it is
 * not loopback */
static int
listen_inet(struct policy *p, const char *spec, char *err, size_t errlen)
{
	int lo;

	if ((p->lst = listen_tcp(p->base, spec, "policy.listen",
	    policy_accept_cb, p, &lo, err, errlen)) == NULL)
		return -1;
	if (!lo)
		log_warnx("service=policy listen=%s msg=\"not a loopback "
		    "address: anyone who reaches it learns which accounts are "
		    "flagged\"", spec);
	return 0;
}

struct policy *
policy_new(struct event_base *base, const struct fumidai *cf, char *err,
    size_t errlen)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	const char *l = cf->policy.listen;
	int rc;

	p->base = base;
	p->cf = cf;
	buf_init(&p->key);
	scripts_tag_global(&p->key, cf);
	buf_adds(&p->key, ":flags");
	if (l != NULL && strncmp(l, "unix:", 5) == 0)
		rc = listen_unix(p, l + 5, err, errlen);
	else if (l != NULL && strncmp(l, "inet:", 5) == 0)
		rc = listen_inet(p, l + 5, err, errlen);
	else {
		snprintf(err, errlen, "policy.listen: expected inet:HOST:PORT "
		    "or unix:PATH");
		rc = -1;
	}
	if (rc == -1) {
		policy_free(p);
		return NULL;
	}
	evconnlistener_set_error_cb(p->lst, policy_error_cb);
	p->rl = rlink_new(base, cf, "policy");
	log_info("service=policy listen=%s action=%s msg=\"policy server "
	    "started\"", l, cf->policy.action);
	return p;
}

void
policy_free(struct policy *p)
{
	struct stat st;

	if (p == NULL)
		return;
	while (p->clients != NULL)
		pc_free(p->clients);
	if (p->lst != NULL)
		evconnlistener_free(p->lst);
	/* remove our socket, not one that replaced it */
	if (p->unix_path != NULL && lstat(p->unix_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_ino == p->unix_ino)
		(void)unlink(p->unix_path);
	rlink_free(p->rl);	/* orphaned queries are freed here */
	free(p->unix_path);
	buf_free(&p->key);
	free(p);
}
