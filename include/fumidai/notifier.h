/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fumidai/notifier.h - the one header a notifier plugin includes.
 *
 * A notifier plugin (webhook, mail to admins, mail to account owners,
 * syslog, Redis pub/sub, ...) exports exactly one symbol,
 * `fm_notifier_plugin`, a const struct fm_notifier.  The core (notify.c)
 * reads the alert stream, applies each configured notifier's filters (kinds,
 * minimum severity, age, per-account rate), and hands it one alert at a
 * time.  The plugin decides what to send and asks the core to send it: it
 * never touches the event loop, sockets or Redis itself (syslog(3) is the
 * exception: it may call it directly).  Every I/O service answers through a
 * done callback, called exactly once, possibly before the service call
 * returns.
 *
 * Delivery is at least once: the core moves a notifier's cursor past an
 * alert only after deliver() reported FM_NOTIFY_OK or FM_NOTIFY_DROP, and
 * keeps the cursor in Redis, so a restart re-delivers what was pending.
 *
 * SECURITY: everything in an alert that came from logs or GeoIP databases
 * (account, places, summary) is attacker-controlled.  The JSON record is
 * valid JSON with every such string escaped; fields handed out separately
 * are documented below.  Never put them into a header, URL, shell command
 * or markup without escaping for that context.
 */
#ifndef FUMIDAI_NOTIFIER_H
#define FUMIDAI_NOTIFIER_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever a struct below changes layout or meaning. */
#define FM_NOTIFIER_ABI 2

/* One alert as filed (doc/detection.md). */
struct fm_alert {
	const char *json;	/* the record (JSON object), NUL-terminated */
	size_t json_len;
	const char *id;		/* 16 hex digits */
	const char *kind;	/* "new_country", ... (ASCII, no spaces) */
	const char *severity;	/* "info" "low" "medium" "high" "critical" */
	/* the account's name as raw bytes (decoded from the record: may hold
	 * any byte, CR/LF and NUL included), and its length; len 0: none */
	const char *account;
	size_t account_len;
	const char *ip;		/* address text or "" (safe: inet_ntop form) */
	const char *net;	/* CIDR text or "" */
	int64_t time, first, last;	/* Unix seconds (event time) */
	long count;
	/* the account owner's signed dashboard link ("https://.../o/<token>":
	 * URL-safe characters only), NULL when web.base_url is unset or the
	 * alert has no account (ABI 2) */
	const char *owner_link;
};

/* Results of a delivery and of the services. */
#define FM_NOTIFY_OK	0	/* done */
#define FM_NOTIFY_RETRY	1	/* failed for now: the core retries later */
#define FM_NOTIFY_DROP	2	/* will never work: logged, skipped */

/* fm_done_fn - a service or delivery finished with an FM_NOTIFY_* status;
 * detail is a short human reason (borrowed) or NULL */
typedef void fm_done_fn(void *token, int status, const char *detail);

/* Levels of the host's log() (the values of fumidai/plugin.h's). */
#ifndef FM_LOG_ERR
#define FM_LOG_ERR	0
#define FM_LOG_WARN	1
#define FM_LOG_INFO	2
#define FM_LOG_DEBUG	3
#endif

/* What the core offers a notifier.  `host` is the core's context for this
 * notifier instance: pass it back to every service. */
struct fm_notify_host {
	/* log - a line in the daemon's log (printf-style; escape what you
	 * print that came from an alert) */
	void (*log)(void *host, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
	/* settings of this notifier's config group (strings as written, NULL
	 * when absent); conf_list returns the number of strings of an array
	 * setting (or 1 for a plain string) and the vector in *out (borrowed) */
	const char *(*conf_str)(void *host, const char *name);
	long long (*conf_int)(void *host, const char *name, long long def);
	size_t (*conf_list)(void *host, const char *name,
	    const char *const **out);
	/* http_post - POST body to an http:// or https:// URL with extra
	 * header lines ("Name: value", no CR/LF); 2xx is OK, 4xx DROP (except
	 * 408/429: RETRY), anything else RETRY */
	void (*http_post)(void *host, const char *url,
	    const char *const *headers, size_t nheaders, const char *body,
	    size_t len, fm_done_fn *done, void *token);
	/* smtp_send - submit one message (CRLF line ends, headers and body,
	 * no dot-stuffing: the core does it) to the relay "HOST[:PORT]" (the
	 * setting `relay` by default, else 127.0.0.1:25), or through the
	 * setting `sendmail` (a command path) when that is set; 2xx/250 OK,
	 * 5xx DROP, else RETRY */
	void (*smtp_send)(void *host, const char *from,
	    const char *const *rcpts, size_t nrcpts, const char *msg,
	    size_t len, fm_done_fn *done, void *token);
	/* publish - PUBLISH msg on a Redis channel of the configured Redis
	 * (channel NULL: "<prefix>alerts", prefix being redis.prefix) */
	void (*publish)(void *host, const char *channel, const char *msg,
	    size_t len, fm_done_fn *done, void *token);
};

struct fm_notifier {
	int abi;		/* FM_NOTIFIER_ABI */
	const char *name;	/* "webhook", "mail", "owner", "syslog", ... */
	const char *description;
	/* init - private state for one configured instance, or NULL with a
	 * message in err (naming the setting); called at start and on reload,
	 * and by `fumidai check-config` (no service works there).  init reads
	 * every setting the plugin knows: a setting of the notifier's group
	 * that init did not read is refused by the core as unknown. */
	void *(*init)(const struct fm_notify_host *h, void *host, char *err,
	    size_t errlen);
	/* deliver - start delivering a (borrowed until done is called); call
	 * done(token, FM_NOTIFY_*, detail) exactly once */
	void (*deliver)(void *self, const struct fm_alert *a, fm_done_fn *done,
	    void *token);
	/* tick - called about once a second with the wall clock (Unix
	 * seconds), e.g. to send a digest; may be NULL */
	void (*tick)(void *self, int64_t now);
	void (*free)(void *self);
};

/* The symbol each notifier plugin exports. */
#define FM_NOTIFIER_SYMBOL "fm_notifier_plugin"

#endif
