/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store-t.c - the Redis store against a real redis-server on a unix socket
 * in a temporary directory (appendonly + appendfsync always, so a SIGKILL
 * loses nothing that was answered): exact keys, binary account names,
 * idempotent re-sends, outages, the spool and its torn tail.
 *
 *	store-t			the tests (TAP); also runs `fumidai account`
 *				and `fumidai stats` from $FM_BUILDDIR
 *	store-t bench [N [A [P]]]	events/s of N synthetic events over A
 *				accounts, P% of them with an account (100)
 *
 * FM_KEEP_TMP=1 keeps the temporary directory; FM_STORE_SHOW=1 prints the
 * commands' output (and all Redis command counts in bench mode).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "batch.h"
#include "history_codec.h"
#include "log.h"
#include "scripts.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define STREAM	"t1"

static char tmpdir[256], sockpath[300], spoolpath[300];
static pid_t redis_pid = -1;
static struct event_base *base;
static struct fumidai cf;
static int64_t T0;		/* 2026-11-24T10:30:00Z */
static const char *DAY = "20261124";

/* acks seen */
static uint64_t acked_seq, acked_n;
static int ack_disorder;
static int drained;

/* ---- redis-server ---- */

static redisContext *
rconnect(void)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectUnixWithTimeout(sockpath, tv);

	if (c != NULL && c->err) {
		redisFree(c);
		c = NULL;
	}
	return c;
}

static int redis_persist = 1;	/* appendonly + appendfsync always */

static void
redis_start(void)
{
	char logf[320];
	redisContext *c;
	redisReply *r;
	int i;

	snprintf(logf, sizeof(logf), "%s/redis.log", tmpdir);
	if ((redis_pid = fork()) == 0) {
		execl(REDIS_SERVER_PATH, "redis-server", "--port", "0",
		    "--unixsocket", sockpath, "--unixsocketperm", "700",
		    "--save", "", "--appendonly", redis_persist ? "yes" : "no",
		    "--appendfsync", "always", "--dir", tmpdir, "--logfile", logf,
		    "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		if ((c = rconnect()) != NULL) {
			r = redisCommand(c, "PING");
			if (r && r->type == REDIS_REPLY_STATUS) {
				freeReplyObject(r);
				redisFree(c);
				return;
			}
			if (r)
				freeReplyObject(r);
			redisFree(c);
		}
		usleep(10000);
	}
	diag("redis-server did not start");
	exit(1);
}

static void
redis_kill(int sig)
{
	int st;

	if (redis_pid <= 0)
		return;
	kill(redis_pid, sig);
	waitpid(redis_pid, &st, 0);
	redis_pid = -1;
}

