/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - the Prometheus /metrics server (see metrics.h).
 *
 * The listener is bound by us (evconnlistener_new_bind on the exact numeric
 * address) and handed to evhttp, so the address is the one configured and
 * nothing else.  One generic callback answers every request: the method,
 * then the path, then the token are checked, in that order, so that a
 * client without the token learns only that a token is needed.  The page
 * is formed on each scrape from the engine's counters (metrics_fill_fn);
 * nothing is cached between scrapes.
 *
 * SECURITY: see metrics.h.  Input paths come from the configuration and
 * are escaped as label values; kind names come from a fixed table.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "audit_sched.h"
#include "event.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "pipeline.h"
#include "util.h"

#define METRICS_HEADERS_MAX	8192	/* bytes of a request's headers */
#define METRICS_BODY_MAX	1024	/* bytes of a request's body */
#define METRICS_TIMEOUT_S	10	/* an idle connection is closed */
#define METRICS_CTYPE		"text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	const struct fumidai *cf;
	struct evhttp *http;
	struct evconnlistener *lst;	/* owned by http once bound */
	metrics_fill_fn *fill;
	void *arg;
	double started;			/* process start, s since the epoch */
};

/* One per-input counter: name, help, and where it is in the counts. */
struct input_metric {
	const char *name, *help;
	size_t off;
};

#define PC(f)	offsetof(struct pipeline_counts, f)
static const struct input_metric input_metrics[] = {
	{ "fumidai_input_lines_total", "Lines read from the input.", PC(lines) },
	{ "fumidai_input_events_total", "Events the input's lines gave "
	    "(after correlation).", PC(events) },
	{ "fumidai_input_unrecognized_total", "Lines of a known program that "
	    "no parser understood.", PC(unknown) },
	{ "fumidai_input_malformed_total", "Lines skipped: no readable "
	    "header.", PC(malformed) },
	{ "fumidai_input_too_long_total", "Lines skipped: longer than "
	    "max_line.", PC(too_long) },
	{ "fumidai_input_bad_bytes_total", "Lines skipped: NUL bytes or "
	    "invalid UTF-8.", PC(bad_bytes) },
};

static double process_start(void);
static void put_head(struct buf *, const char *, const char *, const char *);
static void put_u(struct buf *, const char *, const char *, const char *,
    uint64_t);
static void put_inputs(struct buf *, const struct fumidai *,
    const struct metrics_snap *);
static void put_kinds(struct buf *, const struct metrics_snap *);
static void put_store(struct buf *, const struct metrics_snap *);
static void put_notify(struct buf *, const struct metrics_snap *);
static void put_audits(struct buf *, const struct metrics_snap *);
static void metrics_page(struct metrics *, struct buf *);
static int token_ok(const struct metrics *, struct evhttp_request *);
static void send_text(struct evhttp_request *, int, const char *,
    const char *);
static void metrics_request_cb(struct evhttp_request *, void *);
static int listen_addr(struct metrics *, struct event_base *, const char *,
    char *, size_t);

/* process_start - from /proc (the daemon's, not this object's, start:
 * a reload makes a new server); now when /proc cannot tell */
