/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logline.c - split a log line's header into time, host, program and pid.
 *
 * Hand-written scanners, no regex and no sscanf: this runs once per line on
 * the hot path.  Local times are converted through a small cache of hour
 * starts, so mktime() runs about once per hour of log, and a line that
 * starts with the same "TIME host " as the one before reuses its result.
 *
 * SECURITY: lines are untrusted; every scanner checks the end pointer before
 * each byte it reads and accepts any byte sequence.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logline.h"
#include "util.h"

static const char *scan_rfc3164(struct logline_ctx *, const char *, const char *,
    int64_t *);
static const char *scan_iso(const char *, const char *, int64_t *);
static const char *scan_tai64n(const char *, const char *, int64_t *);
static int scan_tag(const char *, const char *, struct fm_line *);

static int tz_generation = 1;	/* bumped when the zone changes */

/*
 * The "TIME host " of the last RFC 3164 syslog line.  Consecutive lines
 * mostly share it, and what logline_parse makes of it depends only on those
 * bytes (every byte the scanners look at before the tag lies in them, up to
 * the space that ends the host), the time zone and the context's year
 * state, which are all checked.  A line that starts with the same bytes
 * gets the same time and host without being scanned again.
 */
static struct {
	const struct logline_ctx *ctx;
	int gen;		/* tz_generation */
	int year, mon;		/* ctx->year / ctx->mon after that line */
	size_t len;		/* bytes of text; 0: nothing cached */
	char text[64];
	int64_t time;
	size_t hostoff, hostlen;
} hc;

#define ISDIGIT(c) ((unsigned char)((c) - '0') < 10)

int
logline_timezone(const char *tz)
{
	if (tz != NULL && *tz != '\0') {
		if (setenv("TZ", tz, 1) == -1)
			return -1;
	} else
		unsetenv("TZ");
	tzset();
	tz_generation++;
	return 0;
}

void
logline_ctx_init(struct logline_ctx *c, int64_t ref_us)
{
	memset(c, 0, sizeof(*c));
	c->ref = ref_us;
	hc.len = 0;
}

/* hc_hit - the cached header when [p, end) starts with its bytes */
static int
hc_hit(struct logline_ctx *c, const char *p, const char *end,
    struct fm_line *out)
{
	if (hc.len == 0 || hc.ctx != c || hc.gen != tz_generation ||
	    hc.year != c->year || hc.mon != c->mon ||
	    (size_t)(end - p) <= hc.len + 1 || !fm_memeq(p, hc.text, hc.len))
		return 0;
	out->time = hc.time;
	out->host.p = p + hc.hostoff;
	out->host.len = hc.hostlen;
	out->hdr = FM_HDR_SYSLOG;
	return 1;
}

/* hc_store - remember the header [p, q) of a line just parsed */
static void
hc_store(struct logline_ctx *c, const char *p, const char *q,
    const struct fm_line *out)
{
	hc.len = 0;
	if ((size_t)(q - p) > sizeof(hc.text))
		return;
	hc.ctx = c;
	hc.gen = tz_generation;
	hc.year = c->year;
	hc.mon = c->mon;
	memcpy(hc.text, p, (size_t)(q - p));
	hc.time = out->time;
	hc.hostoff = (size_t)(out->host.p - p);
	hc.hostlen = out->host.len;
	hc.len = (size_t)(q - p);
}

int64_t
logline_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
logline_localtime(int year, int mon, int mday, int hour, int min, int sec,
    long usec)
{
	static struct {
		int key_ymdh[4];
		int64_t base;		/* epoch seconds of hour start */
		int valid;		/* tz_generation it was made in */
	} cache[16];
	unsigned slot = (unsigned)(mday * 24 + hour) & 15;
	struct tm tm;

	if (cache[slot].valid != tz_generation || cache[slot].key_ymdh[0] != year ||
	    cache[slot].key_ymdh[1] != mon || cache[slot].key_ymdh[2] != mday ||
	    cache[slot].key_ymdh[3] != hour) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = year - 1900;
		tm.tm_mon = mon;
		tm.tm_mday = mday;
		tm.tm_hour = hour;
		tm.tm_isdst = -1;
		cache[slot].base = (int64_t)mktime(&tm);
		cache[slot].key_ymdh[0] = year;
		cache[slot].key_ymdh[1] = mon;
		cache[slot].key_ymdh[2] = mday;
		cache[slot].key_ymdh[3] = hour;
		cache[slot].valid = tz_generation;
	}
	return (cache[slot].base + min * 60 + sec) * 1000000 + usec;
}

