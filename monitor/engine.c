/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.c - inputs -> pipeline -> batches -> store, for run and replay.
 *
 * Exactly once: a batch is cut only between whole lines; its number (seq)
 * grows within its stream; run journals the input ranges of each cut before
 * submitting it, and writes a checkpoint (positions, counters, correlator)
 * whenever every submitted batch is durable and no line is waiting in the
 * open batch.  A restart loads the checkpoint, forms the journaled batches
 * again from the same ranges (same lines, same order, same correlator state:
 * the same events) and re-submits them under the same numbers; subjects that
 * had applied them skip them.  The follow-up reading resumes after them.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "conf.h"
#include "correlate.h"
#include "audit_sched.h"
#include "compact.h"
#include "engine.h"
#include "event.h"
#include "log.h"
#include "logline.h"
#include "metrics.h"
#include "webchild.h"
#include "notify.h"
#include "pipeline.h"
#include "policy.h"
#include "redisd.h"
#include "store.h"

#define INFLIGHT_HIGH	8	/* pause reading past this many batches */
#define INFLIGHT_LOW	3	/* and resume below this */
#define CKPT_FORCE_US	(5 * 1000000)	/* force a checkpoint this often */
#define CUTS		64	/* batches whose event time the archive
				 * pass waits for (older ones are dropped) */
#define FUTURE_US	(86400LL * 1000000)	/* run: times past now + this
						 * do not move the archive pass */

enum { MODE_RUN, MODE_REPLAY };

struct engine;

struct input_ctx {
	struct engine *e;
	uint32_t idx;
};

struct engine {
	struct fumidai *cf;
	struct event_base *base;
	int mode, flags;
	struct redisd *redisd;
	struct pipeline *pl;
	struct store *store;
	struct policy *policy;		/* run: Postfix policy server, or NULL */
	struct metrics *metrics;	/* run: /metrics server, or NULL */
	struct audit_sched *audits;	/* run: scheduled audits, or NULL */
	struct webchild *web;		/* run: the dashboard child, or NULL */
	struct compactor *compact;	/* the archive pass's child, or NULL */
	int64_t newest;			/* the newest event time read (us) */
	struct {			/* newest event time as of each cut */
		uint64_t seq;
		int64_t newest;
	} cuts[CUTS];
	size_t ncuts;
	struct notify *notify;		/* run: notifiers, or NULL */
	struct tail **tails;		/* one per input (run) or current file */
	struct input_ctx *ictx;
	struct tail_pos *pos;		/* per input: end of the last chunk read */
	size_t nin;
	struct batch cur;		/* the batch being formed */
	char stream[96];
	uint64_t seq;			/* last batch cut */
	uint64_t durable;		/* last batch acknowledged */
	uint64_t ckpt_seq;		/* last batch covered by the checkpoint */
	int64_t ckpt_at;		/* mono_us of the last checkpoint */
	FILE *journal;
	int paused;			/* reading paused for backpressure */
	int reforming;			/* forming journaled batches again */
	int draining;			/* waiting for durability to stop / reload */
	int reload;			/* reload after draining */
	int exit_code;
	struct event *flush_ev, *progress_ev;
	struct event *sigs[4];
	uint64_t kinds[FM_EV__COUNT];	/* events recorded, by kind */
	struct buf out;			/* --print */
	/* replay */
	char **files;
	int nfiles, file;
	int64_t started;
	uint64_t lines_done;
};

static void engine_cut(struct engine *);
static void engine_chunk_cb(void *, struct tail *, const struct tail_chunk *);
static void engine_event_cb(void *, const struct fm_event *);
static void engine_ack_cb(void *, const char *, uint64_t);
static int engine_setup(struct engine *, char *, size_t);
static void engine_teardown(struct engine *);
static void engine_maybe_checkpoint(struct engine *, int);
static void engine_metrics_cb(void *, struct metrics_snap *);
static void replay_next(struct engine *);

static void
engine_event_cb(void *arg, const struct fm_event *ev)
{
	struct engine *e = arg;

	if (ev->time > e->newest && (e->mode == MODE_REPLAY ||
	    ev->time <= now_us() + FUTURE_US))
		e->newest = ev->time;
	batch_add(&e->cur, ev);
}

