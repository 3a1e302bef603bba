/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * correlate.c - tie events together and count each attempt once.
 *
 * Four kinds of state, each a bounded hash table whose entries also sit on
 * an age list (oldest first):
 *
 *   qids      host + Postfix queue id -> the submission's account, client,
 *             service and mechanism; later events of the message get them.
 *             Dropped at MSG_DONE, after 7 days unused, or when full.
 *   sessions  host + smtpd pid -> whether the session's LOGIN_OK was emitted
 *             (first authenticated MSG_SUBMIT), its account and that time
 *             (a later MSG_SUBMIT of the session gets it as login_time).  CONNECT
 *             starts one, DISCONNECT ends it (auth=N without a submission
 *             becomes a LOGIN_OK with no account).
 *   held      failures logged by a password backend (origin AUTHD), held
 *             until the front end's line about the same attempt claims them:
 *             by Dovecot session id (up to 1 h), or, without a session, by
 *             client address and compatible account (up to 60 s; a Postfix
 *             SASL warning; see front_fail).  The front line is emitted
 *             once, with the backend's reason.  A Dovecot LOGIN_OK releases
 *             its session's held failures (wrong password, then the right
 *             one); other unclaimed held events are emitted as they are
 *             when they expire, are evicted, or on flush.
 *   logins    client address -> the successful POP3 / IMAP logins from it
 *             (account, time, service), one per account, kept for the
 *             POP-before-SMTP window (correlate_pop_window; 0: off).  A
 *             message submitted without SASL from that address is
 *             attributed to the newest such login's account, flagged
 *             FM_F_INFERRED, with the login as evidence (via_* fields) and
 *             the number of accounts seen there in the window.
 *
 * Time is the events' own: `now` is the newest event time seen, so the
 * output depends only on the sequence of events, not on when or in which
 * chunks they arrive.  Held events own copies of their strings.
 *
 * SECURITY: keys and strings are attacker-controlled bytes; they are hashed
 * and compared as binary.  correlate_load() reads a checkpoint that may be
 * damaged: every length is checked against what remains and the caps, and a
 * bad blob leaves the correlator empty.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate.h"

#define SEC		1000000LL
#define QID_TTL		(7 * 86400 * SEC)
#define SESS_TTL	(86400 * SEC)
#define HOLD_NOSESS	(60 * SEC)
#define HOLD_SESS	(3600 * SEC)

/* (the checkpoint stores tables in this order: new ones go last) */
enum { T_QID, T_SESS, T_HELD_S, T_HELD_N, T_LOGIN, T__COUNT };

/* Caps per table: entries and bytes of strings. */
static const struct {
	size_t max_n, max_bytes, nbucket;
} limits[T__COUNT] = {
	[T_QID] = { 32768, 16 << 20, 1 << 15 },
	[T_SESS] = { 16384, 4 << 20, 1 << 14 },
	[T_HELD_S] = { 16384, 8 << 20, 1 << 14 },
	[T_HELD_N] = { 16384, 8 << 20, 1 << 14 },
	[T_LOGIN] = { 65536, 8 << 20, 1 << 15 },
};

/* One entry; strings (key first) live in the same allocation after it. */
struct node {
	/* what a chain walk reads first, in one cache line */
	struct node *hnext;		/* hash chain */
	uint64_t hash;
	struct fm_str key;
	struct node *prev, *next;	/* age list, oldest first */
	uint64_t seq;			/* insertion order (held) */
	int64_t stamp;			/* last use; held: deadline */
	size_t bytes;
	int seen;			/* session: LOGIN_OK emitted */
	struct fm_event ev;		/* qid/session: the fields kept */
	char blob[];
};

struct table {
	struct node **bucket;
	size_t nbucket;			/* power of two */
	struct node *head, *tail;
	size_t n, bytes;
};

struct correlate {
	struct table t[T__COUNT];
	int64_t now;			/* newest event time seen */
	uint64_t seq;			/* next held entry's number */
	uint64_t seed;			/* hash seed, random per correlator */
	int64_t pop_window;		/* POP-before-SMTP window, us; 0 off */
};

static void tbl_link(struct table *, struct node *);
static void tbl_unlink(struct table *, struct node *);
static struct node *tbl_find(struct table *, uint64_t, const char *,
    size_t, struct node *);
static struct node *node_new(const struct correlate *, const struct fm_event *,
    const char *, size_t);
static uint64_t khash(const struct correlate *, const char *, size_t);
static void expire(struct correlate *, fm_emit_fn *, void *);
static void held_out(struct correlate *, int64_t, fm_emit_fn *, void *);
static void trim(struct correlate *, int, fm_emit_fn *, void *);
static void hold(struct correlate *, const struct fm_event *, fm_emit_fn *,
    void *);
static void release(struct correlate *, const struct fm_event *, fm_emit_fn *,
    void *);
static void front_fail(struct correlate *, const struct fm_event *,
    fm_emit_fn *, void *);
static void submit(struct correlate *, const struct fm_event *, fm_emit_fn *,
    void *);
static void disconnect(struct correlate *, const struct fm_event *,
    fm_emit_fn *, void *);
