/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fumidai.h - the running configuration.  One struct fumidai is loaded by
 * config.c from the libconfig file and handed (read-only) to every module;
 * SIGHUP loads a new one and swaps it in only when it is valid.
 */
#ifndef FM_FUMIDAI_H
#define FM_FUMIDAI_H

#include <stddef.h>
#include <stdint.h>

#define FM_DEFAULT_CONFIG	SYSCONFDIR "/fumidai/fumidai.conf"
#define FM_DEFAULT_STATE_DIR	LOCALSTATEDIR "/lib/fumidai"
#define FM_DEFAULT_PLUGIN_DIR	PKGLIBDIR

/* One followed log file. */
struct fm_input {
	char *path;		/* file to follow (may not exist yet) */
	char *format;		/* header format: "auto" "syslog" "dovecot" */
	char **parsers;		/* parser plugin names for this file */
	size_t nparsers;
};

/* One scheduled posture audit (audits = ( ... ) in the config). */
struct fm_audit {
	char *name;		/* unique: [A-Za-z0-9_.-]+ */
	char *type;		/* "relay" "smtp" "op25b" */
	char **targets;		/* HOST[:PORT]; relay and smtp take one */
	size_t ntargets;
	char **args;		/* more arguments of `fumidai audit TYPE` */
	size_t nargs;
	int every;		/* seconds between runs, 0: daily at `at` */
	int at;			/* minute of the day (local time), -1: none */
	int timeout;		/* seconds before a run is killed */
};

/* A setting of a notifier's group, for the plugin: scalars as text (a
 * number as its decimal form), arrays as several values. */
struct fm_kv {
	char *key;
	char **vals;
	size_t nvals;
	int line;		/* in the config file, for messages */
};

/* One configured notifier (notify = ( ... ) in the config). */
struct fm_notify {
	char *name;		/* unique: [A-Za-z0-9_.-]+ (its cursor's name) */
	char *plugin;		/* plugin name: "webhook", "owner", ... */
	int min_severity;	/* 0 info .. 4 critical */
	char **kinds;		/* alert kinds to pass; none: all */
	size_t nkinds;
	int max_age;		/* skip alerts whose last event is older (s) */
	int per_account;	/* at most one per account per this many s; 0 */
	struct fm_kv *kv;	/* every other setting, for the plugin */
	size_t nkv;
};

struct fm_redis {
	int embedded;		/* no host/socket configured: start our own */
	char *host;		/* TCP host, or NULL */
	int port;		/* TCP port */
	char *socket;		/* unix socket path, or NULL */
	char *password;		/* AUTH password, or NULL */
	int db;			/* SELECT db */
	char *prefix;		/* key prefix, e.g. "fm:" */
	int connect_timeout_ms;	/* connect timeout */
	int retry_max_ms;	/* reconnect backoff ceiling */
};

/* Detector settings (doc/detection.md); times in seconds. */
struct fm_detect {
	int enabled;
	int cooldown;
	int bf_window, bf_threshold, bf_long_window, bf_long_threshold;
	int bf_stale_interval;
	int di_window, di_ips, di_long_window, di_long_ips;
	int su_window, su_failures;
	int sp_window, sp_accounts, sp_long_window, sp_long_accounts;
	int sp_prefix4, sp_prefix6, sp_net_accounts;
	int uu_window, uu_users;
	int sg_window, sg_factor, sg_min;
	int learn_days, learn_logins, travel_speed, travel_min_km;
	int countries, countries_window;
	int send_window, send_messages, send_recipients, send_min;
	int send_factor, send_days, send_after_login;
	int cs_enabled, cs_countries, cs_asns;	/* concurrent_sessions */
};

struct fumidai {
	char *config_file;	/* file this was loaded from */
	char *instance;		/* name of this fumidai in a shared Redis (hostname) */
	char *state_dir;	/* cursors, journal, spool, embedded Redis */
	char *plugin_dir;	/* where parser plugins (.so) are loaded from */
	char *timezone;		/* zone of timestamps without offset; NULL: system */
	struct fm_redis redis;
	struct fm_input *inputs;
	size_t ninputs;
	char *geoip_city;	/* city .mmdb path, NULL: none */
	char *geoip_asn;	/* ASN .mmdb path, NULL: none */
	size_t max_line;	/* longer lines are counted and skipped */
	int poll_ms;		/* stat() polling interval (inotify fallback) */
	int batch_lines;	/* lines per batch at most */
	int flush_ms;		/* a partial batch is flushed after this */
	int retention_days;	/* TTL of every key */
	int addr_retention_days; /* TTL of address and network keys (at most
				 * retention_days) */
	int archive_after_days;	/* account days older than this are archived
				 * (compact.c); 0: never */
	int history_max;	/* login / message records kept per account list */
	size_t queue_max_bytes;	/* Redis backlog kept in memory before spooling */
	size_t spool_max_bytes;	/* spool file ceiling; past it fumidai stops reading */
	struct fm_detect detect;
	int pop_before_smtp;	/* POP-before-SMTP window (s), 0: off */
	int sessions_max_age;	/* open sessions dropped past this (s, event time) */
	struct fm_audit *audits;
	size_t naudits;
	struct fm_notify *notify;
	size_t nnotify;
	struct {
		char *listen;		/* "inet:HOST:PORT" "unix:PATH", NULL: off */
		char *action;		/* "DEFER" or "REJECT" */
		char *text;		/* the reply's text */
		char *flag_kinds;	/* comma list: alerts that flag an account */
		int flag_recent;	/* only alerts this recent (s) flag */
		int timeout_ms;		/* Redis answer wait before DUNNO */
	} policy;
	struct {
		char *kinds;		/* comma list: alerts that block their ip */
		int ttl;		/* seconds after the alert's last event; 0 off */
	} blocklist;
	struct {
		char *listen;		/* "HOST:PORT" of /metrics, NULL: off */
		char *token;		/* bearer token required, NULL: none */
	} metrics;
	struct {
		int enabled;		/* `fumidai run` starts `fumidai web` */
		char *listen;		/* "HOST:PORT" of the dashboard */
		char *admin_token;	/* admins' bearer token, NULL: none */
		char *admin_password;	/* admins' login form password, NULL */
		char *secret;		/* HMAC key of links and cookies, NULL */
		char *secret_file;	/* file holding it, NULL */
		int link_ttl;		/* owner links last this long (s) */
		char *base_url;		/* "https://host:port" of owner links */
		int anonymous_loopback;	/* admin pages open to 127/8 and ::1 */
		char *assets;		/* directory of the front-end files */
		char *owner_login;	/* "imap[s]://HOST:PORT" owners log in
					 * against (web_owner.c), NULL: off */
		char *owner_login_tls;	/* "starttls" (imap:// only), NULL */
		int owner_login_verify;	/* check that server's certificate */
	} web;
};

#endif