static double
process_start(void)
{
	char line[1024], *p;
	unsigned long long ticks = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *fp;
	int i;

	if ((fp = fopen("/proc/self/stat", "r")) != NULL) {
		if (fgets(line, sizeof(line), fp) != NULL &&
		    (p = strrchr(line, ')')) != NULL) {
			/* field 22 is the 20th after the ") " */
			for (i = 0; i < 20 && p != NULL; i++)
				p = strchr(p + 1, ' ');
			if (p != NULL)
				ticks = strtoull(p + 1, NULL, 10);
		}
		fclose(fp);
	}
	if ((fp = fopen("/proc/stat", "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (strncmp(line, "btime ", 6) == 0)
				btime = strtoull(line + 6, NULL, 10);
		fclose(fp);
	}
	if (btime == 0 || ticks == 0 || hz <= 0)
		return (double)(now_us() / 1000000);
	return (double)btime + (double)ticks / (double)hz;
}

void
metrics_label_escape(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\')
			buf_adds(b, "\\\\");
		else if (p[i] == '"')
			buf_adds(b, "\\\"");
		else if (p[i] == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, p[i]);
	}
}

/* put_head - the # HELP and # TYPE lines of a metric (help is constant) */
static void
put_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* put_u - one sample; label (name) and value (escaped here) may be NULL */
static void
put_u(struct buf *b, const char *name, const char *label, const char *value,
    uint64_t v)
{
	buf_adds(b, name);
	if (label != NULL) {
		buf_printf(b, "{%s=\"", label);
		metrics_label_escape(b, value, strlen(value));
		buf_adds(b, "\"}");
	}
	buf_addc(b, ' ');
	buf_addu(b, v);
	buf_addc(b, '\n');
}

static void
put_inputs(struct buf *b, const struct fumidai *cf, const struct metrics_snap *s)
{
	const struct input_metric *im;
	size_t i;

	if (s->pl == NULL)
		return;
	for (im = input_metrics; im < input_metrics + nitems(input_metrics); im++) {
		put_head(b, im->name, "counter", im->help);
		for (i = 0; i < s->nin && i < cf->ninputs; i++) {
			const struct pipeline_counts *n = pipeline_counts(s->pl,
			    (uint32_t)i);
			uint64_t v;

			memcpy(&v, (const char *)n + im->off, sizeof(v));
			put_u(b, im->name, "input", cf->inputs[i].path, v);
		}
	}
}

static void
put_kinds(struct buf *b, const struct metrics_snap *s)
{
	int k;

	if (s->kinds == NULL)
		return;
	put_head(b, "fumidai_events_total", "counter",
	    "Events recorded, by kind.");
	for (k = 1; k < FM_EV__COUNT; k++)
		put_u(b, "fumidai_events_total", "kind", event_kind_name(k),
		    s->kinds[k]);
}

static void
put_store(struct buf *b, const struct metrics_snap *s)
{
	const struct store_stats *st = &s->store;
	size_t i;

	if (!s->have_store)
		return;
	put_head(b, "fumidai_store_batches_total", "counter",
	    "Batches submitted to the store.");
	put_u(b, "fumidai_store_batches_total", NULL, NULL, st->batches);
	put_head(b, "fumidai_store_applied_total", "counter",
	    "Batches applied by Redis.");
	put_u(b, "fumidai_store_applied_total", NULL, NULL, st->applied);
	put_head(b, "fumidai_store_spooled_total", "counter",
	    "Batches written to the spool while Redis was away.");
	put_u(b, "fumidai_store_spooled_total", NULL, NULL, st->spooled);
	put_head(b, "fumidai_redis_commands_total", "counter",
	    "Commands sent to Redis.");
	put_u(b, "fumidai_redis_commands_total", NULL, NULL, st->commands);
	put_head(b, "fumidai_redis_errors_total", "counter",
	    "Error replies from Redis.");
	put_u(b, "fumidai_redis_errors_total", NULL, NULL, st->errors);
	put_head(b, "fumidai_alerts_total", "counter",
	    "Alerts posted (new and updated).");
	put_u(b, "fumidai_alerts_total", NULL, NULL, st->alerts);
	put_head(b, "fumidai_alerts_opened_total", "counter",
	    "Alerts opened by this process, by kind.");
	for (i = 0; i < st->nopened; i++)
		put_u(b, "fumidai_alerts_opened_total", "kind",
		    st->opened[i].kind, st->opened[i].n);
	if (s->audits != NULL)	/* filed by the audit scheduler */
		put_u(b, "fumidai_alerts_opened_total", "kind", "posture",
		    audit_sched_posture_alerts(s->audits));
	put_head(b, "fumidai_redis_backlog_bytes", "gauge",
	    "Formatted commands waiting in memory for Redis.");
	put_u(b, "fumidai_redis_backlog_bytes", NULL, NULL, st->backlog_bytes);
	put_head(b, "fumidai_spool_bytes", "gauge", "Bytes in the spool file.");
	put_u(b, "fumidai_spool_bytes", NULL, NULL, st->spool_bytes);
	put_head(b, "fumidai_redis_connected", "gauge",
	    "1 when the Redis link is up and the scripts are loaded.");
	put_u(b, "fumidai_redis_connected", NULL, NULL, st->connected ? 1 : 0);
	put_head(b, "fumidai_redis_latency_seconds", "gauge",
	    "Round-trip time of the last Redis reply.");
	buf_printf(b, "fumidai_redis_latency_seconds %.6f\n",
	    st->latency_us > 0 ? (double)st->latency_us / 1e6 : 0.0);
}

/* put_label - ,name="value" (escaped) */
static void
put_label(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, "%s=\"", name);
	metrics_label_escape(b, value, strlen(value));
	buf_addc(b, '"');
}

