/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pipeline.c - the per-line path: split, check, header, parser, correlator.
 *
 * This is the hot path.  A chunk is walked with memchr; each line is checked
 * (length, NUL, UTF-8: a chunk that is plain ASCII without NUL, as logs
 * nearly always are, is checked once as a whole), its header parsed once,
 * and handed to the parser that claims its program tag.  Events are filled
 * in place and only copied by whoever keeps them (the batch arena).  Nothing
 * is allocated per line.
 *
 * SECURITY: every line is untrusted.  Bad lines are counted and skipped;
 * the parsers see only lines that are valid UTF-8 without NUL bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "correlate.h"
#include "logline.h"
#include "parsers.h"
#include "pipeline.h"
#include "util.h"

struct pl_input {
	struct parsers *parsers;
	struct logline_ctx hdr;
	struct pipeline_counts n;
	int64_t last_time;	/* for lines without a time */
};

struct pipeline {
	const struct fumidai *cf;
	struct pl_input *in;
	size_t nin;
	struct correlate *corr;
	pipeline_event_fn *fn;
	void *arg;
	uint32_t cur;		/* input of the line being parsed */
	uint64_t cur_line;	/* its line number */
	int cur_emitted;	/* events the line produced */
	int64_t max_time;	/* newest event time seen */
	int raw;		/* bypass the correlator */
	pipeline_line_fn *skip_fn;	/* told about lines not understood */
	void *skip_arg;
};

static void on_parsed(void *, const struct fm_event *);
static void on_correlated(void *, const struct fm_event *);
static void pipeline_line(struct pipeline *, struct pl_input *, const char *,
    size_t, int);

struct pipeline *
pipeline_new(const struct fumidai *cf, pipeline_event_fn *fn, void *arg,
    char *err, size_t errlen)
{
	struct pipeline *pl = xcalloc(1, sizeof(*pl));
	size_t i;

	pl->cf = cf;
	pl->fn = fn;
	pl->arg = arg;
	pl->nin = cf->ninputs;
	pl->in = xcalloc(pl->nin ? pl->nin : 1, sizeof(*pl->in));
	for (i = 0; i < pl->nin; i++) {
		const struct fm_input *fi = &cf->inputs[i];

		pl->in[i].parsers = parsers_open(cf->plugin_dir, fi->parsers,
		    fi->nparsers, err, errlen);
		if (pl->in[i].parsers == NULL) {
			pipeline_free(pl);
			return NULL;
		}
		logline_ctx_init(&pl->in[i].hdr, 0);
	}
	pl->corr = correlate_new();
	correlate_pop_window(pl->corr, cf->pop_before_smtp);
	return pl;
}

void
pipeline_input_ref(struct pipeline *pl, uint32_t input, int64_t ref_us,
    int fixed_year)
{
	logline_ctx_init(&pl->in[input].hdr, ref_us);
	pl->in[input].hdr.fixed_year = fixed_year;
}

static void
on_correlated(void *arg, const struct fm_event *ev)
{
	struct pipeline *pl = arg;

	if (ev->input < pl->nin)
		pl->in[ev->input].n.events++;
	pl->fn(pl->arg, ev);
}

static void
on_parsed(void *arg, const struct fm_event *ev)
{
	struct pipeline *pl = arg;

	pl->cur_emitted++;
	if (ev->time > pl->max_time)
		pl->max_time = ev->time;
	if (pl->raw)
		on_correlated(pl, ev);
	else
		correlate_event(pl->corr, ev, on_correlated, pl);
}

/* text_ok - no NUL byte and valid UTF-8 */
static int
text_ok(const char *p, size_t n)
{
	return memchr(p, '\0', n) == NULL && utf8_valid(p, n);
}

/* plain_ascii - whether [p, p + n) is ASCII without NUL: then every line in
 * it passes text_ok and the per-line check can be skipped */
static int
plain_ascii(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t w, acc = 0;
	size_t i = 0;

#ifdef __SSE2__
	{
		const __m128i zero = _mm_setzero_si128();
		__m128i bad = zero, x;

		/* bytes >= 0x80 set their sign bit; NUL compares equal to 0 */
		for (; i + 16 <= n; i += 16) {
			x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			bad = _mm_or_si128(bad, _mm_or_si128(x,
			    _mm_cmpeq_epi8(x, zero)));
		}
		if (_mm_movemask_epi8(bad) != 0)
			return 0;
	}
#endif
	/* A NUL byte sets its high bit in w - ones; a byte >= 0x80 its own. */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= (w - ones) | w;
	}
	for (; i < n; i++)
		acc |= (uint64_t)(p[i] == '\0' || (p[i] & 0x80)) << 7;
	return (acc & high) == 0;
}

