/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * checkpoint.h - what `run` keeps in state_dir to resume exactly.
 *
 * checkpoint: written atomically whenever every batch is durable and none is
 * being formed: the last durable batch number, each input's position and
 * counters, and the correlator's state.  journal: one line appended when a
 * batch is cut, naming the input ranges it was made of, so that after a
 * crash the batches that may have reached Redis only in part are formed
 * again identically (their subjects that already applied them skip them).
 */
#ifndef FM_CHECKPOINT_H
#define FM_CHECKPOINT_H

#include <stdint.h>
#include <stdio.h>

#include "batch.h"
#include "pipeline.h"
#include "util.h"

struct ckpt_input {
	char *path;
	struct tail_pos pos;
	struct pipeline_counts n;
};

struct checkpoint {
	uint64_t seq;			/* last durable batch */
	int64_t time;			/* when it was written (us) */
	struct ckpt_input *in;
	size_t nin;
	struct buf corr;		/* correlate_save blob */
};

struct journal_batch {
	uint64_t seq;
	struct batch_chunk *chunk;
	size_t nchunk;
};

/* checkpoint_read - 0 loaded, 1 none there, -1 unreadable (err set) */
int checkpoint_read(const char *state_dir, struct checkpoint *ck, char *err,
    size_t errlen);
int checkpoint_write(const char *state_dir, const struct checkpoint *ck,
    char *err, size_t errlen);
void checkpoint_free(struct checkpoint *ck);

/* journal_read - batches after seq, in order; returns count or -1 */
ssize_t journal_read(const char *state_dir, uint64_t after,
    struct journal_batch **out, char *err, size_t errlen);
void journal_free(struct journal_batch *v, size_t n);
/* journal_open / journal_append / journal_reset - the open journal file */
FILE *journal_open(const char *state_dir, char *err, size_t errlen);
int journal_append(FILE *fp, const struct batch *b);
int journal_reset(const char *state_dir, FILE **fp, char *err, size_t errlen);

#endif
