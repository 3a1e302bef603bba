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
 * "FZ2" is FZ1's token stream again, Huffman-coded: FZ1 leaves the
 * entropy of its bytes (text, lengths, distances) alone, and a day's
 * tokens use a few dozen byte values far more than the rest.
 *
 *	blob	"FZ2" varint(rawlen) varint(n) [table bits]
 *		n: the bytes of the FZ1 token stream (what follows FZ1's
 *		header), a varint as rawlen; table and bits are absent
 *		when n is 0
 *	table	nibbles, the high one of a byte first, giving the code
 *		length of the byte values 0 to 255 in turn:
 *		  0		the next value is absent
 *		  1-12		the next value's code length
 *		  13 r		r + 2 values are absent (2-17)
 *		  14 r s	16 r + s + 18 values are absent (18-273)
 *		  15		invalid
 *		ending at value 255 exactly, padded with a 0 nibble to a
 *		whole byte
 *	code	canonical, as deflate's: by length, then by value, each
 *		code is the previous one plus 1, shifted left to its
 *		length; the lengths make a complete code (Kraft sum 1),
 *		or are one value of length 1 (code 0)
 *	bits	the codes of the n token bytes, packed from the least
 *		significant bit of each byte, each code from its first
 *		(most significant) bit, then 0 bits to a whole byte; the
 *		blob ends there
 *
 * lz_compress writes FZ1, codes its tokens with a Huffman code limited
 * to 12 bits, 10 below 64 Ki tokens (counts are halved until the tree
 * fits), and keeps the FZ2 blob only when it is smaller, so both depend on
 * the input alone.
 *
 * SECURITY: a blob read back from Redis is not trusted: the decoder checks
 * every length and distance against the input it has and the output it
 * has made, never writes past the announced length nor reads outside the
 * blob, and refuses (0 / -1 and a reason) a wrong magic, a bad or
 * overlong length, a truncated token, a distance of 0 or before the
 * start, output past or short of the announced length, and trailing bytes;
 * in FZ2 also a bad table, an over-subscribed or incomplete code, a token
 * count over 8 per byte left, a code the one-value code lacks, bits that
 * end early, trailing bytes and padding that is not 0, and then whatever
 * FZ1's checks refuse in the decoded tokens.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lz.h"

#define LZ_MAGIC	"FZ1"
#define LZ_MAGIC2	"FZ2"
#define LZ_MINMATCH	4
#define LZ_MAXMATCH	131		/* (0x7f) + 4 */
#define LZ_MAXLIT	128
#define LZ_WINDOW	65535		/* farthest distance */
#define LZ_DEPTH	32		/* candidates tried per position */
#define LZ_MAXHBITS	16		/* hash table: up to 64 Ki heads */
#define HUF_MAXLEN	12		/* longest FZ2 code */
#define HUF_SMALLLEN	10		/* longest below HUF_SMALL tokens */
#define HUF_SMALL	65536
#define HUF_SIZE	(1 << HUF_MAXLEN)

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
static void lz_fz1(const void *, size_t, struct buf *);
static unsigned huf_tree(const uint64_t *, uint8_t *);
static void huf_lengths(const uint8_t *, size_t, uint8_t *);
static void huf_codes(const uint8_t *, uint16_t *);
static size_t huf_table(const uint8_t *, uint8_t *);
static void lz_fz2(const uint8_t *, size_t, size_t, const uint8_t *,
    size_t, struct buf *);
static int lz_varint(const uint8_t *, size_t, size_t *, uint64_t *,
    const char *, char *, size_t);
static int lz_header(const uint8_t *, size_t, size_t *, size_t *, int *,
    char *, size_t);
static int huf_nibble(const uint8_t *, size_t, size_t, size_t);
static int huf_read_table(const uint8_t *, size_t, size_t *, uint8_t *,
    char *, size_t);
static int huf_check(const uint8_t *, char *, size_t);
static int huf_decode(const uint8_t *, size_t, size_t, const uint8_t *,
    uint8_t *, size_t, char *, size_t);