static void by_qid(struct correlate *, const struct fm_event *, fm_emit_fn *,
    void *);
static size_t mkkey(char *, size_t, struct fm_str, struct fm_str);
static void claim_all(struct correlate *, int, const char *, size_t,
    const struct fm_event *, int);
static void pop_login(struct correlate *, const struct fm_event *,
    fm_emit_fn *, void *);
static void pop_infer(struct correlate *, struct fm_event *);

#define KEYMAX 512

/* khash - hash of a key, 8 bytes a step: keys are short and looked up
 * several times per event.  Seeded so that crafted keys cannot pile up in
 * one chain; output never depends on chain order. */
static uint64_t
khash(const struct correlate *c, const char *p, size_t n)
{
	uint64_t h = c->seed ^ (n * 0x9e3779b97f4a7c15ULL), w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	if (n)
		memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

struct correlate *
correlate_new(void)
{
	struct correlate *c = xcalloc(1, sizeof(*c));
	int i;

	if (getentropy(&c->seed, sizeof(c->seed)) == -1)
		c->seed = (uint64_t)mono_us() * 0x9e3779b97f4a7c15ULL;

	for (i = 0; i < T__COUNT; i++) {
		c->t[i].nbucket = limits[i].nbucket;
		c->t[i].bucket = xcalloc(limits[i].nbucket,
		    sizeof(struct node *));
	}
	return c;
}

/* clear - drop every entry without emitting */
static void
clear(struct correlate *c)
{
	struct node *nd, *next;
	int i;

	for (i = 0; i < T__COUNT; i++) {
		for (nd = c->t[i].head; nd != NULL; nd = next) {
			next = nd->next;
			free(nd);
		}
		memset(c->t[i].bucket, 0, c->t[i].nbucket * sizeof(struct node *));
		c->t[i].head = c->t[i].tail = NULL;
		c->t[i].n = c->t[i].bytes = 0;
	}
	c->now = 0;
	c->seq = 0;
}

void
correlate_free(struct correlate *c)
{
	int i;

	if (c == NULL)
		return;
	clear(c);
	for (i = 0; i < T__COUNT; i++)
		free(c->t[i].bucket);
	free(c);
}

void
correlate_pop_window(struct correlate *c, int64_t seconds)
{
	c->pop_window = seconds > 0 ? seconds * SEC : 0;
}

size_t
correlate_size(const struct correlate *c)
{
	size_t n = 0;
	int i;

	for (i = 0; i < T__COUNT; i++)
		n += c->t[i].n;
	return n;
}

/* tbl_link - add at the young end of the age list and the chain head */
static void
tbl_link(struct table *t, struct node *nd)
{
	size_t b = nd->hash & (t->nbucket - 1);

	nd->hnext = t->bucket[b];
	t->bucket[b] = nd;
	nd->next = NULL;
	nd->prev = t->tail;
	if (t->tail)
		t->tail->next = nd;
	else
		t->head = nd;
	t->tail = nd;
	t->n++;
	t->bytes += nd->bytes;
}

static void
tbl_unlink(struct table *t, struct node *nd)
{
	struct node **pp = &t->bucket[nd->hash & (t->nbucket - 1)];

	while (*pp != NULL && *pp != nd)
		pp = &(*pp)->hnext;
	if (*pp == nd)
		*pp = nd->hnext;
	if (nd->prev)
		nd->prev->next = nd->next;
	else
		t->head = nd->next;
	if (nd->next)
		nd->next->prev = nd->prev;
	else
		t->tail = nd->prev;
	t->n--;
	t->bytes -= nd->bytes;
}

/* tbl_touch - move to the young end of the age list */
static void
tbl_touch(struct table *t, struct node *nd, int64_t now)
{
	nd->stamp = now;
	if (t->tail == nd)
		return;
	if (nd->prev)
		nd->prev->next = nd->next;
	else
		t->head = nd->next;
	nd->next->prev = nd->prev;
	nd->prev = t->tail;
	nd->next = NULL;
	t->tail->next = nd;
	t->tail = nd;
}

/* tbl_find - the next entry with this key after `from` on its chain (from
 * NULL: the first) */
static struct node *
tbl_find(struct table *t, uint64_t h, const char *k, size_t klen,
    struct node *from)
{
	struct node *nd = from ? from->hnext : t->bucket[h & (t->nbucket - 1)];

	for (; nd != NULL; nd = nd->hnext)
		if (nd->hash == h && nd->key.len == klen &&
		    fm_memeq(nd->key.p, k, klen))
			return nd;
	return NULL;
}

/* mkkey - "a\0b" into buf (cut at KEYMAX: longer ids are not real ones) */
static size_t
mkkey(char *buf, size_t size, struct fm_str a, struct fm_str b)
{
	size_t n = 0;

	if (a.len + b.len + 1 > size)
		return 0;
	if (a.len)
		memcpy(buf, a.p, a.len);
	n = a.len;
	buf[n++] = '\0';
	if (b.len)
		memcpy(buf + n, b.p, b.len);
	return n + b.len;
}

/* ipkey - address family byte + 16 address bytes: the key of held events
 * without a session */
static size_t
ipkey(char *buf, const struct fm_event *ev)
{
	buf[0] = (char)ev->af;
	memcpy(buf + 1, ev->addr, 16);
	return 17;
}

#define EV_STRS(ev) \
	&(ev)->host, &(ev)->program, &(ev)->service, &(ev)->account, \
	&(ev)->mech, &(ev)->queue_id, &(ev)->session, &(ev)->msgid, \
	&(ev)->sender, &(ev)->rcpt, &(ev)->relay, &(ev)->status, \
	&(ev)->reason, &(ev)->client_name
#define NSTRS 14

/* node_new - an entry owning a copy of ev's strings and of the key */
static struct node *
node_new(const struct correlate *c, const struct fm_event *ev, const char *key,
    size_t klen)
{
	struct fm_event tmp;
	struct fm_str *s[NSTRS] = { EV_STRS(&tmp) };
	struct node *nd;
	size_t total = klen, i;
	char *p;

	struct_copy(&tmp, ev, sizeof(tmp));	/* not = *ev: see util.h */
	for (i = 0; i < NSTRS; i++)
		total += s[i]->len;
	nd = xmalloc(sizeof(*nd) + total + 1);	/* every field is set below */
	nd->hnext = nd->prev = nd->next = NULL;
	nd->seq = 0;
	nd->stamp = 0;
	nd->seen = 0;
	nd->bytes = total;
	p = nd->blob;
	memcpy(p, key, klen);
	nd->key.p = p;
	nd->key.len = klen;
	p += klen;
	for (i = 0; i < NSTRS; i++) {
		if (s[i]->len == 0) {
			s[i]->p = "";
			continue;
		}
		memcpy(p, s[i]->p, s[i]->len);
		s[i]->p = p;
		p += s[i]->len;
	}
	struct_copy(&nd->ev, &tmp, sizeof(tmp));
	nd->hash = khash(c, key, klen);
	return nd;
}

/* drop - unlink and free; held entries are emitted first */
static void
drop(struct correlate *c, int t, struct node *nd, fm_emit_fn *emit, void *arg)
{
	tbl_unlink(&c->t[t], nd);
	if (emit != NULL)
		emit(arg, &nd->ev);
	free(nd);
}

static int
is_held(int t)
{
	return t == T_HELD_S || t == T_HELD_N;
}

/* trim - evict the oldest entries of a table over its caps */
static void
trim(struct correlate *c, int t, fm_emit_fn *emit, void *arg)
{
	struct table *tb = &c->t[t];

	while (tb->head != NULL && (tb->n > limits[t].max_n ||
	    tb->bytes > limits[t].max_bytes))
		drop(c, t, tb->head, is_held(t) ? emit : NULL, arg);
}

/* expire - drop what is older than its window; held events are emitted */
static void
expire(struct correlate *c, fm_emit_fn *emit, void *arg)
{
	struct node *nd;

	while ((nd = c->t[T_QID].head) != NULL && nd->stamp + QID_TTL < c->now)
		drop(c, T_QID, nd, NULL, arg);
	while ((nd = c->t[T_SESS].head) != NULL && nd->stamp + SESS_TTL < c->now)
		drop(c, T_SESS, nd, NULL, arg);
	while ((nd = c->t[T_LOGIN].head) != NULL &&
	    nd->stamp + c->pop_window < c->now)
		drop(c, T_LOGIN, nd, NULL, arg);
	held_out(c, c->now, emit, arg);
}

/* held_out - emit held events whose deadline is before `until`, oldest
 * first across both tables (each table is in deadline order) */
static void
held_out(struct correlate *c, int64_t until, fm_emit_fn *emit, void *arg)
{
	struct node *a, *b;

	for (;;) {
		a = c->t[T_HELD_S].head;
		b = c->t[T_HELD_N].head;
		if (a != NULL && a->stamp >= until)
			a = NULL;
		if (b != NULL && b->stamp >= until)
			b = NULL;
		if (a == NULL && b == NULL)
			return;
		if (b == NULL || (a != NULL && a->seq < b->seq))
			drop(c, T_HELD_S, a, emit, arg);
		else
			drop(c, T_HELD_N, b, emit, arg);
	}
}

void
correlate_expire(struct correlate *c, int64_t now, fm_emit_fn *emit,
    void *arg)
{
	if (now > c->now)
		c->now = now;
	expire(c, emit, arg);
}

/* correlate_flush - emit held events, oldest first across both tables */
void
correlate_flush(struct correlate *c, fm_emit_fn *emit, void *arg)
{
	held_out(c, INT64_MAX, emit, arg);
}

void
correlate_event(struct correlate *c, const struct fm_event *ev,
    fm_emit_fn *emit, void *arg)
{
	if (ev->time > c->now)
		c->now = ev->time;
	expire(c, emit, arg);
	switch (ev->kind) {
	case FM_EV_LOGIN_FAIL:
		if (ev->origin == FM_ORIGIN_AUTHD)
			hold(c, ev, emit, arg);
		else
			front_fail(c, ev, emit, arg);
		return;
	case FM_EV_LOGIN_OK:
		if (ev->session.len > 0)
			release(c, ev, emit, arg);
		pop_login(c, ev, emit, arg);
		break;
	case FM_EV_CONNECT:
	case FM_EV_DISCONNECT:
		disconnect(c, ev, emit, arg);
		return;
	case FM_EV_MSG_SUBMIT:
		submit(c, ev, emit, arg);
		return;
	case FM_EV_MSG_ID:
	case FM_EV_MSG_QUEUED:
	case FM_EV_DELIVERY:
	case FM_EV_MSG_DONE:
	case FM_EV_REJECT:
		if (ev->queue_id.len > 0) {
			by_qid(c, ev, emit, arg);
			return;
		}
		break;
	}
	emit(arg, ev);
}

/*
 * release - a login succeeded in this Dovecot session: no front-end failure
 * line will come for it, so its held backend failures (wrong password, then
 * the right one) are emitted now, oldest first, each counting once, with the
 * login's service.
 */
static void
release(struct correlate *c, const struct fm_event *ok, fm_emit_fn *emit,
    void *arg)
{
	struct table *t = &c->t[T_HELD_S];
	struct fm_str session = ok->session;
	struct node *nd, *next;
	char ik[17];
	uint64_t h;

	if (session.len >= KEYMAX)
		return;
	h = khash(c, session.p, session.len);
	if (tbl_find(t, h, session.p, session.len, NULL) == NULL)
		return;
	for (nd = t->head; nd != NULL; nd = next) {
		next = nd->next;
		if (nd->hash != h || nd->key.len != session.len ||
		    memcmp(nd->key.p, session.p, session.len) != 0)
			continue;
		/* the auth process does not know the protocol; the login does */
		if (nd->ev.service.len == 0)
			nd->ev.service = ok->service;
		drop(c, T_HELD_S, nd, emit, arg);
	}
	/* PAM's own lines about those failures are the same attempts */
	claim_all(c, T_HELD_N, ik, ipkey(ik, ok), ok, 1);
}

/* hold - keep a backend failure until its front line arrives */
static void
hold(struct correlate *c, const struct fm_event *ev, fm_emit_fn *emit,
    void *arg)
{
	char key[KEYMAX];
	size_t klen;
	struct node *nd;
	int t;

	if (ev->session.len > 0 && ev->session.len < KEYMAX) {
		t = T_HELD_S;
		memcpy(key, ev->session.p, ev->session.len);
		klen = ev->session.len;
	} else {
		t = T_HELD_N;
		klen = ipkey(key, ev);
	}
	nd = node_new(c, ev, key, klen);
	nd->seq = c->seq++;
	nd->stamp = c->now + (t == T_HELD_S ? HOLD_SESS : HOLD_NOSESS);
	tbl_link(&c->t[t], nd);
	trim(c, t, emit, arg);
}

static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* caseeq - ASCII case-insensitive equality of n bytes */
static int
caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * acct_compat - whether a front end's and a backend's account name can be
 * the same login: either is empty, they are equal ignoring case, or one is
 * the other's local part (auth_username_format "%n").
 */
static int
acct_compat(struct fm_str a, struct fm_str b)
{
	const char *at;

	if (a.len == 0 || b.len == 0)
		return 1;
	if (a.len == b.len && caseeq(a.p, b.p, a.len))
		return 1;
	if (a.len < b.len) {
		struct fm_str t = a;

		a = b;
		b = t;
	}
	/* a is the longer one: "bob@example.com" vs "bob" */
	at = memchr(a.p, '@', a.len);
	return at != NULL && (size_t)(at - a.p) == b.len &&
	    memchr(b.p, '@', b.len) == NULL && caseeq(a.p, b.p, b.len);
}

/* is_pam - a held line PAM itself wrote ("pam_unix(dovecot:auth):
 * authentication failure"): it repeats an attempt Dovecot logs as well */
static int
is_pam(const struct node *nd)
{
	return nd->ev.reason.len >= 8 && memcmp(nd->ev.reason.p, "pam_unix", 8) == 0;
}

/* from_postfix - a Postfix event (its plugin claims only "postfix*" tags;
 * its session is an smtpd pid, not a Dovecot session) */
static int
from_postfix(const struct fm_event *ev)
{
	return ev->program.len >= 7 && memcmp(ev->program.p, "postfix", 7) == 0;
}

/* claimable - may front event fe claim held node nd of table t; pamonly:
 * of the lines without a session, only PAM's own */
static int
claimable(int t, const struct node *nd, const struct fm_event *fe, int pamonly)
{
	if (t == T_HELD_S)
		return 1;
	if (pamonly && !is_pam(nd))
		return 0;
	return nd->ev.af == fe->af && acct_compat(nd->ev.account, fe->account);
}

/* oldest - the held entry of table t under key that fe may claim and whose
 * reason is the most telling: Dovecot's own before PAM's, then oldest */
static struct node *
oldest(struct correlate *c, int t, const char *key, size_t klen,
    const struct fm_event *fe, int pamonly)
{
	uint64_t h = khash(c, key, klen);
	struct node *nd, *first = NULL;

	for (nd = tbl_find(&c->t[t], h, key, klen, NULL); nd != NULL;
	    nd = tbl_find(&c->t[t], h, key, klen, nd)) {
		if (!claimable(t, nd, fe, pamonly))
			continue;
		if (first == NULL || is_pam(nd) < is_pam(first) ||
		    (is_pam(nd) == is_pam(first) && nd->seq < first->seq))
			first = nd;
	}
	return first;
}

/* claim_all - drop every held entry of table t that fe claims under key */
static void
claim_all(struct correlate *c, int t, const char *key, size_t klen,
    const struct fm_event *fe, int pamonly)
{
	uint64_t h = khash(c, key, klen);
	struct node *nd, *next;

	for (nd = tbl_find(&c->t[t], h, key, klen, NULL); nd != NULL; nd = next) {
		next = tbl_find(&c->t[t], h, key, klen, nd);
		if (claimable(t, nd, fe, pamonly))
			drop(c, t, nd, NULL, NULL);
	}
}

/*
 * front_fail - a front end's failure claims the held backend lines of the
 * same attempt and is emitted once, with the backend's reason and, when it
 * named none, its account:
 *   - a Dovecot login line with session S: every held line of S, and PAM's
 *     own lines from the same address and a compatible account;
 *   - a Postfix SASL warning, or a Dovecot line without a session (before
 *     2.1): the held lines without a session from the same address and a
 *     compatible account.
 * A Dovecot login line never takes Dovecot's session-less lines: those are
 * Postfix's SASL checks, whose warnings count them (or, when only Dovecot's
 * log is read, which are emitted on their own).
 */
static void
front_fail(struct correlate *c, const struct fm_event *ev, fm_emit_fn *emit,
    void *arg)
{
	struct fm_event out;
	struct node *first = NULL;
	char ik[17];
	size_t iklen = ipkey(ik, ev);
	int dsess = ev->session.len > 0 && ev->session.len < KEYMAX &&
	    !from_postfix(ev);

	struct_copy(&out, ev, sizeof(out));
	if (dsess)
		first = oldest(c, T_HELD_S, ev->session.p, ev->session.len, ev, 0);
	if (first == NULL)
		first = oldest(c, T_HELD_N, ik, iklen, ev, dsess);
	if (first != NULL) {
		if (first->ev.reason.len > 0)
			out.reason = first->ev.reason;
		if (out.account.len == 0)
			out.account = first->ev.account;
	}
	emit(arg, &out);
	if (first == NULL)
		return;
	if (dsess)
		claim_all(c, T_HELD_S, ev->session.p, ev->session.len, ev, 0);
	claim_all(c, T_HELD_N, ik, iklen, ev, dsess);
}

/* sess_get - the smtpd session of ev (host + pid), created when asked */
static struct node *
sess_get(struct correlate *c, const struct fm_event *ev, int create,
    fm_emit_fn *emit, void *arg)
{
	char key[KEYMAX];
	size_t klen = mkkey(key, sizeof(key), ev->host, ev->session);
	struct fm_event empty;
	struct node *nd;
	uint64_t h;

	if (klen == 0 || ev->session.len == 0)
		return NULL;
	h = khash(c, key, klen);
	if ((nd = tbl_find(&c->t[T_SESS], h, key, klen, NULL)) != NULL) {
		tbl_touch(&c->t[T_SESS], nd, c->now);
		return nd;
	}
	if (!create)
		return NULL;
	struct_zero(&empty, sizeof(empty));
	nd = node_new(c, &empty, key, klen);
	nd->stamp = c->now;
	tbl_link(&c->t[T_SESS], nd);
	trim(c, T_SESS, emit, arg);
	return nd;
}

/* sess_account - remember the session's account and the time it logged
 * in (replaces the node) */
static struct node *
sess_account(struct correlate *c, struct node *nd, struct fm_str account,
    int64_t t)
{
	struct fm_event e;
	struct node *n2;

	struct_zero(&e, sizeof(e));
	e.account = account;
	e.time = t;
	n2 = node_new(c, &e, nd->key.p, nd->key.len);
	n2->stamp = nd->stamp;
	n2->seen = 1;
	tbl_unlink(&c->t[T_SESS], nd);
	free(nd);
	tbl_link(&c->t[T_SESS], n2);
	return n2;
}

/* login_ok - the LOGIN_OK an smtpd session implies */
static void
login_ok(const struct fm_event *ev, struct fm_str account, fm_emit_fn *emit,
    void *arg)
{
	struct fm_event ok;

	struct_zero(&ok, sizeof(ok));
	ok.kind = FM_EV_LOGIN_OK;
	ok.time = ev->time;
	ok.host = ev->host;
	ok.program = ev->program;
	ok.service = ev->service;
	ok.account = account;
	ok.mech = ev->mech;
	ok.session = ev->session;
	ok.client_name = ev->client_name;
	ok.af = ev->af;
	memcpy(ok.addr, ev->addr, sizeof(ok.addr));
	ok.size = -1;
	ok.pid = ev->pid;
	ok.input = ev->input;
	ok.line_no = ev->line_no;
	emit(arg, &ok);
}

/*
 * submit - MSG_SUBMIT: the session's first authenticated submission is its
 * LOGIN_OK (emitted first); the queue id remembers who sent the message.
 */
static void
submit(struct correlate *c, const struct fm_event *ev, fm_emit_fn *emit,
    void *arg)
{
	struct fm_event out;
	char key[KEYMAX];
	size_t klen;
	struct node *nd;
	uint64_t h;

	struct_copy(&out, ev, sizeof(out));
	if (ev->account.len == 0)
		pop_infer(c, &out);
	else {
		nd = sess_get(c, ev, 1, emit, arg);
		if (nd == NULL)
			login_ok(ev, ev->account, emit, arg);
		else if (!nd->seen) {
			login_ok(ev, ev->account, emit, arg);
			sess_account(c, nd, ev->account, ev->time);
		} else if (nd->ev.time != 0)
			out.login_time = nd->ev.time;	/* a later message */
	}
	if (ev->queue_id.len > 0 &&
	    (klen = mkkey(key, sizeof(key), ev->host, ev->queue_id)) > 0) {
		h = khash(c, key, klen);
		if ((nd = tbl_find(&c->t[T_QID], h, key, klen, NULL)) != NULL)
			drop(c, T_QID, nd, NULL, arg);
		nd = node_new(c, &out, key, klen);
		nd->stamp = c->now;
		tbl_link(&c->t[T_QID], nd);
		trim(c, T_QID, emit, arg);
	}
	emit(arg, &out);
}

/*
 * disconnect - CONNECT starts an smtpd session, DISCONNECT ends it; a
 * session that authenticated (auth=N, N > 0) but submitted nothing is a
 * LOGIN_OK with no account.
 */
static void
disconnect(struct correlate *c, const struct fm_event *ev, fm_emit_fn *emit,
    void *arg)
{
	struct fm_event out;
	struct node *nd;

	if (ev->kind == FM_EV_CONNECT) {
		if ((nd = sess_get(c, ev, 0, emit, arg)) != NULL)
			drop(c, T_SESS, nd, NULL, arg);
		(void)sess_get(c, ev, 1, emit, arg);
		emit(arg, ev);
		return;
	}
	struct_copy(&out, ev, sizeof(out));
	nd = sess_get(c, ev, 0, emit, arg);
	if (ev->auth_ok > 0 && (nd == NULL || !nd->seen)) {
		struct fm_str none = { "", 0 };

		login_ok(ev, none, emit, arg);
	}
	if (nd != NULL && nd->seen && out.account.len == 0 &&
	    nd->ev.account.len > 0) {
		out.account = nd->ev.account;
		out.flags |= FM_F_INFERRED;
	}
	emit(arg, &out);
	if (nd != NULL)
		drop(c, T_SESS, nd, NULL, arg);
}

/* by_qid - fill a message's later events from its submission */
static void
by_qid(struct correlate *c, const struct fm_event *ev, fm_emit_fn *emit,
    void *arg)
{
	struct fm_event out;
	char key[KEYMAX];
	size_t klen = mkkey(key, sizeof(key), ev->host, ev->queue_id);
	struct node *nd = NULL;
	const struct fm_event *s;

	struct_copy(&out, ev, sizeof(out));
	if (klen > 0)
		nd = tbl_find(&c->t[T_QID], khash(c, key, klen),
		    key, klen, NULL);
	if (nd != NULL) {
		s = &nd->ev;
		tbl_touch(&c->t[T_QID], nd, c->now);
		if (out.account.len == 0 && s->account.len > 0) {
			out.account = s->account;
			out.flags |= FM_F_INFERRED;
			out.via_time = s->via_time;
			out.via_service = s->via_service;
			out.via_accounts = s->via_accounts;
		}
		if (out.af == 0 && s->af != 0) {
			out.af = s->af;
			memcpy(out.addr, s->addr, sizeof(out.addr));
		}
		if (out.client_name.len == 0)
			out.client_name = s->client_name;
		if (out.service.len == 0)
			out.service = s->service;
		if (out.mech.len == 0)
			out.mech = s->mech;
	}
	emit(arg, &out);
	if (nd != NULL && ev->kind == FM_EV_MSG_DONE)
		drop(c, T_QID, nd, NULL, arg);
}

/* ---- POP-before-SMTP ---- */

/* The services whose logins open a window, by the code the checkpoint
 * stores; via_service points at these, never into an entry. */
static const char *const pop_services[] = { "", "pop3", "imap" };
#define NPOP	3

/* pop_code - index of s in pop_services, 0 when it is not one */
static int
pop_code(struct fm_str s)
{
	int i;

	for (i = 1; i < NPOP; i++)
		if (s.len == strlen(pop_services[i]) &&
		    memcmp(s.p, pop_services[i], s.len) == 0)
			return i;
	return 0;
}

/* pop_login - remember a POP3 / IMAP login by address, one entry per
 * account (the newest login replaces the account's older one) */
static void
pop_login(struct correlate *c, const struct fm_event *ev, fm_emit_fn *emit,
    void *arg)
{
	struct table *t = &c->t[T_LOGIN];
	struct fm_event e;
	struct node *nd, *next;
	char key[17];
	size_t klen;
	uint64_t h;
	int code;

	if (c->pop_window == 0 || ev->af == 0 || ev->account.len == 0 ||
	    ev->account.len >= KEYMAX || ev->origin != FM_ORIGIN_FRONT ||
	    (code = pop_code(ev->service)) == 0)
		return;
	klen = ipkey(key, ev);
	h = khash(c, key, klen);
	for (nd = tbl_find(t, h, key, klen, NULL); nd != NULL; nd = next) {
		next = tbl_find(t, h, key, klen, nd);
		if (nd->ev.account.len == ev->account.len &&
		    fm_memeq(nd->ev.account.p, ev->account.p, ev->account.len))
			drop(c, T_LOGIN, nd, NULL, arg);
	}
	struct_zero(&e, sizeof(e));
	e.kind = FM_EV_LOGIN_OK;
	e.time = ev->time;
	e.account = ev->account;
	FM_STR_SET(e.service, pop_services[code], strlen(pop_services[code]));
	e.af = ev->af;
	memcpy(e.addr, ev->addr, sizeof(e.addr));
	e.size = -1;
	nd = node_new(c, &e, key, klen);
	nd->seq = c->seq++;
	nd->stamp = c->now;
	tbl_link(t, nd);
	trim(c, T_LOGIN, emit, arg);
}

/*
 * pop_infer - a submission without SASL: attribute it to the newest login
 * from its address at most pop_window before it.  ev's account borrows the
 * entry's copy (valid until the caller emits); via_accounts counts the
 * accounts that logged in from there in the window (> 1: low confidence).
 */
static void
pop_infer(struct correlate *c, struct fm_event *ev)
{
	struct table *t = &c->t[T_LOGIN];
	struct node *nd, *best = NULL;
	char key[17];
	size_t klen;
	uint64_t h;
	int n = 0, code;

	if (c->pop_window == 0 || ev->af == 0)
		return;
	klen = ipkey(key, ev);
	h = khash(c, key, klen);
	for (nd = tbl_find(t, h, key, klen, NULL); nd != NULL;
	    nd = tbl_find(t, h, key, klen, nd)) {
		if (nd->ev.time > ev->time ||
		    ev->time - nd->ev.time > c->pop_window)
			continue;
		n++;
		if (best == NULL || nd->ev.time > best->ev.time ||
		    (nd->ev.time == best->ev.time && nd->seq > best->seq))
			best = nd;
	}
	if (best == NULL)
		return;
	ev->account = best->ev.account;
	ev->flags |= FM_F_INFERRED;
	ev->via_time = best->ev.time;
	code = pop_code(best->ev.service);
	FM_STR_SET(ev->via_service, pop_services[code],
	    strlen(pop_services[code]));
	ev->via_accounts = n;
}

/*
 * ---- checkpoint: "FMCORR" version, now, seq, then the tables ----
 * Version 1: four tables (no logins), nodes without the via_* fields.
 * Version 2: five tables; each node ends with via_time, via service code,
 * via_accounts.  Both load; save writes version 2.
 */

#define MAGIC		"FMCORR"
#define CK_VERSION	2
#define CK_V1_TABLES	4
#define STR_MAX		(1 << 20)

static void
put_u64(struct buf *b, uint64_t v)
{
	unsigned char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, x, 8);
}

