/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mime.c - RFC 2047 encoded words of a logged header (a Subject) decoded
 * to UTF-8 for the message records: "=?charset?B?...?=" and "=?...?Q?...?="
 * in any charset iconv knows (ISO-2022-JP, Shift_JIS, EUC-JP, UTF-8,
 * ISO-8859-*, ...).  Whitespace between two encoded words is dropped, as
 * RFC 2047 says; a word that does not decode is kept as it was written.
 *
 * SECURITY: the header is the sender's text.  Decoding only reads inside
 * it, and a word decodes to at most its own length (iconv's output is
 * bounded per word); the result may hold any bytes: the caller escapes it.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "mime.h"

#define CHARSET_MAX	40
#define WORD_MAX	4096	/* decoded bytes of one word, at most */

static int
b64v(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* text_b - base64 [p, e) into out; 0, or -1 on a bad character */
static int
text_b(struct buf *out, const char *p, const char *e)
{
	unsigned v = 0;
	int bits = 0, d;

	for (; p < e && *p != '='; p++) {
		if ((d = b64v((unsigned char)*p)) < 0)
			return -1;
		v = (v << 6 | (unsigned)d) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_addc(out, (char)(v >> bits & 0xff));
		}
	}
	return 0;
}

/* text_q - "Q" encoding: _ is a space, =XX a byte */
static int
text_q(struct buf *out, const char *p, const char *e)
{
	int h, l;

	for (; p < e; p++) {
		if (*p == '_')
			buf_addc(out, ' ');
		else if (*p != '=')
			buf_addc(out, *p);
		else if (e - p >= 3 && (h = hexv((unsigned char)p[1])) >= 0 &&
		    (l = hexv((unsigned char)p[2])) >= 0) {
			buf_addc(out, (char)(h << 4 | l));
			p += 2;
		} else
			return -1;
	}
	return 0;
}

/* to_utf8 - in (charset cs) appended to out as UTF-8; 0 / -1 */
static int
to_utf8(struct buf *out, const char *cs, const struct buf *in)
{
	char tmp[3 * WORD_MAX], *ip = in->data, *op = tmp;
	size_t il = in->len, ol = sizeof(tmp);
	iconv_t cd;
	int rc = 0;

	if (strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "us-ascii") == 0) {
		buf_add(out, in->data, in->len);
		return 0;
	}
	if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1)
		return -1;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		rc = -1;
	iconv_close(cd);
	if (rc == 0)
		buf_add(out, tmp, (size_t)(op - tmp));
	return rc;
}

/* word - the encoded word at p (it starts "=?") decoded into out; its end
 * in *end; 0, or -1 when it is not one that decodes */
static int
word(struct buf *out, const char *p, const char *e, const char **end)
{
	const char *cs = p + 2, *q, *t, *x;
	char charset[CHARSET_MAX];
	struct buf raw;
	size_t n;
	int enc, rc;

	if ((q = memchr(cs, '?', (size_t)(e - cs))) == NULL ||
	    (n = (size_t)(q - cs)) == 0 || n >= sizeof(charset) ||
	    e - q < 5 || q[2] != '?')
		return -1;
	enc = q[1] | 0x20;
	if (enc != 'b' && enc != 'q')
		return -1;
	for (t = x = q + 3; x + 1 < e && !(x[0] == '?' && x[1] == '='); x++)
		;
	if (x + 1 >= e || (size_t)(x - t) > WORD_MAX)
		return -1;
	memcpy(charset, cs, n);
	charset[n] = '\0';
	charset[strcspn(charset, "*")] = '\0';	/* RFC 2231 language */
	buf_init(&raw);
	rc = enc == 'b' ? text_b(&raw, t, x) : text_q(&raw, t, x);
	if (rc == 0)
		rc = to_utf8(out, charset, &raw);
	buf_free(&raw);
	*end = x + 2;
	return rc;
}

/* undo - drop what a word that did not decode appended */
static void
undo(struct buf *out, size_t mark)
{
	out->len = mark;
	if (out->data != NULL)
		out->data[mark] = '\0';
}

void
mime_decode(struct buf *out, const char *p, size_t n)
{
	const char *e = p + n, *q, *end;
	size_t mark;
	int prev = 0;		/* the last thing written was a decoded word */

	while (p < e) {
		if (*p == ' ' || *p == '\t') {
			for (q = p; q < e && (*q == ' ' || *q == '\t'); q++)
				;
			/* between two encoded words, whitespace goes */
			if (prev && e - q >= 2 && q[0] == '=' && q[1] == '?') {
				mark = out->len;
				if (word(out, q, e, &end) == 0) {
					p = end;
					continue;
				}
				undo(out, mark);
			}
			buf_add(out, p, (size_t)(q - p));
			p = q;
			prev = 0;
			continue;
		}
		if (e - p >= 2 && p[0] == '=' && p[1] == '?') {
			mark = out->len;
			if (word(out, p, e, &end) == 0) {
				p = end;
				prev = 1;
				continue;
			}
			undo(out, mark);
		}
		buf_addc(out, *p++);
		prev = 0;
	}
}
