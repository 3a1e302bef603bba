/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify_owner.c - the "owner" notifier: tells an account's owner, by
 * mail in their language and time zone, that their account logged in in
 * a way that looks like someone else (new_country, new_asn,
 * impossible_travel, success_after_failures, success_from_sprayer).
 * Every other alert kind, and an alert without an account, is
 * acknowledged (FM_NOTIFY_OK) without mail: narrow further with `kinds`.
 *
 * The owner's address is, in this order: the account's line in the `map`
 * file ("account address", '#' comments; read again when it changes),
 * the account itself when it is an address, account@`domain` when the
 * account is a plain local part; else the alert is dropped.  Language
 * (`languages` = ["KEY:LANG", ...], default `language`) and zone
 * (`timezones` = ["KEY:ZONE", ...], default `timezone`) are looked up by
 * account, then owner address, then the domain of each.  The text comes
 * from the template `templates`/owner.LANG.txt (mailmsg.h describes the
 * format; the shipped ones list the sections and ${vars}).  The message
 * goes out through the core's smtp_send (relay or sendmail settings);
 * per-account rate limits are the core's (per_account).
 *
 * SECURITY: the account name, places and organisations come from logs and
 * GeoIP data: they reach the message only through mm_clean (body) and
 * mm_header (RFC 2047 words); an owner address is used only when it
 * passes mm_addr_ok, and never built from bytes that do not.  No secret
 * is in an alert, so none can be in a message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fumidai/notifier.h"
#include "mailmsg.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define OWNER_TEMPLATES	SYSCONFDIR "/fumidai/templates"
#define OWNER_TIMEFMT	"%Y-%m-%d %H:%M:%S %Z (UTC%z)"
#define OWNER_TEXT_MAX	200		/* bytes of an untrusted value shown */
#define OWNER_NVARS	32

/* "KEY:VALUE" settings and map lines */
struct pair {
	char *key, *val;
};

struct pairs {
	struct pair *v;
	size_t n;
};

struct lang_tpl {
	char *lang;
	struct mm_tpl tpl;
};

struct owner {
	const struct fm_notify_host *h;
	void *host;
	char *from;		/* envelope and From: */
	char *domain;		/* for accounts without '@', or NULL */
	char *admin;		/* how to reach the admin (body text) */
	char *zone;		/* default zone, NULL: local time */
	char *lang;		/* default language */
	char *map_path;		/* account -> address file, or NULL */
	struct pairs langs, zones, map;
	struct stat map_st;	/* of the map as loaded */
	struct lang_tpl *tpls;
	size_t ntpls;
};

/* The ${vars} of one message. */
struct vars {
	const char *name[OWNER_NVARS];
	struct mm_buf val[OWNER_NVARS];
	size_t n;
};

static const char *const login_kinds[] = {
	"new_country", "new_asn", "impossible_travel",
	"success_after_failures", "success_from_sprayer",
};

static const char *const var_names[] = {
	"account", "owner", "kind", "id", "time", "zone", "ip", "country",
	"country_name", "city", "place", "asn", "org", "service", "admin",
	"failures", "ips", "accounts", "from_ip", "from_place", "from_time",
	"distance_km", "speed_kmh", "details", "from_city", "from_country",
	"link",
};

static void *owner_init(const struct fm_notify_host *, void *, char *,
    size_t);
static void owner_deliver(void *, const struct fm_alert *, fm_done_fn *,
    void *);
static void owner_free(void *);

const struct fm_notifier fm_notifier_plugin = {
	.abi = FM_NOTIFIER_ABI,
	.name = "owner",
	.description = "mail an account's owner about suspicious logins",
	.init = owner_init,
	.deliver = owner_deliver,
	.tick = NULL,
	.free = owner_free,
};

/* ---- settings --------------------------------------------------------- */

static void
pairs_free(struct pairs *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].val);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static void
pairs_add(struct pairs *p, const char *k, size_t kn, const char *v)
{
	if ((p->v = realloc(p->v, (p->n + 1) * sizeof(*p->v))) == NULL ||
	    (p->v[p->n].key = strndup(k, kn)) == NULL)
		abort();
	p->v[p->n++].val = mm_strdup(v);
}

/* pairs_get - the value for key (n bytes), or NULL */
static const char *
pairs_get(const struct pairs *p, const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strlen(p->v[i].key) == n && memcmp(p->v[i].key, key, n) == 0)
			return p->v[i].val;
	return NULL;
}

