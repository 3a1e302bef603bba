/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify.h - the notification core of `fumidai run`: the configured
 * notifiers (notify = ( ... ) in fumidai.conf), each a plugin
 * `<plugin_dir>/notify_<plugin>.so` exporting a struct fm_notifier
 * (include/fumidai/notifier.h), fed from the alert stream.
 *
 * Each notifier reads `<prefix>{g}:alerts` after its own cursor, kept in
 * `<prefix>{g}:notify:<name>` (the last stream id it handled; a new
 * notifier starts at the stream's end, so an install does not send
 * history), and handles one alert at a time: the latest record of the
 * alert (`{g}:alert:<id>`, else the stream's copy) goes through the
 * filters (kinds, min_severity, max_age against the wall clock and the
 * record's `last`, per_account with its state in
 * `<prefix>{g}:notify:<name>:rate`), then to the plugin's deliver().  The
 * cursor moves past an alert only once deliver() said OK or DROP (a DROP
 * is logged); a RETRY delivers the same alert again after a pause that
 * doubles from 1 s to 10 min.  So an alert is sent at least once, and
 * once in normal operation: only a stop or a reload while a delivery is in
 * flight, or a lost cursor write, can send one again.
 *
 * The host services (notifier.h): http_post (httpc.c; settings `timeout`
 * in seconds), smtp_send (mailout.c; settings `relay`, `sendmail`),
 * publish (PUBLISH on the core's Redis link; a NULL channel is
 * `<prefix>alerts`).  A setting of a notifier's group that neither the
 * core nor the plugin's init() read is refused, naming it.
 *
 * SECURITY: alert records are fumidai's own but carry attacker-controlled
 * text; they are parsed with show_json_get (bounded), the account is
 * handed out as bytes, and log lines escape everything taken from them.
 * Plugin names come from the configuration and must be plain names.
 */
#ifndef FM_NOTIFY_H
#define FM_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"

struct event_base;
struct notify;

#define NOTIFY_BATCH		32	/* stream entries read at once */
#define NOTIFY_POLL_MS		1000	/* stream polling and plugin ticks */
#define NOTIFY_BACKOFF_MIN_MS	1000
#define NOTIFY_BACKOFF_MAX_MS	(600 * 1000)

/* notify_new - load and init every notifier of cf (NULL + err naming the
 * notifier, its file or its setting when one fails) and start reading the
 * stream; cf is borrowed until notify_free.  With no notifier configured,
 * an idle core is returned. */
struct notify *notify_new(struct event_base *base, const struct fumidai *cf,
    char *err, size_t errlen);
/* notify_free - stop: deliveries in flight are dropped without their
 * callbacks (the cursors stay before them: they are sent again after a
 * restart); plugins freed and unloaded.  NULL is fine. */
void notify_free(struct notify *n);
/* Delivery counts of one notifier since it was loaded (/metrics). */
struct notify_stat {
	const char *name;	/* borrowed from the configuration */
	uint64_t sent;		/* deliver() said OK */
	uint64_t failed;	/* deliver() said RETRY (it is tried again) */
	uint64_t dropped;	/* deliver() said DROP */
	uint64_t skipped;	/* a filter passed it by */
};
/* notify_stats - up to max notifiers' counts into out; how many */
size_t notify_stats(const struct notify *n, struct notify_stat *out,
    size_t max);

/* notify_check - load and init each notifier of cf without any service
 * (no Redis, no loop), then free it: -1 + err as notify_new */
int notify_check(const struct fumidai *cf, char *err, size_t errlen);

#endif