/* put_notify - each notifier's deliveries by result */
static void
put_notify(struct buf *b, const struct metrics_snap *s)
{
	static const char *const res[] = { "sent", "failed", "dropped",
	    "skipped" };
	struct notify_stat v[64];
	size_t i, j, n;

	if (s->notify == NULL)
		return;
	n = notify_stats(s->notify, v, nitems(v));
	put_head(b, "fumidai_notifications_total", "counter",
	    "Alerts handled by each notifier, by result (failed: tried "
	    "again later).");
	for (i = 0; i < n; i++)
		for (j = 0; j < nitems(res); j++) {
			uint64_t c = j == 0 ? v[i].sent : j == 1 ? v[i].failed :
			    j == 2 ? v[i].dropped : v[i].skipped;

			buf_adds(b, "fumidai_notifications_total{");
			put_label(b, "notifier", v[i].name);
			buf_addc(b, ',');
			put_label(b, "result", res[j]);
			buf_printf(b, "} %llu\n", (unsigned long long)c);
		}
}

/* put_audits - each audit's latest run since the start */
static void
put_audits(struct buf *b, const struct metrics_snap *s)
{
	struct audit_stat v[256];
	size_t i, n;

	if (s->audits == NULL)
		return;
	n = audit_sched_stats(s->audits, v, nitems(v));
	put_head(b, "fumidai_audit_ok", "gauge",
	    "1 when the audit's latest run passed (exit 0), else 0.");
	for (i = 0; i < n; i++)
		put_u(b, "fumidai_audit_ok", "audit", v[i].name,
		    v[i].status == 0);
	put_head(b, "fumidai_audit_status", "gauge", "Exit status of the "
	    "audit's latest run: 0 pass, 1 findings, 2 could not run, "
	    "-N killed by signal N.");
	for (i = 0; i < n; i++) {
		buf_adds(b, "fumidai_audit_status{");
		put_label(b, "audit", v[i].name);
		buf_printf(b, "} %d\n", v[i].status);
	}
	put_head(b, "fumidai_audit_last_run_timestamp_seconds", "gauge",
	    "Start of the audit's latest run since unix epoch in seconds.");
	for (i = 0; i < n; i++) {
		buf_adds(b, "fumidai_audit_last_run_timestamp_seconds{");
		put_label(b, "audit", v[i].name);
		buf_printf(b, "} %lld\n", (long long)(v[i].last_run / 1000000));
	}
}

