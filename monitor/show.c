/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * show.c - printing untrusted text on a terminal, and reading fields of the
 * JSON records fumidai stored, for the commands that show Redis contents.
 * The records are fumidai's own (flat keys first, no whitespace), but a
 * reader still walks them as JSON: a nested object or a string holding
 * `"last":"` cannot be mistaken for a top-level field.
 *
 * SECURITY: input is untrusted bytes with a length; every read is bounded by
 * it.  Nesting is counted, not recursed into.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "show.h"

static void	term_byte(struct buf *b, unsigned char c);
static int	term_unsafe(const unsigned char *s, size_t k);
static const char *skip_ws(const char *p, const char *end);
static int	decode(const char **pp, const char *end, struct buf *out,
		    int quoted);
static int	jstr(const char **pp, const char *end, struct buf *out);
static int	skip_value(const char **pp, const char *end);
static int	unicode(const char **pp, const char *end, struct buf *out);
static void	put_utf8(struct buf *out, unsigned v);

/* ---- terminal ---- */

static void
term_byte(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

	buf_add(b, e, 4);
}

/* term_unsafe - a valid multi-byte sequence a terminal must not get raw:
 * C1 controls, U+061C, U+200E/F, U+2028-202E, U+2066-2069 (line breaks and
 * bidirectional controls that reorder what follows on the line) */
static int
term_unsafe(const unsigned char *s, size_t k)
{
	unsigned v;

	if (k == 2)
		v = (unsigned)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	else if (k == 3)
		v = (unsigned)(s[0] & 0x0f) << 12 |
		    (unsigned)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	else
		return 0;
	return (v >= 0x80 && v < 0xa0) || v == 0x61c || v == 0x200e ||
	    v == 0x200f || (v >= 0x2028 && v <= 0x202e) ||
	    (v >= 0x2066 && v <= 0x2069);
}

void
show_term_escape(struct buf *b, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, j, k;

	buf_reserve(b, n);
	while (i < n) {
		k = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		if (k > 1 && i + k <= n && utf8_valid(p + i, k)) {
			if (term_unsafe(s + i, k))
				for (j = 0; j < k; j++)
					term_byte(b, s[i + j]);
			else
				buf_add(b, p + i, k);
			i += k;
			continue;
		}
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			buf_addc(b, (char)s[i]);
		else
			term_byte(b, s[i]);
		i++;
	}
}