static void
cleanup(void)
{
	char cmd[400];

	redis_kill(SIGKILL);
	if (tmpdir[0] && getenv("FM_KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

/* ---- sync helpers ---- */

static redisReply *
cmd(redisContext *c, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		diag("redis: %s", c->errstr);
		exit(1);
	}
	return r;
}

static long long
rint_(redisContext *c, const char *fmt, const char *a, size_t alen,
    const char *b)
{
	redisReply *r = cmd(c, fmt, a, alen, b);
	long long v = -1;

	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	else if (r->type == REDIS_REPLY_NIL)
		v = 0;
	freeReplyObject(r);
	return v;
}

/* hget - integer field of a hash (0 when absent) */
static long long
hget(redisContext *c, const struct buf *key, const char *field)
{
	return rint_(c, "HGET %b %s", key->data, key->len, field);
}

static char *
hgets(redisContext *c, const struct buf *key, const char *field)
{
	redisReply *r = cmd(c, "HGET %b %s", key->data, key->len, field);
	char *s = r->type == REDIS_REPLY_STRING ? xstrdup(r->str) : NULL;

	freeReplyObject(r);
	return s;
}

/* hgetx - a history record of day DAY (:lr: or :m: of account acct) as
 * readers get it: the stored form expanded to its JSON (history_codec.c) */
static char *
hgetx(redisContext *c, const struct buf *key, const char *field, int what,
    const char *acct)
{
	char *s = hgets(c, key, field), *x;
	struct buf b;

	if (s == NULL)
		return NULL;
	buf_init(&b);
	if (what == HISTORY_DAY_M)
		history_expand_msg(&b, DAY, field, strlen(field), acct,
		    strlen(acct), s, strlen(s));
	else
		history_expand_rollup(&b, DAY, s, strlen(s));
	x = xmemdup(b.data ? b.data : "", b.len);
	buf_free(&b);
	free(s);
	return x;
}

static long long
keyint(redisContext *c, const char *op, const struct buf *key)
{
	char fmt[32];

	snprintf(fmt, sizeof(fmt), "%s %%b", op);
	return rint_(c, fmt, key->data, key->len, NULL);
}

static char *
lindex(redisContext *c, const struct buf *key, int i)
{
	redisReply *r = cmd(c, "LINDEX %b %d", key->data, key->len, i);
	char *s = r->type == REDIS_REPLY_STRING ? xmemdup(r->str, r->len) : NULL;

	freeReplyObject(r);
	return s;
}

/* lindexx - element i of a :logins list as the readers give it: its JSON
 * record (history_expand_logins) */
static char *
lindexx(redisContext *c, const struct buf *key, int i)
{
	redisReply *r = cmd(c, "LRANGE %b %d %d", key->data, key->len, i, i);
	char *s = NULL;

	history_expand_logins(r);
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING)
		s = xmemdup(r->element[0]->str, r->element[0]->len);
	freeReplyObject(r);
	return s;
}

static void
akey(struct buf *k, const char *acct, size_t len, const char *suffix)
{
	buf_reset(k);
	store_key_account(k, &cf, acct, len, suffix);
}

static void
ikey(struct buf *k, const char *ip, const char *suffix)
{
	uint8_t af, addr[16];

	buf_reset(k);
	addr_parse(ip, strlen(ip), &af, addr);
	scripts_tag_ip(k, &cf, af, addr);
	buf_adds(k, suffix);
}

static void
gkey(struct buf *k, const char *suffix)
{
	buf_reset(k);
	scripts_tag_global(k, &cf);
	buf_adds(k, suffix);
}

static void
dsuffix(char *out, size_t n, const char *name)
{
	snprintf(out, n, ":%s:%s", name, DAY);
}

/* snapshot - every key and its content (not TTLs), sorted */
static int
cmpstr(const void *a, const void *b)
{
	const struct buf *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->data, y->data, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void
sorted_elements(struct buf *out, redisReply *r)
{
	struct buf *e = xcalloc(r->elements + 1, sizeof(*e));
	size_t i;

	for (i = 0; i < r->elements; i++) {
		buf_init(&e[i]);
		buf_add(&e[i], r->element[i]->str, r->element[i]->len);
	}
	qsort(e, r->elements, sizeof(*e), cmpstr);
	for (i = 0; i < r->elements; i++) {
		hex_encode(out, e[i].data, e[i].len);
		buf_addc(out, ',');
		buf_free(&e[i]);
	}
	free(e);
}

static void
snapshot(redisContext *c, struct buf *out)
{
	redisReply *keys = cmd(c, "KEYS *"), *r;
	size_t i;

	buf_reset(out);
	{
		struct buf *e = xcalloc(keys->elements + 1, sizeof(*e));

		for (i = 0; i < keys->elements; i++) {
			buf_init(&e[i]);
			buf_add(&e[i], keys->element[i]->str,
			    keys->element[i]->len);
		}
		qsort(e, keys->elements, sizeof(*e), cmpstr);
		for (i = 0; i < keys->elements; i++) {
			const char *k = e[i].data;
			size_t kl = e[i].len;

			hex_encode(out, k, kl);
			buf_addc(out, '=');
			r = cmd(c, "TYPE %b", k, kl);
			if (strcmp(r->str, "hash") == 0) {
				freeReplyObject(r);
				r = cmd(c, "HGETALL %b", k, kl);
				sorted_elements(out, r);
			} else if (strcmp(r->str, "list") == 0) {
				freeReplyObject(r);
				r = cmd(c, "LRANGE %b 0 -1", k, kl);
				for (size_t j = 0; j < r->elements; j++) {
					hex_encode(out, r->element[j]->str,
					    r->element[j]->len);
					buf_addc(out, ',');
				}
			} else if (strcmp(r->str, "set") == 0) {
				freeReplyObject(r);
				r = cmd(c, "SMEMBERS %b", k, kl);
				sorted_elements(out, r);
			} else {
				freeReplyObject(r);
				r = cmd(c, "GET %b", k, kl);
				hex_encode(out, r->str, r->len);
			}
			freeReplyObject(r);
			buf_addc(out, '\n');
			buf_free(&e[i]);
		}
		free(e);
	}
	freeReplyObject(keys);
}

/* ---- events and batches ---- */

static struct fm_str
S(const char *s)
{
	struct fm_str r = { s, strlen(s) };

	return r;
}

static struct fm_event
ev_new(int kind, const char *acct, size_t alen, const char *ip, int64_t t)
{
	struct fm_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.time = t;
	e.account.p = acct;
	e.account.len = alen;
	if (ip)
		addr_parse(ip, strlen(ip), &e.af, e.addr);
	e.host = S("mx1");
	e.service = S("imap");
	e.mech = S("PLAIN");
	e.size = -1;
	return e;
}

static void
ack_cb(void *arg, const char *stream, uint64_t seq)
{
	(void)arg;
	(void)stream;
	if (seq <= acked_seq && acked_n > 0)
		ack_disorder++;
	acked_seq = seq;
	acked_n++;
}

static void
acks_reset(void)
{
	acked_n = acked_seq = 0;
	ack_disorder = 0;
}

static void
drained_cb(void *arg)
{
	(void)arg;
	drained = 1;
}

/* run - turn the loop until cond() holds (safety cap: 60 s) */
static int
run(int (*cond)(struct store *), struct store *s)
{
	int64_t start = mono_us();

	while (!cond(s)) {
		if (mono_us() - start > 60 * 1000000LL) {
			diag("run: gave up waiting");
			return 0;
		}
		event_base_loop(base, EVLOOP_ONCE);
	}
	return 1;
}

static int
idle(struct store *s)
{
	struct store_stats st;

	store_stats(s, &st);
	return store_pending(s) == 0 && st.backlog_bytes == 0 &&
	    st.spool_bytes == 0 && st.connected;
}

static int
all_acked(struct store *s)
{
	return store_pending(s) == 0;
}

static int
is_drained(struct store *s)
{
	(void)s;
	return drained;
}

static int
some_acked(struct store *s)
{
	(void)s;
	return acked_n >= 3;
}

static struct store *
new_store(void)
{
	char err[256];
	struct store *s = store_new(base, &cf, ack_cb, NULL, err, sizeof(err));

	if (s == NULL) {
		diag("store_new: %s", err);
		exit(1);
	}
	return s;
}

static void
submit(struct store *s, struct batch *b, uint64_t seq)
{
	b->stream = STREAM;
	b->seq = seq;
	store_submit(s, b);
	batch_reset(b);
}

/* ---- the tests ---- */

static void
t_keys(void)
{
	struct buf k;

	buf_init(&k);
	store_key_account(&k, &cf, "a\0b", 3, ":logins");
	is_str(k.data, "fm:{a:610062}:logins", "account key is hex in the tag");
	buf_reset(&k);
	scripts_tag_ip(&k, &cf, 6, (const uint8_t *)"\x20\x01\x0d\xb8"
	    "\0\0\0\0\0\0\0\0\0\0\0\x01");
	is_str(k.data, "fm:{ip:2001:db8::1}", "address tag");
	buf_free(&k);
}

static void
t_sha(redisContext *c)
{
	redisReply *r = cmd(c, "SCRIPT LOAD %s", scripts_apply_text());

	ok(r->type == REDIS_REPLY_STRING &&
	    strcmp(r->str, scripts_apply_sha()) == 0,
	    "our SHA-1 of the script is Redis's");
	freeReplyObject(r);
}

static void
basic_batch(struct batch *b)
{
	struct fm_event e;

	e = ev_new(FM_EV_LOGIN_OK, "alice", 5, "192.0.2.1", T0);
	batch_add(b, &e);
	e = ev_new(FM_EV_LOGIN_FAIL, "alice", 5, "192.0.2.2", T0 + 1000000);
	e.attempts = 3;
	e.service = S("smtp");
	e.mech = S("LOGIN");
	e.reason = S("authentication failed");
	batch_add(b, &e);
	e = ev_new(FM_EV_LOGIN_FAIL, "bob", 3, "192.0.2.2", T0 + 2000000);
	batch_add(b, &e);
	e = ev_new(FM_EV_LOGIN_OK, "", 0, "192.0.2.3", T0 + 3000000);
	e.service = S("submission");
	batch_add(b, &e);
	e = ev_new(FM_EV_MSG_ID, "alice", 5, NULL, T0 + 4000000);
	e.queue_id = S("4ABC");
	e.msgid = S("m1@example.org");
	batch_add(b, &e);
	e = ev_new(FM_EV_MSG_QUEUED, "alice", 5, "192.0.2.1", T0 + 5000000);
	e.queue_id = S("4ABC");
	e.sender = S("alice@example.org");
	e.size = 1234;
	e.nrcpt = 2;
	e.service = S("submission");
	batch_add(b, &e);
	e = ev_new(FM_EV_DELIVERY, "alice", 5, NULL, T0 + 6000000);
	e.status = S("sent");
	batch_add(b, &e);
	batch_add(b, &e);
	e.status = S("deferred");
	batch_add(b, &e);
	e = ev_new(FM_EV_CONNECT, "", 0, "203.0.113.9", T0 + 7000000);
	batch_add(b, &e);
	e = ev_new(FM_EV_REJECT, "", 0, "198.51.100.7", T0 + 8000000);
	batch_add(b, &e);
}

static void
check_basic_account(redisContext *c)
{
	struct buf k;
	char suffix[32], *s;

	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "c");
	akey(&k, "alice", 5, suffix);
	is_int(hget(c, &k, "login_ok"), 1, "alice login_ok");
	is_int(hget(c, &k, "login_ok:10"), 0, "account counters have no hours");
	is_int(hget(c, &k, "login_fail"), 3, "alice login_fail counts attempts");
	is_int(hget(c, &k, "messages"), 1, "alice messages");
	is_int(hget(c, &k, "recipients"), 2, "alice recipients");
	is_int(hget(c, &k, "bytes"), 1234, "alice bytes");
	is_int(hget(c, &k, "delivered"), 2, "alice delivered");
	is_int(hget(c, &k, "deferred"), 1, "alice deferred");
	is_int(hget(c, &k, "ok|192.0.2.1|imap"), 0, "roll-ups not in :c:");
	dsuffix(suffix, sizeof(suffix), "lr");
	akey(&k, "alice", 5, suffix);
	s = hgetx(c, &k, "ok|192.0.2.1|imap", HISTORY_DAY_LR, "alice");
	is_str(s, "{\"n\":1,\"first\":\"2026-11-24T10:30:00Z\","
	    "\"last\":\"2026-11-24T10:30:00Z\",\"mech\":\"PLAIN\","
	    "\"host\":\"mx1\"}", "alice roll-up ok, exact");
	free(s);
	s = hgetx(c, &k, "fail|192.0.2.2|smtp", HISTORY_DAY_LR, "alice");
	is_str(s, "{\"n\":3,\"first\":\"2026-11-24T10:30:01Z\","
	    "\"last\":\"2026-11-24T10:30:01Z\",\"mech\":\"LOGIN\","
	    "\"host\":\"mx1\",\"reason\":\"authentication failed\"}",
	    "alice roll-up fail: the attempts, exact");
	free(s);
	akey(&k, "alice", 5, ":logins");
	is_int(keyint(c, "LLEN", &k), 2, "alice login history");
	s = lindex(c, &k, 0);
	is_str(s, "1795516201000000\037192.0.2.2\037smtp\037f\037LOGIN\037mx1"
	    "\037authentication failed\0373", "login record stored compact");
	free(s);
	s = lindexx(c, &k, 0);
	is_str(s, "{\"time\":\"2026-11-24T10:30:01.000000Z\",\"ip\":\"192.0.2.2\","
	    "\"service\":\"smtp\",\"result\":\"fail\",\"mech\":\"LOGIN\","
	    "\"host\":\"mx1\",\"reason\":\"authentication failed\","
	    "\"attempts\":3}", "newest login record first, exact");
	free(s);
	dsuffix(suffix, sizeof(suffix), "m");
	akey(&k, "alice", 5, suffix);
	s = hgetx(c, &k, "mx1|4ABC", HISTORY_DAY_M, "alice");
	is_str(s, "{\"time\":\"2026-11-24T10:30:05Z\",\"qid\":\"4ABC\","
	    "\"msgid\":\"m1@example.org\",\"from\":\"alice@example.org\","
	    "\"size\":1234,\"nrcpt\":2,\"ip\":\"192.0.2.1\","
	    "\"service\":\"submission\",\"host\":\"mx1\"}",
	    "message record with its Message-ID");
	free(s);
	akey(&k, "alice", 5, ":applied");
	s = hgets(c, &k, "login_time");
	is_str(s, "2026-11-24T10:30:00.000000Z", "last login time");
	free(s);
	s = hgets(c, &k, "fail_ip");
	is_str(s, "192.0.2.2", "last failure address");
	free(s);
	is_int(hget(c, &k, "s:" STREAM), 1, "applied seq recorded");
	akey(&k, "alice", 5, ":q:3:mx1:4ABC");
	s = NULL;
	{
		redisReply *r = cmd(c, "GET %b", k.data, k.len);

		ok(r->type == REDIS_REPLY_STRING &&
		    strcmp(r->str, "20261124Q") == 0,
		    "queue id holds the message's day, marked counted");
		freeReplyObject(r);
	}
	is_int(keyint(c, "TTL", &k), SCRIPTS_QID_TTL, "queue id TTL");
	dsuffix(suffix, sizeof(suffix), "c");
	akey(&k, "bob", 3, suffix);
	is_int(hget(c, &k, "login_fail"), 1, "bob attempts default to 1");
	buf_free(&k);
}

static void
check_basic_ip_global(redisContext *c)
{
	struct buf k;
	char suffix[32];

	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "c");
	ikey(&k, "192.0.2.2", suffix);
	is_int(hget(c, &k, "login_fail"), 4, "ip failures");
	dsuffix(suffix, sizeof(suffix), "tried");
	ikey(&k, "192.0.2.2", suffix);
	is_int(keyint(c, "SCARD", &k), 2, "ip accounts tried");
	dsuffix(suffix, sizeof(suffix), "tried_hll");
	ikey(&k, "192.0.2.2", suffix);
	is_int(keyint(c, "PFCOUNT", &k), 2, "ip accounts tried (hll)");
	dsuffix(suffix, sizeof(suffix), "c");
	ikey(&k, "192.0.2.3", suffix);
	/* successes are counted per account, not per address */
	is_int(keyint(c, "EXISTS", &k), 0, "accountless login_ok: no ip counter");
	dsuffix(suffix, sizeof(suffix), "ok");
	ikey(&k, "192.0.2.3", suffix);
	is_int(keyint(c, "EXISTS", &k), 0, "no account set for it");
	dsuffix(suffix, sizeof(suffix), "c");
	ikey(&k, "198.51.100.7", suffix);
	is_int(hget(c, &k, "rejected"), 1, "ip rejects");
	ikey(&k, "203.0.113.9", ":applied");
	is_int(keyint(c, "EXISTS", &k), 0, "connect alone makes no ip subject");
	gkey(&k, suffix);
	is_int(hget(c, &k, "login_ok"), 2, "global login_ok");
	is_int(hget(c, &k, "login_fail"), 4, "global login_fail");
	is_int(hget(c, &k, "messages"), 1, "global messages");
	is_int(hget(c, &k, "recipients"), 2, "global recipients");
	is_int(hget(c, &k, "ev.delivery"), 3, "global ev.delivery");
	is_int(hget(c, &k, "ev.connect:10"), 1, "global ev.connect hour");
	gkey(&k, ":totals");
	is_int(hget(c, &k, "ev.login_fail"), 2, "global totals by kind");
	is_int(hget(c, &k, "login_fail"), 4, "global totals login_fail");
	dsuffix(suffix, sizeof(suffix), "acct_fail");
	gkey(&k, suffix);
	is_int(keyint(c, "PFCOUNT", &k), 2, "distinct failing accounts");
	dsuffix(suffix, sizeof(suffix), "ip_ok");
	gkey(&k, suffix);
	is_int(keyint(c, "PFCOUNT", &k), 2, "distinct ok addresses");
	buf_free(&k);
}

