/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web_feedback.c - POST /api/me/feedback: an owner says of one of their
 * logins (a day's roll-up, "<result>|<ip>|<service>") "this was me" or
 * "this wasn't me".
 *
 * Both verdicts mark the login: {a:<hex>}:marks, field
 * "<day>|<result>|<ip>|<service>" -> {"verdict","time"}.  "notme" files a
 * high-severity `owner_report` alert with the post script (scripts.c), the
 * way the detectors' alerts are filed, so the notifiers, the policy
 * server's flags and the block list treat it as any other alert; its id
 * is derived from the account and the login, so reporting one login twice
 * files one alert.  "me" teaches the detectors the login's place: the
 * learn script below adds its country and ASN (GeoIP of the address, as
 * the pipeline locates it) to the account's learned places in its detector
 * state ({a:<hex>}:det, detect.lua's S.cc and S.as), so that new_country
 * and new_asn stay quiet for it from then on.
 *
 * SECURITY: the body is bounded by evhttp and parsed with show_json_get;
 * day, result, address and service are checked against a strict syntax
 * and the login must exist in the owner's own history; the account is the
 * one of the owner's token.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>

#include "compact.h"
#include "geo.h"
#include "log.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "web.h"
#include "web_api.h"

/*
 * The learn script.  KEYS[1] <prefix>{a:<hex>}:det; ARGV cc country_name
 * asn org t ttl.  A place the state does not know yet is added as
 * detect.lua's seen() would add it after one login at t ({n, f, l, nm});
 * a known one is left alone.  The key keeps its time to live (ttl when it
 * had none).  Returns the places added ("cc:JP", "asn:64500").
 */
static const char learn_lua[] =
"-- fumidai learn v1: an owner's \"this was me\" teaches the place\n"
"local v = redis.call('GET', KEYS[1])\n"
"local S = v and cmsgpack.unpack(v) or {}\n"
"S.cc = S.cc or {}\n"
"S.as = S.as or {}\n"
"local t, out = tonumber(ARGV[5]), {}\n"
"local function learn(M, key, name, field)\n"
"  if key == '' or key == '0' or M[key] then return end\n"
"  M[key] = {n = 1, f = t, l = t, nm = name}\n"
"  out[#out + 1] = field .. key\n"
"end\n"
"learn(S.cc, ARGV[1], ARGV[2], 'cc:')\n"
"learn(S.as, ARGV[3], ARGV[4], 'asn:')\n"
"if #out > 0 then\n"
"  local pt = redis.call('PTTL', KEYS[1])\n"
"  if pt > 0 then\n"
"    redis.call('SET', KEYS[1], cmsgpack.pack(S), 'PX', pt)\n"
"  else\n"
"    redis.call('SET', KEYS[1], cmsgpack.pack(S), 'EX', ARGV[6])\n"
"  end\n"
"end\n"
"return out\n";

/* One owner's verdict, checked. */
struct verdict {
	char day[9];
	struct buf key;		/* result|ip|service */
	struct buf ip, service, result;
	int me;
};

const char *
web_learn_text(void)
{
	return learn_lua;
}

/* parse - the body into v; -1 with a reason */
static int
parse(const char *p, size_t n, struct verdict *v, const char **why)
{
	struct buf t;
	const char *a, *b;
	uint8_t af, addr[16];
	size_t i;
	int rc = -1;

	buf_init(&t);
	*why = "expected {\"day\":\"YYYYMMDD\",\"key\":\"result|ip|service\","
	    "\"verdict\":\"me\"|\"notme\"}";
	if (show_json_get(p, n, "verdict", &t) == -1 || t.len == 0 ||
	    (strcmp(t.data, "me") != 0 && strcmp(t.data, "notme") != 0))
		goto out;
	v->me = strcmp(t.data, "me") == 0;
	/* YYYYMMDD, or YYYY-MM-DD as the roll-ups show it */
	if (show_json_get(p, n, "day", &t) == -1 || (t.len != 8 &&
	    (t.len != 10 || t.data[4] != '-' || t.data[7] != '-')))
		goto out;
	if (t.len == 10) {
		memmove(t.data + 4, t.data + 5, 2);
		memmove(t.data + 6, t.data + 8, 3);
		t.len = 8;
	}
	for (i = 0; i < 8; i++)
		if (t.data[i] < '0' || t.data[i] > '9')
			goto out;
	memcpy(v->day, t.data, 9);
	if (show_json_get(p, n, "key", &v->key) == -1 || v->key.len == 0 ||
	    v->key.len > 256 ||
	    (a = memchr(v->key.data, '|', v->key.len)) == NULL ||
	    (b = memchr(a + 1, '|', v->key.len - (size_t)(a + 1 -
	    v->key.data))) == NULL)
		goto out;
	buf_add(&v->result, v->key.data, (size_t)(a - v->key.data));
	buf_add(&v->ip, a + 1, (size_t)(b - a - 1));
	buf_add(&v->service, b + 1, v->key.len - (size_t)(b + 1 - v->key.data));
	if (v->result.len == 0 || (strcmp(v->result.data, "ok") != 0 &&
	    strcmp(v->result.data, "fail") != 0) || v->service.len == 0 ||
	    v->service.len > 32 || memchr(v->service.data, '|',
	    v->service.len) != NULL || (v->ip.len > 0 && strcmp(v->ip.data,
	    "*") != 0 && addr_parse(v->ip.data, v->ip.len, &af, addr) == -1))
		goto out;
	rc = 0;
out:
	buf_free(&t);
	return rc;
}

/* has_field - hash reply r (field, value, ...) holds field f */
static int
has_field(const redisReply *r, const struct buf *f)
{
	size_t i;

	for (i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    r->element[i]->len == f->len &&
		    memcmp(r->element[i]->str, f->data, f->len) == 0)
			return 1;
	return 0;
}

/* login_exists - the day's roll-up of the account (archived or not) has
 * the login */
static int
login_exists(struct web *w, const struct buf *acct, const struct verdict *v)
{
	static const char *const where[] = { "lr", "c" };
	redisReply *r[2];
	size_t i;
	int found = 0;

	for (i = 0; i < 2 && w->rc != NULL; i++)
		compact_day_cmd(w->rc, w->cf, acct->data, acct->len, where[i],
		    v->day);
	if (api_replies(w, r, 2) == -1) {
		api_free_replies(r, 2);		/* one may have come */
		return -1;
	}
	for (i = 0; i < 2; i++) {
		compact_day_reply(&r[i], where[i]);
		if (has_field(r[i], &v->key))
			found = 1;
		/* Redis lost its scripts: reconnect (and load them) next time */
		if (r[i] != NULL && r[i]->type == REDIS_REPLY_ERROR &&
		    strncmp(r[i]->str, "NOSCRIPT", 8) == 0)
			found = -1;
	}
	api_free_replies(r, 2);
	if (found == -1)
		web_redis_lost(w);
	return found;
}

/* command - one synchronous command (argv); 0, or -1 (logged) */
static int
command(struct web *w, int argc, const char **argv, const size_t *lens,
    redisReply **out)
{
	redisReply *r;

	if (w->rc == NULL)
		return -1;
	if ((r = redisCommandArgv(w->rc, argc, argv, lens)) == NULL) {
		web_redis_lost(w);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("service=web msg=\"Redis: %s\"", r->str);
		freeReplyObject(r);
		return -1;
	}
	if (out != NULL)
		*out = r;
	else
		freeReplyObject(r);
	return 0;
}

/* mark - {a:<hex>}:marks "<day>|<key>" -> {"verdict","time"} */
static int
mark(struct web *w, const struct buf *acct, const struct verdict *v,
    int64_t now)
{
	struct buf k, f, val;
	char ttl[24];
	const char *argv[4];
	size_t lens[4];
	int rc;

	buf_init(&k);
	buf_init(&f);
	buf_init(&val);
	store_key_account(&k, w->cf, acct->data, acct->len, ":marks");
	buf_printf(&f, "%s|", v->day);
	buf_add(&f, v->key.data, v->key.len);
	buf_printf(&val, "{\"verdict\":\"%s\",\"time\":", v->me ? "me" :
	    "notme");
	api_iso(&val, now);
	buf_addc(&val, '}');
	argv[0] = "HSET", argv[1] = k.data, argv[2] = f.data, argv[3] = val.data;
	lens[0] = 4, lens[1] = k.len, lens[2] = f.len, lens[3] = val.len;
	rc = command(w, 4, argv, lens, NULL);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)w->cf->retention_days *
	    86400);
	argv[0] = "EXPIRE", argv[2] = ttl;
	lens[0] = 6, lens[2] = strlen(ttl);
	if (rc == 0)
		rc = command(w, 3, argv, lens, NULL);
	buf_free(&k);
	buf_free(&f);
	buf_free(&val);
	return rc;
}

