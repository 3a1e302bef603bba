/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pipeline.h - lines -> header -> parser plugin -> correlator -> events.
 *
 * The same pipeline serves `parse`, `replay` and `run`; only what feeds it
 * chunks of lines and what consumes its events differ.  It owns one header
 * context and one parser set per input and one correlator for all inputs
 * (Dovecot's and Postfix's lines about one attempt may be in two files).
 *
 * Lines that are too long, hold a NUL byte or invalid UTF-8, have no
 * readable header, or that no parser understands are counted per input and
 * skipped; their neighbours are not disturbed.
 */
#ifndef FM_PIPELINE_H
#define FM_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "fumidai.h"
#include "fumidai/plugin.h"
#include "tail.h"

struct pipeline;
struct correlate;

/* Per-input counters. */
struct pipeline_counts {
	uint64_t lines;		/* lines seen */
	uint64_t bytes;		/* bytes seen */
	uint64_t events;	/* events emitted (after correlation) */
	uint64_t parsed;	/* lines a parser turned into events */
	uint64_t ignored;	/* lines understood but carrying no event */
	uint64_t unknown;	/* lines of a known program not understood */
	uint64_t noparser;	/* lines of programs no parser claims */
	uint64_t malformed;	/* lines without a readable header */
	uint64_t too_long;	/* lines longer than max_line */
	uint64_t bad_bytes;	/* lines with NUL bytes or invalid UTF-8 */
};

/* pipeline_event_fn - an event leaves the pipeline; borrowed until return */
typedef void pipeline_event_fn(void *arg, const struct fm_event *ev);

/* pipeline_line_fn - a line was skipped or not understood; why is
 * "too_long" "bad_bytes" "malformed" "other_program" "unrecognized" */
typedef void pipeline_line_fn(void *arg, uint32_t input, uint64_t line_no,
    const char *why, const char *p, size_t n);

/* pipeline_new - load each input's parsers; NULL + err when one fails */
struct pipeline *pipeline_new(const struct fumidai *cf, pipeline_event_fn *fn,
    void *arg, char *err, size_t errlen);
/* pipeline_input_ref - reference time for year inference of an input */
void pipeline_input_ref(struct pipeline *pl, uint32_t input, int64_t ref_us,
    int fixed_year);
/* pipeline_chunk - process the complete lines of a chunk of input */
void pipeline_chunk(struct pipeline *pl, uint32_t input,
    const struct tail_chunk *c);
/* pipeline_set_raw - bypass the correlator (parse --raw) */
void pipeline_set_raw(struct pipeline *pl, int raw);
void pipeline_set_skip_cb(struct pipeline *pl, pipeline_line_fn *fn, void *arg);
/* pipeline_expire - release held correlations older than the newest
 * event time seen minus their window */
void pipeline_expire(struct pipeline *pl);
/* pipeline_flush - emit everything the correlator holds (end of input) */
void pipeline_flush(struct pipeline *pl);
const struct pipeline_counts *pipeline_counts(const struct pipeline *pl,
    uint32_t input);
struct correlate *pipeline_correlate(struct pipeline *pl);
int64_t pipeline_max_time(const struct pipeline *pl);
/* pipeline_set_counts - restore counters from a checkpoint */
void pipeline_set_counts(struct pipeline *pl, uint32_t input,
    const struct pipeline_counts *c);
void pipeline_free(struct pipeline *pl);

/* pipeline_print_positions - per-input positions and counters of the
 * running (or last) daemon, read from state_dir (used by `stats`) */
void pipeline_print_positions(const struct fumidai *cf, FILE *fp, int json);

#endif
