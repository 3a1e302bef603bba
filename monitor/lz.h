/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lz.h - the "FZ1" and "FZ2" compressed forms of archived history days (a
 * small LZ77 format, and its tokens Huffman-coded, whose decoder is also
 * written in Redis Lua, monitor/lz.lua); the formats are described in lz.c.
 */
#ifndef FM_LZ_H
#define FM_LZ_H

#include <stddef.h>

#include "util.h"

#define LZ_MAXRAW	0xffffffffUL	/* the format's largest input */

/* lz_compress - append the blob of in (len bytes, at most LZ_MAXRAW) to
 * out: FZ2 when it is smaller, else FZ1; the same input always gives the
 * same bytes */
void lz_compress(const void *in, size_t len, struct buf *out);

/* lz_compress_format - lz_compress, but format 1 or 2 always gives that
 * format (0: the smaller); for tests */
void lz_compress_format(const void *in, size_t len, int format,
    struct buf *out);

/* lz_decompress - append the bytes the FZ1 or FZ2 blob in (len bytes)
 * holds to out; 0, or -1 with out as it was and the reason in err */
int lz_decompress(const void *in, size_t len, struct buf *out, char *err,
    size_t errlen);

/* lz_rawlen - the length the blob's header announces; 0, or -1 when the
 * header is not an FZ1 or FZ2 one */
int lz_rawlen(const void *in, size_t len, size_t *rawlen);

#endif
