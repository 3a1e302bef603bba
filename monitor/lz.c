/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lz.c - "FZ1", the compression of archived history days: a byte-oriented
 * LZ77 simple enough that its decoder runs in Redis Lua (monitor/lz.lua,
 * FMZ.unlz), where no zlib exists.  A blob is
 *
 *	blob	"FZ1" varint(rawlen) token*
 *	varint	unsigned LEB128: 7 bits a byte, least significant group
 *		first, the high bit set on every byte but the last; at most
 *		5 bytes (rawlen < 2^32), and minimal (no last byte 0 after
 *		the first)
 *	token	c in 0x00-0x7f, then c + 1 literal bytes (1-128)
 *		| c in 0x80-0xff, then d in 2 bytes, big-endian (1-65535):
 *		  copy (c & 0x7f) + 4 bytes (4-131) from d bytes back in the
 *		  output, byte by byte (the copy may overlap its own output)
 *
 * and the empty input is "FZ1\0".  The compressor is a lazy greedy LZ77
 * over a 64 KiB window: a hash table of 4-byte prefixes and hash chains
 * walked LZ_DEPTH deep, one table sized by the input (at most 384 KiB),
 * so its time is linear in the input and its output depends on nothing
 * but the input.  Incompressible input grows by 1 byte in 128 plus the
 * header.
 *
 * SECURITY: a blob read back from Redis is not trusted: the decoder checks
 * every length and distance against the input it has and the output it
 * has made, never writes past the announced length nor reads outside the
 * blob, and refuses (0 / -1 and a reason) a wrong magic, a bad or
 * overlong length, a truncated token, a distance of 0 or before the
 * start, output past or short of the announced length, and trailing bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lz.h"

#define LZ_MAGIC	"FZ1"
#define LZ_MINMATCH	4
#define LZ_MAXMATCH	131		/* (0x7f) + 4 */
#define LZ_MAXLIT	128
#define LZ_WINDOW	65535		/* farthest distance */
#define LZ_DEPTH	32		/* candidates tried per position */
#define LZ_MAXHBITS	16		/* hash table: up to 64 Ki heads */

/* The compressor's state, for one call. */
struct lz_enc {
	const uint8_t *in;
	size_t len;
	uint32_t *head;		/* hash -> last position + 1 (0: none) */
	uint16_t *prev;		/* position & wmask -> distance to the
				 * previous one of the same hash (0: none) */
	unsigned hbits;
	size_t wmask;
	size_t ins;		/* positions below it are in the table */
	uint8_t *o;		/* where the next output byte goes */
};

static void lz_enc_init(struct lz_enc *, const void *, size_t);
static uint32_t lz_hash(const struct lz_enc *, size_t);
static void lz_insert_upto(struct lz_enc *, size_t);
static unsigned lz_find(struct lz_enc *, size_t, unsigned *);
static void lz_literals(struct lz_enc *, size_t, size_t);
static void lz_copy(struct lz_enc *, unsigned, unsigned);
static int lz_header(const uint8_t *, size_t, size_t *, size_t *, char *,
    size_t);
static int lz_tokens(const uint8_t *, size_t, size_t, size_t, uint8_t *,
    char *, size_t);

static inline uint32_t
lz_read32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* lz_enc_init - the table for len bytes: both halves shrink with small
 * inputs, so compressing a 3 KB day costs no 384 KiB of zeroing */
static void
lz_enc_init(struct lz_enc *e, const void *in, size_t len)
{
	size_t wsize = 64;
	unsigned hbits = 6;

	while (wsize < len && wsize < (size_t)LZ_WINDOW + 1)
		wsize *= 2;
	while (hbits < LZ_MAXHBITS && ((size_t)1 << hbits) < len)
		hbits++;
	e->in = in;
	e->len = len;
	e->hbits = hbits;
	e->wmask = wsize - 1;
	e->ins = 0;
	e->head = xcalloc(((size_t)1 << hbits) * sizeof(uint32_t) +
	    wsize * sizeof(uint16_t), 1);
	e->prev = (uint16_t *)(void *)(e->head + ((size_t)1 << hbits));
}

