/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailmsg.c - message building for the mail notifier plugins (see
 * mailmsg.h): a JSON field reader just big enough for alert records, text
 * cleaning, RFC 2047 / RFC 5322 / MIME formatting, zone-aware time, and
 * section templates.
 *
 * SECURITY: the JSON reader never reads outside [json, json + len) and
 * gives up on anything malformed or nested deeper than MM_JSON_DEPTH;
 * mm_clean and mm_header are the only ways alert text reaches a message.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mailmsg.h"

#define MM_JSON_DEPTH	16
#define MM_LINE_MAX	78		/* header lines */

static void clean(struct mm_buf *, const char *, size_t, size_t, int);
static void header(struct mm_buf *, const char *, const char *, int);

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- buffer ----------------------------------------------------------- */

static void
mm_grow(struct mm_buf *b, size_t extra)
{
	size_t cap;

	if (b->len + extra + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 128;
	while (cap < b->len + extra + 1)
		cap *= 2;
	if ((b->p = realloc(b->p, cap)) == NULL)
		abort();
	b->cap = cap;
}

void
mm_free(struct mm_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
mm_reset(struct mm_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
mm_add(struct mm_buf *b, const void *p, size_t n)
{
	mm_grow(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
mm_adds(struct mm_buf *b, const char *s)
{
	mm_add(b, s, strlen(s));
}

void
mm_addc(struct mm_buf *b, char c)
{
	mm_add(b, &c, 1);
}

void
mm_printf(struct mm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	mm_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *
mm_str(const struct mm_buf *b)
{
	return b->p != NULL ? b->p : "";
}

char *
mm_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

uint64_t
mm_hash(const void *p, size_t n)
{
	const unsigned char *u = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *u++) * 0x100000001b3ULL;
	return h;
}

/* ---- JSON ------------------------------------------------------------- */

static const char *
js_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* js_utf8 - append code point cp as UTF-8 */
static void
js_utf8(struct mm_buf *out, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		mm_addc(out, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		mm_add(out, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mm_add(out, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mm_add(out, u, 4);
	}
}

/* js_hex4 - the 4 hex digits at p, or -1 */
static long
js_hex4(const char *p, const char *e)
{
	long v = 0;
	int i, d;

	if (e - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		d = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' :
		    (p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f' ?
		    (p[i] | 0x20) - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* js_escape - one escape after the backslash at p; the end, or NULL */
static const char *
js_escape(const char *p, const char *e, struct mm_buf *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *q;
	long cp, lo;

	if (p >= e)
		return NULL;
	if ((q = strchr(from, *p)) != NULL && *p != '\0') {
		if (out != NULL)
			mm_addc(out, to[q - from]);
		return p + 1;
	}
	if (*p != 'u' || (cp = js_hex4(p + 1, e)) < 0)
		return NULL;
	p += 5;
	if (cp >= 0xd800 && cp < 0xdc00 && e - p >= 6 && p[0] == '\\' &&
	    p[1] == 'u' && (lo = js_hex4(p + 2, e)) >= 0xdc00 &&
	    lo < 0xe000) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	} else if (cp >= 0xd800 && cp < 0xe000)
		cp = 0xfffd;
	if (out != NULL)
		js_utf8(out, (unsigned long)cp);
	return p;
}

/* js_str - the string at p (at its quote) decoded into out (NULL: skip);
 * the byte after the closing quote, or NULL */
static const char *
js_str(const char *p, const char *e, struct mm_buf *out)
{
	const char *s;

	if (p >= e || *p != '"')
		return NULL;
	for (p++; p < e; ) {
		for (s = p; p < e && *p != '"' && *p != '\\'; p++)
			;
		if (out != NULL)
			mm_add(out, s, (size_t)(p - s));
		if (p >= e)
			return NULL;
		if (*p == '"')
			return p + 1;
		if ((p = js_escape(p + 1, e, out)) == NULL)
			return NULL;
	}
	return NULL;
}

/* js_skip - past the value at p, or NULL */
static const char *
js_skip(const char *p, const char *e, int depth)
{
	char close;

	p = js_ws(p, e);
	if (p >= e || depth > MM_JSON_DEPTH)
		return NULL;
	if (*p == '"')
		return js_str(p, e, NULL);
	if (*p != '{' && *p != '[') {
		while (p < e && (*p == '-' || *p == '+' || *p == '.' ||
		    (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')))
			p++;
		return p;
	}
	close = *p == '{' ? '}' : ']';
	p = js_ws(p + 1, e);
	if (p < e && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if ((p = js_str(js_ws(p, e), e, NULL)) == NULL ||
			    (p = js_ws(p, e)) >= e || *p != ':')
				return NULL;
			p++;
		}
		if ((p = js_skip(p, e, depth + 1)) == NULL ||
		    (p = js_ws(p, e)) >= e)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

/* js_member - in the object at p, the value of key (klen bytes), or NULL */
static const char *
js_member(const char *p, const char *e, const char *key, size_t klen)
{
	struct mm_buf k = { 0 };
	const char *v;

	p = js_ws(p, e);
	if (p >= e || *p != '{')
		return NULL;
	p = js_ws(p + 1, e);
	while (p < e && *p == '"') {
		mm_reset(&k);
		if ((p = js_str(p, e, &k)) == NULL ||
		    (p = js_ws(p, e)) >= e || *p != ':')
			break;
		v = js_ws(p + 1, e);
		if (k.len == klen && memcmp(mm_str(&k), key, klen) == 0) {
			mm_free(&k);
			return v;
		}
		if ((p = js_skip(v, e, 1)) == NULL ||
		    (p = js_ws(p, e)) >= e || *p != ',')
			break;
		p = js_ws(p + 1, e);
	}
	mm_free(&k);
	return NULL;
}

int
mm_json_get(const char *json, size_t len, const char *path,
    struct mm_buf *out)
{
	const char *e = json + len, *p = json, *dot, *end;
	size_t n;

	for (;;) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if ((p = js_member(p, e, path, n)) == NULL)
			return 0;
		if (dot == NULL)
			break;
		path = dot + 1;
	}
	if (p >= e)
		return 0;
	if (*p == '"')
		return js_str(p, e, out) != NULL;
	if ((end = js_skip(p, e, 1)) == NULL || end == p ||
	    (end - p == 4 && memcmp(p, "null", 4) == 0))
		return 0;
	mm_add(out, p, (size_t)(end - p));
	return 1;
}

/* ---- text ------------------------------------------------------------- */

/* utf8_seq - length of the valid UTF-8 sequence at p (its code point in
 * *cp), 0 when invalid */
static size_t
utf8_seq(const unsigned char *p, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, v = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, v = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, v = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v < 0xe000))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return len;
}

/* shown - whether code point cp may appear as itself */
static int
shown(unsigned long cp)
{
	return !(cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
	    cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
	    cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb));
}

void
mm_clean(struct mm_buf *out, const char *p, size_t n, size_t max)
{
	clean(out, p, n, max, 1);
}

void
mm_clean_json(struct mm_buf *out, const char *p, size_t n, size_t max)
{
	clean(out, p, n, max, 0);
}

/* clean - mm_clean; bs: escape backslashes too */
static void
clean(struct mm_buf *out, const char *p, size_t n, size_t max, int bs)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned long cp;
	size_t i, k;

	for (i = 0; i < n; i += k) {
		if (i >= max) {
			mm_adds(out, "...");
			return;
		}
		if ((k = utf8_seq(u + i, n - i, &cp)) == 0) {
			mm_printf(out, "\\x%02X", u[i]);
			k = 1;
		} else if (cp == '\\' && bs)
			mm_adds(out, "\\\\");
		else if (!shown(cp))
			mm_printf(out, cp < 0x80 ? "\\x%02lX" : "\\u{%04lX}", cp);
		else
			mm_add(out, p + i, k);
	}
}

int
mm_domain_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-') ||
		    (label == 0 && s[i] == '-') || ++label > 63)
			return 0;
	}
	return s[n - 1] != '-';
}

int
mm_addr_ok(const char *s, size_t n)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-";
	const char *at;
	size_t i, lp;

	if (n == 0 || n > 254 || (at = memchr(s, '@', n)) == NULL)
		return 0;
	lp = (size_t)(at - s);
	if (lp == 0 || lp > 64 || s[0] == '.' || s[lp - 1] == '.' ||
	    s[0] == '-')
		return 0;
	for (i = 0; i < lp; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' :
		    s[i] == '\0' || strchr(atext, s[i]) == NULL)
			return 0;
	}
	return mm_domain_ok(at + 1, n - lp - 1);
}

/* ---- headers and the message ------------------------------------------ */

/* plain - printable ASCII without "=?" */
static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ||
		    (s[0] == '=' && s[1] == '?'))
			return 0;
	return 1;
}

/* b64_raw - base64 of n bytes, no line breaks */
static void
b64_raw(struct mm_buf *out, const unsigned char *p, size_t n)
{
	size_t i;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | p[i + 1] << 8 | p[i + 2];
		mm_addc(out, b64[v >> 18]);
		mm_addc(out, b64[(v >> 12) & 63]);
		mm_addc(out, b64[(v >> 6) & 63]);
		mm_addc(out, b64[v & 63]);
	}
	if (i < n) {
		v = (unsigned long)p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0);
		mm_addc(out, b64[v >> 18]);
		mm_addc(out, b64[(v >> 12) & 63]);
		mm_addc(out, i + 1 < n ? b64[(v >> 6) & 63] : '=');
		mm_addc(out, '=');
	}
}