static int
two(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static int
month_of(const char *p)
{
	/* Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec */
	switch (p[0]) {
	case 'J':
		if (p[1] == 'a' && p[2] == 'n') return 0;
		if (p[1] == 'u' && p[2] == 'n') return 5;
		if (p[1] == 'u' && p[2] == 'l') return 6;
		return -1;
	case 'F': return p[1] == 'e' && p[2] == 'b' ? 1 : -1;
	case 'M':
		if (p[1] == 'a' && p[2] == 'r') return 2;
		if (p[1] == 'a' && p[2] == 'y') return 4;
		return -1;
	case 'A':
		if (p[1] == 'p' && p[2] == 'r') return 3;
		if (p[1] == 'u' && p[2] == 'g') return 7;
		return -1;
	case 'S': return p[1] == 'e' && p[2] == 'p' ? 8 : -1;
	case 'O': return p[1] == 'c' && p[2] == 't' ? 9 : -1;
	case 'N': return p[1] == 'o' && p[2] == 'v' ? 10 : -1;
	case 'D': return p[1] == 'e' && p[2] == 'c' ? 11 : -1;
	}
	return -1;
}

/* scan_frac - optional ".ddd" fraction; returns microseconds */
static const char *
scan_frac(const char *p, const char *end, long *usec)
{
	long v = 0;
	int digits = 0;

	*usec = 0;
	if (p < end && (*p == '.' || *p == ',')) {
		p++;
		while (p < end && ISDIGIT(*p)) {
			if (digits < 6) {
				v = v * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 6)
			v *= 10;
		*usec = v;
	}
	return p;
}

/* year_for - infer the year of an RFC 3164 month/day */
static int
year_for(struct logline_ctx *c, int mon, int mday)
{
	time_t t;
	struct tm tm;

	if (c->year == 0) {
		t = (time_t)((c->ref ? c->ref : now_us()) / 1000000);
		localtime_r(&t, &tm);
		c->year = c->fixed_year ? c->fixed_year : tm.tm_year + 1900;
		/* A date after the reference (with a day's slack) is last year's. */
		if (!c->fixed_year && (mon > tm.tm_mon ||
		    (mon == tm.tm_mon && mday > tm.tm_mday + 1)))
			c->year--;
	} else if (mon < c->mon - 6)
		c->year++;		/* Dec -> Jan: a new year began */
	else if (mon > c->mon + 6)
		c->year--;		/* Jan -> Dec: an older line */
	c->mon = mon;
	return c->year;
}

/* scan_rfc3164 - "Nov 24 11:30:25[.frac] " (day may be " 4", "04" or "4") */
static const char *
scan_rfc3164(struct logline_ctx *c, const char *p, const char *end, int64_t *t)
{
	int mon, mday, hh, mm, ss;
	long usec;

	if (end - p < 15 || (mon = month_of(p)) < 0 || p[3] != ' ')
		return NULL;
	p += 4;
	if (*p == ' ')
		p++;
	if (p >= end || !ISDIGIT(*p))
		return NULL;
	mday = *p++ - '0';
	if (p < end && ISDIGIT(*p))
		mday = mday * 10 + (*p++ - '0');
	if (end - p < 10 || *p != ' ' || !ISDIGIT(p[1]) || !ISDIGIT(p[2]) ||
	    p[3] != ':' || !ISDIGIT(p[4]) || !ISDIGIT(p[5]) || p[6] != ':' ||
	    !ISDIGIT(p[7]) || !ISDIGIT(p[8]))
		return NULL;
	hh = two(p + 1);
	mm = two(p + 4);
	ss = two(p + 7);
	if (mday < 1 || mday > 31 || hh > 23 || mm > 59 || ss > 60)
		return NULL;
	p = scan_frac(p + 9, end, &usec);
	if (p < end && *p == ' ' && end - p > 5 && ISDIGIT(p[1]) &&
	    ISDIGIT(p[2]) && ISDIGIT(p[3]) && ISDIGIT(p[4]) && p[5] == ' ') {
		/* "Nov 24 11:30:25 2026 host ..." (some syslogds add the year) */
		c->year = (p[1] - '0') * 1000 + two(p + 2) * 10 + (p[4] - '0');
		c->mon = mon;
		p += 5;
		*t = logline_localtime(c->year, mon, mday, hh, mm, ss, usec);
		return p;
	}
	*t = logline_localtime(year_for(c, mon, mday), mon, mday, hh, mm, ss, usec);
	return p;
}

/* scan_iso - "2026-11-24T11:30:25[.frac][Z|+09:00|+0900]" or with ' ' */
static const char *
scan_iso(const char *p, const char *end, int64_t *t)
{
	int y, mon, mday, hh, mm, ss, sign, off;
	long usec;

	if (end - p < 19 || !ISDIGIT(p[0]) || !ISDIGIT(p[1]) || !ISDIGIT(p[2]) ||
	    !ISDIGIT(p[3]) || p[4] != '-' || !ISDIGIT(p[5]) || !ISDIGIT(p[6]) ||
	    p[7] != '-' || !ISDIGIT(p[8]) || !ISDIGIT(p[9]) ||
	    (p[10] != 'T' && p[10] != ' ') || !ISDIGIT(p[11]) ||
	    !ISDIGIT(p[12]) || p[13] != ':' || !ISDIGIT(p[14]) ||
	    !ISDIGIT(p[15]) || p[16] != ':' || !ISDIGIT(p[17]) || !ISDIGIT(p[18]))
		return NULL;
	y = two(p) * 100 + two(p + 2);
	mon = two(p + 5);
	mday = two(p + 8);
	hh = two(p + 11);
	mm = two(p + 14);
	ss = two(p + 17);
	if (mon < 1 || mon > 12 || mday < 1 || mday > 31 || hh > 23 ||
	    mm > 59 || ss > 60)
		return NULL;
	p = scan_frac(p + 19, end, &usec);
	if (p < end && *p == 'Z') {
		*t = ((logline_days_from_civil(y, mon, mday) * 86400) + hh * 3600 +
		    mm * 60 + ss) * 1000000 + usec;
		return p + 1;
	}
	if (end - p >= 5 && (*p == '+' || *p == '-') && ISDIGIT(p[1]) &&
	    ISDIGIT(p[2])) {
		sign = *p == '-' ? -1 : 1;
		off = two(p + 1) * 60;
		p += 3;
		if (p < end && *p == ':')
			p++;
		if (end - p < 2 || !ISDIGIT(p[0]) || !ISDIGIT(p[1]))
			return NULL;
		off += two(p);
		p += 2;
		*t = ((logline_days_from_civil(y, mon, mday) * 86400) + hh * 3600 +
		    mm * 60 + ss - sign * off * 60) * 1000000 + usec;
		return p;
	}
	*t = logline_localtime(y, mon - 1, mday, hh, mm, ss, usec);
	return p;
}

/* scan_tai64n - "@4000000060a1b2c3" + 8 hex digits of nanoseconds */
static const char *
scan_tai64n(const char *p, const char *end, int64_t *t)
{
	uint64_t secs = 0, nsec = 0;
	int i, v;

	if (end - p < 25 || *p != '@')
		return NULL;
	for (i = 1; i <= 24; i++) {
		char ch = p[i];

		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else
			return NULL;
		if (i <= 16)
			secs = secs << 4 | (uint64_t)v;
		else
			nsec = nsec << 4 | (uint64_t)v;
	}
	if (secs < (1ULL << 62))
		return NULL;
	/* TAI64 label: 2^62 + TAI seconds; daemontools' 10 s offset ignored
	 * like every log reader does. */
	*t = (int64_t)(secs - (1ULL << 62)) * 1000000 + (int64_t)(nsec / 1000);
	return p + 25;
}

/* colon_or_space - the first ':' or ' ' in [p, end), or end; 8 bytes a
 * step where the byte order lets the lowest flagged byte be the first */
static const char *
colon_or_space(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	uint64_t w, c, s, m;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		c = w ^ (ones * ':');
		s = w ^ (ones * ' ');
		/* exact up to the first zero byte, which is all ctz looks at */
		m = (((c - ones) & ~c) | ((s - ones) & ~s)) & high;
		if (m != 0)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
#endif
	while (p < end && *p != ':' && *p != ' ')
		p++;
	return p;
}

/* scan_tag - "prog[pid]: " or "prog(pid): " or "prog: " at p */
static int
scan_tag(const char *p, const char *end, struct fm_line *out)
{
	const char *s = p, *colon, *q;
	long pid = -1;

	/* The tag ends at the first ": " (or ':' at the end of the line). */
	for (colon = s; ; colon++) {
		colon = colon_or_space(colon, end);
		if (colon >= end || *colon == ' ')
			return -1;
		if (colon + 1 == end || colon[1] == ' ')
			break;
	}
	if (colon == s)
		return -1;
	q = colon;
	if (q - s >= 2 && (q[-1] == ']' || q[-1] == ')')) {
		char open = q[-1] == ']' ? '[' : '(';
		const char *b = q - 2, *d;

		while (b > s && *b != open)
			b--;
		if (b > s && *b == open) {
			long v = 0;

			for (d = b + 1; d < q - 1 && ISDIGIT(*d); d++)
				if (v < 100000000)
					v = v * 10 + (*d - '0');
			/* Only "[digits]" / "(digits)" is a pid; "imap(bob)" and
			 * "auth(bob,ip,...)" keep what Dovecot put there. */
			if (d == q - 1 && d > b + 1) {
				pid = v;
				q = b;
			} else if (open == '[')
				q = b;
		}
	}
	out->program.p = s;
	out->program.len = (size_t)(q - s);
	out->pid = pid;
	out->msg = colon + 1 < end ? colon + 2 : end;
	if (out->msg > end)
		out->msg = end;
	out->msglen = (size_t)(end - out->msg);
	return 0;
}

int
logline_parse(struct logline_ctx *c, const char *p, size_t n, struct fm_line *out)
{
	const char *end = p + n, *q, *sp, *start;
	int64_t t = 0;

	memset(out, 0, sizeof(*out));
	out->pid = -1;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (p < end && *p == '<') {		/* "<30>" priority prefix */
		for (q = p + 1; q < end && q < p + 5 && ISDIGIT(*q); q++)
			;
		if (q < end && *q == '>')
			p = q + 1;
	}
	if (p >= end)
		return -1;
	start = p;
	if (*start >= 'A' && *start <= 'Z' && hc_hit(c, p, end, out))
		return scan_tag(p + hc.len, end, out);
	if (ISDIGIT(*p))
		q = scan_iso(p, end, &t);
	else if (*p == '@')
		q = scan_tai64n(p, end, &t);
	else
		q = scan_rfc3164(c, p, end, &t);
	if (q == NULL) {
		/* Journal form: "host prog[pid]: msg" with no time at all. */
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL || sp == p)
			return -1;
		if (scan_tag(sp + 1, end, out) == 0) {
			out->hdr = FM_HDR_JOURNAL;
			out->host.p = p;
			out->host.len = (size_t)(sp - p);
			return 0;
		}
		return -1;
	}
	out->time = t;
	while (q < end && *q == ' ')
		q++;
	if (q >= end)
		return -1;
	/* "prog: ..." right after the time: no host (Dovecot log_path). */
	if (scan_tag(q, end, out) == 0) {
		out->hdr = FM_HDR_NOHOST;
		return 0;
	}
	if ((sp = memchr(q, ' ', (size_t)(end - q))) == NULL)
		return -1;
	out->host.p = q;
	out->host.len = (size_t)(sp - q);
	out->hdr = FM_HDR_SYSLOG;
	q = sp + 1;
	if (*start >= 'A' && *start <= 'Z')	/* RFC 3164 */
		hc_store(c, start, q, out);
	else
		hc.len = 0;
	if (scan_tag(q, end, out) == -1)
		return -1;
	return 0;
}