/* report - file the owner_report alert through the post script */
static int
report(struct web *w, const struct buf *acct, const struct verdict *v,
    int64_t now)
{
	struct buf k, j, id;
	char sha[41], ttl[24], maxlen[24], recent[24], bttl[24], last[24];
	const char *argv[16];
	size_t lens[16], i;
	int rc;

	buf_init(&k);
	buf_init(&j);
	buf_init(&id);
	buf_adds(&id, "owner_report");
	buf_addc(&id, '\0');
	hex_encode(&id, acct->data, acct->len);
	buf_printf(&id, "%c%s|", '\0', v->day);
	buf_add(&id, v->key.data, v->key.len);
	scripts_sha1_hex(id.data, id.len, sha);
	sha[16] = '\0';
	buf_printf(&j, "{\"id\":\"%s\",\"kind\":\"owner_report\",\"severity\":"
	    "\"high\",\"account\":\"", sha);
	scripts_json_bin(&j, acct->data, acct->len);
	buf_adds(&j, "\",\"ip\":\"");
	scripts_json_bin(&j, v->ip.data, v->ip.len);
	buf_adds(&j, "\",\"net\":\"\",\"time\":");
	api_iso(&j, now);
	buf_adds(&j, ",\"first\":");
	api_iso(&j, now);
	buf_adds(&j, ",\"last\":");
	api_iso(&j, now);
	buf_adds(&j, ",\"until\":");
	api_iso(&j, now);
	buf_adds(&j, ",\"count\":1,\"summary\":\"the account's owner reports "
	    "a login they did not make: ");
	scripts_json_bin(&j, v->service.data, v->service.len);
	buf_adds(&j, " from ");
	scripts_json_bin(&j, v->ip.data, v->ip.len);
	buf_printf(&j, " on %.4s-%.2s-%.2s\",\"evidence\":{\"day\":\"%s\","
	    "\"result\":\"", v->day, v->day + 4, v->day + 6, v->day);
	scripts_json_bin(&j, v->result.data, v->result.len);
	buf_adds(&j, "\",\"service\":\"");
	scripts_json_bin(&j, v->service.data, v->service.len);
	buf_adds(&j, "\",\"reported_by\":\"owner\"}}");
	scripts_tag_global(&k, w->cf);
	buf_adds(&k, ":alerts");
	snprintf(ttl, sizeof(ttl), "%lld", (long long)w->cf->retention_days *
	    86400);
	snprintf(maxlen, sizeof(maxlen), "%d", SCRIPTS_ALERTS_MAX);
	snprintf(recent, sizeof(recent), "%d", w->cf->policy.flag_recent);
	snprintf(bttl, sizeof(bttl), "%d", w->cf->blocklist.ttl);
	snprintf(last, sizeof(last), "%lld", (long long)now);
	argv[0] = "EVAL", argv[1] = scripts_post_text(), argv[2] = "1";
	argv[3] = k.data, argv[4] = ttl, argv[5] = maxlen;
	argv[6] = w->cf->policy.flag_kinds ? w->cf->policy.flag_kinds : "";
	argv[7] = w->cf->blocklist.kinds ? w->cf->blocklist.kinds : "";
	argv[8] = recent, argv[9] = bttl, argv[10] = sha, argv[11] = "1";
	/* id version kind json opened last: opened now, so json twice */
	argv[12] = "owner_report", argv[13] = j.data, argv[14] = j.data;
	argv[15] = last;
	for (i = 0; i < 16; i++)
		lens[i] = strlen(argv[i]);
	lens[3] = k.len;
	lens[13] = lens[14] = j.len;
	rc = command(w, 16, argv, lens, NULL);
	if (rc == 0)
		log_info("service=web alert=%s kind=owner_report msg=\"owner "
		    "reported a login\"", sha);
	buf_free(&k);
	buf_free(&j);
	buf_free(&id);
	return rc;
}