static int lz_decompress2(const uint8_t *, size_t, size_t, size_t,
    struct buf *, char *, size_t);
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

/* lz_fz1 - append the FZ1 blob: greedy, with one step of lazy
 * evaluation (a match is put off by a literal when the next position has
 * a longer one) */
static void
lz_fz1(const void *in, size_t len, struct buf *out)
{
	struct lz_enc e;
	size_t pos = 0, lit = 0, v;
	unsigned n, d = 0, n2, d2 = 0;

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

/* huf_tree - the Huffman code lengths of the values counted in f (0:
 * absent) into len; the longest.  Leaves are taken by count then value,
 * a leaf before a node of the same weight, so the tree is the input's. */
static unsigned
huf_tree(const uint64_t *f, uint8_t *len)
{
	uint64_t w[2 * 256];
	uint16_t parent[2 * 256], sym[256], s;
	uint8_t depth[2 * 256];
	unsigned nl = 0, li = 0, ni, nn, k, j, max = 0, pick[2];

	memset(len, 0, 256);
	for (k = 0; k < 256; k++) {
		if (f[k] == 0)
			continue;
		s = (uint16_t)k;	/* insertion sort by count, then value */
		for (j = nl; j > 0 && f[sym[j - 1]] > f[s]; j--)
			sym[j] = sym[j - 1];
		sym[j] = s;
		nl++;
	}
	if (nl < 2) {
		if (nl == 1)
			len[sym[0]] = 1;
		return nl;
	}
	for (k = 0; k < nl; k++)
		w[k] = f[sym[k]];
	for (ni = nn = nl; nn < 2 * nl - 1; nn++) {
		for (j = 0; j < 2; j++)
			pick[j] = li < nl && (ni >= nn || w[li] <= w[ni]) ?
			    li++ : ni++;
		w[nn] = w[pick[0]] + w[pick[1]];
		parent[pick[0]] = parent[pick[1]] = (uint16_t)nn;
	}
	depth[nn - 1] = 0;
	for (k = nn - 1; k-- > 0;)
		depth[k] = depth[parent[k]] + 1;
	for (k = 0; k < nl; k++) {
		len[sym[k]] = depth[k];
		max = FM_MAX(max, depth[k]);
	}
	return max;
}

/* huf_lengths - code lengths for the n bytes of p, of at most 12 bits, or
 * 10 below 64 Ki bytes (lz.lua's table for a small day is then 4 times
 * smaller, for 0.3% of its size): counts are halved (kept above 0) until
 * the tree is that shallow */
static void
huf_lengths(const uint8_t *p, size_t n, uint8_t *len)
{
	uint64_t f[256] = { 0 };
	unsigned max = n < HUF_SMALL ? HUF_SMALLLEN : HUF_MAXLEN;
	size_t i;

	for (i = 0; i < n; i++)
		f[p[i]]++;
	while (huf_tree(f, len) > max)
		for (i = 0; i < 256; i++)
			if (f[i] != 0)
				f[i] = f[i] >> 1 | 1;
}

/* huf_codes - the canonical codes of len, bit-reversed for LSB-first
 * packing */
static void
huf_codes(const uint8_t *len, uint16_t *code)
{
	unsigned count[HUF_MAXLEN + 1] = { 0 }, next[HUF_MAXLEN + 1];
	unsigned l, c = 0, v, r, k;

	for (k = 0; k < 256; k++)
		count[len[k]]++;
	count[0] = 0;
	for (l = 1; l <= HUF_MAXLEN; l++) {
		c = (c + count[l - 1]) << 1;
		next[l] = c;
	}
	for (k = 0; k < 256; k++) {
		if ((l = len[k]) == 0)
			continue;
		v = next[l]++;
		for (r = 0; l > 0; l--, v >>= 1)
			r = r << 1 | (v & 1);
		code[k] = (uint16_t)r;
	}
}

/* huf_table - the table of len into out (at most 256 bytes); its bytes */
static size_t
huf_table(const uint8_t *len, uint8_t *out)
{
	uint8_t nib[3 * 256];
	size_t nn = 0, i;
	unsigned k = 0, run;

	while (k < 256) {
		if (len[k] != 0) {
			nib[nn++] = len[k++];
			continue;
		}
		for (run = 0; k + run < 256 && len[k + run] == 0; run++)
			;
		k += run;
		if (run == 1)
			nib[nn++] = 0;
		else if (run < 18) {
			nib[nn++] = 13;
			nib[nn++] = (uint8_t)(run - 2);
		} else {
			nib[nn++] = 14;
			nib[nn++] = (uint8_t)((run - 18) >> 4);
			nib[nn++] = (uint8_t)((run - 18) & 15);
		}
	}
	nib[nn] = 0;
	for (i = 0; i < nn; i += 2)
		out[i / 2] = (uint8_t)(nib[i] << 4 | nib[i + 1]);
	return (nn + 1) / 2;
}

/* lz_fz2 - append the FZ2 blob of the n FZ1 tokens tok (rawlen bytes of
 * input), coded with lengths len */
static void
lz_fz2(const uint8_t *tok, size_t n, size_t rawlen, const uint8_t *len,
    size_t bits, struct buf *out)
{
	uint16_t code[256];
	uint64_t acc = 0;
	unsigned nb = 0;
	size_t i, v, k;
	uint8_t *o;

	buf_reserve(out, 3 + 10 + 256 + bits / 8 + 1);
	o = (uint8_t *)out->data + out->len;
	memcpy(o, LZ_MAGIC2, 3);
	o += 3;
	for (k = 0, v = rawlen; k < 2; k++, v = n) {
		for (; v >= 0x80; v >>= 7)
			*o++ = (uint8_t)(v | 0x80);
		*o++ = (uint8_t)v;
	}
	if (n > 0)
		o += huf_table(len, o);
	huf_codes(len, code);
	for (i = 0; i < n; i++) {
		acc |= (uint64_t)code[tok[i]] << nb;
		nb += len[tok[i]];
		for (; nb >= 8; nb -= 8, acc >>= 8)
			*o++ = (uint8_t)acc;
	}
	if (nb > 0)
		*o++ = (uint8_t)acc;
	out->len = (size_t)(o - (uint8_t *)out->data);
	out->data[out->len] = '\0';
}

void
lz_compress_format(const void *in, size_t len, int format, struct buf *out)
{
	uint8_t hl[256], table[256];
	size_t start = out->len, hdr, n, bits = 0, size2, i;
	struct buf z;

	if (len > LZ_MAXRAW) {
		log_warnx("lz_compress: input of %zu bytes is too long", len);
		abort();
	}
	lz_fz1(in, len, out);
	if (format == 1)
		return;
	for (hdr = 4, i = len; i >= 0x80; i >>= 7)
		hdr++;
	n = out->len - start - hdr;
	huf_lengths((uint8_t *)out->data + start + hdr, n, hl);
	for (i = 0; i < n; i++)
		bits += hl[(uint8_t)out->data[start + hdr + i]];
	size2 = hdr + 1 + (n > 0 ? huf_table(hl, table) : 0) + (bits + 7) / 8;
	for (i = n; i >= 0x80; i >>= 7)
		size2++;
	if (format == 0 && size2 >= out->len - start)
		return;
	buf_init(&z);
	lz_fz2((uint8_t *)out->data + start + hdr, n, len, hl, bits, &z);
	out->len = start;
	buf_add(out, z.data, z.len);
	buf_free(&z);
}

void
lz_compress(const void *in, size_t len, struct buf *out)
{
	lz_compress_format(in, len, 0, out);
}

/* lz_varint - the varint at p[*i], moving *i past it; what names it in
 * the message */
static int
lz_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v,
    const char *what, char *err, size_t errlen)
{
	size_t s = *i, k;
	uint64_t x = 0;

	for (k = 0;; k++) {
		if (s + k >= len) {
			snprintf(err, errlen, "truncated %s", what);
			return -1;
		}
		if ((k == 4 && p[s + k] > 0x0f) || (k > 0 && p[s + k] == 0)) {
			snprintf(err, errlen, "overlong %s", what);
			return -1;
		}
		x |= (uint64_t)(p[s + k] & 0x7f) << (7 * k);
		if (p[s + k] < 0x80)
			break;
	}
	*v = x;
	*i = s + k + 1;
	return 0;
}

