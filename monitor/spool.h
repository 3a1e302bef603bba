/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spool.h - the append-only file where batches wait while Redis is away.
 *
 * A record is one batch: its stream, sequence number and Redis commands
 * (RESP bytes), framed by a magic, a length and a checksum so that a record
 * torn by a crash is recognised.  spool_open drops a torn or corrupt tail
 * with a warning (only records fully written and synced were acknowledged,
 * so nothing acknowledged is lost).  Records are read back in order by
 * offset; the store truncates the file once every record has been applied.
 */
#ifndef FM_SPOOL_H
#define FM_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

struct spool;

/* One record read back. */
struct spool_rec {
	struct buf stream;
	uint64_t seq;
	struct model_cmds cmds;
};

/* spool_open - open or create path (mode 0600), checking every record;
 * NULL + err on failure */
struct spool *spool_open(const char *path, char *err, size_t errlen);
/* spool_append - write one record (not yet synced); 0 / -1 + err, and on
 * error the file is cut back to its previous size */
int spool_append(struct spool *sp, const char *stream, uint64_t seq,
    const struct model_cmds *cmds, char *err, size_t errlen);
/* spool_sync - make appended records durable; 0 / -1 + err */
int spool_sync(struct spool *sp, char *err, size_t errlen);
/* spool_read - the record at *off into r (reset first) and *off moved past
 * it; 1 record, 0 end of file, -1 error + err */
int spool_read(struct spool *sp, uint64_t *off, struct spool_rec *r,
    char *err, size_t errlen);
/* spool_cut - truncate to off bytes (0: empty the spool); 0 / -1 + err */
int spool_cut(struct spool *sp, uint64_t off, char *err, size_t errlen);
/* spool_size - bytes of valid records */
uint64_t spool_size(const struct spool *sp);
const char *spool_path(const struct spool *sp);
void spool_close(struct spool *sp);

void spool_rec_init(struct spool_rec *r);
void spool_rec_free(struct spool_rec *r);

#endif