/* check_ttls - every key expires, within the retention */
static void
check_ttls(redisContext *c, const char *what)
{
	redisReply *keys = cmd(c, "KEYS *");
	size_t i, bad = 0;

	for (i = 0; i < keys->elements; i++) {
		redisReply *r = cmd(c, "TTL %b", keys->element[i]->str,
		    keys->element[i]->len);

		if (r->integer <= 0 || r->integer > cf.retention_days * 86400)
			bad++;
		freeReplyObject(r);
	}
	ok(keys->elements > 0 && bad == 0, "%s: all %zu keys have a TTL", what,
	    keys->elements);
	freeReplyObject(keys);
}

/* check_tags - every key is prefix + one well-formed subject tag */
static void
check_tags(redisContext *c)
{
	redisReply *keys = cmd(c, "KEYS *");
	size_t i, j, bad = 0;

	for (i = 0; i < keys->elements; i++) {
		const char *k = keys->element[i]->str, *end;
		size_t n = keys->element[i]->len;

		if (n < 4 || memcmp(k, "fm:{", 4) != 0 ||
		    (end = memchr(k, '}', n)) == NULL) {
			bad++;
			continue;
		}
		if (end - k == 5 && k[4] == 'g')
			continue;
		if (memcmp(k + 4, "a:", 2) == 0) {
			for (j = 6; k + j < end; j++)
				if (strchr("0123456789abcdef", k[j]) == NULL)
					bad++;
		} else if (memcmp(k + 4, "ip:", 3) == 0) {
			for (j = 7; k + j < end; j++)
				if (strchr("0123456789abcdef.:", k[j]) == NULL)
					bad++;
		} else
			bad++;
	}
	ok(bad == 0, "every key carries one clean subject tag");
	freeReplyObject(keys);
}