/* engine_pause - stop or restart reading every input */
static void
engine_pause(struct engine *e, int pause)
{
	size_t i;

	if (e->paused == pause)
		return;
	e->paused = pause;
	for (i = 0; i < e->nin; i++) {
		if (e->tails[i] == NULL)
			continue;
		if (pause)
			tail_pause(e->tails[i]);
		else
			tail_resume(e->tails[i]);
	}
}

static void
engine_print(struct engine *e, const struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nev; i++) {
		const struct fm_event *ev = &b->ev[i];

		e->kinds[ev->kind < FM_EV__COUNT ? ev->kind : 0]++;
		if (!(e->flags & ENGINE_PRINT))
			continue;
		event_json(&e->out, ev, ev->input < e->cf->ninputs ?
		    e->cf->inputs[ev->input].path : "-");
		buf_addc(&e->out, '\n');
	}
	if (e->out.len) {
		fwrite(e->out.data, 1, e->out.len, stdout);
		fflush(stdout);
		buf_reset(&e->out);
	}
}

/* engine_cut - close the open batch and hand it to the store */
static void
engine_cut(struct engine *e)
{
	if (e->cur.lines == 0 && e->cur.nev == 0)
		return;
	pipeline_expire(e->pl);
	e->cur.stream = e->stream;
	e->cur.seq = ++e->seq;
	if (e->ncuts == CUTS) {
		memmove(e->cuts, e->cuts + 1, (CUTS - 1) * sizeof(e->cuts[0]));
		e->ncuts--;
	}
	e->cuts[e->ncuts].seq = e->seq;
	e->cuts[e->ncuts++].newest = e->newest;
	if (e->journal != NULL && journal_append(e->journal, &e->cur) == -1)
		log_warn("journal write failed (a crash now may lose track of "
		    "batch %llu)", (unsigned long long)e->cur.seq);
	engine_print(e, &e->cur);
	store_submit(e->store, &e->cur);
	batch_reset(&e->cur);
	if (store_pending(e->store) >= INFLIGHT_HIGH)
		engine_pause(e, 1);
}

/* split_at - bytes of the first `lines` lines of data, and their end fp */
static size_t
split_at(const char *p, size_t len, uint64_t lines, uint64_t *fp)
{
	const char *s = p, *end = p + len, *nl = p, *prev = p;

	while (lines > 0 && s < end && (nl = memchr(s, '\n', (size_t)(end - s)))) {
		prev = s;
		s = nl + 1;
		lines--;
	}
	*fp = fnv1a64(prev, (size_t)(s - prev), FNV1A64_INIT);
	return (size_t)(s - p);
}

static uint64_t
count_lines(const char *p, size_t len)
{
	uint64_t n = 0;
	const char *s = p, *end = p + len, *nl;

	while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		n++;
		s = nl + 1;
	}
	if (s < end)
		n++;		/* a reader's last line without newline */
	return n;
}

/* engine_feed - one chunk into the open batch, cutting at batch_lines */
static void
engine_feed(struct engine *e, uint32_t idx, const struct tail_chunk *c0)
{
	struct tail_chunk c = *c0;
	uint64_t room, n;

	for (;;) {
		room = (uint64_t)e->cf->batch_lines - e->cur.lines;
		n = count_lines(c.data, c.len);
		if (n <= room || e->mode == MODE_RUN) {
			pipeline_chunk(e->pl, idx, &c);
			batch_add_chunk(&e->cur, idx, &c.start, &c.end);
			e->cur.lines += n;
			e->pos[idx] = c.end;
			if (e->cur.lines >= (uint64_t)e->cf->batch_lines &&
			    !e->reforming)
				engine_cut(e);
			return;
		}
		/* Replay: cut exactly every batch_lines lines. */
		struct tail_chunk head = c;
		uint64_t fp;
		size_t k = split_at(c.data, c.len, room, &fp);

		head.len = k;
		head.end.offset = c.start.offset + k;
		head.end.line_no = c.start.line_no + room;
		head.end.fp = fp;
		head.skipped_long = c.skipped_long;
		pipeline_chunk(e->pl, idx, &head);
		batch_add_chunk(&e->cur, idx, &head.start, &head.end);
		e->cur.lines += room;
		e->pos[idx] = head.end;
		engine_cut(e);
		c.data += k;
		c.len -= k;
		c.start = head.end;
		c.skipped_long = 0;
		c.rotated = 0;
	}
}

