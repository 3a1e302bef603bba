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

void
json_escape(struct buf *b, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	buf_reserve(b, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!json_esc[c])
			continue;
		buf_add(b, p + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default: {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(b, e, 6);
		}
		}
	}
	buf_add(b, p + run, n - run);
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

void
addr_format(int af, const uint8_t *addr, char *out, size_t outlen)
{
	if (af == 4 && outlen >= 16) {
		char *p = out;
		int i, v;

		/* inet_ntop formats IPv4 through sprintf: too slow per event */
		for (i = 0; i < 4; i++) {
			v = addr[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : '\0';
		}
	} else if (af == 4)
		inet_ntop(AF_INET, addr, out, (socklen_t)outlen);
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

void
time_format(int64_t us, char *out, size_t outlen)
{
	static time_t cached = -1;
	static char head[80];		/* "YYYY-MM-DDTHH:MM:SS" */
	time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	long frac = (long)(us - (int64_t)t * 1000000);
	struct tm tm;
	char *p;
	int i;

	if (outlen < 28) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	if (t != cached) {
		gmtime_r(&t, &tm);
		snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		cached = t;
	}
	memcpy(out, head, 19);
	p = out + 19;
	*p++ = '.';
	for (i = 5; i >= 0; i--) {
		p[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	p[6] = 'Z';
	p[7] = '\0';
}

int
time_parse_arg(const char *s, int64_t *us)
{
	struct tm tm;
	char *end;
	long long v;
	int n = 0;

	if (s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
		v = strtoll(s + 1, &end, 10);
		switch (*end) {
		case 's': break;
		case 'm': v *= 60; break;
		case 'h': v *= 3600; break;
		case 'd': v *= 86400; break;
		case 'w': v *= 7 * 86400; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
		*us = now_us() - (int64_t)v * 1000000;
		return 0;
	}
	v = strtoll(s, &end, 10);
	if (*end == '\0' && end != s && v > 100000) {
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