/* lang_ok - "en", "ja", "pt-BR": safe in a file name */
static int
lang_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= 16 && strspn(s, "abcdefghijklmnopqrstuvwxyz") >=
	    2 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_") == n;
}

/* conf_pairs - a list setting of "KEY:VALUE" (split at the last ':') */
static int
conf_pairs(struct owner *o, const char *name, struct pairs *out,
    int (*ok)(const char *), char *err, size_t errlen)
{
	const char *const *v;
	const char *colon;
	size_t i, n = o->h->conf_list(o->host, name, &v);

	for (i = 0; i < n; i++) {
		if ((colon = strrchr(v[i], ':')) == NULL || colon == v[i] ||
		    !ok(colon + 1)) {
			snprintf(err, errlen, "%s: \"%s\" is not KEY:VALUE with "
			    "an account or domain and a valid value", name, v[i]);
			return -1;
		}
		pairs_add(out, v[i], (size_t)(colon - v[i]), colon + 1);
	}
	return 0;
}

static int
zone_set_ok(const char *z)
{
	return *z != '\0' && mm_zone_ok(z);
}

/* map_load - read the account -> address file into out */
static int
map_load(const char *path, struct pairs *out, struct stat *st, char *err,
    size_t errlen)
{
	char *line = NULL, *k, *a, *save;
	size_t cap = 0, lineno = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), st) == -1) {
		snprintf(err, errlen, "map %s: %s", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if ((k = strtok_r(line, " \t\r\n", &save)) == NULL || *k == '#')
			continue;
		if ((a = strtok_r(NULL, " \t\r\n", &save)) == NULL ||
		    !mm_addr_ok(a, strlen(a)) ||
		    strtok_r(NULL, " \t\r\n", &save) != NULL) {
			snprintf(err, errlen, "map %s line %zu: expected "
			    "\"account address\"", path, lineno);
			free(line);
			fclose(fp);
			pairs_free(out);
			return -1;
		}
		pairs_add(out, k, strlen(k), a);
	}
	free(line);
	fclose(fp);
	return 0;
}

/* map_refresh - read the map again when the file changed; a broken new
 * map is logged and the old one kept */
static void
map_refresh(struct owner *o)
{
	struct pairs fresh = { 0 };
	struct stat st;
	char err[512];

	if (o->map_path == NULL || stat(o->map_path, &st) == -1 ||
	    (st.st_ino == o->map_st.st_ino && st.st_dev == o->map_st.st_dev &&
	    st.st_size == o->map_st.st_size &&
	    st.st_mtim.tv_sec == o->map_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == o->map_st.st_mtim.tv_nsec))
		return;
	if (map_load(o->map_path, &fresh, &st, err, sizeof(err)) == -1) {
		o->map_st = st;		/* say it once per change */
		o->h->log(o->host, FM_LOG_WARN, "msg=\"%s; keeping the "
		    "previous map\"", err);
		return;
	}
	pairs_free(&o->map);
	o->map = fresh;
	o->map_st = st;
}

/* check_var - template validation: every known name expands */
static const char *
check_var(void *ctx, const char *var)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < mm_nitems(var_names); i++)
		if (strcmp(var, var_names[i]) == 0)
			return "x";
	return NULL;
}

/* tpl_load - owner.LANG.txt, with a section for every kind */
static int
tpl_load(struct owner *o, const char *dir, const char *lang, char *err,
    size_t errlen)
{
	struct mm_buf path = { 0 }, junk = { 0 };
	struct lang_tpl *lt;
	const char *need[mm_nitems(login_kinds) + 2], *text;
	char why[128];
	size_t i;

	for (i = 0; i < o->ntpls; i++)
		if (strcmp(o->tpls[i].lang, lang) == 0)
			return 0;
	if ((o->tpls = realloc(o->tpls, (o->ntpls + 1) * sizeof(*lt))) == NULL)
		abort();
	lt = &o->tpls[o->ntpls];
	mm_printf(&path, "%s/owner.%s.txt", dir, lang);
	if (mm_tpl_load(&lt->tpl, mm_str(&path), err, errlen) == -1) {
		mm_tpl_free(&lt->tpl);
		mm_free(&path);
		return -1;
	}
	lt->lang = mm_strdup(lang);
	o->ntpls++;
	mm_free(&path);
	need[0] = "subject";
	need[1] = "body";
	for (i = 0; i < mm_nitems(login_kinds); i++)
		need[i + 2] = login_kinds[i];
	for (i = 0; i < mm_nitems(need); i++) {
		if ((text = mm_tpl_get(&lt->tpl, need[i])) == NULL) {
			snprintf(err, errlen, "template %s: no [%s] section",
			    lt->tpl.path, need[i]);
			return -1;
		}
	}
	for (i = 0; i < lt->tpl.n; i++) {
		mm_reset(&junk);
		if (mm_expand(&junk, lt->tpl.texts[i], check_var, NULL, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "template %s [%s]: %s",
			    lt->tpl.path, lt->tpl.names[i], why);
			mm_free(&junk);
			return -1;
		}
	}
	mm_free(&junk);
	return 0;
}