static void
engine_chunk_cb(void *arg, struct tail *t, const struct tail_chunk *c)
{
	struct input_ctx *ic = arg;
	struct engine *e = ic->e;

	(void)t;
	if (e->mode == MODE_REPLAY && e->stream[0] == '\0') {
		const char *nl = memchr(c->data, '\n', c->len);
		size_t n = nl ? (size_t)(nl - c->data) : c->len;

		snprintf(e->stream, sizeof(e->stream), "replay:%016llx",
		    (unsigned long long)fnv1a64(c->data, n, FNV1A64_INIT));
		e->seq = 0;
	}
	engine_feed(e, ic->idx, c);
	e->lines_done = pipeline_counts(e->pl, ic->idx)->lines;
}

/* engine_reload_cb - swap in the new configuration (outside any store
 * callback: the store must not be freed from inside one) */
static void
engine_reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	struct fumidai *ncf;
	char err[1024];

	(void)fd;
	(void)what;
	ncf = conf_load(e->cf->config_file, e->cf->config_file != NULL, err,
	    sizeof(err));
	e->reload = e->draining = 0;
	if (ncf == NULL) {
		log_warnx("reload refused, keeping the running configuration: %s", err);
		engine_pause(e, 0);
		return;
	}
	if (notify_check(ncf, err, sizeof(err)) == -1) {
		log_warnx("reload refused, keeping the running configuration: %s", err);
		conf_free(ncf);
		engine_pause(e, 0);
		return;
	}
	engine_teardown(e);
	if (ncf->redis.embedded && e->redisd != NULL) {
		free(ncf->redis.socket);
		ncf->redis.socket = xstrdup(e->cf->redis.socket);
	}
	conf_free(e->cf);
	e->cf = ncf;
	if (engine_setup(e, err, sizeof(err)) == -1) {
		log_warnx("reload failed: %s", err);
		e->exit_code = 1;
		event_base_loopexit(e->base, NULL);
		return;
	}
	log_info("configuration reloaded from %s", e->cf->config_file ?
	    e->cf->config_file : "built-in default");
}

static void
engine_drained_cb(void *arg)
{
	struct engine *e = arg;
	struct timeval now = { 0, 0 };

	engine_maybe_checkpoint(e, 1);
	if (!e->reload)
		event_base_loopexit(e->base, NULL);
	else
		event_base_once(e->base, -1, EV_TIMEOUT, engine_reload_cb, e, &now);
}

/* engine_stop - stop reading, flush, and finish (or reload) once durable */
static void
engine_stop(struct engine *e, int reload)
{
	if (e->draining)
		return;
	e->draining = 1;
	e->reload = reload;
	engine_pause(e, 1);
	engine_cut(e);
	store_drain(e->store, engine_drained_cb, e);
}

static void
engine_ack_cb(void *arg, const char *stream, uint64_t seq)
{
	struct engine *e = arg;
	size_t i;

	(void)stream;
	e->durable = seq;
	/* archive by what Redis holds, not by what was read */
	for (i = 0; i < e->ncuts && e->cuts[i].seq <= seq; i++)
		compactor_tick(e->compact, e->cuts[i].newest);
	memmove(e->cuts, e->cuts + i, (e->ncuts - i) * sizeof(e->cuts[0]));
	e->ncuts -= i;
	engine_maybe_checkpoint(e, 0);
	/* run: a pause forced to take a checkpoint lasts until it is taken */
	if (!e->draining && e->paused && store_pending(e->store) < INFLIGHT_LOW &&
	    (e->mode == MODE_REPLAY || e->seq == e->ckpt_seq ||
	    mono_us() - e->ckpt_at <= CKPT_FORCE_US))
		engine_pause(e, 0);
}

/* engine_maybe_checkpoint - save positions when nothing is in flight */
static void
engine_maybe_checkpoint(struct engine *e, int force)
{
	struct checkpoint ck;
	char err[512];
	size_t i;

	if (e->mode != MODE_RUN || e->pl == NULL)
		return;
	if (store_pending(e->store) != 0 || e->cur.lines != 0 || e->cur.nev != 0)
		return;
	if (e->ckpt_seq == e->seq && !force)
		return;
	memset(&ck, 0, sizeof(ck));
	buf_init(&ck.corr);
	ck.seq = e->seq;
	ck.time = now_us();
	ck.nin = e->nin;
	ck.in = xcalloc(e->nin ? e->nin : 1, sizeof(*ck.in));
	for (i = 0; i < e->nin; i++) {
		ck.in[i].path = e->cf->inputs[i].path;
		ck.in[i].pos = e->pos[i];
		ck.in[i].n = *pipeline_counts(e->pl, (uint32_t)i);
	}
	correlate_save(pipeline_correlate(e->pl), &ck.corr);
	if (checkpoint_write(e->cf->state_dir, &ck, err, sizeof(err)) == -1)
		log_warnx("checkpoint: %s", err);
	else {
		e->ckpt_seq = e->seq;
		e->ckpt_at = mono_us();
		if (journal_reset(e->cf->state_dir, &e->journal, err, sizeof(err)) == -1)
			log_warnx("journal: %s", err);
	}
	free(ck.in);
	buf_free(&ck.corr);
	if (e->paused && !e->draining && store_pending(e->store) < INFLIGHT_LOW)
		engine_pause(e, 0);
}

