/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf.c - the configuration file (libconfig syntax) into struct fumidai.
 *
 * One table of options drives loading, range checks, defaults and
 * `fumidai check-config`; the list of inputs is the one structured setting
 * handled by hand.  Every error names the file, the line and the setting.
 * Unknown settings are errors too: a typo must not silently leave a
 * default in place.
 */
#include "config.h"

#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"
#include "web.h"

enum opt_type { OPT_STR, OPT_INT, OPT_MB };

struct opt {
	const char *path;	/* "redis.port" */
	enum opt_type type;
	long long min, max;	/* range for numbers */
	const char *def_str;	/* default of a string (NULL: unset) */
	long long def_num;	/* default of a number */
	size_t off;		/* offset in struct fumidai */
	size_t size;		/* sizeof the field for numbers */
};

#define DAY	86400LL
#define F(field) offsetof(struct fumidai, field), sizeof(((struct fumidai *)0)->field)

static const struct opt opts[] = {
	{ "instance", OPT_STR, 0, 0, NULL, 0, F(instance) },
	{ "state_dir", OPT_STR, 0, 0, FM_DEFAULT_STATE_DIR, 0, F(state_dir) },
	{ "plugin_dir", OPT_STR, 0, 0, FM_DEFAULT_PLUGIN_DIR, 0, F(plugin_dir) },
	{ "timezone", OPT_STR, 0, 0, NULL, 0, F(timezone) },
	{ "max_line", OPT_INT, 256, 16 << 20, NULL, 16384, F(max_line) },
	{ "poll_interval", OPT_INT, 50, 600000, NULL, 1000, F(poll_ms) },
	{ "batch_lines", OPT_INT, 1, 1 << 20, NULL, 8192, F(batch_lines) },
	{ "flush_interval", OPT_INT, 1, 60000, NULL, 200, F(flush_ms) },
	{ "retention_days", OPT_INT, 1, 3650, NULL, 180, F(retention_days) },
	/* at least the longest detector window on an address (30 days) */
	{ "address_retention_days", OPT_INT, 31, 3650, NULL, 31, F(addr_retention_days) },
	{ "history_max", OPT_INT, 10, 1000000, NULL, 200, F(history_max) },
	/* 0: never; else past Postfix's queue lifetime (5 days by default) */
	{ "archive_after_days", OPT_INT, 0, 3650, NULL, 7, F(archive_after_days) },
	{ "queue_max_mb", OPT_MB, 1, 65536, NULL, 64, F(queue_max_bytes) },
	{ "spool_max_mb", OPT_MB, 1, 1 << 20, NULL, 1024, F(spool_max_bytes) },
	{ "redis.host", OPT_STR, 0, 0, NULL, 0, F(redis.host) },
	{ "redis.port", OPT_INT, 1, 65535, NULL, 6379, F(redis.port) },
	{ "redis.socket", OPT_STR, 0, 0, NULL, 0, F(redis.socket) },
	{ "redis.password", OPT_STR, 0, 0, NULL, 0, F(redis.password) },
	{ "redis.db", OPT_INT, 0, 1000, NULL, 0, F(redis.db) },
	{ "redis.prefix", OPT_STR, 0, 0, "fm:", 0, F(redis.prefix) },
	{ "redis.connect_timeout", OPT_INT, 10, 600000, NULL, 2000, F(redis.connect_timeout_ms) },
	{ "redis.retry_max", OPT_INT, 100, 3600000, NULL, 30000, F(redis.retry_max_ms) },
	{ "geoip.city", OPT_STR, 0, 0, NULL, 0, F(geoip_city) },
	{ "geoip.asn", OPT_STR, 0, 0, NULL, 0, F(geoip_asn) },
	{ "detect.enabled", OPT_INT, 0, 1, NULL, 1, F(detect.enabled) },
	{ "detect.cooldown", OPT_INT, 1, DAY * 30, NULL, 3600, F(detect.cooldown) },
	{ "detect.brute_force.window", OPT_INT, 10, DAY * 7, NULL, 600, F(detect.bf_window) },
	{ "detect.brute_force.threshold", OPT_INT, 1, 1000000, NULL, 10, F(detect.bf_threshold) },
	{ "detect.brute_force.long_window", OPT_INT, 10, DAY * 30, NULL, DAY, F(detect.bf_long_window) },
	{ "detect.brute_force.long_threshold", OPT_INT, 1, 1000000, NULL, 50, F(detect.bf_long_threshold) },
	{ "detect.brute_force.stale_min_interval", OPT_INT, 0, DAY, NULL, 30, F(detect.bf_stale_interval) },
	{ "detect.distributed.window", OPT_INT, 10, DAY * 7, NULL, 3600, F(detect.di_window) },
	{ "detect.distributed.ips", OPT_INT, 2, 1000, NULL, 10, F(detect.di_ips) },
	{ "detect.distributed.long_window", OPT_INT, 10, DAY * 30, NULL, DAY * 7, F(detect.di_long_window) },
	{ "detect.distributed.long_ips", OPT_INT, 2, 1000, NULL, 50, F(detect.di_long_ips) },
	{ "detect.success.window", OPT_INT, 10, DAY * 7, NULL, 3600, F(detect.su_window) },
	{ "detect.success.failures", OPT_INT, 1, 1000000, NULL, 10, F(detect.su_failures) },
	{ "detect.spray.window", OPT_INT, 10, DAY * 7, NULL, 600, F(detect.sp_window) },
	{ "detect.spray.accounts", OPT_INT, 2, 1000, NULL, 10, F(detect.sp_accounts) },
	{ "detect.spray.long_window", OPT_INT, 10, DAY * 30, NULL, DAY, F(detect.sp_long_window) },
	{ "detect.spray.long_accounts", OPT_INT, 2, 1000, NULL, 30, F(detect.sp_long_accounts) },
	{ "detect.spray.prefix4", OPT_INT, 0, 31, NULL, 24, F(detect.sp_prefix4) },
	{ "detect.spray.prefix6", OPT_INT, 0, 127, NULL, 64, F(detect.sp_prefix6) },
	{ "detect.spray.net_accounts", OPT_INT, 2, 1000, NULL, 20, F(detect.sp_net_accounts) },
	{ "detect.unknown_users.window", OPT_INT, 10, DAY * 7, NULL, 3600, F(detect.uu_window) },
	{ "detect.unknown_users.users", OPT_INT, 2, 1000, NULL, 10, F(detect.uu_users) },
	{ "detect.surge.window", OPT_INT, 60, DAY, NULL, 600, F(detect.sg_window) },
	{ "detect.surge.factor", OPT_INT, 1, 1000, NULL, 5, F(detect.sg_factor) },
	{ "detect.surge.min_failures", OPT_INT, 1, 100000000, NULL, 200, F(detect.sg_min) },
	{ "detect.geo.learn_days", OPT_INT, 0, 3650, NULL, 14, F(detect.learn_days) },
	{ "detect.geo.learn_logins", OPT_INT, 0, 1000000, NULL, 20, F(detect.learn_logins) },
	{ "detect.geo.travel_speed", OPT_INT, 10, 100000, NULL, 900, F(detect.travel_speed) },
	{ "detect.geo.travel_min_km", OPT_INT, 0, 20000, NULL, 200, F(detect.travel_min_km) },
	{ "detect.geo.countries", OPT_INT, 2, 250, NULL, 3, F(detect.countries) },
	{ "detect.geo.countries_window", OPT_INT, 60, DAY * 30, NULL, DAY, F(detect.countries_window) },
	{ "detect.send.window", OPT_INT, 60, DAY * 7, NULL, 3600, F(detect.send_window) },
	{ "detect.send.messages", OPT_INT, 1, 100000000, NULL, 500, F(detect.send_messages) },
	{ "detect.send.recipients", OPT_INT, 1, 100000000, NULL, 1000, F(detect.send_recipients) },
	{ "detect.send.min_messages", OPT_INT, 1, 100000000, NULL, 50, F(detect.send_min) },
	{ "detect.send.factor", OPT_INT, 1, 10000, NULL, 10, F(detect.send_factor) },
	{ "detect.send.baseline_days", OPT_INT, 1, 365, NULL, 14, F(detect.send_days) },
	{ "detect.send.after_login", OPT_INT, 0, DAY * 30, NULL, DAY, F(detect.send_after_login) },
	{ "detect.concurrent_sessions.enabled", OPT_INT, 0, 1, NULL, 1, F(detect.cs_enabled) },
	{ "detect.concurrent_sessions.countries", OPT_INT, 2, 250, NULL, 2, F(detect.cs_countries) },
	{ "detect.concurrent_sessions.asns", OPT_INT, 0, 1000, NULL, 2, F(detect.cs_asns) },
	{ "correlate.pop_before_smtp", OPT_INT, 0, DAY, NULL, 0, F(pop_before_smtp) },
	{ "sessions.max_age", OPT_INT, 60, DAY * 30, NULL, DAY, F(sessions_max_age) },
	{ "policy.listen", OPT_STR, 0, 0, NULL, 0, F(policy.listen) },
	{ "policy.action", OPT_STR, 0, 0, "DEFER", 0, F(policy.action) },
	{ "policy.text", OPT_STR, 0, 0, "4.7.1 Sending from this account is "
	    "suspended: it may be compromised. Contact your mail administrator",
	    0, F(policy.text) },
	{ "policy.flag_kinds", OPT_STR, 0, 0, "success_after_failures,"
	    "success_from_sprayer,send_volume", 0, F(policy.flag_kinds) },
	{ "policy.flag_recent", OPT_INT, 60, DAY * 365, NULL, DAY, F(policy.flag_recent) },
	{ "policy.timeout", OPT_INT, 10, 60000, NULL, 500, F(policy.timeout_ms) },
	{ "blocklist.kinds", OPT_STR, 0, 0, "brute_force,spray,spray_net,"
	    "unknown_users,success_from_sprayer", 0, F(blocklist.kinds) },
	{ "blocklist.ttl", OPT_INT, 0, DAY * 365, NULL, DAY, F(blocklist.ttl) },
	{ "metrics.listen", OPT_STR, 0, 0, NULL, 0, F(metrics.listen) },
	{ "metrics.token", OPT_STR, 0, 0, NULL, 0, F(metrics.token) },
	{ "web.enabled", OPT_INT, 0, 1, NULL, 0, F(web.enabled) },
	{ "web.listen", OPT_STR, 0, 0, "127.0.0.1:8026", 0, F(web.listen) },
	{ "web.admin_token", OPT_STR, 0, 0, NULL, 0, F(web.admin_token) },
	{ "web.admin_password", OPT_STR, 0, 0, NULL, 0, F(web.admin_password) },
	{ "web.secret", OPT_STR, 0, 0, NULL, 0, F(web.secret) },
	{ "web.secret_file", OPT_STR, 0, 0, NULL, 0, F(web.secret_file) },
	{ "web.link_ttl", OPT_INT, 60, DAY * 365, NULL, DAY * 7, F(web.link_ttl) },
	{ "web.base_url", OPT_STR, 0, 0, NULL, 0, F(web.base_url) },
	{ "web.anonymous_loopback", OPT_INT, 0, 1, NULL, 0, F(web.anonymous_loopback) },
	{ "web.assets", OPT_STR, 0, 0, PKGDATADIR "/web", 0, F(web.assets) },
	{ "web.owner_login", OPT_STR, 0, 0, NULL, 0, F(web.owner_login) },
	{ "web.owner_login_tls", OPT_STR, 0, 0, NULL, 0, F(web.owner_login_tls) },
	{ "web.owner_login_verify", OPT_INT, 0, 1, NULL, 1, F(web.owner_login_verify) },
};