void
mm_base64(struct mm_buf *out, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n; i += 57) {	/* 57 bytes: 76 characters */
		b64_raw(out, u + i, n - i < 57 ? n - i : 57);
		mm_adds(out, "\r\n");
	}
}

/* word_bytes - how many bytes of s (at most max) end on a character */
static size_t
word_bytes(const char *s, size_t n, size_t max)
{
	unsigned long cp;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (k == 0)
			k = 1;
		if (i + k > max)
			break;
		i += k;
	}
	return i > 0 ? i : (n < max ? n : max);
}

/* fold - plain ASCII text folded at spaces into lines of at most
 * MM_LINE_MAX (the first has col bytes used); 0 when a word is too long */
static int
fold(struct mm_buf *out, const char *s, size_t col)
{
	const char *sp;
	size_t n, end, start = out->len;
	int text;

	while (strlen(s) + col > MM_LINE_MAX) {
		/* no line may hold only white space: text before and after */
		for (end = strlen(s); end > 0 && s[end - 1] == ' '; end--)
			;
		text = s[0] != ' ';
		for (sp = NULL, n = 1; n < MM_LINE_MAX - col && n < end; n++) {
			if (s[n] == ' ' && text)
				sp = s + n;
			text |= s[n] != ' ';
		}
		if (sp == NULL) {
			out->len = start;	/* undo */
			out->p[out->len] = '\0';
			return 0;
		}
		mm_add(out, s, (size_t)(sp - s));
		mm_adds(out, "\r\n");
		s = sp;		/* the space starts the continuation */
		col = 0;
	}
	mm_adds(out, s);
	return 1;
}

