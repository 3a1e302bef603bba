/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util.h - allocation that aborts on exhaustion, growable buffers, a bump
 * arena, and the escaping every output path uses for untrusted text.
 */
#ifndef FM_UTIL_H
#define FM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fumidai/plugin.h"

/*
 * struct_zero / struct_copy - memset(p, 0, n) / memcpy(d, s, n) for the
 * few-hundred-byte structs (struct fm_event) of the per-line path, as 16-byte
 * stores: there the compiler emits rep stos / rep movs, which take longer to
 * start than to run.  The empty asm keeps the loop from being turned back
 * into them.
 */
static inline void
struct_zero(void *p, size_t n)
{
#ifdef __SSE2__
	char *d = p;

	for (; n >= 16; n -= 16, d += 16) {
		_mm_storeu_si128((__m128i *)(void *)d, _mm_setzero_si128());
		__asm__("" : "+r"(d));
	}
	memset(d, 0, n);
#else
	memset(p, 0, n);
#endif
}

static inline void
struct_copy(void *dst, const void *src, size_t n)
{
#ifdef __SSE2__
	char *d = dst;
	const char *s = src;

	for (; n >= 16; n -= 16, d += 16, s += 16) {
		_mm_storeu_si128((__m128i *)(void *)d,
		    _mm_loadu_si128((const __m128i *)(const void *)s));
		__asm__("" : "+r"(d));
	}
	memcpy(d, s, n);
#else
	memcpy(dst, src, n);
#endif
}


void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n);	/* NUL-terminated copy */
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable byte buffer; data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
/* buf_addu / buf_addi - a number in decimal */
void buf_addu(struct buf *b, uint64_t v);
void buf_addi(struct buf *b, int64_t v);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);

/* A bump allocator reset per batch; chunks are kept for reuse. */
struct arena {
	struct arena_chunk *head;	/* chunk being filled */
	struct arena_chunk *spare;	/* chunks freed by arena_reset */
	size_t used;			/* bytes handed out since reset */
};
void arena_init(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
/* arena_str - copy s into the arena; returns the copy (empty stays empty) */
struct fm_str arena_str(struct arena *a, struct fm_str s);
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

/* Escaping of untrusted bytes. */
void json_escape(struct buf *b, const char *p, size_t n);	/* no quotes */
void json_str(struct buf *b, const char *p, size_t n);		/* "..." */
/* json_escape_to - json_escape into out, which has room for 6 * n bytes;
 * returns the end (nothing is NUL-terminated) */
char *json_escape_to(char *out, const char *p, size_t n);
/* log_escape - printable ASCII and space kept; backslash, quote, '=' and
 * everything else become \xNN */
void log_escape(struct buf *b, const char *p, size_t n);
void hex_encode(struct buf *b, const void *p, size_t n);
int hex_decode(struct buf *b, const char *p, size_t n);	/* 0 / -1 */
int hex_digit(int c);			/* 0-15, or -1 */

int utf8_valid(const char *p, size_t n);
uint64_t fnv1a64(const void *p, size_t n, uint64_t h);
#define FNV1A64_INIT 0xcbf29ce484222325ULL

/* addr_format - "1.2.3.4" / "2001:db8::1" into out (>= 46 bytes); "" if af 0 */
void addr_format(int af, const uint8_t *addr, char *out, size_t outlen);
/* addr_parse - parse text address; 0 / -1 */
int addr_parse(const char *p, size_t n, uint8_t *af, uint8_t addr[16]);

/* Microseconds since the epoch. */
int64_t now_us(void);		/* CLOCK_REALTIME */
int64_t mono_us(void);		/* CLOCK_MONOTONIC */
/* time_format - ISO 8601 UTC with microseconds into out (>= 32 bytes) */
void time_format(int64_t us, char *out, size_t outlen);
/* time_parse_arg - "2026-11-24", "2026-11-24T10:00:00Z", "-7d", "-3h", epoch */
int time_parse_arg(const char *s, int64_t *us);

int write_file_atomic(const char *path, const void *p, size_t n, char *err, size_t errlen);
int mkdir_p(const char *path, int mode);

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#define FM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FM_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
