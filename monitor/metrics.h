/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - Prometheus /metrics of `fumidai run`: an HTTP server on the
 * daemon's loop (libevent evhttp) bound exactly to metrics.listen
 * ("HOST:PORT" or "[HOST]:PORT", HOST numeric) that answers GET /metrics in
 * the text exposition format 0.0.4: lines and skips per input, events by
 * kind, the store's batches, commands, errors and alerts (and the alerts
 * opened by kind), the Redis backlog, spool, link state and latency, each
 * notifier's deliveries by result, each audit's latest run, and the
 * process start time.
 * Any other path is 404, any other method 405.  With metrics.token set, a
 * request must carry "Authorization: Bearer <token>" or gets 401.
 *
 * SECURITY: requests come from whoever reaches the address (meant to be
 * loopback; another address is logged as a warning).  Nothing a client
 * sends reaches the answer or the log; the token is compared in constant
 * time; header and body sizes and idle time are bounded by evhttp.
 */
#ifndef FM_METRICS_H
#define FM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"
#include "store.h"

struct event_base;
struct audit_sched;
struct metrics;
struct notify;
struct pipeline;

/* What the engine shows at one scrape; everything borrowed until the
 * fill callback's caller returns. */
struct metrics_snap {
	const struct pipeline *pl;	/* per-input counters, or NULL */
	size_t nin;			/* inputs (cf->inputs[0..nin)) */
	const uint64_t *kinds;		/* FM_EV__COUNT events by kind, or NULL */
	int have_store;			/* store filled in */
	struct store_stats store;
	const struct notify *notify;	/* notifiers' counts, or NULL */
	const struct audit_sched *audits;	/* audits' latest, or NULL */
};

/* metrics_fill_fn - fill s (zeroed) with the counters of this moment */
typedef void metrics_fill_fn(void *arg, struct metrics_snap *s);

/* metrics_new - listen on cf->metrics.listen; NULL + err when the address
 * is bad or taken.  cf is borrowed until metrics_free. */
struct metrics *metrics_new(struct event_base *base, const struct fumidai *cf,
    metrics_fill_fn *fill, void *arg, char *err, size_t errlen);
/* metrics_free - close the listener and every connection; NULL is fine */
void metrics_free(struct metrics *m);

/* metrics_label_escape - a label value escaped per the format (\\, \",
 * \n) into b, without the quotes (exposed for tests) */
void metrics_label_escape(struct buf *b, const char *p, size_t n);

#endif