static uint32_t
lz_hash(const struct lz_enc *e, size_t pos)
{
	return (lz_read32(e->in + pos) * 2654435761U) >> (32 - e->hbits);
}

/* lz_insert_upto - chain every position before pos that has 4 bytes */
static void
lz_insert_upto(struct lz_enc *e, size_t pos)
{
	size_t p, d;
	uint32_t h;

	for (p = e->ins; p < pos && p + LZ_MINMATCH <= e->len; p++) {
		h = lz_hash(e, p);
		d = e->head[h] ? p + 1 - e->head[h] : 0;
		e->prev[p & e->wmask] = d <= LZ_WINDOW ? (uint16_t)d : 0;
		e->head[h] = (uint32_t)(p + 1);
	}
	if (e->ins < pos)
		e->ins = pos;
}

/* lz_find - the longest match for pos (0 if under 4 bytes) and its
 * distance; the nearest wins a tie */
static unsigned
lz_find(struct lz_enc *e, size_t pos, unsigned *dist)
{
	const uint8_t *in = e->in, *cur = in + pos;
	size_t max = FM_MIN(e->len - pos, (size_t)LZ_MAXMATCH), c, d, n;
	unsigned best = LZ_MINMATCH - 1, depth;
	uint32_t first;

	if (max < LZ_MINMATCH)
		return 0;
	lz_insert_upto(e, pos);
	if (e->head[lz_hash(e, pos)] == 0)
		return 0;
	c = e->head[lz_hash(e, pos)] - 1;
	first = lz_read32(cur);
	for (depth = 0; depth < LZ_DEPTH; depth++) {
		if (pos - c > LZ_WINDOW)
			break;
		if (in[c + best] == cur[best] && lz_read32(in + c) == first) {
			for (n = LZ_MINMATCH; n < max && in[c + n] == cur[n]; n++)
				;
			if (n > best) {
				best = (unsigned)n;
				*dist = (unsigned)(pos - c);
				if (n == max)
					break;
			}
		}
		if ((d = e->prev[c & e->wmask]) == 0)
			break;
		c -= d;
	}
	return best >= LZ_MINMATCH ? best : 0;
}

/* lz_literals - tokens for in[from, to) */
static void
lz_literals(struct lz_enc *e, size_t from, size_t to)
{
	size_t n;

	while (from < to) {
		n = FM_MIN(to - from, (size_t)LZ_MAXLIT);
		*e->o++ = (uint8_t)(n - 1);
		memcpy(e->o, e->in + from, n);
		e->o += n;
		from += n;
	}
}

static void
lz_copy(struct lz_enc *e, unsigned n, unsigned dist)
{
	*e->o++ = (uint8_t)(0x80 | (n - LZ_MINMATCH));
	*e->o++ = (uint8_t)(dist >> 8);
	*e->o++ = (uint8_t)dist;
}

/* lz_compress - greedy, with one step of lazy evaluation: a match is put
 * off by a literal when the next position has a longer one */
void
lz_compress(const void *in, size_t len, struct buf *out)
{
	struct lz_enc e;
	size_t pos = 0, lit = 0, v;
	unsigned n, d = 0, n2, d2 = 0;

	if (len > LZ_MAXRAW) {
		log_warnx("lz_compress: input of %zu bytes is too long", len);
		abort();
	}
	buf_reserve(out, 3 + 5 + len + len / LZ_MAXLIT + 1);
	e.o = (uint8_t *)out->data + out->len;
	memcpy(e.o, LZ_MAGIC, 3);
	e.o += 3;
	for (v = len; v >= 0x80; v >>= 7)
		*e.o++ = (uint8_t)(v | 0x80);
	*e.o++ = (uint8_t)v;
	lz_enc_init(&e, in, len);
	while (pos + LZ_MINMATCH <= len) {
		if ((n = lz_find(&e, pos, &d)) == 0) {
			pos++;
			continue;
		}
		while (n < LZ_MAXMATCH && (n2 = lz_find(&e, pos + 1, &d2)) > n) {
			pos++;
			n = n2;
			d = d2;
		}
		lz_literals(&e, lit, pos);
		lz_copy(&e, n, d);
		pos += n;
		lit = pos;
	}
	lz_literals(&e, lit, len);
	out->len = (size_t)(e.o - (uint8_t *)out->data);
	out->data[out->len] = '\0';
	free(e.head);
}

