/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mime.h - RFC 2047 encoded words ("=?ISO-2022-JP?B?...?=") of a logged
 * header decoded to UTF-8 (mime.c).
 *
 * SECURITY: the input is the sender's text; the output may hold any bytes
 * and must be escaped by the caller.
 */
#ifndef FM_MIME_H
#define FM_MIME_H

#include <stddef.h>

#include "util.h"

/* mime_decode - p (n bytes) with its encoded words decoded, appended to
 * out; a word that does not decode stays as written */
void mime_decode(struct buf *out, const char *p, size_t n);

#endif