/* Settings with structure, checked by hand. */
static const char *const input_keys[] = { "path", "format", "parsers" };
static const char *const formats[] = { "auto", "syslog", "dovecot" };
static const char *const default_parsers[] = { "postfix", "dovecot" };

static void conf_defaults(struct fumidai *);
static int conf_opts(struct fumidai *, config_t *, const char *, char *, size_t);
static int conf_inputs(struct fumidai *, config_t *, const char *, char *, size_t);
static int conf_web(struct fumidai *, config_t *, const char *, char *, size_t);
static int conf_audits(struct fumidai *, config_t *, const char *, char *, size_t);
static int conf_notify(struct fumidai *, config_t *, const char *, char *, size_t);
static int conf_unknown(config_setting_t *, const char *, const char *,
    char *, size_t);

static void
setnum(struct fumidai *cf, const struct opt *o, long long v)
{
	char *p = (char *)cf + o->off;

	if (o->type == OPT_MB)
		v *= 1024 * 1024;
	if (o->size == sizeof(int)) {
		int i = (int)v;
		memcpy(p, &i, sizeof(i));
	} else {
		size_t z = (size_t)v;
		memcpy(p, &z, sizeof(z));
	}
}

static char **
strfield(struct fumidai *cf, const struct opt *o)
{
	return (char **)((char *)cf + o->off);
}

