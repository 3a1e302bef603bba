/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lz.h - the "FZ1" compressed form of archived history days (a small LZ77
 * format whose decoder is also written in Redis Lua, monitor/lz.lua); the
 * format is described in lz.c.
 */
#ifndef FM_LZ_H
#define FM_LZ_H

#include <stddef.h>

#include "util.h"

#define LZ_MAXRAW	0xffffffffUL	/* the format's largest input */

/* lz_compress - append the FZ1 blob of in (len bytes, at most LZ_MAXRAW)
 * to out; the same input always gives the same bytes */
void lz_compress(const void *in, size_t len, struct buf *out);

/* lz_decompress - append the bytes FZ1 blob in (len bytes) holds to out;
 * 0, or -1 with out as it was and the reason in err */
int lz_decompress(const void *in, size_t len, struct buf *out, char *err,
    size_t errlen);

/* lz_rawlen - the length the blob's header announces; 0, or -1 when the
 * header is not an FZ1 one */
int lz_rawlen(const void *in, size_t len, size_t *rawlen);

#endif