/* lz_header - check the magic and read the length; *hdrlen: its bytes */
static int
lz_header(const uint8_t *p, size_t len, size_t *rawlen, size_t *hdrlen,
    char *err, size_t errlen)
{
	uint64_t v = 0;
	size_t i;

	if (len < 3 || memcmp(p, LZ_MAGIC, 3) != 0) {
		snprintf(err, errlen, "bad magic");
		return -1;
	}
	for (i = 3;; i++) {
		if (i >= len) {
			snprintf(err, errlen, "truncated length");
			return -1;
		}
		if ((i == 7 && p[i] > 0x0f) || (i > 3 && p[i] == 0)) {
			snprintf(err, errlen, "overlong length");
			return -1;
		}
		v |= (uint64_t)(p[i] & 0x7f) << (7 * (i - 3));
		if (p[i] < 0x80)
			break;
	}
	*rawlen = (size_t)v;
	*hdrlen = i + 1;
	return 0;
}

int
lz_rawlen(const void *in, size_t len, size_t *rawlen)
{
	char err[64];
	size_t hdr;

	return lz_header(in, len, rawlen, &hdr, err, sizeof(err));
}

/* lz_tokens - run the tokens of p[i, len) into o, which has room for
 * rawlen bytes; 0 / -1 */
static int
lz_tokens(const uint8_t *p, size_t len, size_t i, size_t rawlen, uint8_t *o,
    char *err, size_t errlen)
{
	size_t done = 0, n, d = 0, k;

	while (i < len) {
		if (done == rawlen) {
			snprintf(err, errlen, "trailing bytes at byte %zu", i);
			return -1;
		}
		if (p[i] < 0x80) {
			n = (size_t)p[i] + 1;
			if (len - i - 1 < n) {
				snprintf(err, errlen, "truncated literal at byte %zu", i);
				return -1;
			}
		} else {
			if (len - i < 3) {
				snprintf(err, errlen, "truncated copy at byte %zu", i);
				return -1;
			}
			n = (size_t)(p[i] & 0x7f) + LZ_MINMATCH;
			d = (size_t)p[i + 1] << 8 | p[i + 2];
			if (d == 0 || d > done) {
				snprintf(err, errlen, "bad distance %zu at byte %zu", d, i);
				return -1;
			}
		}
		if (n > rawlen - done) {
			snprintf(err, errlen, "output past length %zu at byte %zu",
			    rawlen, i);
			return -1;
		}
		if (p[i] < 0x80) {
			memcpy(o + done, p + i + 1, n);
			i += 1 + n;
		} else if (d >= n) {
			memcpy(o + done, o + done - d, n);
			i += 3;
		} else {
			for (k = 0; k < n; k++)
				o[done + k] = o[done + k - d];
			i += 3;
		}
		done += n;
	}
	if (done < rawlen) {
		snprintf(err, errlen, "output short of length %zu: %zu bytes",
		    rawlen, done);
		return -1;
	}
	return 0;
}

/* lz_decompress - the output is reserved once: rawlen, but never more than
 * k bytes of tokens can make (a copy makes at most 131 bytes of 3, a
 * literal fewer than it takes: at most 131 * (k / 3) + 2), so a forged
 * length costs no memory */
int
lz_decompress(const void *in, size_t len, struct buf *out, char *err,
    size_t errlen)
{
	const uint8_t *p = in;
	size_t rawlen, hdr, room;

	if (lz_header(p, len, &rawlen, &hdr, err, errlen) == -1)
		return -1;
	room = FM_MIN(rawlen, (len - hdr) / 3 * LZ_MAXMATCH + LZ_MAXLIT);
	buf_reserve(out, room);
	if (lz_tokens(p, len, hdr, rawlen, (uint8_t *)out->data + out->len,
	    err, errlen) == -1) {
		out->data[out->len] = '\0';
		return -1;
	}
	out->len += rawlen;
	out->data[out->len] = '\0';
	return 0;
}