static void
t_basic(redisContext *c, struct store *s, struct batch *b)
{
	struct fm_event e;
	struct buf k;
	char suffix[32], *str;

	basic_batch(b);
	submit(s, b, 1);
	ok(run(idle, s), "basic batch applied");
	check_basic_account(c);
	check_basic_ip_global(c);

	/* Message-ID in one batch, its qmgr line in the next; a requeue */
	e = ev_new(FM_EV_MSG_ID, "alice", 5, NULL, T0 + 10000000);
	e.queue_id = S("5DEF");
	e.msgid = S("m2@example.org");
	batch_add(b, &e);
	submit(s, b, 2);
	e = ev_new(FM_EV_MSG_QUEUED, "alice", 5, "192.0.2.1", T0 + 11000000);
	e.queue_id = S("5DEF");
	e.size = 10;
	e.nrcpt = 1;
	batch_add(b, &e);
	submit(s, b, 3);
	batch_add(b, &e);	/* qmgr again: a deferred message retried */
	submit(s, b, 4);
	ok(run(idle, s), "message batches applied");
	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "m");
	akey(&k, "alice", 5, suffix);
	is_int(keyint(c, "HLEN", &k), 2, "requeued message recorded once");
	str = hgetx(c, &k, "mx1|5DEF", HISTORY_DAY_M, "alice");
	ok(str && strstr(str, "\"msgid\":\"m2@example.org\"") != NULL,
	    "msgid from an earlier batch merged in");
	free(str);
	dsuffix(suffix, sizeof(suffix), "c");
	akey(&k, "alice", 5, suffix);
	is_int(hget(c, &k, "messages"), 2, "account messages counted once");
	is_int(hget(c, &k, "recipients"), 3, "account recipients counted once");
	gkey(&k, suffix);
	is_int(hget(c, &k, "messages"), 2, "global messages counted once");
	is_int(hget(c, &k, "ev.msg_queued"), 3, "but every qmgr line is an event");
	buf_free(&k);
	check_ttls(c, "basic");
}

static void
t_idempotent(redisContext *c, struct store *s, struct batch *b)
{
	struct buf before, after;
	struct fm_event e;

	buf_init(&before);
	buf_init(&after);
	snapshot(c, &before);
	basic_batch(b);
	submit(s, b, 1);
	e = ev_new(FM_EV_LOGIN_OK, "alice", 5, NULL, T0);
	batch_add(b, &e);
	submit(s, b, 4);	/* seq 4 again, even with other content */
	ok(run(idle, s), "re-sent batches answered");
	snapshot(c, &after);
	ok(before.len > 0 && before.len == after.len &&
	    memcmp(before.data, after.data, before.len) == 0,
	    "re-sending applied batches changes nothing (%zu bytes of keys)",
	    before.len);
	buf_free(&before);
	buf_free(&after);
}

static const struct {
	const char *p;
	size_t n;
} names[] = {
	{ "a\0b", 3 }, { "a", 1 }, { "a{b}", 4 }, { "}", 1 }, { "{", 1 },
	{ "a:b", 3 }, { ":", 1 }, { "a\r\nb", 4 }, { "\xff\xfe", 2 },
	{ "{a:61}", 6 }, { "fm:{g}", 6 }, { "a\0", 2 }, { "\0", 1 },
	{ "a b", 3 }, { "\"", 1 },
};