static void
engine_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;

	(void)fd;
	(void)what;
	if (e->draining)
		return;
	engine_cut(e);
	engine_maybe_checkpoint(e, 0);
	/* Under a steady stream nothing is ever idle: pause briefly so that a
	 * checkpoint can be taken and the journal stays short. */
	if (e->seq != e->ckpt_seq && mono_us() - e->ckpt_at > CKPT_FORCE_US)
		engine_pause(e, 1);
}

static void
engine_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct engine *e = arg;
	size_t i;

	(void)what;
	switch (sig) {
	case SIGHUP:
		if (e->mode == MODE_RUN) {
			log_info("SIGHUP: reloading the configuration");
			engine_stop(e, 1);
		}
		break;
	case SIGUSR1:
		for (i = 0; i < e->nin; i++) {
			const struct pipeline_counts *n = pipeline_counts(e->pl, (uint32_t)i);

			log_info("input=%s lines=%llu events=%llu unrecognized=%llu "
			    "malformed=%llu too_long=%llu bad_bytes=%llu",
			    e->cf->inputs[i].path, (unsigned long long)n->lines,
			    (unsigned long long)n->events, (unsigned long long)n->unknown,
			    (unsigned long long)n->malformed,
			    (unsigned long long)n->too_long,
			    (unsigned long long)n->bad_bytes);
		}
		break;
	default:
		log_info("signal %d: flushing and stopping", (int)sig);
		e->exit_code = e->mode == MODE_REPLAY ? 1 : 0;
		engine_stop(e, 0);
	}
}

/* engine_restore - checkpoint and journal: positions, correlator, batches */
static int
engine_restore(struct engine *e, char *err, size_t errlen)
{
	struct checkpoint ck;
	struct journal_batch *jb = NULL;
	ssize_t nj, k;
	size_t i, j;
	int r;

	if ((r = checkpoint_read(e->cf->state_dir, &ck, err, errlen)) == -1)
		return -1;
	if (r == 0) {
		e->seq = e->durable = e->ckpt_seq = ck.seq;
		for (i = 0; i < ck.nin; i++)
			for (j = 0; j < e->nin; j++)
				if (strcmp(ck.in[i].path, e->cf->inputs[j].path) == 0) {
					e->pos[j] = ck.in[i].pos;
					pipeline_set_counts(e->pl, (uint32_t)j, &ck.in[i].n);
				}
		if (correlate_load(pipeline_correlate(e->pl), ck.corr.data,
		    ck.corr.len) == -1)
			log_warnx("checkpoint: correlator state unreadable, starting "
			    "it empty");
		log_info("resuming after batch %llu", (unsigned long long)ck.seq);
	}
	checkpoint_free(&ck);
	if ((nj = journal_read(e->cf->state_dir, e->seq, &jb, err, errlen)) == -1)
		return -1;
	e->reforming = 1;
	for (k = 0; k < nj; k++) {
		log_info("forming batch %llu again from the journal",
		    (unsigned long long)jb[k].seq);
		for (i = 0; i < jb[k].nchunk; i++) {
			struct batch_chunk *c = &jb[k].chunk[i];
			struct input_ctx ic = { e, c->input };

			if (c->input >= e->nin) {
				log_warnx("journal names input %u, which is gone", c->input);
				continue;
			}
			if (tail_read_range(e->cf->inputs[c->input].path, &c->start,
			    &c->end, e->cf->max_line, engine_chunk_cb, &ic, err,
			    errlen) == -1)
				log_warnx("journal batch %llu: %s",
				    (unsigned long long)jb[k].seq, err);
			e->pos[c->input] = c->end;
		}
		/* Same lines, same order, same cut: the same batch.  A range
		 * that could not be read still takes its number. */
		e->seq = jb[k].seq - 1;
		if (e->cur.lines == 0 && e->cur.nev == 0)
			e->cur.lines = 1;
		engine_cut(e);
	}
	e->reforming = 0;
	journal_free(jb, (size_t)nj);
	return 0;
}

