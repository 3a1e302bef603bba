/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util.c - allocation, buffers, arena, escaping, addresses and times.
 *
 * SECURITY: the escaping functions are the only way log-derived text reaches
 * JSON, logs or keys; they accept any byte sequence.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "log.h"
#include "util.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

#define ARENA_CHUNK (64 * 1024)

static void
oom(size_t n)
{
	fatalx("out of memory allocating %zu bytes", n);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		oom(n * m);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xmemdup(const void *p, size_t n)
{
	char *s = xmalloc(n + 1);

	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
xasprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return n;
}

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 256;
	while (b->cap < need)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_addc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addu(struct buf *b, uint64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
buf_addi(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_addc(b, '-');
		buf_addu(b, (uint64_t)0 - (uint64_t)v);
	} else
		buf_addu(b, (uint64_t)v);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
arena_init(struct arena *a)
{
	a->head = a->spare = NULL;
	a->used = 0;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t al = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *p;

	if (c == NULL || c->size - c->used < al) {
		if (al <= ARENA_CHUNK && a->spare != NULL) {
			c = a->spare;
			a->spare = c->next;
		} else {
			size_t sz = al > ARENA_CHUNK ? al : ARENA_CHUNK;

			c = xmalloc(sizeof(*c) + sz);
			c->size = sz;
		}
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += al;
	a->used += al;
	return p;
}

struct fm_str
arena_str(struct arena *a, struct fm_str s)
{
	struct fm_str r = { "", 0 };
	char *p;

	if (s.len == 0)
		return r;
	p = arena_alloc(a, s.len);
	memcpy(p, s.p, s.len);
	r.p = p;
	r.len = s.len;
	return r;
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		if (c->size == ARENA_CHUNK) {
			c->next = a->spare;
			a->spare = c;
		} else
			free(c);
	}
	a->head = NULL;
	a->used = 0;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	arena_reset(a);
	for (c = a->spare; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->spare = NULL;
}

/* JSON: which bytes need an escape (control, '"', '\\', DEL) */
static const unsigned char json_esc[256] = {
	1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
	0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
	0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
	0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,
};

/* json_special - nonzero when one of the 8 bytes of w needs an escape:
 * below 0x20, '"', '\\' or DEL (exact for "any", which is all we ask) */
static inline uint64_t
json_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t q = w ^ (ones * '"'), s = w ^ (ones * '\\'), d = w ^ (ones * 0x7f);

	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
	    ((s - ones) & ~s) | ((d - ones) & ~d)) & high;
}

/* json_escape_slow - escape [p, end) a byte at a time */
static char *
json_escape_slow(char *out, const char *p, const char *end)
{
	static const char hex[] = "0123456789abcdef";

	while (p < end) {
		unsigned char c = (unsigned char)*p++;

		if (!json_esc[c]) {
			*out++ = (char)c;
			continue;
		}
		*out++ = '\\';
		switch (c) {
		case '"': *out++ = '"'; break;
		case '\\': *out++ = '\\'; break;
		case '\n': *out++ = 'n'; break;
		case '\r': *out++ = 'r'; break;
		case '\t': *out++ = 't'; break;
		default:
			memcpy(out, "u00", 3);
			out[3] = hex[c >> 4];
			out[4] = hex[c & 15];
			out += 5;
		}
	}
	return out;
}

#ifdef __SSE2__
/* json_mask16 - bit i set when byte i of x needs an escape */
static inline unsigned
json_mask16(__m128i x)
{
	__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
	__m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
	__m128i bs = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
	__m128i del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(ctl, q),
	    _mm_or_si128(bs, del)));
}

static inline unsigned
json_special16(const char *p)
{
	return json_mask16(_mm_loadu_si128((const __m128i *)(const void *)p));
}
#endif

/* json_long - json_escape_to for n >= 16: a word at a time, the last partial
 * word checked as the (overlapping) last full one */
static char *
json_long(char *out, const char *p, const char *end)
{
	size_t n;
#ifdef __SSE2__
	for (; end - p >= 16; p += 16, out += 16) {
		if (json_special16(p) != 0)
			return json_escape_slow(out, p, end);
		memcpy(out, p, 16);
	}
	if (p == end)
		return out;
	if (json_special16(end - 16) != 0)
		return json_escape_slow(out, p, end);
	n = (size_t)(end - p);
	memcpy(out + n - 16, end - 16, 16);
#else
	uint64_t w;

	for (; end - p >= 8; p += 8, out += 8) {
		memcpy(&w, p, 8);
		if (json_special(w) != 0)
			return json_escape_slow(out, p, end);
		memcpy(out, p, 8);
	}
	if (p == end)
		return out;
	memcpy(&w, end - 8, 8);
	if (json_special(w) != 0)
		return json_escape_slow(out, p, end);
	n = (size_t)(end - p);
	memcpy(out + n - 8, end - 8, 8);
#endif
	return out + n;
}