static void
put_str(struct buf *b, struct fm_str s)
{
	put_u64(b, s.len);
	buf_add(b, s.p, s.len);
}

static void
put_node(struct buf *b, const struct node *nd)
{
	const struct fm_event *ev = &nd->ev;
	struct fm_event tmp = *ev;
	struct fm_str *s[NSTRS] = { EV_STRS(&tmp) };
	size_t i;

	put_u64(b, nd->seq);
	put_u64(b, (uint64_t)nd->stamp);
	put_u64(b, (uint64_t)nd->seen);
	put_str(b, nd->key);
	for (i = 0; i < NSTRS; i++)
		put_str(b, *s[i]);
	put_u64(b, (uint64_t)ev->kind);
	put_u64(b, (uint64_t)ev->origin);
	put_u64(b, (uint64_t)ev->time);
	put_u64(b, ev->af);
	buf_add(b, ev->addr, 16);
	put_u64(b, (uint64_t)ev->size);
	put_u64(b, (uint64_t)ev->nrcpt);
	put_u64(b, (uint64_t)ev->attempts);
	put_u64(b, (uint64_t)ev->auth_ok);
	put_u64(b, (uint64_t)ev->auth_fail);
	put_u64(b, (uint64_t)ev->pid);
	put_u64(b, (uint64_t)ev->flags);
	put_u64(b, ev->input);
	put_u64(b, ev->line_no);
	put_u64(b, (uint64_t)ev->via_time);
	put_u64(b, (uint64_t)pop_code(ev->via_service));
	put_u64(b, (uint64_t)ev->via_accounts);
}