/* engine_metrics_cb - the counters a /metrics scrape shows */
static void
engine_metrics_cb(void *arg, struct metrics_snap *s)
{
	struct engine *e = arg;

	s->pl = e->pl;
	s->nin = e->nin;
	s->kinds = e->kinds;
	if (e->store != NULL) {
		store_stats(e->store, &s->store);
		s->have_store = 1;
	}
	s->notify = e->notify;
	s->audits = e->audits;
}

/* engine_setup - pipeline, store, restore, followers */
static int
engine_setup(struct engine *e, char *err, size_t errlen)
{
	size_t i;

	e->nin = e->cf->ninputs;
	if (logline_timezone(e->cf->timezone) == -1) {
		snprintf(err, errlen, "timezone: cannot set %s", e->cf->timezone);
		return -1;
	}
	if ((e->pl = pipeline_new(e->cf, engine_event_cb, e, err, errlen)) == NULL)
		return -1;
	if ((e->store = store_new(e->base, e->cf, engine_ack_cb, e, err, errlen)) == NULL)
		return -1;
	e->tails = xcalloc(e->nin ? e->nin : 1, sizeof(*e->tails));
	e->ictx = xcalloc(e->nin ? e->nin : 1, sizeof(*e->ictx));
	e->pos = xcalloc(e->nin ? e->nin : 1, sizeof(*e->pos));
	batch_init(&e->cur);
	e->compact = compactor_new(e->base, e->cf);
	if (e->mode == MODE_REPLAY)
		return 0;
	if (e->cf->policy.listen != NULL &&
	    (e->policy = policy_new(e->base, e->cf, err, errlen)) == NULL)
		return -1;
	if (e->cf->metrics.listen != NULL && (e->metrics = metrics_new(e->base,
	    e->cf, engine_metrics_cb, e, err, errlen)) == NULL)
		return -1;
	e->audits = audit_sched_new(e->base, e->cf);
	e->web = webchild_new(e->base, e->cf);
	if (e->cf->nnotify > 0 &&
	    (e->notify = notify_new(e->base, e->cf, err, errlen)) == NULL)
		return -1;
	snprintf(e->stream, sizeof(e->stream), "run:%s", e->cf->instance);
	if (engine_restore(e, err, errlen) == -1)
		return -1;
	if ((e->journal = journal_open(e->cf->state_dir, err, errlen)) == NULL)
		return -1;
	e->ckpt_at = mono_us();
	for (i = 0; i < e->nin; i++) {
		const struct tail_pos *resume = e->pos[i].dev || e->pos[i].ino ||
		    e->pos[i].offset ? &e->pos[i] : NULL;

		e->ictx[i].e = e;
		e->ictx[i].idx = (uint32_t)i;
		pipeline_input_ref(e->pl, (uint32_t)i, 0, 0);
		e->tails[i] = tail_follow(e->base, e->cf->inputs[i].path, resume,
		    e->cf->max_line, e->cf->poll_ms, engine_chunk_cb, &e->ictx[i]);
		if (e->tails[i] == NULL)
			log_warnx("input=%s: cannot follow it; the others go on",
			    e->cf->inputs[i].path);
		else
			log_info("input=%s following from offset %llu",
			    e->cf->inputs[i].path,
			    (unsigned long long)(resume ? resume->offset : 0));
	}
	e->paused = 0;
	return 0;
}

static void
engine_teardown(struct engine *e)
{
	size_t i;

	compactor_free(e->compact, e->mode == MODE_RUN);
	e->compact = NULL;
	notify_free(e->notify);
	e->notify = NULL;
	audit_sched_free(e->audits);
	webchild_free(e->web);
	e->web = NULL;
	e->audits = NULL;
	metrics_free(e->metrics);
	e->metrics = NULL;
	policy_free(e->policy);
	e->policy = NULL;
	for (i = 0; e->tails != NULL && i < e->nin; i++)
		tail_free(e->tails[i]);
	free(e->tails);
	free(e->ictx);
	free(e->pos);
	e->tails = NULL;
	e->ictx = NULL;
	e->pos = NULL;
	store_free(e->store);
	e->store = NULL;
	pipeline_free(e->pl);
	e->pl = NULL;
	batch_free(&e->cur);
	if (e->journal != NULL)
		fclose(e->journal);
	e->journal = NULL;
}

