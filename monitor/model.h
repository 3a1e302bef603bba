/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * model.h - turn a batch into Redis commands: one EVALSHA of the apply
 * script per subject the batch touches, as RESP bytes ready to be sent or
 * spooled.  doc/redis.md describes what is written.
 */
#ifndef FM_MODEL_H
#define FM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "fumidai.h"
#include "util.h"

/* Commands in RESP form, back to back; len[i] is the size of command i. */
struct model_cmds {
	struct buf data;
	uint32_t *len;
	size_t n, cap;
};

void model_cmds_init(struct model_cmds *c);
/* model_cmds_add - append one command's RESP bytes */
void model_cmds_add(struct model_cmds *c, const void *p, size_t n);
void model_cmds_reset(struct model_cmds *c);
void model_cmds_free(struct model_cmds *c);

struct model;

/* model_new - a reusable builder; cf is borrowed for its lifetime */
struct model *model_new(const struct fumidai *cf);
/* model_format - append b's commands to out (b is only read during the
 * call); returns how many were appended */
size_t model_format(struct model *m, const struct batch *b,
    struct model_cmds *out);
void model_free(struct model *m);

#endif