void
correlate_save(const struct correlate *c, struct buf *out)
{
	const struct node *nd;
	int i;

	buf_add(out, MAGIC, 6);
	put_u64(out, CK_VERSION);
	put_u64(out, (uint64_t)c->now);
	put_u64(out, c->seq);
	for (i = 0; i < T__COUNT; i++) {
		put_u64(out, c->t[i].n);
		for (nd = c->t[i].head; nd != NULL; nd = nd->next)
			put_node(out, nd);
	}
}

/* A reader over a blob that turns every overrun into an error flag. */
struct rd {
	const unsigned char *p, *e;
	int err;
};

static uint64_t
get_u64(struct rd *r)
{
	uint64_t v = 0;
	int i;

	if (r->err || r->e - r->p < 8) {
		r->err = 1;
		return 0;
	}
	for (i = 0; i < 8; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return v;
}

static struct fm_str
get_str(struct rd *r)
{
	struct fm_str s = { "", 0 };
	uint64_t n = get_u64(r);

	if (r->err || n > STR_MAX || n > (uint64_t)(r->e - r->p)) {
		r->err = 1;
		return s;
	}
	s.p = (const char *)r->p;
	s.len = (size_t)n;
	r->p += n;
	return s;
}

/* get_node - one entry; NULL on a damaged blob */
static struct node *
get_node(const struct correlate *c, struct rd *r, int t, uint64_t version)
{
	struct fm_event ev;
	struct fm_str *s[NSTRS] = { EV_STRS(&ev) };
	struct fm_str key;
	struct node *nd;
	uint64_t seq, seen, via = 0, nvia = 0;
	int64_t stamp;
	size_t i;

	memset(&ev, 0, sizeof(ev));
	seq = get_u64(r);
	stamp = (int64_t)get_u64(r);
	seen = get_u64(r);
	key = get_str(r);
	for (i = 0; i < NSTRS; i++)
		*s[i] = get_str(r);
	ev.kind = (int)get_u64(r);
	ev.origin = (int)get_u64(r);
	ev.time = (int64_t)get_u64(r);
	ev.af = (uint8_t)get_u64(r);
	if (!r->err && r->e - r->p >= 16) {
		memcpy(ev.addr, r->p, 16);
		r->p += 16;
	} else
		r->err = 1;
	ev.size = (int64_t)get_u64(r);
	ev.nrcpt = (int)get_u64(r);
	ev.attempts = (int)get_u64(r);
	ev.auth_ok = (int)get_u64(r);
	ev.auth_fail = (int)get_u64(r);
	ev.pid = (long)get_u64(r);
	ev.flags = (int)get_u64(r);
	ev.input = (uint32_t)get_u64(r);
	ev.line_no = get_u64(r);
	if (version >= 2) {
		ev.via_time = (int64_t)get_u64(r);
		via = get_u64(r);
		nvia = get_u64(r);
	}
	if (r->err || key.len == 0 || key.len >= KEYMAX || seen > 1 ||
	    ev.kind < 0 || ev.kind >= FM_EV__COUNT ||
	    (ev.af != 0 && ev.af != 4 && ev.af != 6) ||
	    (is_held(t) && ev.kind != FM_EV_LOGIN_FAIL) ||
	    (t == T_LOGIN && (ev.kind != FM_EV_LOGIN_OK || ev.af == 0 ||
	    pop_code(ev.service) == 0)) ||
	    via >= NPOP || nvia > limits[T_LOGIN].max_n ||
	    (ev.via_time != 0) != (via != 0))
		return NULL;
	FM_STR_SET(ev.via_service, pop_services[via],
	    strlen(pop_services[via]));
	ev.via_accounts = (int)nvia;
	nd = node_new(c, &ev, key.p, key.len);
	nd->seq = seq;
	nd->stamp = stamp;
	nd->seen = (int)seen;
	return nd;
}

int
correlate_load(struct correlate *c, const char *p, size_t n)
{
	struct rd r = { (const unsigned char *)p, (const unsigned char *)p + n,
	    0 };
	struct node *nd;
	uint64_t cnt, k, version;
	int i, ntables;

	clear(c);
	if (n < 6 || memcmp(p, MAGIC, 6) != 0)
		return -1;
	r.p += 6;
	version = get_u64(&r);
	if (version < 1 || version > CK_VERSION)
		return -1;
	ntables = version == 1 ? CK_V1_TABLES : T__COUNT;
	c->now = (int64_t)get_u64(&r);
	c->seq = get_u64(&r);
	for (i = 0; i < ntables && !r.err; i++) {
		cnt = get_u64(&r);
		if (cnt > limits[i].max_n) {
			r.err = 1;
			break;
		}
		for (k = 0; k < cnt; k++) {
			if ((nd = get_node(c, &r, i, version)) == NULL) {
				r.err = 1;
				break;
			}
			tbl_link(&c->t[i], nd);
		}
		if (c->t[i].bytes > limits[i].max_bytes)
			r.err = 1;
	}
	if (r.err || r.p != r.e) {
		clear(c);
		return -1;
	}
	return 0;
}