/*
 * json_escape_to - without a loop for the short strings most fields are: 4
 * to 15 bytes are checked as two overlapping words, copied the same way.
 * Anything that needs an escape goes a byte at a time.
 */
char *
json_escape_to(char *out, const char *p, size_t n)
{
	const char *end = p + n;
	uint64_t h, t;
	uint32_t h4, t4;

	if (n >= 16)
		return json_long(out, p, end);
	if (n == 0)
		return out;
	if (n < 4) {			/* "mx1", "25": no loop, no call */
		unsigned char a = (unsigned char)p[0], b = (unsigned char)p[n >> 1],
		    c = (unsigned char)end[-1];

		if (json_esc[a] | json_esc[b] | json_esc[c])
			return json_escape_slow(out, p, end);
		out[0] = (char)a;
		out[n >> 1] = (char)b;
		out[n - 1] = (char)c;
		return out + n;
	}
	if (n >= 8) {
		memcpy(&h, p, 8);
		memcpy(&t, end - 8, 8);
#ifdef __SSE2__
		if (json_mask16(_mm_set_epi64x((long long)t, (long long)h)) != 0)
#else
		if (json_special(h) != 0 || json_special(t) != 0)
#endif
			return json_escape_slow(out, p, end);
		memcpy(out, &h, 8);
		memcpy(out + n - 8, &t, 8);
		return out + n;
	}
	memcpy(&h4, p, 4);
	memcpy(&t4, end - 4, 4);
#ifdef __SSE2__
	if (json_mask16(_mm_set_epi32(0x20202020, 0x20202020, (int)t4,
	    (int)h4)) != 0)		/* the padding is spaces */
#else
	if (json_special((uint64_t)h4 << 32 | t4) != 0)
#endif
		return json_escape_slow(out, p, end);
	memcpy(out, &h4, 4);
	memcpy(out + n - 4, &t4, 4);
	return out + n;
}

void
json_escape(struct buf *b, const char *p, size_t n)
{
	size_t k;

	/* In pieces, so that a long string does not reserve 6 times its size. */
	while (n > 0) {
		k = FM_MIN(n, (size_t)4096);
		buf_reserve(b, 6 * k);
		b->len = (size_t)(json_escape_to(b->data + b->len, p, k) - b->data);
		p += k;
		n -= k;
	}
	buf_reserve(b, 0);		/* n == 0 still leaves a string */
	b->data[b->len] = '\0';
}

void
json_str(struct buf *b, const char *p, size_t n)
{
	buf_addc(b, '"');
	json_escape(b, p, n);
	buf_addc(b, '"');
}

void
log_escape(struct buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '=')
			buf_addc(b, (char)c);
		else {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			buf_add(b, e, 4);
		}
	}
}

void
hex_encode(struct buf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i;

	buf_reserve(b, 2 * n);
	for (i = 0; i < n; i++) {
		b->data[b->len++] = hex[s[i] >> 4];
		b->data[b->len++] = hex[s[i] & 15];
	}
	b->data[b->len] = '\0';
}