/* setting - a string setting, or def */
static char *
setting(struct owner *o, const char *name, const char *def)
{
	const char *v = o->h->conf_str(o->host, name);

	return v != NULL && *v != '\0' ? mm_strdup(v) :
	    def != NULL ? mm_strdup(def) : NULL;
}

/* owner_settings - the scalar settings, checked */
static int
owner_settings(struct owner *o, char *err, size_t errlen)
{
	char host[256], *at;
	struct mm_buf def = { 0 };

	if (gethostname(host, sizeof(host)) != 0 ||
	    !mm_domain_ok(host, strnlen(host, sizeof(host) - 1)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	mm_printf(&def, "fumidai@%s", host);
	o->from = setting(o, "from", mm_str(&def));
	mm_free(&def);
	if (!mm_addr_ok(o->from, strlen(o->from))) {
		snprintf(err, errlen, "from: \"%s\" is not a plain address "
		    "(user@domain)", o->from);
		return -1;
	}
	at = strrchr(o->from, '@');
	mm_printf(&def, "postmaster@%s", at + 1);
	o->admin = setting(o, "admin", mm_str(&def));
	mm_free(&def);
	o->domain = setting(o, "domain", NULL);
	if (o->domain != NULL && !mm_domain_ok(o->domain, strlen(o->domain))) {
		snprintf(err, errlen, "domain: \"%s\" is not a domain name",
		    o->domain);
		return -1;
	}
	o->zone = setting(o, "timezone", NULL);
	if (o->zone != NULL && !mm_zone_ok(o->zone)) {
		snprintf(err, errlen, "timezone: no zone \"%s\" in the system's "
		    "time zone database", o->zone);
		return -1;
	}
	o->lang = setting(o, "language", "en");
	if (!lang_ok(o->lang)) {
		snprintf(err, errlen, "language: \"%s\" is not a language code",
		    o->lang);
		return -1;
	}
	return 0;
}

static void *
owner_init(const struct fm_notify_host *h, void *host, char *err,
    size_t errlen)
{
	struct owner *o;
	char *dir;
	size_t i;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		abort();
	o->h = h;
	o->host = host;
	if (owner_settings(o, err, errlen) == -1 ||
	    conf_pairs(o, "languages", &o->langs, lang_ok, err, errlen) == -1 ||
	    conf_pairs(o, "timezones", &o->zones, zone_set_ok, err,
	    errlen) == -1)
		goto fail;
	if ((o->map_path = setting(o, "map", NULL)) != NULL &&
	    map_load(o->map_path, &o->map, &o->map_st, err, errlen) == -1)
		goto fail;
	dir = setting(o, "templates", OWNER_TEMPLATES);
	if (tpl_load(o, dir, o->lang, err, errlen) == -1) {
		free(dir);
		goto fail;
	}
	for (i = 0; i < o->langs.n; i++)
		if (tpl_load(o, dir, o->langs.v[i].val, err, errlen) == -1) {
			free(dir);
			goto fail;
		}
	free(dir);
	return o;
fail:
	owner_free(o);
	return NULL;
}

static void
owner_free(void *self)
{
	struct owner *o = self;
	size_t i;

	if (o == NULL)
		return;
	free(o->from);
	free(o->domain);
	free(o->admin);
	free(o->zone);
	free(o->lang);
	free(o->map_path);
	pairs_free(&o->langs);
	pairs_free(&o->zones);
	pairs_free(&o->map);
	for (i = 0; i < o->ntpls; i++) {
		free(o->tpls[i].lang);
		mm_tpl_free(&o->tpls[i].tpl);
	}
	free(o->tpls);
	free(o);
}

/* ---- one alert -------------------------------------------------------- */

/* owner_address - the owner's address into out; 0, or -1 when none */
static int
owner_address(struct owner *o, const struct fm_alert *a, struct mm_buf *out)
{
	const char *v;
	size_t i;

	map_refresh(o);
	if ((v = pairs_get(&o->map, a->account, a->account_len)) != NULL) {
		mm_adds(out, v);
		return 0;
	}
	if (mm_addr_ok(a->account, a->account_len)) {
		mm_add(out, a->account, a->account_len);
		return 0;
	}
	if (o->domain == NULL || a->account_len > 64)
		return -1;
	/* a local part of atext only (mm_addr_ok checks the result too) */
	for (i = 0; i < a->account_len; i++)
		if (a->account[i] == '@' || a->account[i] == '\0')
			return -1;
	mm_add(out, a->account, a->account_len);
	mm_addc(out, '@');
	mm_adds(out, o->domain);
	if (mm_addr_ok(mm_str(out), out->len))
		return 0;
	mm_reset(out);
	return -1;
}

/* lookup - a per-account / per-domain setting: account, owner address,
 * their domains; def when none */
static const char *
lookup(const struct pairs *p, const struct fm_alert *a, const char *owner,
    const char *def)
{
	const char *keys[4], *at, *v;
	size_t lens[4], i;

	keys[0] = a->account;
	lens[0] = a->account_len;
	keys[1] = owner;
	lens[1] = strlen(owner);
	at = a->account_len > 0 ? memrchr(a->account, '@', a->account_len) :
	    NULL;
	keys[2] = at != NULL ? at + 1 : "";
	lens[2] = at != NULL ? a->account_len - (size_t)(at + 1 - a->account) :
	    0;
	at = strrchr(owner, '@');
	keys[3] = at != NULL ? at + 1 : "";
	lens[3] = strlen(keys[3]);
	for (i = 0; i < 4; i++)
		if (lens[i] > 0 && (v = pairs_get(p, keys[i], lens[i])) != NULL)
			return v;
	return def;
}

/* var_new - a new ${var} (its value empty) */
static struct mm_buf *
var_new(struct vars *vs, const char *name)
{
	struct mm_buf *b;

	if (vs->n >= OWNER_NVARS)
		abort();
	vs->name[vs->n] = name;
	b = &vs->val[vs->n++];
	memset(b, 0, sizeof(*b));
	return b;
}

static void
var_clean(struct vars *vs, const char *name, const char *p, size_t n)
{
	mm_clean(var_new(vs, name), p, n, OWNER_TEXT_MAX);
}

/* var_json - a field of the record, cleaned */
static void
var_json(struct vars *vs, const char *name, const struct fm_alert *a,
    const char *path)
{
	struct mm_buf raw = { 0 };

	mm_json_get(a->json, a->json_len, path, &raw);
	var_clean(vs, name, mm_str(&raw), raw.len);
	mm_free(&raw);
}

static const char *
var_get(void *ctx, const char *name)
{
	struct vars *vs = ctx;
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->name[i], name) == 0)
			return mm_str(&vs->val[i]);
	return check_var(NULL, name) != NULL ? "" : NULL;
}