/* conf_defaults - every option's default, before the file is read */
static void
conf_defaults(struct fumidai *cf)
{
	const struct opt *o;
	char host[256];

	for (o = opts; o < opts + nitems(opts); o++) {
		if (o->type == OPT_STR)
			*strfield(cf, o) = o->def_str ? xstrdup(o->def_str) : NULL;
		else
			setnum(cf, o, o->def_num);
	}
	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	cf->instance = xstrdup(host);
}

void
conf_add_input(struct fumidai *cf, const char *path, const char *format)
{
	struct fm_input *in;
	size_t i;

	cf->inputs = xrealloc(cf->inputs, (cf->ninputs + 1) * sizeof(*cf->inputs));
	in = &cf->inputs[cf->ninputs++];
	memset(in, 0, sizeof(*in));
	in->path = xstrdup(path);
	in->format = xstrdup(format);
	in->nparsers = nitems(default_parsers);
	in->parsers = xcalloc(in->nparsers, sizeof(char *));
	for (i = 0; i < in->nparsers; i++)
		in->parsers[i] = xstrdup(default_parsers[i]);
}

/* conf_finish - derived settings and environment overrides */
static void
conf_finish(struct fumidai *cf)
{
	const char *env;

	if ((env = getenv("FUMIDAI_PLUGIN_DIR")) != NULL && *env != '\0') {
		free(cf->plugin_dir);
		cf->plugin_dir = xstrdup(env);
	}
	if ((env = getenv("FUMIDAI_WEB_DIR")) != NULL && *env != '\0') {
		free(cf->web.assets);
		cf->web.assets = xstrdup(env);
	}
	cf->redis.embedded = cf->redis.host == NULL && cf->redis.socket == NULL;
}

/* conf_default_input - the system's mail log, or the demo log without one */
static void
conf_default_input(struct fumidai *cf)
{
	if (access("/var/log/mail.log", F_OK) == 0)
		conf_add_input(cf, "/var/log/mail.log", "auto");
	else
		conf_add_input(cf, PKGDATADIR "/demo-mail.log", "auto");
}

struct fumidai *
conf_default(void)
{
	struct fumidai *cf = xcalloc(1, sizeof(*cf));

	conf_defaults(cf);
	conf_default_input(cf);
	conf_finish(cf);
	return cf;
}

static int
bad(char *err, size_t errlen, const char *file, const config_setting_t *s,
    const char *what, const char *msg)
{
	snprintf(err, errlen, "%s:%d: %s: %s", file,
	    s ? config_setting_source_line(s) : 0, what, msg);
	return -1;
}