static void
skipped(struct pipeline *pl, const char *why, const char *p, size_t n)
{
	if (pl->skip_fn != NULL)
		pl->skip_fn(pl->skip_arg, pl->cur, pl->cur_line, why, p, n);
}

static void
pipeline_line(struct pipeline *pl, struct pl_input *in, const char *p, size_t n,
    int ascii)
{
	struct fm_line ln;
	struct fm_event ev;
	int r;

	in->n.lines++;
	in->n.bytes += n + 1;
	pl->cur_line++;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > pl->cf->max_line) {
		in->n.too_long++;
		skipped(pl, "too_long", p, 0);
		return;
	}
	if (!ascii && !text_ok(p, n)) {
		in->n.bad_bytes++;
		skipped(pl, "bad_bytes", p, n);
		return;
	}
	if (logline_parse(&in->hdr, p, n, &ln) == -1) {
		in->n.malformed++;
		skipped(pl, "malformed", p, n);
		return;
	}
	if (ln.time == 0)
		ln.time = in->last_time;
	else
		in->last_time = ln.time;
	struct_zero(&ev, sizeof(ev));	/* not memset: see util.h */
	ev.time = ln.time;
	ev.host = ln.host;
	ev.program = ln.program;
	ev.pid = ln.pid;
	ev.size = -1;
	ev.input = pl->cur;
	ev.line_no = pl->cur_line;
	pl->cur_emitted = 0;
	r = parsers_parse(in->parsers, &ln, &ev, on_parsed, pl);
	switch (r) {
	case -1:
		in->n.noparser++;
		skipped(pl, "other_program", p, n);
		break;
	case FM_PARSE_UNKNOWN:
		in->n.unknown++;
		skipped(pl, "unrecognized", p, n);
		break;
	case FM_PARSE_IGNORED:
		in->n.ignored++;
		break;
	default:
		in->n.parsed++;
	}
}

void
pipeline_chunk(struct pipeline *pl, uint32_t input, const struct tail_chunk *c)
{
	struct pl_input *in = &pl->in[input];
	const char *p = c->data, *end = c->data + c->len, *nl;
	int ascii;

	if (input >= pl->nin)
		return;
	/* Lines too long for the reader's buffer were dropped by it. */
	in->n.too_long += c->skipped_long;
	in->n.lines += c->skipped_long;
	pl->cur = input;
	pl->cur_line = c->start.line_no;
	ascii = plain_ascii(c->data, c->len);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;	/* a reader's last line without newline */
		pipeline_line(pl, in, p, (size_t)(nl - p), ascii);
		p = nl + 1;
	}
}

void
pipeline_set_raw(struct pipeline *pl, int raw)
{
	pl->raw = raw;
}

void
pipeline_set_skip_cb(struct pipeline *pl, pipeline_line_fn *fn, void *arg)
{
	pl->skip_fn = fn;
	pl->skip_arg = arg;
}

void
pipeline_expire(struct pipeline *pl)
{
	correlate_expire(pl->corr, pl->max_time, on_correlated, pl);
}

void
pipeline_flush(struct pipeline *pl)
{
	correlate_flush(pl->corr, on_correlated, pl);
}

const struct pipeline_counts *
pipeline_counts(const struct pipeline *pl, uint32_t input)
{
	return &pl->in[input].n;
}

void
pipeline_set_counts(struct pipeline *pl, uint32_t input,
    const struct pipeline_counts *c)
{
	pl->in[input].n = *c;
}

struct correlate *
pipeline_correlate(struct pipeline *pl)
{
	return pl->corr;
}

int64_t
pipeline_max_time(const struct pipeline *pl)
{
	return pl->max_time;
}

void
pipeline_free(struct pipeline *pl)
{
	size_t i;

	if (pl == NULL)
		return;
	for (i = 0; i < pl->nin; i++)
		parsers_free(pl->in[i].parsers);
	correlate_free(pl->corr);
	free(pl->in);
	free(pl);
}