static void
vars_free(struct vars *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		mm_free(&vs->val[i]);
	vs->n = 0;
}

/* var_place - "City, Country", or the one that is known */
static void
var_place(struct vars *vs, const char *name, const char *city,
    const char *country)
{
	struct mm_buf *b = var_new(vs, name);

	mm_adds(b, city);
	if (*city != '\0' && *country != '\0')
		mm_adds(b, ", ");
	mm_adds(b, country);
}

/* var_time - an ISO time of the record in the owner's zone */
static void
var_time(struct vars *vs, const char *name, int64_t t, const char *zone,
    const char *fmt)
{
	struct mm_buf *b = var_new(vs, name);

	if (t > 0)
		mm_strftime(b, t, zone, fmt);
}

/* vars_where - where the login came from (and, for travel, before) */
static void
vars_where(struct vars *vs, const struct fm_alert *a, const char *zone,
    const char *fmt)
{
	struct mm_buf t = { 0 };
	int travel = strcmp(a->kind, "impossible_travel") == 0;

	var_json(vs, "country", a, travel ? "evidence.to.country" :
	    "evidence.country");
	var_json(vs, "country_name", a, "evidence.country_name");
	var_json(vs, "city", a, travel ? "evidence.to.city" : "evidence.city");
	var_json(vs, "asn", a, "evidence.asn");
	var_json(vs, "org", a, "evidence.org");
	var_place(vs, "place", var_get(vs, "city"),
	    *var_get(vs, "country_name") ? var_get(vs, "country_name") :
	    var_get(vs, "country"));
	var_json(vs, "from_ip", a, "evidence.from.ip");
	var_json(vs, "from_city", a, "evidence.from.city");
	var_json(vs, "from_country", a, "evidence.from.country");
	var_place(vs, "from_place", var_get(vs, "from_city"),
	    var_get(vs, "from_country"));
	mm_json_get(a->json, a->json_len, "evidence.from.time", &t);
	var_time(vs, "from_time", t.len ? mm_iso_time(mm_str(&t)) : 0, zone,
	    fmt);
	mm_free(&t);
	var_json(vs, "distance_km", a, "evidence.distance_km");
	var_json(vs, "speed_kmh", a, "evidence.speed_kmh");
	var_json(vs, "failures", a, "evidence.failures");
	var_json(vs, "ips", a, "evidence.ips");
	var_json(vs, "accounts", a, "evidence.accounts");
}