/* conf_opts - the table-driven settings */
static int
conf_opts(struct fumidai *cf, config_t *c, const char *file, char *err,
    size_t errlen)
{
	const struct opt *o;
	config_setting_t *s;
	char msg[256];
	long long v;

	for (o = opts; o < opts + nitems(opts); o++) {
		if ((s = config_lookup(c, o->path)) == NULL)
			continue;
		if (o->type == OPT_STR) {
			const char *str = config_setting_get_string(s);

			if (str == NULL)
				return bad(err, errlen, file, s, o->path,
				    "expected a string in double quotes");
			free(*strfield(cf, o));
			*strfield(cf, o) = *str ? xstrdup(str) : NULL;
			continue;
		}
		if (config_setting_type(s) == CONFIG_TYPE_INT)
			v = config_setting_get_int(s);
		else if (config_setting_type(s) == CONFIG_TYPE_BOOL &&
		    o->min == 0 && o->max == 1)
			v = config_setting_get_bool(s);
		else if (config_setting_type(s) == CONFIG_TYPE_INT64)
			v = config_setting_get_int64(s);
		else
			return bad(err, errlen, file, s, o->path,
			    "expected a whole number");
		if (v < o->min || v > o->max) {
			snprintf(msg, sizeof(msg), "%lld is out of range "
			    "(%lld to %lld)", v, o->min, o->max);
			return bad(err, errlen, file, s, o->path, msg);
		}
		setnum(cf, o, v);
	}
	if (cf->state_dir == NULL)
		return bad(err, errlen, file, config_lookup(c, "state_dir"),
		    "state_dir", "must not be empty");
	if (cf->redis.prefix == NULL)
		cf->redis.prefix = xstrdup("");
	if (cf->policy.action == NULL || (strcmp(cf->policy.action, "DEFER") != 0 &&
	    strcmp(cf->policy.action, "REJECT") != 0))
		return bad(err, errlen, file, config_lookup(c, "policy.action"),
		    "policy.action", "expected \"DEFER\" or \"REJECT\"");
	if (cf->policy.listen != NULL &&
	    strncmp(cf->policy.listen, "inet:", 5) != 0 &&
	    strncmp(cf->policy.listen, "unix:", 5) != 0)
		return bad(err, errlen, file, config_lookup(c, "policy.listen"),
		    "policy.listen", "expected \"inet:HOST:PORT\" or \"unix:PATH\"");
	if (cf->policy.text != NULL && strpbrk(cf->policy.text, "\r\n") != NULL)
		return bad(err, errlen, file, config_lookup(c, "policy.text"),
		    "policy.text", "one line, please");
	if (cf->metrics.listen != NULL && strchr(cf->metrics.listen, ':') == NULL)
		return bad(err, errlen, file, config_lookup(c, "metrics.listen"),
		    "metrics.listen", "expected \"HOST:PORT\" (numeric HOST)");
	if (cf->metrics.token != NULL &&
	    strpbrk(cf->metrics.token, " \t\r\n") != NULL)
		return bad(err, errlen, file, config_lookup(c, "metrics.token"),
		    "metrics.token", "no spaces or line breaks, please");
	if (cf->redis.host != NULL && cf->redis.socket != NULL)
		return bad(err, errlen, file, config_lookup(c, "redis.socket"),
		    "redis", "give either host (and port) or socket, not both");
	return conf_web(cf, c, file, err, errlen);
}

/* conf_web - the web group's settings that depend on each other */
static int
conf_web(struct fumidai *cf, config_t *c, const char *file, char *err,
    size_t errlen)
{
	const char *u = cf->web.base_url;
	struct web_owner_target ot;
	char why[256];

	if (cf->web.listen == NULL || strchr(cf->web.listen, ':') == NULL)
		return bad(err, errlen, file, config_lookup(c, "web.listen"),
		    "web.listen", "expected \"HOST:PORT\" (numeric HOST)");
	if (cf->web.admin_token != NULL &&
	    strpbrk(cf->web.admin_token, " \t\r\n") != NULL)
		return bad(err, errlen, file, config_lookup(c, "web.admin_token"),
		    "web.admin_token", "no spaces or line breaks, please");
	if (u != NULL && ((strncmp(u, "http://", 7) != 0 &&
	    strncmp(u, "https://", 8) != 0) || strpbrk(u, " \t\r\n\"'<>") != NULL))
		return bad(err, errlen, file, config_lookup(c, "web.base_url"),
		    "web.base_url", "expected \"https://HOST[:PORT]\"");
	if (cf->web.secret != NULL && cf->web.secret_file != NULL)
		return bad(err, errlen, file, config_lookup(c, "web.secret_file"),
		    "web.secret", "give either secret or secret_file, not both");
	if (cf->web.secret != NULL && strlen(cf->web.secret) < 16)
		return bad(err, errlen, file, config_lookup(c, "web.secret"),
		    "web.secret", "at least 16 characters, please");
	/* fumidai web speaks plain HTTP: an https base_url means a reverse
	 * proxy here, whose connections come from loopback for anyone */
	if (cf->web.anonymous_loopback && u != NULL &&
	    strncmp(u, "https://", 8) == 0)
		return bad(err, errlen, file, config_lookup(c,
		    "web.anonymous_loopback"), "web.anonymous_loopback",
		    "not with an https base_url: behind a reverse proxy on this "
		    "machine everyone would come from loopback");
	if (web_owner_target(cf, &ot, why, sizeof(why)) == -1)
		return bad(err, errlen, file, config_lookup(c,
		    "web.owner_login"), "web.owner_login", why);
	if (cf->web.enabled && cf->web.admin_token == NULL &&
	    cf->web.admin_password == NULL && !cf->web.anonymous_loopback)
		return bad(err, errlen, file, config_lookup(c, "web.enabled"),
		    "web.enabled", "set web.admin_token or web.admin_password "
		    "(or web.anonymous_loopback = true)");
	return 0;
}

static int
known(const char *name, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, v[i]) == 0)
			return 1;
	return 0;
}