static void
t_binary(redisContext *c, struct store *s, struct batch *b)
{
	struct fm_event e;
	struct buf k;
	char suffix[32], *str;
	size_t i, good = 0;

	for (i = 0; i < nitems(names); i++) {
		e = ev_new(FM_EV_LOGIN_FAIL, names[i].p, names[i].n,
		    "192.0.2.50", T0);
		e.reason = S("bad\r\n\xff\"x");
		batch_add(b, &e);
	}
	submit(s, b, 5);
	ok(run(idle, s), "binary names applied");
	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "c");
	for (i = 0; i < nitems(names); i++) {
		akey(&k, names[i].p, names[i].n, suffix);
		if (hget(c, &k, "login_fail") == 1)
			good++;
	}
	is_int(good, nitems(names), "each binary name has its own counters");
	dsuffix(suffix, sizeof(suffix), "tried");
	ikey(&k, "192.0.2.50", suffix);
	is_int(keyint(c, "SCARD", &k), nitems(names), "raw names in the ip set");
	{
		redisReply *r = cmd(c, "SISMEMBER %b %b", k.data, k.len,
		    "a\0b", (size_t)3);

		is_int(r->integer, 1, "set member is binary-exact");
		freeReplyObject(r);
	}
	akey(&k, "a\0b", 3, ":logins");
	str = lindex(c, &k, 0);
	ok(str && str[0] != '{' && strstr(str,
	    "\037bad\\r\\n\\u00ff\\\"x") != NULL &&
	    strpbrk(str, "\r\n") == NULL,
	    "compact record: text JSON-escaped in its slot");
	free(str);
	str = lindexx(c, &k, 0);
	ok(str && strstr(str, "\"reason\":\"bad\\r\\n\\u00ff\\\"x\"") != NULL,
	    "record text escaped as JSON");
	free(str);
	buf_free(&k);
	check_tags(c);
}

/* ---- the account and stats commands ---- */

static char fumidai_bin[512], conf_path[320];

/* sh - run a shell command, its stdout into out; the exit status */
static int
sh(struct buf *out, const char *fmt, ...)
{
	char cmdline[2048], chunk[4096];
	va_list ap;
	FILE *fp;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmdline, sizeof(cmdline), fmt, ap);
	va_end(ap);
	buf_reset(out);
	if ((fp = popen(cmdline, "r")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(out, chunk, n);
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
has(const struct buf *b, const char *s)
{
	return b->data != NULL && strstr(b->data, s) != NULL;
}

static void
t_commands(void)
{
	const char *dir = getenv("FM_BUILDDIR");
	struct buf o;
	char line[128];
	FILE *fp;
	int rc;

	snprintf(fumidai_bin, sizeof(fumidai_bin), "%s/fumidai", dir ? dir : ".");
	if (access(fumidai_bin, X_OK) != 0) {
		diag("no %s: account/stats commands not tested", fumidai_bin);
		return;
	}
	snprintf(conf_path, sizeof(conf_path), "%s/fm.conf", tmpdir);
	fp = fopen(conf_path, "w");
	fprintf(fp, "state_dir = \"%s\";\nredis = { socket = \"%s\"; "
	    "prefix = \"fm:\"; };\n", tmpdir, sockpath);
	fclose(fp);
	buf_init(&o);
	rc = sh(&o, "%s account -c %s alice 2>&1", fumidai_bin, conf_path);
	is_int(rc, 0, "account: found");
	if (getenv("FM_STORE_SHOW")) {
		fputs(o.data, stderr);
		sh(&o, "%s account -c %s --json alice", fumidai_bin, conf_path);
		fputs(o.data, stderr);
		sh(&o, "%s stats -c %s; %s stats --json -c %s", fumidai_bin,
		    conf_path, fumidai_bin, conf_path);
		fputs(o.data, stderr);
		sh(&o, "%s account -c %s --hex 610062", fumidai_bin, conf_path);
		fputs(o.data, stderr);
		sh(&o, "%s account -c %s -n 3 --hex fffe", fumidai_bin, conf_path);
		fputs(o.data, stderr);
	}
	ok(has(&o, "  last login     2026-11-24T10:30:00.000000Z from "
	    "192.0.2.1 (imap, PLAIN)\n"), "account: last login line");
	snprintf(line, sizeof(line), "  %-16s %12lld %12lld %12lld\n",
	    "logins failed", 0LL, 3LL, 3LL);
	ok(has(&o, line), "account: failures yesterday, in 7 days and total");
	ok(has(&o, "ok    192.0.2.1") && has(&o, "4ABC from=alice@example.org"),
	    "account: roll-up and messages shown");
	rc = sh(&o, "%s account -c %s --json alice | perl -MJSON::PP -0777 "
	    "-ne 'print encode_json(decode_json($_))'", fumidai_bin, conf_path);
	ok(rc == 0 && has(&o, "\"found\":true") &&
	    has(&o, "\"login_fail\":3"), "account --json is valid JSON");
	rc = sh(&o, "%s account -c %s nobody 2>&1", fumidai_bin, conf_path);
	ok(rc == 1 && has(&o, "nothing recorded"), "account: unknown is 1");
	rc = sh(&o, "%s account -c %s --hex 610062 2>&1", fumidai_bin, conf_path);
	ok(rc == 0 && has(&o, "account a\\x00b\n"),
	    "account --hex: binary name found, escaped");
	rc = sh(&o, "%s account -c %s --json --hex fffe0a | perl -MJSON::PP "
	    "-0777 -ne 'decode_json($_); print \"valid\"'", fumidai_bin,
	    conf_path);
	ok(rc == 0 && has(&o, "valid"), "account --json: invalid UTF-8 name");
	rc = sh(&o, "%s account -c %s 2>&1", fumidai_bin, conf_path);
	is_int(rc, 2, "account without a name: usage");
	rc = sh(&o, "%s stats -c %s 2>&1", fumidai_bin, conf_path);
	snprintf(line, sizeof(line), "  %-16s %12lld %14lld\n", "login_fail",
	    0LL, 4LL + (long long)nitems(names));
	ok(rc == 0 && has(&o, line), "stats: global counters");
	rc = sh(&o, "%s stats -c %s --json | perl -MJSON::PP -0777 -ne "
	    "'$j = decode_json($_); print $j->{total}{events}{login_fail}'",
	    fumidai_bin, conf_path);
	ok(rc == 0 && o.data && strcmp(o.data, "17") == 0,
	    "stats --json is valid JSON, events by kind");
	buf_free(&o);
}

/* Groups larger than Lua's unpack limit are split. */
static void
t_big(redisContext *c, struct store *s, struct batch *b)
{
	struct store_stats st;
	struct fm_event e;
	struct buf k;
	char ip[32], name[32], suffix[32], *str;
	long long hll;
	int i;

	for (i = 0; i < 2500; i++) {
		snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 250, i % 250);
		e = ev_new(FM_EV_LOGIN_FAIL, "big", 3, ip, T0);
		batch_add(b, &e);
		snprintf(name, sizeof(name), "guess%d", i);
		e = ev_new(FM_EV_LOGIN_FAIL, name, strlen(name), "192.0.2.66",
		    T0);
		batch_add(b, &e);
	}
	submit(s, b, 6);
	ok(run(idle, s), "big batch applied");
	store_stats(s, &st);
	is_int(st.errors, 0, "without errors");
	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "c");
	akey(&k, "big", 3, suffix);
	is_int(hget(c, &k, "login_fail"), 2500, "2500 failures counted");
	is_int(keyint(c, "HLEN", &k), 2, "no roll-up or hour in :c:");
	dsuffix(suffix, sizeof(suffix), "lr");
	akey(&k, "big", 3, suffix);
	is_int(keyint(c, "HLEN", &k), SCRIPTS_ROLLUP_CAP + 1,
	    "roll-ups capped, plus the overflow field");
	str = hgetx(c, &k, "fail|*|imap", HISTORY_DAY_LR, "big");
	ok(str && strncmp(str, "{\"n\":1500,", 10) == 0,
	    "the overflow field counts the rest");
	free(str);
	akey(&k, "big", 3, ":logins");
	is_int(keyint(c, "LLEN", &k), cf.history_max, "history capped");
	dsuffix(suffix, sizeof(suffix), "tried");
	ikey(&k, "192.0.2.66", suffix);
	is_int(keyint(c, "SCARD", &k), SCRIPTS_SET_CAP, "tried set capped");
	dsuffix(suffix, sizeof(suffix), "tried_hll");
	ikey(&k, "192.0.2.66", suffix);
	hll = keyint(c, "PFCOUNT", &k);
	ok(hll > 2400 && hll < 2600, "HyperLogLog counts beyond the cap (%lld)",
	    hll);
	buf_free(&k);
}