/* metrics_page - the whole exposition, formed now */
static void
metrics_page(struct metrics *m, struct buf *b)
{
	struct metrics_snap s;

	memset(&s, 0, sizeof(s));
	m->fill(m->arg, &s);
	put_inputs(b, m->cf, &s);
	put_kinds(b, &s);
	put_store(b, &s);
	put_notify(b, &s);
	put_audits(b, &s);
	put_head(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since unix epoch in seconds.");
	buf_printf(b, "process_start_time_seconds %.2f\n", m->started);
}

/* token_ok - no token configured, or "Bearer <token>" (constant time) */
static int
token_ok(const struct metrics *m, struct evhttp_request *req)
{
	const char *tok = m->cf->metrics.token, *h;
	size_t i, tn, hn;
	unsigned char diff = 0;

	if (tok == NULL)
		return 1;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	tn = strlen(tok);
	hn = strlen(h);
	/* time depends on the token's length only */
	for (i = 0; i < tn; i++)
		diff |= (unsigned char)(tok[i] ^ (i < hn ? h[i] : ~tok[i]));
	return diff == 0 && hn == tn;
}

static void
send_text(struct evhttp_request *req, int code, const char *reason,
    const char *body)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(oh, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(oh, "Cache-Control", "no-store");
	if (code == HTTP_BADMETHOD)
		evhttp_add_header(oh, "Allow", "GET");
	if (code == 401)
		evhttp_add_header(oh, "WWW-Authenticate",
		    "Bearer realm=\"fumidai\"");
	if (out != NULL)
		evbuffer_add_printf(out, "%s\n", body);
	evhttp_send_reply(req, code, reason, out);
	if (out != NULL)
		evbuffer_free(out);
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *out;
	struct buf b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		send_text(req, HTTP_BADMETHOD, "Method Not Allowed",
		    "only GET is served");
		return;
	}
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		send_text(req, HTTP_NOTFOUND, "Not Found", "see /metrics");
		return;
	}
	if (!token_ok(m, req)) {
		send_text(req, 401, "Unauthorized", "a bearer token is needed");
		return;
	}
	buf_init(&b);
	metrics_page(m, &b);
	if ((out = evbuffer_new()) == NULL) {
		buf_free(&b);
		send_text(req, HTTP_INTERNAL, "Internal Server Error", "no memory");
		return;
	}
	evbuffer_add(out, b.data, b.len);
	buf_free(&b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CTYPE);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

/* listen_addr - bind metrics.listen; a warning when it is not loopback */
static int
listen_addr(struct metrics *m, struct event_base *base, const char *spec,
    char *err, size_t errlen)
{
	int lo;

	if ((m->lst = listen_tcp(base, spec, "metrics.listen", NULL, NULL, &lo,
	    err, errlen)) == NULL)
		return -1;
	if (!lo)
		log_warnx("service=metrics listen=%s msg=\"not a loopback "
		    "address%s\"", spec, m->cf->metrics.token ? "" :
		    ", and no metrics.token");
	return 0;
}

struct metrics *
metrics_new(struct event_base *base, const struct fumidai *cf,
    metrics_fill_fn *fill, void *arg, char *err, size_t errlen)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->cf = cf;
	m->fill = fill;
	m->arg = arg;
	m->started = process_start();
	if (cf->metrics.listen == NULL) {
		snprintf(err, errlen, "metrics.listen: not set");
		free(m);
		return NULL;
	}
	if ((m->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "metrics: evhttp_new failed");
		free(m);
		return NULL;
	}
	if (listen_addr(m, base, cf->metrics.listen, err, errlen) == -1) {
		metrics_free(m);
		return NULL;
	}
	if (evhttp_bind_listener(m->http, m->lst) == NULL) {
		evconnlistener_free(m->lst);
		m->lst = NULL;
		snprintf(err, errlen, "metrics: evhttp_bind_listener failed");
		metrics_free(m);
		return NULL;
	}
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, METRICS_BODY_MAX);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);	/* refused with 405 by the callback */
	evhttp_set_gencb(m->http, metrics_request_cb, m);
	log_info("service=metrics listen=%s token=%s msg=\"metrics server "
	    "started\"", cf->metrics.listen, cf->metrics.token ? "yes" : "no");
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);	/* frees bound listeners too */
	else if (m->lst != NULL)
		evconnlistener_free(m->lst);
	free(m);
}