void
mm_header(struct mm_buf *out, const char *name, const char *value)
{
	header(out, name, value, 0);
}

void
mm_header_encoded(struct mm_buf *out, const char *name, const char *value)
{
	header(out, name, value, 1);
}

/* header - mm_header; force: encoded words whatever the value */
static void
header(struct mm_buf *out, const char *name, const char *value, int force)
{
	size_t n = strlen(value), used = strlen(name) + 2, max, k;

	mm_adds(out, name);
	mm_adds(out, ": ");
	if (!force && plain(value) && fold(out, value, used)) {
		mm_adds(out, "\r\n");
		return;
	}
	do {
		/* "=?UTF-8?B?" + base64 + "?=": 12 characters around it */
		max = used + 12 + 4 < MM_LINE_MAX ?
		    (MM_LINE_MAX - used - 12) / 4 * 3 : 3;
		k = word_bytes(value, n, max);
		mm_adds(out, "=?UTF-8?B?");
		b64_raw(out, (const unsigned char *)value, k);
		mm_adds(out, "?=");
		value += k;
		n -= k;
		if (n > 0)
			mm_adds(out, "\r\n ");
		used = 1;
	} while (n > 0 && k > 0);
	mm_adds(out, "\r\n");
}

void
mm_header_addrs(struct mm_buf *out, const char *name,
    const char *const *addrs, size_t n)
{
	size_t i, col = strlen(name) + 1, k;

	mm_adds(out, name);
	mm_addc(out, ':');
	for (i = 0; i < n; i++) {
		k = strlen(addrs[i]) + 1 + (i + 1 < n);
		if (i > 0 && col + k > MM_LINE_MAX) {
			mm_adds(out, "\r\n");
			col = 0;
		}
		mm_addc(out, ' ');
		mm_adds(out, addrs[i]);
		if (i + 1 < n)
			mm_addc(out, ',');
		col += k;
	}
	mm_adds(out, "\r\n");
}