/* A batch of nfail failures of accounts o0..o(nacct-1), cycling. */
static void
load_batch(struct batch *b, int seq, int nev, int nacct)
{
	struct fm_event e;
	char name[32];
	int i;

	for (i = 0; i < nev; i++) {
		int a = (seq * nev + i) % nacct;

		snprintf(name, sizeof(name), "o%d", a);
		e = ev_new(FM_EV_LOGIN_FAIL, name, strlen(name), "192.0.2.77",
		    T0 + (int64_t)seq * 1000);
		batch_add(b, &e);	/* copies the name */
	}
}

/* check_load - accounts o* got exactly nbatch * nev failures in total */
static void
check_load(redisContext *c, int nbatch, int nev, int nacct, const char *what)
{
	struct buf k;
	char name[32], suffix[32];
	long long sum = 0;
	int a;

	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "c");
	for (a = 0; a < nacct; a++) {
		snprintf(name, sizeof(name), "o%d", a);
		akey(&k, name, strlen(name), suffix);
		sum += hget(c, &k, "login_fail");
	}
	is_int(sum, (long long)nbatch * nev, what);
	ikey(&k, "192.0.2.77", suffix);
	is_int(hget(c, &k, "login_fail"), (long long)nbatch * nev,
	    "ip counter exact too");
	buf_free(&k);
}

static void
flush(redisContext *c)
{
	freeReplyObject(cmd(c, "FLUSHALL"));
}

static struct stat
spool_stat(void)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	stat(spoolpath, &st);
	return st;
}

/* Redis down from the start: memory queue, then spool, then Redis. */
static void
t_outage_start(struct batch *b)
{
	struct store_stats st;
	struct store *s;
	redisContext *c;
	int i;

	redis_kill(SIGTERM);
	cf.queue_max_bytes = 3000;
	acks_reset();
	s = new_store();
	for (i = 1; i <= 20; i++) {
		load_batch(b, i, 30, 7);
		submit(s, b, (uint64_t)i);
	}
	ok(run(all_acked, s), "batches acked while Redis is down");
	store_stats(s, &st);
	ok(st.spooled == 20 && st.spool_bytes > 0 && !st.connected,
	    "all of them spooled (%llu)", (unsigned long long)st.spooled);
	redis_start();
	ok(run(idle, s), "spool sent once Redis is up");
	is_int(spool_stat().st_size, 0, "spool emptied");
	c = rconnect();
	check_load(c, 20, 30, 7, "outage at start: exact counts");
	is_int(ack_disorder, 0, "acks in submission order");
	store_free(s);
	flush(c);
	redisFree(c);
	cf.queue_max_bytes = 1 << 20;
}

/* SIGKILL redis-server with commands in flight, restart it. */
static void
t_kill(struct batch *b)
{
	struct store_stats st;
	struct store *s;
	redisContext *c;
	int i;

	acks_reset();
	s = new_store();
	ok(run(idle, s), "connected");
	for (i = 1; i <= 60; i++) {
		load_batch(b, i, 200, 50);
		submit(s, b, (uint64_t)i);
	}
	ok(run(some_acked, s), "some batches answered");
	store_stats(s, &st);
	diag("killing redis-server with %zu bytes of batches unanswered",
	    st.backlog_bytes);
	redis_kill(SIGKILL);
	for (i = 61; i <= 80; i++) {
		load_batch(b, i, 200, 50);
		submit(s, b, (uint64_t)i);
	}
	ok(run(all_acked, s), "rest spooled while Redis is dead");
	redis_start();
	ok(run(idle, s), "all applied after restart");
	c = rconnect();
	check_load(c, 80, 200, 50, "SIGKILL mid-stream: exact counts");
	check_ttls(c, "after restart");
	is_int(ack_disorder, 0, "acks in submission order");
	store_free(s);
	flush(c);
	redisFree(c);
}

