/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scan.h - hand-written scanners shared by the parser plugins.
 *
 * Everything here works on a half-open byte range [p, e) that is NOT
 * NUL-terminated: prefix tests, memmem anchors (first and last occurrence),
 * decimal numbers, IPv4/IPv6 addresses, Postfix "host[ip]" client names and
 * canonical SASL mechanism names.  No regex, no sscanf, no allocation: these
 * run several times per log line.
 *
 * SECURITY: the ranges hold attacker-controlled text (account names, HELO and
 * DNS names).  No function reads outside [p, e); every one accepts any byte
 * sequence and reports "not found" instead of guessing.
 */
#ifndef FM_SCAN_H
#define FM_SCAN_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fumidai/plugin.h"

#define SC_DIGIT(c)	((unsigned char)((c) - '0') < 10)
#define SC_ALNUM(c)	(SC_DIGIT(c) || (unsigned char)(((c) | 0x20) - 'a') < 26)


/* sc_pfx - whether [p, e) starts with the n bytes of lit */
static inline int
sc_pfx(const char *p, const char *e, const char *lit, size_t n)
{
	return (size_t)(e - p) >= n && fm_memeq(p, lit, n);
}
#define SC_PFX(p, e, lit)	sc_pfx((p), (e), (lit), sizeof(lit) - 1)

/* sc_skip - p past lit when [p, e) starts with it, else NULL */
static inline const char *
sc_skip(const char *p, const char *e, const char *lit, size_t n)
{
	return sc_pfx(p, e, lit, n) ? p + n : NULL;
}
#define SC_SKIP(p, e, lit)	sc_skip((p), (e), (lit), sizeof(lit) - 1)

/* sc_find - first occurrence of lit in [p, e), or NULL (memchr on the
 * first byte: log fields are short, and glibc's memmem setup is not) */
static inline const char *
sc_find(const char *p, const char *e, const char *lit, size_t n)
{
	const char *last;

	if (n == 0 || p >= e || (size_t)(e - p) < n)
		return NULL;
	for (last = e - n; p <= last; p++) {
		if ((p = memchr(p, lit[0], (size_t)(last - p) + 1)) == NULL)
			return NULL;
		if (memcmp(p + 1, lit + 1, n - 1) == 0)
			return p;
	}
	return NULL;
}
#define SC_FIND(p, e, lit)	sc_find((p), (e), (lit), sizeof(lit) - 1)

/* sc_rfind - last occurrence of lit in [p, e), or NULL */
static inline const char *
sc_rfind(const char *p, const char *e, const char *lit, size_t n)
{
	const char *q, *r;

	if (n == 0 || p >= e || (size_t)(e - p) < n)
		return NULL;
	q = e - n;		/* last possible start */
	for (;;) {
		if ((r = memrchr(p, lit[0], (size_t)(q - p) + 1)) == NULL)
			return NULL;
		if (memcmp(r, lit, n) == 0)
			return r;
		if (r == p)
			return NULL;
		q = r - 1;
	}
}
#define SC_RFIND(p, e, lit)	sc_rfind((p), (e), (lit), sizeof(lit) - 1)

/* sc_chr - first c in [p, e), or NULL */
static inline const char *
sc_chr(const char *p, const char *e, int c)
{
	return p < e ? memchr(p, c, (size_t)(e - p)) : NULL;
}

/* sc_str - an fm_str of [p, q) */
static inline struct fm_str
sc_str(const char *p, const char *q)
{
	struct fm_str s = { p, q > p ? (size_t)(q - p) : 0 };

	return s;
}

/* sc_eq - whether s equals the n bytes of lit */
static inline int
sc_eq(struct fm_str s, const char *lit, size_t n)
{
	return s.len == n && fm_memeq(s.p, lit, n);
}
#define SC_EQ(s, lit)	sc_eq((s), (lit), sizeof(lit) - 1)

/* sc_uint - decimal digits at p into *v (saturating at 2^62); the end of the
 * digits, or NULL when there is none */
static inline const char *
sc_uint(const char *p, const char *e, int64_t *v)
{
	int64_t n = 0;
	const char *s = p;

	while (p < e && SC_DIGIT(*p)) {
		if (n < ((int64_t)1 << 58))
			n = n * 10 + (*p - '0');
		p++;
	}
	if (p == s)
		return NULL;
	*v = n;
	return p;
}

/* sc_utoa - decimal text of v into buf (>= 21 bytes); returns its length */
static inline size_t
sc_utoa(char *buf, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* sc_ip6 - the slow path of sc_ip: IPv6 text through inet_pton */
static inline int
sc_ip6(const char *p, const char *e, struct fm_event *ev)
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	uint8_t a[16];
	char tmp[64];
	size_t n;

	if (SC_PFX(p, e, "IPv6:"))
		p += 5;
	if (p >= e || (n = (size_t)(e - p)) >= sizeof(tmp) ||
	    memchr(p, ':', n) == NULL)
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, a) != 1)
		return -1;
	memset(ev->addr, 0, sizeof(ev->addr));
	if (memcmp(a, mapped, 12) == 0) {
		memcpy(ev->addr, a + 12, 4);
		ev->af = 4;
	} else {
		memcpy(ev->addr, a, 16);
		ev->af = 6;
	}
	return 0;
}

/* sc_ip - parse the address [p, e) exactly (IPv4; IPv6, "IPv6:" prefixed,
 * IPv4-mapped) into ev->af / ev->addr; 0, or -1 leaving ev untouched */