void
mm_date(struct mm_buf *out, int64_t t)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	mm_printf(out, "%s, %d %s %04d %02d:%02d:%02d +0000", day[tm.tm_wday],
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

void
mm_msgid(struct mm_buf *out, const char *tag, const char *a, const char *b,
    const char *domain)
{
	const char *parts[3] = { tag, a, b }, *s;
	size_t i;

	mm_addc(out, '<');
	for (i = 0; i < 3; i++) {
		if (i > 0)
			mm_addc(out, '.');
		for (s = parts[i] != NULL ? parts[i] : ""; *s != '\0'; s++)
			if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '-')
				mm_addc(out, *s);
	}
	mm_addc(out, '@');
	mm_adds(out, domain != NULL && mm_domain_ok(domain, strlen(domain)) ?
	    domain : "localhost");
	mm_addc(out, '>');
}

void
mm_message(struct mm_buf *out, const struct mm_msg *m)
{
	struct mm_buf body = { 0 };
	size_t i;

	/* addresses and the Message-ID are checked ASCII: never encoded */
	mm_header_addrs(out, "From", &m->from, 1);
	mm_header_addrs(out, "To", m->to, m->nto);
	if (m->subject_untrusted)
		mm_header_encoded(out, "Subject", m->subject);
	else
		mm_header(out, "Subject", m->subject);
	mm_adds(out, "Date: ");
	mm_date(out, m->date);
	mm_adds(out, "\r\nMessage-ID: ");
	mm_adds(out, m->msgid);
	mm_adds(out, "\r\n");
	mm_adds(out, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Auto-Submitted: auto-generated\r\n");
	if (m->extra != NULL)
		mm_adds(out, m->extra);
	mm_adds(out, "\r\n");
	for (i = 0; i < m->bodylen; i++) {	/* canonical CRLF text */
		if (m->body[i] == '\n' && (i == 0 || m->body[i - 1] != '\r'))
			mm_addc(&body, '\r');
		mm_addc(&body, m->body[i]);
	}
	mm_base64(out, mm_str(&body), body.len);
	mm_free(&body);
}

/* ---- time ------------------------------------------------------------- */

int
mm_zone_ok(const char *zone)
{
	char path[512];
	const char *dir = getenv("TZDIR");
	struct stat st;
	size_t n;

	if (zone == NULL || *zone == '\0')
		return 1;
	n = strlen(zone);
	if (n > 100 || zone[0] == '/' || zone[0] == '.' ||
	    strstr(zone, "..") != NULL || strspn(zone,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789/_+-") != n)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir != NULL && *dir == '/' ?
	    dir : "/usr/share/zoneinfo", zone);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void
mm_strftime(struct mm_buf *out, int64_t t, const char *zone,
    const char *fmt)
{
	char tmp[256], *old = NULL;
	const char *cur;
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n;

	if (zone != NULL && *zone != '\0') {
		if ((cur = getenv("TZ")) != NULL)
			old = mm_strdup(cur);
		setenv("TZ", zone, 1);
		tzset();
	}
	localtime_r(&tt, &tm);
	/* fmt comes from the configuration or a template, not from logs */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(tmp, sizeof(tmp), fmt, &tm);
#pragma GCC diagnostic pop
	if (zone != NULL && *zone != '\0') {
		if (old != NULL)
			setenv("TZ", old, 1);
		else
			unsetenv("TZ");
		tzset();
		free(old);
	}
	mm_add(out, tmp, n);
}

int64_t
mm_iso_time(const char *s)
{
	struct tm tm;
	const char *p;
	int off = 0;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':')
		off = (*p == '-' ? -1 : 1) * ((p[1] - '0') * 36000 +
		    (p[2] - '0') * 3600 + (p[4] - '0') * 600 + (p[5] - '0') * 60);
	else if (strcmp(p, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm) - off;
}

/* ---- templates -------------------------------------------------------- */

/* tpl_add - a new section */
static void
tpl_add(struct mm_tpl *t, const char *name, size_t n)
{
	if ((t->names = realloc(t->names, (t->n + 1) * sizeof(char *))) ==
	    NULL || (t->texts = realloc(t->texts, (t->n + 1) *
	    sizeof(char *))) == NULL)
		abort();
	if ((t->names[t->n] = strndup(name, n)) == NULL)
		abort();
	t->texts[t->n++] = mm_strdup("");
}

/* tpl_end - trim the trailing blank lines of the last section */
static void
tpl_end(struct mm_tpl *t, struct mm_buf *text)
{
	while (text->len > 0 && text->p[text->len - 1] == '\n')
		text->p[--text->len] = '\0';
	if (t->n > 0) {
		free(t->texts[t->n - 1]);
		t->texts[t->n - 1] = mm_strdup(mm_str(text));
	}
	mm_reset(text);
}

int
mm_tpl_load(struct mm_tpl *t, const char *path, char *err, size_t errlen)
{
	struct mm_buf text = { 0 };
	char *line = NULL, *close;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *fp;

	memset(t, 0, sizeof(*t));
	t->path = mm_strdup(path);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (line[0] == '#')
			continue;
		if (line[0] == '[' && (close = strchr(line, ']')) != NULL &&
		    close[1] == '\0' && close > line + 1) {
			tpl_end(t, &text);
			tpl_add(t, line + 1, (size_t)(close - line - 1));
			continue;
		}
		if (t->n == 0 && n > 0) {
			snprintf(err, errlen, "%s line %zu: text before the "
			    "first [section]", path, lineno);
			free(line);
			fclose(fp);
			mm_free(&text);
			return -1;
		}
		mm_add(&text, line, (size_t)n);
		mm_addc(&text, '\n');
	}
	tpl_end(t, &text);
	free(line);
	fclose(fp);
	mm_free(&text);
	return 0;
}

void
mm_tpl_free(struct mm_tpl *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->names[i]);
		free(t->texts[i]);
	}
	free(t->names);
	free(t->texts);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

const char *
mm_tpl_get(const struct mm_tpl *t, const char *name)
{
	size_t i;

	for (i = t->n; i-- > 0; )	/* a later section wins */
		if (strcmp(t->names[i], name) == 0)
			return t->texts[i];
	return NULL;
}

/* expand_line - one line of n bytes; *empty set when a var was "" */
static int
expand_line(struct mm_buf *out, const char *p, size_t n, mm_var_fn *fn,
    void *ctx, int *empty, char *err, size_t errlen)
{
	const char *e = p + n, *close, *v;
	char name[64];

	while (p < e) {
		if (e - p >= 2 && p[0] == '$' && p[1] == '{' &&
		    (close = memchr(p, '}', (size_t)(e - p))) != NULL &&
		    (size_t)(close - p - 2) < sizeof(name)) {
			memcpy(name, p + 2, (size_t)(close - p - 2));
			name[close - p - 2] = '\0';
			if ((v = fn(ctx, name)) == NULL) {
				snprintf(err, errlen, "unknown ${%s}", name);
				return -1;
			}
			if (*v == '\0')
				*empty = 1;
			mm_adds(out, v);
			p = close + 1;
			continue;
		}
		mm_addc(out, *p++);
	}
	return 0;
}

int
mm_expand(struct mm_buf *out, const char *text, mm_var_fn *fn, void *ctx,
    char *err, size_t errlen)
{
	struct mm_buf line = { 0 };
	const char *eol;
	size_t n;
	int cond, empty, rc = 0;

	for (; *text != '\0' && rc == 0; text = *eol ? eol + 1 : eol) {
		eol = text + strcspn(text, "\n");
		n = (size_t)(eol - text);
		cond = n > 0 && text[0] == '?';
		empty = 0;
		mm_reset(&line);
		rc = expand_line(&line, text + cond, n - cond, fn, ctx, &empty,
		    err, errlen);
		if (rc == 0 && !(cond && empty)) {
			mm_add(out, mm_str(&line), line.len);
			if (*eol != '\0')
				mm_addc(out, '\n');
		}
	}
	mm_free(&line);
	return rc;
}