/* conf_inputs - inputs = ( { path = "..."; format = "auto"; parsers = [...]; } ) */
static int
conf_inputs(struct fumidai *cf, config_t *c, const char *file, char *err,
    size_t errlen)
{
	config_setting_t *list = config_lookup(c, "inputs"), *g, *s, *ps;
	const char *path, *format;
	char what[64];
	int i, j, k;

	if (list == NULL)
		return 0;
	if (!config_setting_is_list(list) && !config_setting_is_array(list))
		return bad(err, errlen, file, list, "inputs",
		    "expected a list: inputs = ( { path = \"...\"; } );");
	for (i = 0; (g = config_setting_get_elem(list, (unsigned)i)) != NULL; i++) {
		snprintf(what, sizeof(what), "inputs.[%d]", i);
		if (!config_setting_is_group(g))
			return bad(err, errlen, file, g, what,
			    "expected a group { path = \"...\"; }");
		for (j = 0; (s = config_setting_get_elem(g, (unsigned)j)) != NULL; j++)
			if (!known(config_setting_name(s), input_keys, nitems(input_keys)))
				return bad(err, errlen, file, s, config_setting_name(s),
				    "unknown setting in an input (path, format, parsers)");
		if (!config_setting_lookup_string(g, "path", &path) || *path == '\0')
			return bad(err, errlen, file, g, what, "path is missing");
		format = "auto";
		if ((s = config_setting_get_member(g, "format")) != NULL &&
		    ((format = config_setting_get_string(s)) == NULL ||
		    !known(format, formats, nitems(formats))))
			return bad(err, errlen, file, s, "format",
			    "expected \"auto\", \"syslog\" or \"dovecot\"");
		conf_add_input(cf, path, format);
		if ((ps = config_setting_get_member(g, "parsers")) == NULL)
			continue;
		if (!config_setting_is_array(ps) && !config_setting_is_list(ps))
			return bad(err, errlen, file, ps, "parsers",
			    "expected an array of names: [\"postfix\", \"dovecot\"]");
		struct fm_input *in = &cf->inputs[cf->ninputs - 1];
		for (k = 0; k < (int)in->nparsers; k++)
			free(in->parsers[k]);
		in->nparsers = (size_t)config_setting_length(ps);
		in->parsers = xrealloc(in->parsers, (in->nparsers + 1) * sizeof(char *));
		for (k = 0; k < (int)in->nparsers; k++) {
			const char *name = config_setting_get_string_elem(ps, (unsigned)k);

			if (name == NULL || *name == '\0' || strchr(name, '/')) {
				in->nparsers = (size_t)k;
				return bad(err, errlen, file, ps, "parsers",
				    "each parser is a plain name such as \"postfix\"");
			}
			in->parsers[k] = xstrdup(name);
		}
		if (in->nparsers == 0)
			return bad(err, errlen, file, ps, "parsers",
			    "at least one parser is needed");
	}
	return 0;
}

/* strings - a setting holding an array (or list) of strings, or one
 * string, into a new NULL-terminated vector; -1 on anything else */
static int
strings(const config_setting_t *st, char ***out, size_t *n)
{
	const char *v;
	int i, len;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return 0;
	if (config_setting_type(st) == CONFIG_TYPE_STRING) {
		*out = xcalloc(2, sizeof(char *));
		(*out)[(*n)++] = xstrdup(config_setting_get_string(st));
		return 0;
	}
	if (!config_setting_is_array(st) && !config_setting_is_list(st))
		return -1;
	len = config_setting_length(st);
	*out = xcalloc((size_t)len + 1, sizeof(char *));
	for (i = 0; i < len; i++) {
		if ((v = config_setting_get_string_elem(st, (unsigned)i)) == NULL)
			return -1;
		(*out)[(*n)++] = xstrdup(v);
	}
	return 0;
}

static void
strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* audit_at - "HH:MM" into a minute of the day, -1 if malformed */
static int
audit_at(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' ||
	    s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '5' ||
	    s[4] < '0' || s[4] > '9')
		return -1;
	if ((s[0] - '0') * 10 + (s[1] - '0') > 23)
		return -1;
	return ((s[0] - '0') * 10 + (s[1] - '0')) * 60 +
	    (s[3] - '0') * 10 + (s[4] - '0');
}

static int
audit_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_' && *s != '.' &&
		    *s != '-')
			return 0;
	return 1;
}