/* lz_header - check the magic (*fz: 1 or 2) and read the length;
 * *hdrlen: its bytes */
static int
lz_header(const uint8_t *p, size_t len, size_t *rawlen, size_t *hdrlen,
    int *fz, char *err, size_t errlen)
{
	uint64_t v;
	size_t i = 3;

	if (len < 3 || (memcmp(p, LZ_MAGIC, 3) != 0 &&
	    memcmp(p, LZ_MAGIC2, 3) != 0)) {
		snprintf(err, errlen, "bad magic");
		return -1;
	}
	*fz = p[2] == '1' ? 1 : 2;
	if (lz_varint(p, len, &i, &v, "length", err, errlen) == -1)
		return -1;
	*rawlen = (size_t)v;
	*hdrlen = i;
	return 0;
}

int
lz_rawlen(const void *in, size_t len, size_t *rawlen)
{
	char err[64];
	size_t hdr;
	int fz;

	return lz_header(in, len, rawlen, &hdr, &fz, err, sizeof(err));
}

/* huf_nibble - nibble q of the table at p[s], the high one of a byte
 * first; -1 past the blob */
static int
huf_nibble(const uint8_t *p, size_t len, size_t s, size_t q)
{
	if (s + q / 2 >= len)
		return -1;
	return q % 2 ? p[s + q / 2] & 15 : p[s + q / 2] >> 4;
}