int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(struct buf *b, const char *p, size_t n)
{
	size_t i;

	if (n % 2)
		return -1;
	for (i = 0; i < n; i += 2) {
		int hi = hex_digit(p[i]), lo = hex_digit(p[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		buf_addc(b, (char)(hi << 4 | lo));
	}
	return 0;
}

/* utf8_valid - strict UTF-8 (no overlongs, no surrogates); ASCII fast path */
int
utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p, *end = s + n;

	while (s < end) {
		if (end - s >= 8) {
			uint64_t w;

			memcpy(&w, s, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				s += 8;
				continue;
			}
		}
		if (*s < 0x80) {
			s++;
		} else if (*s >= 0xc2 && *s <= 0xdf) {
			if (end - s < 2 || (s[1] & 0xc0) != 0x80)
				return 0;
			s += 2;
		} else if (*s >= 0xe0 && *s <= 0xef) {
			if (end - s < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
				return 0;
			if (*s == 0xe0 && s[1] < 0xa0)
				return 0;
			if (*s == 0xed && s[1] > 0x9f)
				return 0;
			s += 3;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			if (end - s < 4 || (s[1] & 0xc0) != 0x80 ||
			    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
				return 0;
			if (*s == 0xf0 && s[1] < 0x90)
				return 0;
			if (*s == 0xf4 && s[1] > 0x8f)
				return 0;
			s += 4;
		} else
			return 0;
	}
	return 1;
}

uint64_t
fnv1a64(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* dec3 - "0" to "255", each padded with NULs to 4 bytes */
static const char dec3[256][4] = {
#define D1(n)	{ '0' + (n) }
#define D2(n)	{ '0' + (n) / 10, '0' + (n) % 10 }
#define D3(n)	{ '0' + (n) / 100, '0' + (n) / 10 % 10, '0' + (n) % 10 }
#define R10(f, b) f(b), f(b + 1), f(b + 2), f(b + 3), f(b + 4), f(b + 5), \
	f(b + 6), f(b + 7), f(b + 8), f(b + 9)
	R10(D1, 0), R10(D2, 10), R10(D2, 20), R10(D2, 30), R10(D2, 40),
	R10(D2, 50), R10(D2, 60), R10(D2, 70), R10(D2, 80), R10(D2, 90),
	R10(D3, 100), R10(D3, 110), R10(D3, 120), R10(D3, 130), R10(D3, 140),
	R10(D3, 150), R10(D3, 160), R10(D3, 170), R10(D3, 180), R10(D3, 190),
	R10(D3, 200), R10(D3, 210), R10(D3, 220), R10(D3, 230), R10(D3, 240),
	D3(250), D3(251), D3(252), D3(253), D3(254), D3(255)
#undef D1
#undef D2
#undef D3
#undef R10
};

/* addr6_format - IPv6 text exactly as glibc's inet_ntop writes it (longest
 * run of two or more zero groups, the first on a tie, becomes "::";
 * ::a.b.c.d and ::ffff:a.b.c.d keep the dotted quad), without its
 * sprintf per group; out has room for 46 bytes */
static void
addr6_format(const uint8_t *a, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int i, base = -1, len = 0, cb = -1, cl = 0, sh;

	for (i = 0; i < 8; i++) {
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (w[i] == 0) {
			if (cb == -1)
				cb = i, cl = 0;
			if (++cl > len)
				base = cb, len = cl;
		} else
			cb = -1;
	}
	if (len < 2)
		base = -1;
	for (i = 0; i < 8; i++) {
		if (base != -1 && i >= base && i < base + len) {
			if (i == base)
				*out++ = ':';
			continue;
		}
		if (i != 0)
			*out++ = ':';
		if (i == 6 && base == 0 && (len == 6 ||
		    (len == 5 && w[5] == 0xffff))) {
			addr_format(4, a + 12, out, 16);
			return;
		}
		for (sh = 12; sh > 0 && (w[i] >> sh) == 0; sh -= 4)
			;
		for (; sh >= 0; sh -= 4)
			*out++ = hex[(w[i] >> sh) & 15];
	}
	if (base != -1 && base + len == 8)
		*out++ = ':';
	*out = '\0';
}

void
addr_format(int af, const uint8_t *addr, char *out, size_t outlen)
{
	if (af == 4 && outlen >= 16) {
		char *p = out;
		int i, v;

		/* inet_ntop formats IPv4 through sprintf: too slow per event */
		for (i = 0; i < 4; i++) {
			v = addr[i];
			memcpy(p, dec3[v], 4);	/* digits, then NULs */
			p += v >= 100 ? 3 : v >= 10 ? 2 : 1;
			*p++ = i < 3 ? '.' : '\0';
		}
	} else if (af == 4)
		inet_ntop(AF_INET, addr, out, (socklen_t)outlen);
	else if (af == 6 && outlen >= 46)
		addr6_format(addr, out);
	else if (af == 6)
		inet_ntop(AF_INET6, addr, out, (socklen_t)outlen);
	else if (outlen)
		out[0] = '\0';
}

int
addr_parse(const char *p, size_t n, uint8_t *af, uint8_t addr[16])
{
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	memset(addr, 0, 16);
	if (memchr(tmp, ':', n) != NULL) {
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return -1;
		/* An IPv4-mapped address is the IPv4 address. */
		static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		if (memcmp(addr, mapped, 12) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*af = 4;
			return 0;
		}
		*af = 6;
		return 0;
	}
	if (inet_pton(AF_INET, tmp, addr) != 1)
		return -1;
	*af = 4;
	return 0;
}

int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* day_head - "YYYY-MM-DDT" of the day starting at t0 into head; 0, or -1 when
 * that day is not 86400 plain seconds to gmtime (leap-second zones, years
 * that are not four digits): then each second goes through gmtime */
static int
day_head(time_t t0, char *head, size_t len)
{
	struct tm tm, tm2;
	time_t t1 = t0 + 86399;

	gmtime_r(&t0, &tm);
	gmtime_r(&t1, &tm2);
	if (tm.tm_hour != 0 || tm.tm_min != 0 || tm.tm_sec != 0 ||
	    tm2.tm_hour != 23 || tm2.tm_min != 59 || tm2.tm_sec != 59 ||
	    tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -1;
	snprintf(head, len, "%04d-%02d-%02dT", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

void
time_format(int64_t us, char *out, size_t outlen)
{
	static int64_t cached_day = INT64_MIN;
	static int day_ok;
	static long cached_sod;
	static int64_t last_us;
	static char last[28];		/* its text, NUL-terminated */
	static char head[80];		/* "YYYY-MM-DDT" of cached_day, then
					 * "HH:MM:SS" of cached_sod */
	time_t t;
	long frac, sod;
	int64_t day;
	struct tm tm;
	char *p;
	int i;

	if (outlen < 28) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	if (us == last_us && last[0] != '\0') {	/* events of one line */
		memcpy(out, last, 28);
		return;
	}
	t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	frac = (long)(us - (int64_t)t * 1000000);
	day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	sod = (long)(t - day * 86400);
	if (day != cached_day) {
		day_ok = day_head((time_t)(day * 86400), head, sizeof(head)) == 0;
		cached_day = day;
		head[11] = '\0';	/* no second cached */
	}
	if (day_ok) {
		if (head[11] == '\0' || (long)cached_sod != sod) {
			head[11] = (char)('0' + sod / 36000);
			head[12] = (char)('0' + sod / 3600 % 10);
			head[13] = ':';
			head[14] = (char)('0' + sod / 600 % 6);
			head[15] = (char)('0' + sod / 60 % 10);
			head[16] = ':';
			head[17] = (char)('0' + sod % 60 / 10);
			head[18] = (char)('0' + sod % 10);
			cached_sod = sod;
		}
		memcpy(out, head, 19);
	} else {
		char slow[80];

		gmtime_r(&t, &tm);
		snprintf(slow, sizeof(slow), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		memcpy(out, slow, 19);
	}
	p = out + 19;
	*p++ = '.';
	if (frac == 0)			/* RFC 3164 times have no fraction */
		memcpy(p, "000000", 6);
	else {
		for (i = 5; i >= 0; i--) {
			p[i] = (char)('0' + frac % 10);
			frac /= 10;
		}
	}
	p[6] = 'Z';
	p[7] = '\0';
	memcpy(last, out, 28);
	last_us = us;
}

#define TIME_ARG_MAX_S	100000000000LL

int
time_parse_arg(const char *s, int64_t *us)
{
	struct tm tm;
	char *end;
	long long v;
	int n = 0;

	if (s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
		/* bounded (1e11 s, some 3000 years) before any multiplication:
		 * no overflow from "-99999999999999w" */
		if ((v = strtoll(s + 1, &end, 10)) > TIME_ARG_MAX_S)
			return -1;
		switch (*end) {
		case 's': break;
		case 'm': v *= 60; break;
		case 'h': v *= 3600; break;
		case 'd': v *= 86400; break;
		case 'w': v *= 7 * 86400; break;
		default: return -1;
		}
		if (end[1] != '\0' || v > TIME_ARG_MAX_S)
			return -1;
		*us = now_us() - (int64_t)v * 1000000;
		return 0;
	}
	v = strtoll(s, &end, 10);
	if (*end == '\0' && end != s && v > 100000 && v <= TIME_ARG_MAX_S) {
		*us = (int64_t)v * 1000000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
		return -1;
	s += n;
	if (*s == 'T' || *s == ' ') {
		if (sscanf(s + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 3)
			return -1;
		s += 1 + n;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if (*s == 'Z' || *s == '\0') {
		if (*s == 'Z' && s[1] != '\0')
			return -1;
		*us = (int64_t)timegm(&tm) * 1000000;
		return 0;
	}
	return -1;
}

int
write_file_atomic(const char *path, const void *p, size_t n, char *err, size_t errlen)
{
	char tmp[4096];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, p, n) != (ssize_t)n) {
		snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
mkdir_p(const char *path, int mode)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, (mode_t)mode) == -1 && errno != EEXIST)
			return -1;
		tmp[i] = i == n ? '\0' : '/';
	}
	return 0;
}