void
show_put_term(const char *p, size_t n)
{
	struct buf b;

	buf_init(&b);
	show_term_escape(&b, p, n);
	if (b.len)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* ---- JSON records ---- */

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static void
put_utf8(struct buf *out, unsigned v)
{
	if (v < 0x100)		/* \u00XX: the byte XX (invalid UTF-8 stored) */
		buf_addc(out, (char)v);
	else if (v < 0x800) {
		buf_addc(out, (char)(0xc0 | v >> 6));
		buf_addc(out, (char)(0x80 | (v & 0x3f)));
	} else if (v < 0x10000) {
		buf_addc(out, (char)(0xe0 | v >> 12));
		buf_addc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
		buf_addc(out, (char)(0x80 | (v & 0x3f)));
	} else {
		buf_addc(out, (char)(0xf0 | v >> 18));
		buf_addc(out, (char)(0x80 | ((v >> 12) & 0x3f)));
		buf_addc(out, (char)(0x80 | ((v >> 6) & 0x3f)));
		buf_addc(out, (char)(0x80 | (v & 0x3f)));
	}
}

static int
hex4(const char *p, const char *end, unsigned *v)
{
	int i, d;

	if (end - p < 4)
		return -1;
	for (*v = 0, i = 0; i < 4; i++) {
		if ((d = hex_digit((unsigned char)p[i])) < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* unicode - *pp after "\u": one code point (a surrogate pair joined) */
static int
unicode(const char **pp, const char *end, struct buf *out)
{
	const char *p = *pp;
	unsigned v, lo;

	if (hex4(p, end, &v) == -1)
		return -1;
	p += 4;
	if (v >= 0xd800 && v < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
	    p[1] == 'u' && hex4(p + 2, end, &lo) == 0 && lo >= 0xdc00 &&
	    lo < 0xe000) {
		v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	if (out)
		put_utf8(out, v);
	*pp = p;
	return 0;
}

/* decode - JSON string text at *pp into out (NULL: skipped).  quoted: it
 * ends at an unescaped quote, *pp then follows it; else at end, and a bare
 * quote is text. */
static int
decode(const char **pp, const char *end, struct buf *out, int quoted)
{
	static const char from[] = "nrtbf\"\\/", to[] = "\n\r\t\b\f\"\\/";
	const char *p = *pp, *q, *e;

	while (p < end && !(quoted && *p == '"')) {
		if (*p != '\\') {
			for (q = p + 1; q < end && *q != '"' && *q != '\\'; q++)
				;
			if (out)
				buf_add(out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (++p >= end)
			return -1;
		if (*p == 'u') {
			p++;
			if (unicode(&p, end, out) == -1)
				return -1;
			continue;
		}
		if ((e = memchr(from, *p, sizeof(from) - 1)) == NULL)
			return -1;
		if (out)
			buf_addc(out, to[e - from]);
		p++;
	}
	if (quoted && p >= end)
		return -1;
	*pp = quoted ? p + 1 : p;
	return 0;
}

/* jstr - the JSON string at *pp (just after its quote) */
static int
jstr(const char **pp, const char *end, struct buf *out)
{
	return decode(pp, end, out, 1);
}

/* skip_value - past the JSON value at *pp; containers by counting depth */
static int
skip_value(const char **pp, const char *end)
{
	const char *p = *pp;
	size_t depth = 0;

	if (p >= end)
		return -1;
	if (*p == '"') {
		p++;
		if (jstr(&p, end, NULL) == -1)
			return -1;
	} else if (*p == '{' || *p == '[') {
		do {
			if (p >= end)
				return -1;
			if (*p == '"') {
				p++;
				if (jstr(&p, end, NULL) == -1)
					return -1;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			p++;
		} while (depth > 0);
	} else {
		while (p < end && strchr(",}] \t\r\n", *p) == NULL)
			p++;
		if (p == *pp)
			return -1;
	}
	*pp = p;
	return 0;
}

int
show_json_get(const char *p, size_t n, const char *name, struct buf *out)
{
	const char *end = p + n, *v;
	size_t nlen = strlen(name);
	struct buf key;
	int rc = -1;

	buf_init(&key);
	buf_reset(out);
	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		goto done;
	p = skip_ws(p, end);
	while (p < end && *p == '"') {
		p++;
		buf_reset(&key);
		if (jstr(&p, end, &key) == -1)
			break;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			break;
		v = p = skip_ws(p, end);
		if (key.len == nlen && memcmp(key.data, name, nlen) == 0) {
			if (p < end && *p == '"') {
				p++;
				rc = jstr(&p, end, out);
			} else if ((rc = skip_value(&p, end)) == 0)
				buf_add(out, v, (size_t)(p - v));
			break;
		}
		if (skip_value(&p, end) == -1)
			break;
		p = skip_ws(p, end);
		if (p >= end || *p++ != ',')
			break;
		p = skip_ws(p, end);
	}
done:
	if (rc == -1)
		buf_reset(out);
	buf_free(&key);
	return rc;
}

int
show_json_unescape(struct buf *out, const char *p, size_t n)
{
	return decode(&p, p + n, out, 0);
}

/* digits - n decimal digits at p, or -1 */
static int
digits(const char *p, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	return v;
}

int
show_iso_us(const char *p, size_t n, int64_t *us)
{
	struct tm tm;
	int64_t frac = 0, scale = 100000;
	size_t i = 19;

	if (n < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' &&
	    p[10] != ' ') || p[13] != ':' || p[16] != ':')
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = digits(p, 4)) < 0 || (tm.tm_mon = digits(p + 5,
	    2)) < 1 || tm.tm_mon > 12 || (tm.tm_mday = digits(p + 8, 2)) < 1 ||
	    tm.tm_mday > 31 || (tm.tm_hour = digits(p + 11, 2)) < 0 ||
	    tm.tm_hour > 23 || (tm.tm_min = digits(p + 14, 2)) < 0 ||
	    tm.tm_min > 59 || (tm.tm_sec = digits(p + 17, 2)) < 0 ||
	    tm.tm_sec > 60)
		return -1;
	if (p[i] == '.') {
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
			frac += (p[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (i != n - 1 || p[i] != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*us = (int64_t)timegm(&tm) * 1000000 + frac;
	return 0;
}