/* learn - the place of v's address into the account's detector state */
static int
learn(struct web *w, const struct buf *acct, const struct verdict *v,
    int64_t now, struct buf *out)
{
	struct geo_result g;
	struct buf k;
	redisReply *r = NULL;
	char asn[16], t[24], ttl[24];
	struct geo *geo;
	const char *argv[10];
	size_t lens[10], i;
	uint8_t af, addr[16];
	int rc;

	buf_adds(out, "[");
	memset(&g, 0, sizeof(g));
	if ((geo = web_geo(w)) == NULL || addr_parse(v->ip.data, v->ip.len, &af,
	    addr) == -1 || geo_lookup(geo, af, addr, &g) != 1) {
		buf_adds(out, "]");
		return 0;	/* no place known: only the mark */
	}
	buf_init(&k);
	store_key_account(&k, w->cf, acct->data, acct->len, ":det");
	snprintf(asn, sizeof(asn), "%u", g.asn);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)w->cf->retention_days *
	    86400);
	argv[0] = "EVAL", argv[1] = learn_lua, argv[2] = "1", argv[3] = k.data;
	argv[4] = g.country, argv[5] = g.country_name, argv[6] = asn;
	argv[7] = g.asn_org, argv[8] = t, argv[9] = ttl;
	for (i = 0; i < 10; i++)
		lens[i] = strlen(argv[i]);
	lens[3] = k.len;
	rc = command(w, 10, argv, lens, &r);
	for (i = 0; rc == 0 && r->type == REDIS_REPLY_ARRAY &&
	    i < r->elements; i++) {
		buf_adds(out, i ? "," : "");
		api_text(out, r->element[i]->str, r->element[i]->len);
	}
	buf_adds(out, "]");
	if (r != NULL)
		freeReplyObject(r);
	buf_free(&k);
	return rc;
}