/* huf_read_table - the code lengths of the table at p[*i], moving *i
 * past it; a bad one is named by the byte of its last nibble read */
static int
huf_read_table(const uint8_t *p, size_t len, size_t *i, uint8_t *hl,
    char *err, size_t errlen)
{
	size_t s = *i, q = 0;
	unsigned sym = 0;
	int v, r, r2 = 0;

	memset(hl, 0, 256);
	while (sym < 256) {
		if ((v = huf_nibble(p, len, s, q++)) == -1)
			goto truncated;
		if (v >= 1 && v <= 12)
			hl[sym] = (uint8_t)v;
		if (v <= 12)
			sym++;
		else if (v != 15) {
			if ((r = huf_nibble(p, len, s, q++)) == -1 || (v == 14 &&
			    (r2 = huf_nibble(p, len, s, q++)) == -1))
				goto truncated;
			sym += (unsigned)(v == 13 ? r + 2 : 16 * r + r2 + 18);
		}
		if (v == 15 || sym > 256) {
			snprintf(err, errlen, "bad table at byte %zu",
			    s + (q - 1) / 2);
			return -1;
		}
	}
	if (q % 2 != 0 && (p[s + q / 2] & 15) != 0) {
		snprintf(err, errlen, "bad table at byte %zu", s + q / 2);
		return -1;
	}
	*i = s + (q + 1) / 2;
	return 0;
truncated:
	snprintf(err, errlen, "truncated table");
	return -1;
}

/* huf_check - the lengths make a complete code, or one of length 1 */
static int
huf_check(const uint8_t *hl, char *err, size_t errlen)
{
	unsigned k, n = 0;
	uint32_t kraft = 0;

	for (k = 0; k < 256; k++) {
		if (hl[k] != 0) {
			n++;
			kraft += (uint32_t)HUF_SIZE >> hl[k];
		}
	}
	if (n == 0)
		snprintf(err, errlen, "empty code");
	else if (kraft > HUF_SIZE)
		snprintf(err, errlen, "over-subscribed code");
	else if (kraft < HUF_SIZE && !(n == 1 && kraft == HUF_SIZE / 2))
		snprintf(err, errlen, "incomplete code");
	else
		return 0;
	return -1;
}