/* engine_common - base, state_dir, embedded Redis, signals */
static int
engine_common(struct engine *e, char *err, size_t errlen)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	if (mkdir_p(e->cf->state_dir, 0750) == -1) {
		snprintf(err, errlen, "state_dir %s: %s", e->cf->state_dir,
		    strerror(errno));
		return -1;
	}
	if ((e->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	if (e->cf->redis.embedded &&
	    (e->redisd = redisd_start(e->cf, 0, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < 4; i++) {
		e->sigs[i] = evsignal_new(e->base, sigs[i], engine_signal_cb, e);
		event_add(e->sigs[i], NULL);
	}
	buf_init(&e->out);
	return 0;
}

static void
engine_free(struct engine *e)
{
	size_t i;

	engine_teardown(e);
	for (i = 0; i < 4; i++)
		if (e->sigs[i] != NULL)
			event_free(e->sigs[i]);
	if (e->flush_ev != NULL)
		event_free(e->flush_ev);
	if (e->progress_ev != NULL)
		event_free(e->progress_ev);
	redisd_stop(e->redisd);
	if (e->base != NULL)
		event_base_free(e->base);
	buf_free(&e->out);
	conf_free(e->cf);
}

int
engine_run(struct fumidai *cf, int flags)
{
	struct engine e;
	struct timeval tv;
	char err[1024];

	memset(&e, 0, sizeof(e));
	e.cf = cf;
	e.mode = MODE_RUN;
	e.flags = flags;
	if (engine_common(&e, err, sizeof(err)) == -1 ||
	    engine_setup(&e, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		engine_free(&e);
		return 1;
	}
	log_info("started instance=%s inputs=%zu redis=%s", cf->instance,
	    cf->ninputs, cf->redis.socket ? cf->redis.socket :
	    cf->redis.host ? cf->redis.host : "?");
	tv.tv_sec = cf->flush_ms / 1000;
	tv.tv_usec = (cf->flush_ms % 1000) * 1000;
	e.flush_ev = event_new(e.base, -1, EV_PERSIST, engine_flush_cb, &e);
	event_add(e.flush_ev, &tv);
	event_base_dispatch(e.base);
	log_info("stopped after batch %llu", (unsigned long long)e.seq);
	engine_free(&e);
	return e.exit_code;
}

static void
replay_progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	uint64_t done = 0, total = 0;
	double secs = (double)(mono_us() - e->started) / 1e6;
	int pct, i, w = 30;
	char bar[32];

	(void)fd;
	(void)what;
	if (e->file >= e->nfiles || e->tails[0] == NULL)
		return;
	tail_progress(e->tails[0], &done, &total);
	pct = total ? (int)(done * 100 / total) : 0;
	for (i = 0; i < w; i++)
		bar[i] = total && i < pct * w / 100 ? '#' : '.';
	bar[w] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%% %llu lines %.0f lines/s ",
	    e->files[e->file], bar, pct, (unsigned long long)e->lines_done,
	    secs > 0 ? (double)e->lines_done / secs : 0.0);
}

static void
replay_eof_cb(void *arg, struct tail *t, int error)
{
	struct engine *e = ((struct input_ctx *)arg)->e;	/* the tail's arg */

	(void)t;
	if (error) {
		log_warnx("replay: %s: read failed", e->files[e->file]);
		e->exit_code = 1;
	}
	engine_cut(e);
	tail_free(e->tails[0]);
	e->tails[0] = NULL;
	e->file++;
	replay_next(e);
}

static void
replay_all_done_cb(void *arg)
{
	event_base_loopexit(((struct engine *)arg)->base, NULL);
}

/* replay_next - start the next file, or flush and finish */
static void
replay_next(struct engine *e)
{
	struct stat sb;
	int64_t ref = 0;

	if (e->draining)
		return;
	if (e->file >= e->nfiles) {
		pipeline_flush(e->pl);
		engine_cut(e);
		e->draining = 1;
		store_drain_applied(e->store, 60000, replay_all_done_cb, e);
		return;
	}
	if (strcmp(e->files[e->file], "-") != 0 && stat(e->files[e->file], &sb) == 0)
		ref = (int64_t)sb.st_mtime * 1000000;
	pipeline_input_ref(e->pl, (uint32_t)e->file, ref, 0);
	e->stream[0] = '\0';
	e->ictx[0].e = e;
	e->ictx[0].idx = (uint32_t)e->file;
	e->tails[0] = tail_read(e->base, e->files[e->file], e->cf->max_line,
	    engine_chunk_cb, replay_eof_cb, &e->ictx[0]);
	if (e->tails[0] == NULL) {
		log_warnx("replay: %s: cannot read it", e->files[e->file]);
		e->exit_code = 1;
		e->file++;
		replay_next(e);
		return;
	}
	if (e->paused)
		tail_pause(e->tails[0]);
}

static void
replay_summary(struct engine *e)
{
	double secs = (double)(mono_us() - e->started) / 1e6;
	uint64_t lines = 0, events = 0, bad = 0;
	struct store_stats st;
	int i, k;

	for (i = 0; i < e->nfiles; i++) {
		const struct pipeline_counts *n = pipeline_counts(e->pl, (uint32_t)i);

		lines += n->lines;
		events += n->events;
		bad += n->malformed + n->too_long + n->bad_bytes;
	}
	if (e->flags & ENGINE_PROGRESS)
		fputc('\n', stderr);
	fprintf(stderr, "fumidai: replay: files=%d lines=%llu events=%llu "
	    "skipped=%llu seconds=%.2f lines/s=%.0f", e->nfiles,
	    (unsigned long long)lines, (unsigned long long)events,
	    (unsigned long long)bad, secs, secs > 0 ? (double)lines / secs : 0.0);
	for (k = 1; k < FM_EV__COUNT; k++)
		if (e->kinds[k])
			fprintf(stderr, " %s=%llu", event_kind_name(k),
			    (unsigned long long)e->kinds[k]);
	if (e->store != NULL) {
		store_stats(e->store, &st);
		fprintf(stderr, " alerts=%llu", (unsigned long long)st.alerts);
	}
	fputc('\n', stderr);
}

/* replay_compact - the last archive pass, once the running one ended, so
 * that a replay leaves what the daemon would have */
static void
replay_compact(struct engine *e)
{
	struct compact_stats st;
	struct redisContext *c;
	char through[9], err[512];

	if (e->compact == NULL || e->exit_code != 0)
		return;
	compactor_free(e->compact, 0);
	e->compact = NULL;
	compact_through(e->cf, e->newest, through);
	if (through[0] == '\0')
		return;
	if ((c = store_connect_sync(e->cf, err, sizeof(err))) == NULL ||
	    compact_pass(c, e->cf, through, &st, err, sizeof(err)) == -1)
		log_warnx("replay: archive pass: %s", err);
	else if (st.days > 0 || st.bad > 0)
		log_info("replay: archived through=%s days=%llu raw_bytes=%llu "
		    "stored_bytes=%llu left=%llu bad=%llu", through,
		    (unsigned long long)st.days, (unsigned long long)st.raw,
		    (unsigned long long)st.stored,
		    (unsigned long long)st.changed, (unsigned long long)st.bad);
	if (c != NULL)
		redisFree(c);
}

int
engine_replay(struct fumidai *cf, char **files, int nfiles, int flags)
{
	struct engine e;
	struct timeval tv = { 0, 250000 };
	char err[1024];
	int i;

	memset(&e, 0, sizeof(e));
	e.cf = cf;
	e.mode = MODE_REPLAY;
	e.flags = flags;
	e.files = files;
	e.nfiles = nfiles;
	conf_clear_inputs(cf);
	for (i = 0; i < nfiles; i++)
		conf_add_input(cf, files[i], "auto");
	if (engine_common(&e, err, sizeof(err)) == -1 ||
	    engine_setup(&e, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		engine_free(&e);
		return 2;
	}
	e.nin = 1;		/* one tail at a time */
	e.started = mono_us();
	if (flags & ENGINE_PROGRESS) {
		e.progress_ev = event_new(e.base, -1, EV_PERSIST, replay_progress_cb, &e);
		event_add(e.progress_ev, &tv);
	}
	replay_next(&e);
	event_base_dispatch(e.base);
	replay_summary(&e);
	replay_compact(&e);
	e.nin = (size_t)nfiles;
	engine_free(&e);
	return e.exit_code;
}