/* var_service - the template's name for the record's service (its
 * [service.NAME]), the name itself without one, "" when none */
static void
var_service(struct vars *vs, const struct fm_alert *a, const struct mm_tpl *t)
{
	struct mm_buf raw = { 0 }, sec = { 0 };
	struct mm_buf *b = var_new(vs, "service");
	const char *v;

	if (!mm_json_get(a->json, a->json_len, "evidence.service", &raw))
		mm_json_get(a->json, a->json_len, "service", &raw);
	if (raw.len > 0 && raw.len < 32 && strspn(mm_str(&raw),
	    "abcdefghijklmnopqrstuvwxyz0123456789") == raw.len) {
		mm_printf(&sec, "service.%s", mm_str(&raw));
		v = mm_tpl_get(t, mm_str(&sec));
		mm_adds(b, v != NULL ? v : mm_str(&raw));
	}
	mm_free(&raw);
	mm_free(&sec);
}

/* owner_vars - every ${var} of the message for a */
static void
owner_vars(struct owner *o, struct vars *vs, const struct fm_alert *a,
    const char *owner, const char *zone, const struct mm_tpl *t)
{
	const char *fmt = mm_tpl_get(t, "timeformat");
	int64_t when = a->last > 0 ? a->last : a->time;

	if (fmt == NULL || *fmt == '\0')
		fmt = OWNER_TIMEFMT;
	var_clean(vs, "account", a->account, a->account_len);
	var_clean(vs, "owner", owner, strlen(owner));
	var_clean(vs, "kind", a->kind, strlen(a->kind));
	var_clean(vs, "id", a->id, strlen(a->id));
	var_clean(vs, "ip", a->ip, strlen(a->ip));
	var_clean(vs, "admin", o->admin, strlen(o->admin));
	/* the signed dashboard link the core made (web.base_url), or "" */
	var_clean(vs, "link", a->owner_link ? a->owner_link : "",
	    a->owner_link ? strlen(a->owner_link) : 0);
	var_clean(vs, "zone", zone != NULL ? zone : "", zone != NULL ?
	    strlen(zone) : 0);
	var_time(vs, "time", when, zone, fmt);
	vars_where(vs, a, zone, fmt);
	var_service(vs, a, t);
}

/* subject_tpl - the subject section for kind */
static const char *
subject_tpl(const struct mm_tpl *t, const char *kind)
{
	char key[80];
	const char *s;

	snprintf(key, sizeof(key), "subject.%s", kind);
	return (s = mm_tpl_get(t, key)) != NULL ? s : mm_tpl_get(t, "subject");
}

/* owner_text - subject and body from the template; 0 / -1 */
static int
owner_text(struct vars *vs, const struct mm_tpl *t, const char *kind,
    struct mm_buf *subject, struct mm_buf *body, char *err, size_t errlen)
{
	struct mm_buf one = { 0 };
	const char *s;
	int rc;