/* conf_audit - one element of audits = ( ... ) */
static int
conf_audit(struct fumidai *cf, config_setting_t *g, const char *file,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "type", "targets",
	    "target", "args", "every", "at", "timeout" };
	static const char *const types[] = { "relay", "smtp", "op25b" };
	struct fm_audit *a;
	config_setting_t *s;
	const char *v;
	int i, n;
	size_t k;

	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)) != NULL; i++)
		if (!known(config_setting_name(s), keys, nitems(keys)))
			return bad(err, errlen, file, s, config_setting_name(s),
			    "unknown setting in an audit (name, type, target(s), "
			    "args, every, at, timeout)");
	cf->audits = xrealloc(cf->audits, (cf->naudits + 1) * sizeof(*a));
	a = &cf->audits[cf->naudits++];
	memset(a, 0, sizeof(*a));
	a->at = -1;
	a->timeout = 300;
	if (!config_setting_lookup_string(g, "name", &v) || !audit_name_ok(v))
		return bad(err, errlen, file, g, "audits.name",
		    "each audit needs a name of letters, digits, _ . - (at most 64)");
	a->name = xstrdup(v);
	for (k = 0; k + 1 < cf->naudits; k++)
		if (strcmp(cf->audits[k].name, a->name) == 0)
			return bad(err, errlen, file, g, "audits.name",
			    "two audits have this name");
	if (!config_setting_lookup_string(g, "type", &v) ||
	    !known(v, types, nitems(types)))
		return bad(err, errlen, file, g, "audits.type",
		    "expected \"relay\", \"smtp\" or \"op25b\"");
	a->type = xstrdup(v);
	s = config_setting_get_member(g, "targets");
	if (s == NULL)
		s = config_setting_get_member(g, "target");
	if (strings(s, &a->targets, &a->ntargets) == -1 || a->ntargets == 0)
		return bad(err, errlen, file, s ? s : g, "audits.targets",
		    "give the host(s) to audit: target = \"HOST[:PORT]\"; "
		    "(op25b: targets = [ ... ];) - there is no default target");
	if (strcmp(a->type, "op25b") != 0 && a->ntargets != 1)
		return bad(err, errlen, file, s, "audits.targets",
		    "relay and smtp audits take one target");
	if (strings(config_setting_get_member(g, "args"), &a->args,
	    &a->nargs) == -1)
		return bad(err, errlen, file, config_setting_get_member(g, "args"),
		    "audits.args", "expected an array of strings");
	if (config_setting_lookup_int(g, "every", &n)) {
		if (n < 60 || n > 30 * 86400)
			return bad(err, errlen, file,
			    config_setting_get_member(g, "every"), "audits.every",
			    "seconds between runs: 60 to 2592000");
		a->every = n;
	}
	if (config_setting_lookup_string(g, "at", &v) &&
	    (a->at = audit_at(v)) == -1)
		return bad(err, errlen, file, config_setting_get_member(g, "at"),
		    "audits.at", "expected a local time of day \"HH:MM\"");
	if ((a->every == 0) == (a->at == -1))
		return bad(err, errlen, file, g, "audits",
		    "give either every = SECONDS; or at = \"HH:MM\"; (daily)");
	if (config_setting_lookup_int(g, "timeout", &n)) {
		if (n < 5 || n > 3600)
			return bad(err, errlen, file,
			    config_setting_get_member(g, "timeout"),
			    "audits.timeout", "seconds: 5 to 3600");
		a->timeout = n;
	}
	return 0;
}