/* huf_decode - the n token bytes of the bits at p[i, len) into tok, read
 * as if 0 bits followed the blob (as lz.lua does) and checked after */
static int
huf_decode(const uint8_t *p, size_t len, size_t i, const uint8_t *hl,
    uint8_t *tok, size_t n, char *err, size_t errlen)
{
	uint16_t code[256], ent[HUF_SIZE] = { 0 };	/* length << 8 | value */
	uint64_t acc = 0, used = 0;
	size_t k, idx, start = i, end;
	unsigned nb = 0, l;

	huf_codes(hl, code);
	for (k = 0; k < 256; k++)
		for (idx = code[k]; hl[k] != 0 && idx < HUF_SIZE;
		    idx += (size_t)1 << hl[k])
			ent[idx] = (uint16_t)(hl[k] << 8 | k);
	for (k = 0; k < n; k++) {
		for (; nb <= 56 && i < len; nb += 8)
			acc |= (uint64_t)p[i++] << nb;
		if ((l = ent[acc & (HUF_SIZE - 1)] >> 8) == 0) {
			snprintf(err, errlen, "bad code at token %zu", k);
			return -1;
		}
		tok[k] = (uint8_t)ent[acc & (HUF_SIZE - 1)];
		acc >>= l;
		nb = nb > l ? nb - l : 0;
		used += l;
	}
	if (used > (uint64_t)(len - start) * 8) {
		snprintf(err, errlen, "bitstream ends early");
		return -1;
	}
	end = start + (size_t)((used + 7) / 8);
	if (end < len) {
		snprintf(err, errlen, "trailing bytes at byte %zu", end);
		return -1;
	}
	if (used % 8 != 0 && p[end - 1] >> (used % 8) != 0) {
		snprintf(err, errlen, "nonzero padding");
		return -1;
	}
	return 0;
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

/* lz_decompress2 - the FZ2 blob p, its header read up to p[i]: the
 * tokens are decoded in full, then run as FZ1's; a token count is at most
 * 8 per byte of bits, so a forged one costs no memory */
static int
lz_decompress2(const uint8_t *p, size_t len, size_t i, size_t rawlen,
    struct buf *out, char *err, size_t errlen)
{
	uint8_t hl[256] = { 0 }, *tok;
	char terr[128];
	uint64_t n;
	size_t room;

	if (lz_varint(p, len, &i, &n, "count", err, errlen) == -1)
		return -1;
	if (n > 0 && (huf_read_table(p, len, &i, hl, err, errlen) == -1 ||
	    huf_check(hl, err, errlen) == -1))
		return -1;
	if (n > (uint64_t)(len - i) * 8) {
		snprintf(err, errlen, "token count %llu past the blob",
		    (unsigned long long)n);
		return -1;
	}
	tok = xmalloc((size_t)n + 1);
	if (huf_decode(p, len, i, hl, tok, (size_t)n, err, errlen) == -1) {
		free(tok);
		return -1;
	}
	room = FM_MIN(rawlen, (size_t)n / 3 * LZ_MAXMATCH + LZ_MAXLIT);
	buf_reserve(out, room);
	if (lz_tokens(tok, (size_t)n, 0, rawlen, (uint8_t *)out->data +
	    out->len, terr, sizeof(terr)) == -1) {
		snprintf(err, errlen, "tokens: %s", terr);
		out->data[out->len] = '\0';
		free(tok);
		return -1;
	}
	free(tok);
	out->len += rawlen;
	out->data[out->len] = '\0';
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
	int fz;

	if (lz_header(p, len, &rawlen, &hdr, &fz, err, errlen) == -1)
		return -1;
	if (fz == 2)
		return lz_decompress2(p, len, hdr, rawlen, out, err, errlen);
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