/* A spool left by a crashed run is sent by the next store. */
static void
t_crash_spool(struct batch *b)
{
	struct store *s;
	redisContext *c;
	int i;

	redis_kill(SIGTERM);
	cf.queue_max_bytes = 0;
	acks_reset();
	s = new_store();
	for (i = 1; i <= 10; i++) {
		load_batch(b, i, 20, 5);
		submit(s, b, (uint64_t)i);
	}
	is_int(store_pending(s), 0, "queue_max_bytes 0: spooled at once");
	store_free(s);		/* a crash: no drain */
	ok(spool_stat().st_size > 0, "spool left behind");
	redis_start();
	s = new_store();
	ok(run(idle, s), "next store sends it");
	c = rconnect();
	check_load(c, 10, 20, 5, "spool of a crashed run: exact counts");
	store_free(s);
	flush(c);
	redisFree(c);
	cf.queue_max_bytes = 1 << 20;
}

/* A record torn by a crash is dropped; those before it are sent. */
static void
t_torn(struct batch *b)
{
	struct store *s;
	redisContext *c;
	struct stat st;
	int i;

	redis_kill(SIGTERM);
	cf.queue_max_bytes = 0;
	s = new_store();
	for (i = 1; i <= 5; i++) {
		load_batch(b, i, 10, 5);
		submit(s, b, (uint64_t)i);
	}
	store_free(s);
	st = spool_stat();
	ok(truncate(spoolpath, st.st_size - 7) == 0, "spool tail torn");
	redis_start();
	s = new_store();
	ok(run(idle, s), "intact records sent");
	c = rconnect();
	check_load(c, 4, 10, 5, "torn record dropped, the 4 before applied");
	store_free(s);
	flush(c);

	/* garbage appended after valid records */
	redis_kill(SIGTERM);
	s = new_store();
	for (i = 1; i <= 3; i++) {
		load_batch(b, i, 10, 5);
		submit(s, b, (uint64_t)i);
	}
	store_free(s);
	{
		int fd = open(spoolpath, O_WRONLY | O_APPEND);

		ok(fd >= 0 && write(fd, "FMS1\x05\0\0\0garbage!", 16) == 16,
		    "junk appended");
		close(fd);
	}
	redis_start();
	s = new_store();
	ok(run(idle, s), "records before the junk sent");
	redisFree(c);
	c = rconnect();
	check_load(c, 3, 10, 5, "junk tail dropped");
	store_free(s);
	flush(c);
	redisFree(c);
	cf.queue_max_bytes = 1 << 20;
}

/* A full spool stops acknowledging; nothing is lost. */
static void
t_spool_full(struct batch *b)
{
	struct store_stats st;
	struct store *s;
	redisContext *c;
	int i;

	redis_kill(SIGTERM);
	cf.queue_max_bytes = 0;
	cf.spool_max_bytes = 20000;
	acks_reset();
	s = new_store();
	for (i = 1; i <= 10; i++) {
		load_batch(b, i, 20, 4);
		submit(s, b, (uint64_t)i);
	}
	store_stats(s, &st);
	ok(st.spooled > 0 && store_pending(s) > 0 &&
	    st.spool_bytes <= cf.spool_max_bytes,
	    "spool full: %llu spooled, %zu batches not acknowledged",
	    (unsigned long long)st.spooled, store_pending(s));
	redis_start();
	ok(run(idle, s), "all applied once Redis is back");
	c = rconnect();
	check_load(c, 10, 20, 4, "spool full: exact counts");
	is_int(ack_disorder, 0, "acks in submission order");
	store_free(s);
	flush(c);
	redisFree(c);
	cf.queue_max_bytes = 1 << 20;
	cf.spool_max_bytes = 1 << 30;
}

/* store_drain with Redis down completes by spooling. */
static void
t_drain(struct batch *b)
{
	struct store_stats st;
	struct store *s;
	redisContext *c;
	int i;

	redis_kill(SIGTERM);
	s = new_store();
	for (i = 1; i <= 4; i++) {
		load_batch(b, i, 10, 3);
		submit(s, b, (uint64_t)i);
	}
	is_int(store_pending(s), 4, "batches wait in memory");
	drained = 0;
	store_drain(s, drained_cb, NULL);
	ok(run(is_drained, s), "drain completes with Redis down");
	store_stats(s, &st);
	ok(store_pending(s) == 0 && st.spool_bytes > 0, "by spooling");
	store_free(s);
	redis_start();
	s = new_store();
	ok(run(idle, s), "spool sent by the next run");
	c = rconnect();
	check_load(c, 4, 10, 3, "drained batches applied");
	store_free(s);
	flush(c);
	redisFree(c);
}

/* NOSCRIPT (script cache flushed) and a poisoned batch. */
static void
t_errors(struct batch *b)
{
	struct store_stats st;
	struct fm_event e;
	struct store *s;
	redisContext *c = rconnect();
	struct buf k;
	char suffix[32];

	s = new_store();
	ok(run(idle, s), "connected");
	freeReplyObject(cmd(c, "SCRIPT FLUSH"));
	load_batch(b, 1, 10, 2);
	submit(s, b, 1);
	ok(run(idle, s), "applied after NOSCRIPT");
	check_load(c, 1, 10, 2, "NOSCRIPT: reloaded and re-sent");
	store_stats(s, &st);
	is_int(st.errors, 0, "NOSCRIPT is not an error");

	buf_init(&k);
	dsuffix(suffix, sizeof(suffix), "c");
	akey(&k, "poison", 6, suffix);
	freeReplyObject(cmd(c, "SET %b x", k.data, k.len));
	e = ev_new(FM_EV_LOGIN_OK, "poison", 6, "192.0.2.5", T0);
	batch_add(b, &e);
	e = ev_new(FM_EV_LOGIN_OK, "healthy", 7, "192.0.2.5", T0);
	batch_add(b, &e);
	submit(s, b, 2);
	batch_add(b, &e);
	submit(s, b, 3);
	ok(run(idle, s), "poisoned batch acknowledged");
	store_stats(s, &st);
	is_int(st.errors, 1, "its error counted");
	akey(&k, "healthy", 7, suffix);
	is_int(hget(c, &k, "login_ok"), 2, "other subjects applied");
	submit(s, b, 4);	/* empty batch */
	ok(run(idle, s), "empty batch acknowledged");
	buf_free(&k);
	store_free(s);
	flush(c);
	redisFree(c);
}