static inline int
sc_ip(const char *p, const char *e, struct fm_event *ev)
{
	const char *s = p;
	uint8_t q[4];
	int part, v, nd;

	for (part = 0; part < 4; part++) {
		for (v = 0, nd = 0; p < e && SC_DIGIT(*p) && nd < 4; nd++)
			v = v * 10 + (*p++ - '0');
		if (nd == 0 || nd > 3 || v > 255)
			return sc_ip6(s, e, ev);
		q[part] = (uint8_t)v;
		if (part < 3) {
			if (p >= e || *p != '.')
				return sc_ip6(s, e, ev);
			p++;
		}
	}
	if (p != e)
		return -1;
	memset(ev->addr, 0, sizeof(ev->addr));
	memcpy(ev->addr, q, 4);
	ev->af = 4;
	return 0;
}

/* sc_addr_end - end of an address-looking token at p (hex digits, '.',
 * ':'; IPv6 zone ids are not logged by the servers we read) */
static inline const char *
sc_addr_end(const char *p, const char *e)
{
	while (p < e && (SC_ALNUM(*p) || *p == '.' || *p == ':'))
		p++;
	return p;
}

/* sc_ip4_bracket - the common case of sc_hostaddr's "[address]": IPv4 at p
 * and ']' right after it; the ']' (ev set as sc_ip would), or NULL, leaving
 * ev untouched, when the general path must decide */
static inline const char *
sc_ip4_bracket(const char *p, const char *e, struct fm_event *ev)
{
	uint8_t q[4];
	int part, v, nd;

	for (part = 0; part < 4; part++) {
		for (v = 0, nd = 0; p < e && SC_DIGIT(*p) && nd < 4; nd++)
			v = v * 10 + (*p++ - '0');
		if (nd == 0 || nd > 3 || v > 255 || p >= e ||
		    *p != (part < 3 ? '.' : ']'))
			return NULL;
		q[part] = (uint8_t)v;
		if (part < 3)
			p++;
	}
	memset(ev->addr, 0, sizeof(ev->addr));
	memcpy(ev->addr, q, 4);
	ev->af = 4;
	return p;
}

/*
 * sc_hostaddr - Postfix's "name[address]" with an optional ":port" after it,
 * at p.  The name is a validated DNS name or "unknown" (or empty, as
 * postscreen writes "[address]:port").  Returns the end (after any port) and
 * sets *name and the event's address, or NULL when there is none.
 */
static inline const char *
sc_hostaddr(const char *p, const char *e, struct fm_str *name,
    struct fm_event *ev)
{
	const char *q = p, *rb;

#ifdef __SSE2__
	/* 16 bytes a step to the first of the four bytes that end a name */
	for (; e - q >= 16; q += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('[')),
		    _mm_cmpeq_epi8(x, _mm_set1_epi8(' '))),
		    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(',')),
		    _mm_cmpeq_epi8(x, _mm_set1_epi8(']')))));

		if (m != 0) {
			q += __builtin_ctz(m);
			break;
		}
	}
#endif
	for (; q < e && *q != '['; q++)
		if (*q == ' ' || *q == ',' || *q == ']')
			return NULL;
	if (q >= e)
		return NULL;
	if ((rb = sc_ip4_bracket(q + 1, e, ev)) == NULL) {
		rb = sc_addr_end(q + 1, e);
		if (rb >= e || *rb != ']' || sc_ip(q + 1, rb, ev) == -1)
			return NULL;
	}
	*name = sc_str(p, q);
	q = rb + 1;
	if (q + 1 < e && *q == ':' && SC_DIGIT(q[1])) {
		for (q++; q < e && SC_DIGIT(*q); q++)
			;
	}
	return q;
}

/* sc_mech - the canonical upper-case name of a SASL mechanism written in
 * any case ("login", "sasl:plain"); other names are left as logged */
static inline struct fm_str
sc_mech(struct fm_str m)
{
	static const char *const names[] = {
		"PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1",
		"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
		"XOAUTH2", "OAUTHBEARER", "EXTERNAL", "ANONYMOUS", "GSSAPI",
		"GSS-SPNEGO", "NTLM", "OTP", "APOP", "RPA", "SKEY",
	};
	size_t i, j, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (m.len != n)
			continue;
		for (j = 0; j < n; j++) {
			char c = m.p[j];

			if (c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			if (c != names[i][j])
				break;
		}
		if (j == n) {
			m.p = names[i];
			return m;
		}
	}
	return m;
}

/* sc_qid - length of a Postfix queue id followed by ':' at p (short ids are
 * upper-case hex, long ids base-52 digits), or 0 */
static inline size_t
sc_qid(const char *p, const char *e)
{
	const char *q = p;

	while (q < e && SC_ALNUM(*q) && q - p <= 24)
		q++;
	if (q - p < 5 || q - p > 24 || q >= e || *q != ':')
		return 0;
	return (size_t)(q - p);
}

/* sc_level - skip a log_path level prefix ("Info: ", "Warning: " ...);
 * *lvl becomes its first letter ('I' 'W' 'E' 'F' 'P' 'D'), or 0 */
static inline const char *
sc_level(const char *p, const char *e, int *lvl)
{
	static const struct { const char *s; size_t n; } lv[] = {
		{ "Info: ", 6 }, { "Warning: ", 9 }, { "Error: ", 7 },
		{ "Fatal: ", 7 }, { "Panic: ", 7 }, { "Debug: ", 7 },
	};
	size_t i;

	*lvl = 0;
	if (p >= e)
		return p;
	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++) {
		if (*p == lv[i].s[0] && sc_pfx(p, e, lv[i].s, lv[i].n)) {
			*lvl = lv[i].s[0];
			return p + lv[i].n;
		}
	}
	return p;
}

#endif