/* conf_audits - audits = ( { name = "..."; type = "relay"; ... } ) */
static int
conf_audits(struct fumidai *cf, config_t *c, const char *file, char *err,
    size_t errlen)
{
	config_setting_t *list = config_lookup(c, "audits"), *g;
	int i;

	if (list == NULL)
		return 0;
	if (!config_setting_is_list(list))
		return bad(err, errlen, file, list, "audits",
		    "expected a list: audits = ( { name = \"...\"; ... } );");
	for (i = 0; (g = config_setting_get_elem(list, (unsigned)i)) != NULL; i++) {
		if (!config_setting_is_group(g))
			return bad(err, errlen, file, g, "audits",
			    "expected a group { name = \"...\"; type = ...; }");
		if (conf_audit(cf, g, file, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* severity - "info" .. "critical" into 0..4, -1 if unknown */
int
conf_severity(const char *s)
{
	static const char *const v[] = { "info", "low", "medium", "high",
	    "critical" };
	int i;

	for (i = 0; i < (int)nitems(v); i++)
		if (strcmp(s, v[i]) == 0)
			return i;
	return -1;
}

/* kv_add - one plugin setting of a notifier as text */
static int
kv_add(struct fm_notify *n, config_setting_t *s)
{
	struct fm_kv *kv;
	char num[32];

	n->kv = xrealloc(n->kv, (n->nkv + 1) * sizeof(*n->kv));
	kv = &n->kv[n->nkv++];
	memset(kv, 0, sizeof(*kv));
	kv->key = xstrdup(config_setting_name(s));
	kv->line = config_setting_source_line(s);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
	case CONFIG_TYPE_BOOL:
		snprintf(num, sizeof(num), "%lld",
		    config_setting_type(s) == CONFIG_TYPE_INT64 ?
		    config_setting_get_int64(s) :
		    config_setting_type(s) == CONFIG_TYPE_BOOL ?
		    (long long)config_setting_get_bool(s) :
		    (long long)config_setting_get_int(s));
		kv->vals = xcalloc(2, sizeof(char *));
		kv->vals[kv->nvals++] = xstrdup(num);
		return 0;
	default:
		return strings(s, &kv->vals, &kv->nvals);
	}
}

/* conf_notify1 - one element of notify = ( ... ) */
static int
conf_notify1(struct fumidai *cf, config_setting_t *g, const char *file,
    char *err, size_t errlen)
{
	struct fm_notify *n;
	config_setting_t *s;
	const char *v, *name;
	int i, x;
	size_t k;

	cf->notify = xrealloc(cf->notify, (cf->nnotify + 1) * sizeof(*n));
	n = &cf->notify[cf->nnotify++];
	memset(n, 0, sizeof(*n));
	n->max_age = 86400;
	if (!config_setting_lookup_string(g, "name", &v) || !audit_name_ok(v))
		return bad(err, errlen, file, g, "notify.name",
		    "each notifier needs a name of letters, digits, _ . - (at most 64)");
	n->name = xstrdup(v);
	for (k = 0; k + 1 < cf->nnotify; k++)
		if (strcmp(cf->notify[k].name, n->name) == 0)
			return bad(err, errlen, file, g, "notify.name",
			    "two notifiers have this name");
	if (!config_setting_lookup_string(g, "plugin", &v) || *v == '\0' ||
	    strchr(v, '/') != NULL)
		return bad(err, errlen, file, g, "notify.plugin",
		    "each notifier names its plugin: plugin = \"webhook\";");
	n->plugin = xstrdup(v);
	for (i = 0; (s = config_setting_get_elem(g, (unsigned)i)) != NULL; i++) {
		name = config_setting_name(s);
		if (strcmp(name, "name") == 0 || strcmp(name, "plugin") == 0)
			continue;
		if (strcmp(name, "min_severity") == 0) {
			if ((v = config_setting_get_string(s)) == NULL ||
			    (n->min_severity = conf_severity(v)) == -1)
				return bad(err, errlen, file, s, "notify.min_severity",
				    "expected \"info\", \"low\", \"medium\", \"high\" "
				    "or \"critical\"");
		} else if (strcmp(name, "kinds") == 0) {
			if (strings(s, &n->kinds, &n->nkinds) == -1)
				return bad(err, errlen, file, s, "notify.kinds",
				    "expected an array of alert kinds");
		} else if (strcmp(name, "max_age") == 0 ||
		    strcmp(name, "per_account") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_INT ||
			    (x = config_setting_get_int(s)) < 0 || x > 86400 * 365)
				return bad(err, errlen, file, s, name,
				    "seconds: 0 to 31536000");
			if (*name == 'm')
				n->max_age = x;
			else
				n->per_account = x;
		} else if (kv_add(n, s) == -1)
			return bad(err, errlen, file, s, name,
			    "expected a string, a number or an array of strings");
	}
	return 0;
}

/* abs_path - path made absolute against the current directory, so that a
 * daemon (which moves to /) can still reload it and hand it to the children
 * it starts (audits, the dashboard); the file itself is not resolved */
static char *
abs_path(const char *path)
{
	char cwd[4096];
	struct buf b;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	buf_init(&b);
	buf_adds(&b, cwd);
	buf_adds(&b, "/");
	buf_adds(&b, path);
	buf_add(&b, "", 1);
	return b.data;
}

/* conf_notify - notify = ( { name = "..."; plugin = "webhook"; ... } ) */
static int
conf_notify(struct fumidai *cf, config_t *c, const char *file, char *err,
    size_t errlen)
{
	config_setting_t *list = config_lookup(c, "notify"), *g;
	int i;

	if (list == NULL)
		return 0;
	if (!config_setting_is_list(list))
		return bad(err, errlen, file, list, "notify",
		    "expected a list: notify = ( { name = \"...\"; plugin = "
		    "\"...\"; } );");
	for (i = 0; (g = config_setting_get_elem(list, (unsigned)i)) != NULL; i++) {
		if (!config_setting_is_group(g))
			return bad(err, errlen, file, g, "notify",
			    "expected a group { name = \"...\"; plugin = ...; }");
		if (conf_notify1(cf, g, file, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* is_group - some option lives under "path." */
static int
is_group(const char *path)
{
	const struct opt *o;
	size_t n = strlen(path);

	for (o = opts; o < opts + nitems(opts); o++)
		if (strncmp(o->path, path, n) == 0 && o->path[n] == '.')
			return 1;
	return 0;
}

static int
is_opt(const char *path)
{
	const struct opt *o;

	for (o = opts; o < opts + nitems(opts); o++)
		if (strcmp(o->path, path) == 0)
			return 1;
	return 0;
}

/* conf_unknown - a setting the table does not know is an error (groups
 * are walked down to their settings; "inputs" is checked by hand) */
static int
conf_unknown(config_setting_t *grp, const char *parent, const char *file,
    char *err, size_t errlen)
{
	config_setting_t *s;
	char path[256];
	int i;

	for (i = 0; (s = config_setting_get_elem(grp, (unsigned)i)) != NULL; i++) {
		snprintf(path, sizeof(path), "%s%s%s", parent, *parent ? "." : "",
		    config_setting_name(s));
		if (strcmp(path, "inputs") == 0 || strcmp(path, "audits") == 0 ||
		    strcmp(path, "notify") == 0)
			continue;
		if (is_group(path)) {
			if (!config_setting_is_group(s))
				return bad(err, errlen, file, s, path,
				    "expected a group: name = { ... };");
			if (conf_unknown(s, path, file, err, errlen) == -1)
				return -1;
			continue;
		}
		if (!is_opt(path))
			return bad(err, errlen, file, s, path, "unknown setting");
	}
	return 0;
}

struct fumidai *
conf_load(const char *path, int path_given, char *err, size_t errlen)
{
	struct fumidai *cf;
	config_t c;

	if (path == NULL)
		path = FM_DEFAULT_CONFIG;
	if (!path_given && access(path, F_OK) == -1)
		return conf_default();
	config_init(&c);
	if (config_read_file(&c, path) != CONFIG_TRUE) {
		if (config_error_type(&c) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read the file", path);
		else
			snprintf(err, errlen, "%s:%d: %s",
			    config_error_file(&c) ? config_error_file(&c) : path,
			    config_error_line(&c), config_error_text(&c));
		config_destroy(&c);
		return NULL;
	}
	cf = xcalloc(1, sizeof(*cf));
	conf_defaults(cf);
	cf->config_file = abs_path(path);
	if (conf_unknown(config_root_setting(&c), "", path, err,
	    errlen) == -1 ||
	    conf_opts(cf, &c, path, err, errlen) == -1 ||
	    conf_inputs(cf, &c, path, err, errlen) == -1 ||
	    conf_audits(cf, &c, path, err, errlen) == -1 ||
	    conf_notify(cf, &c, path, err, errlen) == -1) {
		config_destroy(&c);
		conf_free(cf);
		return NULL;
	}
	config_destroy(&c);
	if (cf->ninputs == 0)
		conf_default_input(cf);
	conf_finish(cf);
	return cf;
}

void
conf_clear_inputs(struct fumidai *cf)
{
	size_t i, j;

	for (i = 0; i < cf->ninputs; i++) {
		free(cf->inputs[i].path);
		free(cf->inputs[i].format);
		for (j = 0; j < cf->inputs[i].nparsers; j++)
			free(cf->inputs[i].parsers[j]);
		free(cf->inputs[i].parsers);
	}
	free(cf->inputs);
	cf->inputs = NULL;
	cf->ninputs = 0;
}

void
conf_free(struct fumidai *cf)
{
	const struct opt *o;
	size_t i;

	if (cf == NULL)
		return;
	for (o = opts; o < opts + nitems(opts); o++)
		if (o->type == OPT_STR)
			free(*strfield(cf, o));
	conf_clear_inputs(cf);
	for (i = 0; i < cf->naudits; i++) {
		free(cf->audits[i].name);
		free(cf->audits[i].type);
		strings_free(cf->audits[i].targets, cf->audits[i].ntargets);
		strings_free(cf->audits[i].args, cf->audits[i].nargs);
	}
	free(cf->audits);
	for (i = 0; i < cf->nnotify; i++) {
		struct fm_notify *n = &cf->notify[i];
		size_t j;

		free(n->name);
		free(n->plugin);
		strings_free(n->kinds, n->nkinds);
		for (j = 0; j < n->nkv; j++) {
			free(n->kv[j].key);
			strings_free(n->kv[j].vals, n->kv[j].nvals);
		}
		free(n->kv);
	}
	free(cf->notify);
	free(cf->config_file);
	free(cf);
}

void
conf_dump(const struct fumidai *cf, FILE *fp)
{
	const struct opt *o;
	size_t i, j;
	long long v;

	fprintf(fp, "# effective configuration%s%s\n",
	    cf->config_file ? " from " : " (built-in default)",
	    cf->config_file ? cf->config_file : "");
	for (o = opts; o < opts + nitems(opts); o++) {
		const char *p = (const char *)cf + o->off;

		if (o->type == OPT_STR) {
			const char *s = *(char *const *)p;

			if ((strcmp(o->path, "redis.password") == 0 ||
			    strcmp(o->path, "metrics.token") == 0 ||
			    strcmp(o->path, "web.admin_token") == 0 ||
			    strcmp(o->path, "web.admin_password") == 0 ||
			    strcmp(o->path, "web.secret") == 0) && s)
				s = "(set)";
			fprintf(fp, "%s%s = \"%s\";\n", s ? "" : "# ", o->path,
			    s ? s : "");
			continue;
		}
		if (o->size == sizeof(int)) {
			int x;
			memcpy(&x, p, sizeof(x));
			v = x;
		} else {
			size_t z;
			memcpy(&z, p, sizeof(z));
			v = (long long)z;
		}
		if (o->type == OPT_MB)
			v /= 1024 * 1024;
		fprintf(fp, "%s = %lld;\n", o->path, v);
	}
	fprintf(fp, "# redis: %s\n", cf->redis.embedded ?
	    "embedded redis-server in state_dir" : "configured");
	fprintf(fp, "inputs = (\n");
	for (i = 0; i < cf->ninputs; i++) {
		fprintf(fp, "  { path = \"%s\"; format = \"%s\"; parsers = [",
		    cf->inputs[i].path, cf->inputs[i].format);
		for (j = 0; j < cf->inputs[i].nparsers; j++)
			fprintf(fp, "%s\"%s\"", j ? ", " : " ",
			    cf->inputs[i].parsers[j]);
		fprintf(fp, " ]; }%s\n", i + 1 < cf->ninputs ? "," : "");
	}
	fprintf(fp, ");\n");
	fprintf(fp, "audits = (\n");
	for (i = 0; i < cf->naudits; i++) {
		const struct fm_audit *a = &cf->audits[i];

		fprintf(fp, "  { name = \"%s\"; type = \"%s\"; targets = [",
		    a->name, a->type);
		for (j = 0; j < a->ntargets; j++)
			fprintf(fp, "%s\"%s\"", j ? ", " : " ", a->targets[j]);
		fprintf(fp, " ]; args = [");
		for (j = 0; j < a->nargs; j++)
			fprintf(fp, "%s\"%s\"", j ? ", " : " ", a->args[j]);
		if (a->every)
			fprintf(fp, " ]; every = %d;", a->every);
		else
			fprintf(fp, " ]; at = \"%02d:%02d\";", a->at / 60,
			    a->at % 60);
		fprintf(fp, " timeout = %d; }%s\n", a->timeout,
		    i + 1 < cf->naudits ? "," : "");
	}
	fprintf(fp, ");\n");
	fprintf(fp, "notify = (\n");
	for (i = 0; i < cf->nnotify; i++) {
		const struct fm_notify *n = &cf->notify[i];
		static const char *const sev[] = { "info", "low", "medium",
		    "high", "critical" };

		fprintf(fp, "  { name = \"%s\"; plugin = \"%s\"; min_severity = "
		    "\"%s\"; max_age = %d; per_account = %d; kinds = [", n->name,
		    n->plugin, sev[n->min_severity], n->max_age, n->per_account);
		for (j = 0; j < n->nkinds; j++)
			fprintf(fp, "%s\"%s\"", j ? ", " : " ", n->kinds[j]);
		fprintf(fp, " ]; }%s", i + 1 < cf->nnotify ? "," : "");
		for (j = 0; j < n->nkv; j++)	/* values may be secrets */
			fprintf(fp, "%s%s", j ? ", " : "  # and ", n->kv[j].key);
		fprintf(fp, "\n");
	}
	fprintf(fp, ");\n");
}