/* TCP on loopback, AUTH and SELECT. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
t_auth(struct batch *b)
{
	struct fumidai saved = cf;
	struct store *s;
	redisContext *c;
	char portstr[16], err[256];
	pid_t pid;
	int port = free_port(), i;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((pid = fork()) == 0) {
		execl(REDIS_SERVER_PATH, "redis-server", "--port", portstr,
		    "--bind", "127.0.0.1", "--requirepass", "s3cret", "--save",
		    "", "--appendonly", "no", "--dir", tmpdir, "--logfile",
		    "/dev/null", (char *)NULL);
		_exit(127);
	}
	cf.redis.socket = NULL;
	cf.redis.host = "127.0.0.1";
	cf.redis.port = port;
	cf.redis.password = "s3cret";
	cf.redis.db = 3;
	for (i = 0; i < 1000 && (c = store_connect_sync(&cf, err,
	    sizeof(err))) == NULL; i++)
		usleep(10000);
	ok(c != NULL, "sync connect with AUTH and SELECT");
	s = new_store();
	load_batch(b, 1, 10, 2);
	submit(s, b, 1);
	ok(run(idle, s), "applied over TCP with AUTH");
	check_load(c, 1, 10, 2, "written to db 3");
	store_free(s);
	redisFree(c);
	cf.redis.password = "wrong";
	c = store_connect_sync(&cf, err, sizeof(err));
	ok(c == NULL && strstr(err, "AUTH") != NULL, "wrong password: %s", err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cf = saved;
}

/* ---- throughput ---- */

static int
below16(struct store *s)
{
	return store_pending(s) < 16;
}

static void
bench(long n, int nacct, int authpct)
{
	static const char *svc[] = { "imap", "pop3", "submission", "smtp" };
	struct batch b;
	struct fm_event e;
	struct store *s;
	char name[32], ip[32];
	int64_t t0, t1;
	long i;
	uint64_t seq = 0;

	batch_init(&b);
	s = new_store();
	run(idle, s);
	t0 = mono_us();
	for (i = 0; i < n; i++) {
		unsigned h = (unsigned)(i * 2654435761u);
		int a = (int)(h % (unsigned)nacct), k = (int)(h >> 8) % 10;

		snprintf(name, sizeof(name), "user%d@example.org", a);
		/* two addresses per account; failures from 500 attackers */
		if (k >= 5 && k < 7)
			snprintf(ip, sizeof(ip), "172.16.%u.%u", (h >> 4) % 2,
			    (h >> 12) % 250);
		else
			snprintf(ip, sizeof(ip), "10.%d.%d.%u", a / 250 % 250,
			    a % 250, (h >> 4) % 2);
		e = ev_new(k < 5 ? FM_EV_LOGIN_OK : k < 7 ? FM_EV_LOGIN_FAIL :
		    k < 8 ? FM_EV_MSG_QUEUED : FM_EV_DELIVERY, name,
		    strlen(name), ip, T0 + i * 1000);
		e.service = S(svc[h % 4]);
		e.status = S("sent");
		e.queue_id = S(name);
		e.nrcpt = 1;
		if ((int)(h % 100) >= authpct) {
			/* the rest of a mail log: only the global subject */
			e.kind = k < 4 ? FM_EV_CONNECT : k < 8 ?
			    FM_EV_DISCONNECT : FM_EV_DELIVERY;
			e.account.len = 0;
		}
		batch_add(&b, &e);
		if (b.nev == 1000 || i == n - 1) {
			b.stream = "bench";
			b.seq = ++seq;
			store_submit(s, &b);
			batch_reset(&b);
			run(below16, s);
		}
	}
	run(idle, s);
	t1 = mono_us();
	printf("%ld events (%d%% with an account), %d accounts, %llu batches: "
	    "%.0f events/s (%.2f s)\n", n, authpct, nacct,
	    (unsigned long long)seq,
	    (double)n * 1e6 / (double)(t1 - t0), (double)(t1 - t0) / 1e6);
	{
		redisContext *c = rconnect();
		redisReply *r = cmd(c, "INFO commandstats");
		char *p = r->str, *q;

		while ((p = strstr(p, "cmdstat_")) != NULL &&
		    (q = strchr(p, '\r')) != NULL) {
			if (getenv("FM_STORE_SHOW") || strncmp(p,
			    "cmdstat_evalsha:", 16) == 0)
				printf("%.*s\n", (int)(q - p), p);
			p = q;
		}
		freeReplyObject(r);
		r = cmd(c, "DBSIZE");
		printf("keys: %lld\n", r->integer);
		freeReplyObject(r);
		redisFree(c);
	}
	store_free(s);
	batch_free(&b);
}

static void
setup(void)
{
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 24,
	    .tm_hour = 10, .tm_min = 30 };

	if (access(REDIS_SERVER_PATH, X_OK) != 0)
		skip_all("redis-server not installed");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fm-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	snprintf(sockpath, sizeof(sockpath), "%s/redis.sock", tmpdir);
	snprintf(spoolpath, sizeof(spoolpath), "%s/store.spool", tmpdir);
	T0 = (int64_t)timegm(&tm) * 1000000;
	cf.instance = "test";
	cf.state_dir = tmpdir;
	cf.redis.socket = sockpath;
	cf.redis.prefix = "fm:";
	cf.redis.connect_timeout_ms = 2000;
	cf.redis.retry_max_ms = 200;
	cf.retention_days = 180;
	cf.history_max = 50;
	cf.queue_max_bytes = 1 << 20;
	cf.spool_max_bytes = 1 << 30;
	log_init(LOG_TO_STDERR, 0);
	base = event_base_new();
}

int
main(int argc, char **argv)
{
	struct batch b;
	struct store *s;
	redisContext *c;

	setup();
	redis_persist = !(argc > 1 && strcmp(argv[1], "bench") == 0);
	redis_start();
	if (argc > 1 && strcmp(argv[1], "bench") == 0) {
		bench(argc > 2 ? atol(argv[2]) : 200000,
		    argc > 3 ? atoi(argv[3]) : 10000,
		    argc > 4 ? atoi(argv[4]) : 100);
		event_base_free(base);
		return 0;
	}
	batch_init(&b);
	c = rconnect();
	t_keys();
	t_sha(c);
	s = new_store();
	t_basic(c, s, &b);
	t_idempotent(c, s, &b);
	t_binary(c, s, &b);
	t_commands();
	t_big(c, s, &b);
	store_free(s);
	flush(c);
	redisFree(c);
	t_outage_start(&b);
	t_kill(&b);
	t_crash_spool(&b);
	t_torn(&b);
	t_drain(&b);
	t_spool_full(&b);
	t_errors(&b);
	t_auth(&b);
	batch_free(&b);
	event_base_free(base);
	return done_testing();
}