void
web_feedback(struct web *w, struct evhttp_request *req,
    const struct web_who *who)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct verdict v;
	struct buf body, learned, b;
	const char *why;
	int64_t now = now_us() / 1000000;
	ev_ssize_t got;
	int found;

	if (!who->owner) {
		web_error(req, 401, "authentication required");
		return;
	}
	memset(&v, 0, sizeof(v));
	buf_init(&v.key);
	buf_init(&v.ip);
	buf_init(&v.service);
	buf_init(&v.result);
	buf_init(&body);
	buf_init(&learned);
	buf_init(&b);
	buf_reserve(&body, evbuffer_get_length(in) + 1);
	got = evbuffer_copyout(in, body.data, evbuffer_get_length(in));
	body.len = got > 0 ? (size_t)got : 0;	/* -1: a frozen buffer */
	body.data[body.len] = '\0';
	if (parse(body.data, body.len, &v, &why) == -1)
		web_error(req, 400, why);
	else if (web_redis(w) == NULL ||
	    (found = login_exists(w, &who->acct, &v)) == -1)
		web_error(req, 503, "Redis is not reachable");
	else if (!found)
		web_error(req, 404, "no such login in your history");
	else if (mark(w, &who->acct, &v, now) == -1 ||
	    (!v.me && report(w, &who->acct, &v, now) == -1) ||
	    (v.me && learn(w, &who->acct, &v, now, &learned) == -1))
		web_error(req, 503, "Redis could not record it");
	else {
		buf_adds(&b, "{\"ok\":true");
		if (v.me) {
			buf_adds(&b, ",\"learned\":");
			buf_add(&b, learned.data, learned.len);
		}
		buf_adds(&b, "}\n");
		web_json(req, 200, &b);
	}
	buf_free(&v.key);
	buf_free(&v.ip);
	buf_free(&v.service);
	buf_free(&v.result);
	buf_free(&body);
	buf_free(&learned);
	buf_free(&b);
}
