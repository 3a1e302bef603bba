/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * batch.h - the unit of exactly-once delivery to Redis.
 *
 * A batch is the events of the lines read between two cuts, tagged with the
 * stream it belongs to (the daemon's instance name, or a replayed file's
 * identity) and a sequence number that only grows within that stream.  Every
 * per-subject update in Redis records the last (stream, seq) it applied and
 * skips a batch it has already seen, so re-sending a batch after a crash or
 * an outage never counts twice.
 *
 * The batch owns its events' strings (copied into its arena).
 */
#ifndef FM_BATCH_H
#define FM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai/plugin.h"
#include "tail.h"
#include "util.h"

/* The lines of one input that went into a batch. */
struct batch_chunk {
	uint32_t input;		/* index into the configuration's inputs */
	struct tail_pos start, end;
};

struct batch {
	const char *stream;	/* stream id (borrowed from the pipeline) */
	uint64_t seq;		/* sequence number within stream */
	struct fm_event *ev;	/* events, in log order */
	size_t nev, evcap;
	struct arena arena;	/* strings of ev */
	struct batch_chunk *chunk;
	size_t nchunk, chunkcap;
	uint64_t lines;		/* lines read into this batch */
	int64_t first_time, last_time; /* event-time span (us) */
};

void batch_init(struct batch *b);
/* batch_add - append a deep copy of ev */
void batch_add(struct batch *b, const struct fm_event *ev);
void batch_add_chunk(struct batch *b, uint32_t input,
    const struct tail_pos *start, const struct tail_pos *end);
void batch_reset(struct batch *b);
void batch_free(struct batch *b);

#endif