	s = subject_tpl(t, kind);
	rc = mm_expand(&one, mm_tpl_get(t, kind), var_get, vs, err, errlen);
	if (rc == 0)
		mm_add(var_new(vs, "details"), mm_str(&one), one.len);
	mm_free(&one);
	if (rc == 0)
		rc = mm_expand(&one, s, var_get, vs, err, errlen);
	/* a subject is one line, whatever a template or a value holds */
	if (rc == 0)
		mm_add(subject, mm_str(&one), strcspn(mm_str(&one), "\r\n"));
	mm_free(&one);
	if (rc == 0)
		rc = mm_expand(body, mm_tpl_get(t, "body"), var_get, vs, err,
		    errlen);
	if (rc == 0 && (body->len == 0 || body->p[body->len - 1] != '\n'))
		mm_addc(body, '\n');
	return rc;
}

/* owner_tpl - the template for lang (the default language's when none) */
static const struct mm_tpl *
owner_tpl(const struct owner *o, const char *lang)
{
	size_t i;

	for (i = 0; i < o->ntpls; i++)
		if (strcmp(o->tpls[i].lang, lang) == 0)
			return &o->tpls[i].tpl;
	return &o->tpls[0].tpl;
}

/* owner_build - the whole message to owner; 0 / -1 */
static int
owner_build(struct owner *o, const struct fm_alert *a, const char *owner,
    struct mm_buf *msg, char *err, size_t errlen)
{
	const struct mm_tpl *t = owner_tpl(o, lookup(&o->langs, a, owner,
	    o->lang));
	const char *zone = lookup(&o->zones, a, owner, o->zone);
	struct mm_buf subject = { 0 }, body = { 0 }, id = { 0 }, extra = { 0 };
	struct vars vs = { .n = 0 };
	struct mm_msg m;
	char hash[17];
	int rc;

	owner_vars(o, &vs, a, owner, zone, t);
	rc = owner_text(&vs, t, a->kind, &subject, &body, err, errlen);
	vars_free(&vs);
	if (rc == 0) {
		snprintf(hash, sizeof(hash), "%016llx",
		    (unsigned long long)mm_hash(owner, strlen(owner)));
		mm_msgid(&id, "fumidai-owner", a->id, hash,
		    strrchr(o->from, '@') + 1);
		if (strspn(a->id, "0123456789abcdef") == strlen(a->id))
			mm_printf(&extra, "X-Fumidai-Alert: %s\r\n", a->id);
		memset(&m, 0, sizeof(m));
		m.from = o->from;
		m.to = &owner;
		m.nto = 1;
		m.subject = mm_str(&subject);
		/* a template may put a log-derived ${var} in the subject */
		m.subject_untrusted = strstr(subject_tpl(t, a->kind), "${") !=
		    NULL;
		m.msgid = mm_str(&id);
		m.date = (int64_t)time(NULL);
		m.extra = mm_str(&extra);
		m.body = mm_str(&body);
		m.bodylen = body.len;
		mm_message(msg, &m);
	}
	mm_free(&subject);
	mm_free(&body);
	mm_free(&id);
	mm_free(&extra);
	return rc;
}

static void
owner_deliver(void *self, const struct fm_alert *a, fm_done_fn *done,
    void *token)
{
	struct owner *o = self;
	struct mm_buf addr = { 0 }, msg = { 0 };
	const char *rcpt;
	char err[256];
	size_t i;

	for (i = 0; i < mm_nitems(login_kinds); i++)
		if (strcmp(a->kind, login_kinds[i]) == 0)
			break;
	if (i == mm_nitems(login_kinds) || a->account_len == 0) {
		done(token, FM_NOTIFY_OK, "not a login alert: nothing to send");
		return;
	}
	if (owner_address(o, a, &addr) == -1) {
		mm_free(&addr);
		done(token, FM_NOTIFY_DROP, "no owner address for this account");
		return;
	}
	if (owner_build(o, a, mm_str(&addr), &msg, err, sizeof(err)) == -1) {
		mm_free(&addr);
		done(token, FM_NOTIFY_DROP, err);
		return;
	}
	rcpt = mm_str(&addr);
	o->h->smtp_send(o->host, o->from, &rcpt, 1, mm_str(&msg), msg.len,
	    done, token);
	mm_free(&addr);
	mm_free(&msg);
}
