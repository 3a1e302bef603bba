/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lz-t.c - lz.c, the FZ1 compression of archived days: round trips (empty,
 * tiny, every byte value, runs, incompressible data, distances at the
 * window's edge, 4 MB), every kind of damaged blob refused with its reason,
 * every truncation and bit flip of a blob survived, determinism, and the
 * ratio on a generated archive of realistic history days.
 *
 * t/lz-lua.t runs it too, for the Lua decoder: `lz-t --compress FILE` writes
 * FILE's blob to stdout, `lz-t --sample N` a generated archive of about N
 * bytes, and `lz-t --decompress-hex` turns each line of hex on stdin into
 * "ok HEX" or "err MESSAGE".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lz.h"
#include "tap.h"
#include "util.h"

struct lzt_entry {
	char kind;
	char *field, *value;
};

static uint32_t lzt_seed = 2463534242U;

static uint32_t lzt_rand(void);
static const char *lzt_pick(const char *const *, size_t);
static void lzt_varint(struct buf *, size_t);
static void lzt_rollup(struct buf *, struct buf *);
static void lzt_message(struct buf *, struct buf *);
static int lzt_entry_cmp(const void *, const void *);
static void lzt_sample(struct buf *, size_t, uint32_t);
static size_t lzt_roundtrip(const char *, const void *, size_t);
static void lzt_forms(const char *, const void *, size_t, size_t);
static void lzt_fz2(void);
static size_t lzt_maxdist(const struct buf *);
static void lzt_refuse(const char *, const char *, size_t, const char *);
static void lzt_fuzz(int);
static void lzt_basic(void);
static void lzt_large(void);
static void lzt_ratio(void);
static int lzt_cmd_compress(const char *, int);
static int lzt_cmd_sizes_hex(void);
static int lzt_cmd_sample(const char *);
static int lzt_cmd_decompress_hex(void);

static uint32_t
lzt_rand(void)
{
	lzt_seed ^= lzt_seed << 13;
	lzt_seed ^= lzt_seed >> 17;
	lzt_seed ^= lzt_seed << 5;
	return lzt_seed;
}

static const char *
lzt_pick(const char *const *v, size_t n)
{
	return v[lzt_rand() % n];
}

static void
lzt_varint(struct buf *b, size_t v)
{
	for (; v >= 0x80; v >>= 7)
		buf_addc(b, (char)(v | 0x80));
	buf_addc(b, (char)v);
}

static const char *const lzt_domains[] = {
	"example.jp", "mail.example.co.jp", "gmail.com", "yahoo.co.jp",
	"outlook.com", "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp",
	"partner-corp.co.jp", "kaisha.example.ne.jp", "icloud.com",
};
static const char *const lzt_relays[] = {
	"gmail-smtp-in.l.google.com[142.250.157.27]:25",
	"mx1.example.jp[203.0.113.25]:25", "mta-in.docomo.ne.jp[203.138.181.240]:25",
	"mx.partner-corp.co.jp[198.51.100.80]:25", "virtual", "lmtp",
	"outlook-com.olc.protection.outlook.com[52.101.68.12]:25",
};
static const char *const lzt_names[] = {
	"tanaka", "suzuki", "sato", "info", "sales", "support", "yamada.taro",
	"k-watanabe", "h.ito", "office", "nakamura", "kobayashi.y",
};
static const char *const lzt_subjects[] = {
	"Re: \xe8\xa6\x8b\xe7\xa9\x8d\xe3\x82\x82\xe3\x82\x8a\xe3\x81\xae\xe4\xbb\xb6",
	"Quarterly report", "Re: Re: meeting on Friday",
	"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8\xe9\x80\x81\xe4\xbb\x98\xe3\x81\xae\xe3\x81\x8a\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b",
	"Fwd: invoice 2026-11", "order confirmation #", "",
	"\\\"urgent\\\" payment update",
};
static const char *const lzt_places[] = {
	"JP\x1fTokyo\x1f" "2516\x1f" "KDDI CORPORATION",
	"JP\x1fOsaka\x1f" "4713\x1f" "NTT Communications Corporation",
	"JP\x1f\x1f" "9605\x1f" "NTT DOCOMO, INC.",
	"JP\x1fYokohama\x1f" "17676\x1f" "SoftBank Corp.",
	"CN\x1f\x1f" "4134\x1f" "Chinanet",
};

/* lzt_rollup - a stored :lr: field and value (doc/redis.md) */
static void
lzt_rollup(struct buf *f, struct buf *v)
{
	static const char *const svc[] = { "imap", "pop3", "submission", "smtp" };
	int fail = lzt_rand() % 4 == 0;
	unsigned first = lzt_rand() % 43200;

	buf_printf(f, "%s|%s%u.%u|%s", fail ? "fail" : "ok",
	    lzt_rand() % 2 ? "192.0.2." : "198.51.100.",
	    lzt_rand() % 256, lzt_rand() % 256, lzt_pick(svc, nitems(svc)));
	buf_printf(v, "%u\x1f%u\x1f%u\x1f%s\x1fmx1\x1f%s\x1f%s", 1 + lzt_rand() % 300,
	    first, first + lzt_rand() % 43200, lzt_rand() % 3 ? "PLAIN" : "LOGIN",
	    fail ? "authentication failed" : "",
	    lzt_pick(lzt_places, nitems(lzt_places)));
}

/* lzt_message - a stored :m: field and value, with its recipients */
static void
lzt_message(struct buf *f, struct buf *v)
{
	unsigned i, n = 1 + (lzt_rand() % 8 == 0 ? lzt_rand() % 12 : 0);
	const char *subj = lzt_pick(lzt_subjects, nitems(lzt_subjects));

	buf_printf(f, "mx1|%08X%03X", lzt_rand(), lzt_rand() % 4096);
	buf_printf(v, "%u\x1f%u.%u.%u@\x1f\x1f", lzt_rand() % 86400,
	    1790000000 + lzt_rand() % 9999999, lzt_rand() % 65536,
	    lzt_rand() % 1000000000);
	buf_adds(v, subj);
	if (*subj != '\0' && subj[strlen(subj) - 1] == '#')
		buf_printf(v, "%u", lzt_rand() % 100000);
	buf_printf(v, "\x1f%u\x1f%u\x1f" "198.51.100.%u\x1fsubmission\x1f\x1f\x1f%u"
	    "\x1f\x1f\x1fPLAIN", 800 + lzt_rand() % 90000, n, lzt_rand() % 64,
	    lzt_rand() % 3);
	for (i = 0; i < n; i++) {
		int st = lzt_rand() % 20;

		buf_printf(v, "\x1e%s@%s\x1f%s\x1f%u\x1f%s", lzt_pick(lzt_names,
		    nitems(lzt_names)), lzt_pick(lzt_domains, nitems(lzt_domains)),
		    st == 0 ? "d" : st == 1 ? "b" : "s", lzt_rand() % 4,
		    lzt_pick(lzt_relays, nitems(lzt_relays)));
		if (st < 2)
			buf_printf(v, "\x1f%s", st == 0 ? "4.4.1" : "5.1.1");
	}
}

static int
lzt_entry_cmp(const void *a, const void *b)
{
	const struct lzt_entry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	return strcmp(x->field, y->field);
}

/* lzt_sample - a raw archive (monitor/archive.lua's layout: entries sorted
 * by kind and field, each kind, varint field, varint value) of about target
 * bytes: a day's counters, login roll-ups and messages */
static void
lzt_sample(struct buf *out, size_t target, uint32_t seed)
{
	static const char *const ctr[] = { "bounced", "bytes", "deferred",
	    "delivered", "login_fail", "login_ok", "messages", "recipients",
	    "writes" };
	struct lzt_entry *e = NULL;
	size_t n = 0, cap = 0, size = 0, i, nroll = 3 + FM_MIN(target / 2000, 200);
	struct buf f, v;

	lzt_seed = seed;
	while (size < target || n < nitems(ctr) + nroll) {
		buf_init(&f);
		buf_init(&v);
		if (n < nitems(ctr)) {
			buf_adds(&f, ctr[n]);
			buf_printf(&v, "%u", lzt_rand() % 5000);
		} else if (n < nitems(ctr) + nroll)
			lzt_rollup(&f, &v);
		else
			lzt_message(&f, &v);
		if (n == cap)
			e = xrealloc(e, (cap = cap ? 2 * cap : 64) * sizeof(*e));
		e[n].kind = n < nitems(ctr) ? 'c' : n < nitems(ctr) + nroll ? 'l' : 'm';
		e[n].field = f.data;
		e[n].value = v.data;
		size += 3 + f.len + v.len;
		n++;
	}
	qsort(e, n, sizeof(*e), lzt_entry_cmp);
	for (i = 0; i < n; i++) {
		buf_addc(out, e[i].kind);
		lzt_varint(out, strlen(e[i].field));
		buf_adds(out, e[i].field);
		lzt_varint(out, strlen(e[i].value));
		buf_adds(out, e[i].value);
		free(e[i].field);
		free(e[i].value);
	}
	free(e);
}

/* lzt_roundtrip - compress, check it decompresses to the input, the same
 * bytes every time, and appended after what out held; the blob's size */
static size_t
lzt_roundtrip(const char *name, const void *in, size_t len)
{
	struct buf z, z2, raw;
	char err[128] = "";
	size_t rawlen = 0, size;
	int r;

	buf_init(&z);
	buf_init(&z2);
	buf_init(&raw);
	lz_compress(in, len, &z);
	buf_adds(&z2, "prefix");
	lz_compress(in, len, &z2);
	buf_adds(&raw, "before");
	r = lz_decompress(z.data, z.len, &raw, err, sizeof(err));
	ok(r == 0 && raw.len == 6 + len && memcmp(raw.data, "before", 6) == 0 &&
	    (len == 0 || memcmp(raw.data + 6, in, len) == 0) &&
	    raw.data[raw.len] == '\0' && lz_rawlen(z.data, z.len, &rawlen) == 0 &&
	    rawlen == len && z2.len == 6 + z.len &&
	    memcmp(z2.data + 6, z.data, z.len) == 0,
	    "%s: %zu bytes -> %zu, round trip", name, len, z.len);
	if (r == -1)
		diag("  %s", err);
	size = z.len;
	lzt_forms(name, in, len, size);
	buf_free(&z);
	buf_free(&z2);
	buf_free(&raw);
	return size;
}

/* lzt_forms - the FZ1 and FZ2 forms of in both decompress to it, and
 * lz_compress kept the smaller (size), FZ1 on a tie */
static void
lzt_forms(const char *name, const void *in, size_t len, size_t size)
{
	struct buf z[2], raw;
	char err[128] = "";
	int f, good = 1;

	buf_init(&raw);
	for (f = 0; f < 2; f++) {
		buf_init(&z[f]);
		lz_compress_format(in, len, f + 1, &z[f]);
		buf_reset(&raw);
		if (lz_decompress(z[f].data, z[f].len, &raw, err, sizeof(err)) ==
		    -1 || raw.len != len || (len > 0 && memcmp(raw.data, in,
		    len) != 0) || memcmp(z[f].data, f ? "FZ2" : "FZ1", 3) != 0) {
			diag("  FZ%d: %s", f + 1, err);
			good = 0;
		}
	}
	ok(good && size == FM_MIN(z[0].len, z[1].len) &&
	    (z[1].len < z[0].len) == (size == z[1].len && size != z[0].len),
	    "%s: FZ1 %zu, FZ2 %zu bytes: both round trip, the smaller kept",
	    name, z[0].len, z[1].len);
	buf_free(&z[0]);
	buf_free(&z[1]);
	buf_free(&raw);
}

/* lzt_maxdist - the farthest copy in a blob (which decompresses) */
static size_t
lzt_maxdist(const struct buf *z)
{
	const uint8_t *p = (const uint8_t *)z->data;
	size_t i = 3, max = 0, d;

	while (p[i] & 0x80)
		i++;
	for (i++; i < z->len;) {
		if (p[i] < 0x80) {
			i += (size_t)p[i] + 2;
			continue;
		}
		d = (size_t)p[i + 1] << 8 | p[i + 2];
		max = FM_MAX(max, d);
		i += 3;
	}
	return max;
}

/* lzt_refuse - blob p (n bytes) is refused with a message holding want,
 * and out is left as it was */
static void
lzt_refuse(const char *name, const char *p, size_t n, const char *want)
{
	struct buf out;
	char err[128] = "";
	int r;

	buf_init(&out);
	buf_adds(&out, "kept");
	r = lz_decompress(p, n, &out, err, sizeof(err));
	if (!ok(r == -1 && strstr(err, want) != NULL && out.len == 4 &&
	    strcmp(out.data, "kept") == 0, "refused: %s", name))
		diag("  got %d '%s', expected '%s'", r, err, want);
	buf_free(&out);
}

/* lzt_fuzz - every truncation of a blob (of format fz) is refused; every
 * bit flip and random byte either is refused or gives exactly rawlen bytes
 * (ASan and UBSan watch the rest) */
static void
lzt_fuzz(int fz)
{
	struct buf raw, z, out, bad;
	char err[128];
	size_t i, rawlen, refused = 0, changed = 0, wrong = 0, trunc_ok = 0;
	size_t runs = 0;
	unsigned bit, k;
	int r;

	buf_init(&raw);
	buf_init(&z);
	buf_init(&out);
	buf_init(&bad);
	lzt_sample(&raw, 300, 7);
	lz_compress_format(raw.data, raw.len, fz, &z);
	for (i = 0; i < z.len; i++) {
		buf_reset(&out);
		if (lz_decompress(z.data, i, &out, err, sizeof(err)) == 0)
			trunc_ok++;
	}
	ok(trunc_ok == 0, "FZ%d: every truncation of a blob is refused (%zu "
	    "not)", fz, trunc_ok);
	for (i = 0; i < z.len; i++) {
		for (bit = 0; bit < 8 + 4; bit++) {
			buf_reset(&bad);
			buf_add(&bad, z.data, z.len);
			if (bit < 8)
				bad.data[i] ^= (char)(1 << bit);
			else
				bad.data[i] = (char)lzt_rand();
			buf_reset(&out);
			r = lz_decompress(bad.data, bad.len, &out, err, sizeof(err));
			runs++;
			if (r == -1) {
				refused++;
				changed += out.len != 0;
			} else if (lz_rawlen(bad.data, bad.len, &rawlen) == -1 ||
			    out.len != rawlen)
				wrong++;
		}
	}
	/* random junk after a valid header */
	for (k = 0; k < 2000; k++) {
		buf_reset(&bad);
		buf_add(&bad, fz == 1 ? "FZ1\xc8\x01" : "FZ2\xc8\x01", 5);
		for (i = 0; i < 1 + k % 40; i++)
			buf_addc(&bad, (char)lzt_rand());
		buf_reset(&out);
		r = lz_decompress(bad.data, bad.len, &out, err, sizeof(err));
		runs++;
		if (r == -1) {
			refused++;
			changed += out.len != 0;
		} else if (out.len != 200)
			wrong++;
	}
	ok(wrong == 0, "FZ%d: damaged blobs decode to rawlen bytes or are "
	    "refused (%zu not)", fz, wrong);
	ok(changed == 0, "FZ%d: a refused blob leaves out as it was (%zu not)",
	    fz, changed);
	diag("FZ%d: %zu of %zu damaged blobs refused", fz, refused, runs);
	buf_free(&raw);
	buf_free(&z);
	buf_free(&out);
	buf_free(&bad);
}

static void
lzt_basic(void)
{
	unsigned char all[256 * 4];
	char small[16];
	struct buf z;
	size_t i, n;

	buf_init(&z);
	lz_compress("", 0, &z);
	ok(z.len == 4 && memcmp(z.data, "FZ1\0", 4) == 0, "empty is FZ1\\0");
	buf_reset(&z);
	lz_compress("a", 1, &z);
	ok(z.len == 6 && memcmp(z.data, "FZ1\x01\x00" "a", 6) == 0,
	    "one byte: one literal token");
	buf_reset(&z);
	lz_compress("abcabcabcabc", 12, &z);
	ok(z.len == 11 && memcmp(z.data, "FZ1\x0c\x02" "abc\x85\x00\x03", 11) == 0,
	    "abcabcabcabc: a literal and an overlapping copy");
	buf_free(&z);
	lzt_roundtrip("empty", "", 0);
	lzt_roundtrip("1 byte", "x", 1);
	for (n = 3; n <= 5; n++) {
		memset(small, 'q', n);
		lzt_roundtrip("a run of q", small, n);
		lzt_roundtrip("abcde", "abcde", n);
	}
	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	lzt_roundtrip("256 byte values", all, 256);
	n = lzt_roundtrip("256 byte values 4 times", all, sizeof(all));
	ok(n < 256 + 3 + 30, "the repeats are copies (%zu bytes)", n);
	lzt_roundtrip("FZ1 blob as input", "FZ1\x05\x00" "a\x80\x00\x01", 9);
}

/* lzt_fz2 - FZ2 blobs byte for byte, and every kind of damage refused */
static void
lzt_fz2(void)
{
	unsigned char all[256];
	struct buf z;
	size_t i;

	buf_init(&z);
	lz_compress_format("", 0, 2, &z);
	ok(z.len == 5 && memcmp(z.data, "FZ2\0\0", 5) == 0,
	    "FZ2 of nothing: no table, no bits");
	buf_reset(&z);
	lz_compress_format("a", 1, 2, &z);
	ok(z.len == 10 && memcmp(z.data, "FZ2\x01\x02\x1e\x4e\x1e\x8c\x02", 10)
	    == 0, "FZ2 of a: two values of 1 bit, runs of 96 and 158 absent");
	buf_reset(&z);
	lz_compress_format("", 1, 2, &z);
	ok(z.len == 8 && memcmp(z.data, "FZ2\x01\x02\x1e\xed\x00", 8) == 0,
	    "FZ2 of NUL: one value, its code 0");
	buf_free(&z);
	lzt_roundtrip("one token value only", "\0", 1);
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)(255 - i);
	lzt_roundtrip("every token value", all, 256);

	lzt_refuse("FZ2 no length", "FZ2", 3, "truncated length");
	lzt_refuse("FZ2 no count", "FZ2\x01", 4, "truncated count");
	lzt_refuse("count not minimal", "FZ2\x01\x80\x00", 6, "overlong count");
	lzt_refuse("count of 2^32", "FZ2\x01\x80\x80\x80\x80\x10", 9,
	    "overlong count");
	lzt_refuse("no table", "FZ2\x01\x02", 5, "truncated table");
	lzt_refuse("table cut in a run", "FZ2\x01\x02\x1e", 6,
	    "truncated table");
	lzt_refuse("table cut", "FZ2\x01\x02\x11\xd0", 7, "truncated table");
	lzt_refuse("a length of 15", "FZ2\x01\x02\xf0", 6,
	    "bad table at byte 5");
	lzt_refuse("a run past 255", "FZ2\x01\x02\x11\xef\xf0", 8,
	    "bad table at byte 7");
	lzt_refuse("padding nibble not 0", "FZ2\x01\x02\x11\xee\xc1\x00", 9,
	    "bad table at byte 7");
	lzt_refuse("no value", "FZ2\x01\x02\xee\xe0\x00", 8, "empty code");
	lzt_refuse("over-subscribed code", "FZ2\x01\x02\x11\x1e\xeb\x00", 9,
	    "over-subscribed code");
	lzt_refuse("incomplete code", "FZ2\x01\x02\x12\xee\xc0\x00", 8,
	    "incomplete code");
	lzt_refuse("one value of 2 bits", "FZ2\x01\x02\x2e\xed\x00", 8,
	    "incomplete code");
	lzt_refuse("count past the blob", "FZ2\x01\x09\x1e\xed\x00", 8,
	    "token count 9 past the blob");
	lzt_refuse("count past an empty blob", "FZ2\x01\x01\x1e\xed", 7,
	    "token count 1 past the blob");
	lzt_refuse("a code the one-value code lacks", "FZ2\x01\x02\x1e\xed\x02",
	    8, "bad code at token 1");
	lzt_refuse("bits end early", "FZ2\x01\x05\x22\x22\xee\xa0\x00", 10,
	    "bitstream ends early");
	lzt_refuse("a byte after the bits", "FZ2\x01\x02\x1e\x4e\x1e\x8c\x02" "x",
	    11, "trailing bytes at byte 10");
	lzt_refuse("nothing, then a byte", "FZ2\0\0x", 6,
	    "trailing bytes at byte 5");
	lzt_refuse("padding bits not 0", "FZ2\x01\x02\x1e\x4e\x1e\x8c\x06", 10,
	    "nonzero padding");
	lzt_refuse("tokens short of rawlen", "FZ2\x05\x02\x1e\x4e\x1e\x8c\x02",
	    10, "tokens: output short of length 5: 1 bytes");
	lzt_refuse("no tokens for rawlen 1", "FZ2\x01\x00", 5,
	    "tokens: output short of length 1: 0 bytes");
	/* tokens 00 00 80 00 00: a literal, a copy from distance 0 */
	lzt_refuse("tokens with a bad distance",
	    "FZ2\x05\x05\x1e\x6d\x1e\x6d\x04", 10,
	    "tokens: bad distance 0 at byte 2");
}

/* lzt_large - runs, incompressible data, the window's edge, 4 MB */
static void
lzt_large(void)
{
	size_t n = 5 * 65536, i, size;
	char *p = xmalloc(n);
	struct buf z;
	clock_t t0;

	memset(p, 'x', 100000);
	size = lzt_roundtrip("100000 x", p, 100000);
	ok(size < 100000 / 40, "a run compresses over 40x (%zu bytes)", size);
	for (i = 0; i < 100001; i++)
		p[i] = "ab\0"[i % 3];
	lzt_roundtrip("abNUL repeated", p, 100001);
	for (i = 0; i < n; i++)
		p[i] = (char)lzt_rand();
	size = lzt_roundtrip("random 320 KiB", p, n);
	ok(size < n + n / 100 + 8, "random data grows by under 1%% + 8 "
	    "(%zu -> %zu)", n, size);
	lzt_roundtrip("random 127 bytes", p, 127);
	lzt_roundtrip("random 128 bytes", p, 128);
	lzt_roundtrip("random 129 bytes", p, 129);
	/* the same 3000 bytes 65535 bytes later (a copy), then 65536 later
	 * than that (out of reach) */
	memcpy(p + 65535, p, 3000);
	memcpy(p + 65535 + 3000 + 65536, p + 65535 + 3000, 3000);
	buf_init(&z);
	lz_compress_format(p, 72000, 1, &z);
	ok(lzt_maxdist(&z) == 65535 && z.len < 72000 - 2000,
	    "a repeat 65535 back is a copy (%zu bytes)", z.len);
	buf_reset(&z);
	lz_compress_format(p + 65535 + 3000, 65536 + 3000, 1, &z);
	ok(lzt_maxdist(&z) < 65535 && z.len > 65536 + 3000,
	    "a repeat 65536 back is not (%zu bytes)", z.len);
	lzt_roundtrip("70 KiB with a copy 65535 back", p, 72000);
	lzt_roundtrip("a repeat 65536 back", p + 65535 + 3000, 65536 + 3000);
	free(p);
	buf_reset(&z);
	lzt_sample(&z, 4 << 20, 11);
	t0 = clock();
	size = lzt_roundtrip("4 MiB archive", z.data, z.len);
	diag("4 MiB archive: ratio %.2f, round trip %.0f ms of CPU",
	    (double)z.len / (double)size,
	    (double)(clock() - t0) * 1000 / CLOCKS_PER_SEC);
	buf_free(&z);
}

/* lzt_ratio - generated archives of a quiet day, a busy day and an abused
 * account's day (lz4 -9 makes about 1.8x of real ones) */
static void
lzt_ratio(void)
{
	static const size_t sizes[] = { 600, 3000, 10000, 2 << 20 };
	struct buf raw, z;
	size_t i, n1;

	buf_init(&raw);
	buf_init(&z);
	for (i = 0; i < nitems(sizes); i++) {
		buf_reset(&raw);
		buf_reset(&z);
		lzt_sample(&raw, sizes[i], 1 + (uint32_t)i);
		lz_compress_format(raw.data, raw.len, 1, &z);
		n1 = z.len;
		buf_reset(&z);
		lz_compress(raw.data, raw.len, &z);
		ok(z.len < raw.len, "archive of %zu bytes -> %zu", raw.len, z.len);
		diag("ratio FZ1 %.2f, kept (%.3s) %.2f", (double)raw.len /
		    (double)n1, z.data, (double)raw.len / (double)z.len);
	}
	buf_free(&raw);
	buf_free(&z);
}

static int
lzt_cmd_compress(const char *path, int format)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct buf in, z;
	char tmp[65536];
	size_t n;

	if (fp == NULL) {
		perror(path);
		return 2;
	}
	buf_init(&in);
	buf_init(&z);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		buf_add(&in, tmp, n);
	if (fp != stdin)
		fclose(fp);
	lz_compress_format(in.data, in.len, format, &z);
	fwrite(z.data, 1, z.len, stdout);
	buf_free(&in);
	buf_free(&z);
	return 0;
}

/* lzt_cmd_sizes_hex - for each line of hex on stdin (a raw archive): its
 * length, its FZ1 and its FZ2 blob's */
static int
lzt_cmd_sizes_hex(void)
{
	struct buf raw, z1, z2;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	buf_init(&raw);
	buf_init(&z1);
	buf_init(&z2);
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		buf_reset(&raw);
		buf_reset(&z1);
		buf_reset(&z2);
		if (hex_decode(&raw, line, (size_t)n) == -1) {
			printf("err bad hex\n");
			continue;
		}
		lz_compress_format(raw.data, raw.len, 1, &z1);
		lz_compress_format(raw.data, raw.len, 2, &z2);
		printf("%zu %zu %zu\n", raw.len, z1.len, z2.len);
	}
	free(line);
	buf_free(&raw);
	buf_free(&z1);
	buf_free(&z2);
	return 0;
}

static int
lzt_cmd_sample(const char *size)
{
	struct buf b;

	buf_init(&b);
	lzt_sample(&b, strtoul(size, NULL, 10), 1);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	return 0;
}

static int
lzt_cmd_decompress_hex(void)
{
	struct buf z, out, hex;
	char *line = NULL, err[128];
	size_t cap = 0;
	ssize_t n;

	buf_init(&z);
	buf_init(&out);
	buf_init(&hex);
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		buf_reset(&z);
		buf_reset(&out);
		buf_reset(&hex);
		if (hex_decode(&z, line, (size_t)n) == -1)
			printf("err bad hex\n");
		else if (lz_decompress(z.data, z.len, &out, err, sizeof(err)) == -1)
			printf("err %s\n", err);
		else {
			hex_encode(&hex, out.data, out.len);
			printf("ok %s\n", hex.data ? hex.data : "");
		}
	}
	free(line);
	buf_free(&z);
	buf_free(&out);
	buf_free(&hex);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--compress") == 0)
		return lzt_cmd_compress(argv[2], 0);
	if (argc == 3 && strcmp(argv[1], "--compress-fz1") == 0)
		return lzt_cmd_compress(argv[2], 1);
	if (argc == 3 && strcmp(argv[1], "--compress-fz2") == 0)
		return lzt_cmd_compress(argv[2], 2);
	if (argc == 2 && strcmp(argv[1], "--sizes-hex") == 0)
		return lzt_cmd_sizes_hex();
	if (argc == 3 && strcmp(argv[1], "--sample") == 0)
		return lzt_cmd_sample(argv[2]);
	if (argc == 2 && strcmp(argv[1], "--decompress-hex") == 0)
		return lzt_cmd_decompress_hex();

	lzt_basic();
	lzt_large();

	lzt_refuse("empty blob", "", 0, "bad magic");
	lzt_refuse("FZ", "FZ", 2, "bad magic");
	lzt_refuse("FZ3", "FZ3\0", 4, "bad magic");
	lzt_refuse("no length", "FZ1", 3, "truncated length");
	lzt_refuse("length cut", "FZ1\x80", 4, "truncated length");
	lzt_refuse("6-byte length", "FZ1\x80\x80\x80\x80\x80\x00", 9,
	    "overlong length");
	lzt_refuse("length of 2^32", "FZ1\x80\x80\x80\x80\x10", 8,
	    "overlong length");
	lzt_refuse("length not minimal", "FZ1\x81\x00" "a", 6, "overlong length");
	lzt_refuse("length 2^32-1, nothing", "FZ1\xff\xff\xff\xff\x0f", 8,
	    "output short of length 4294967295: 0 bytes");
	lzt_refuse("literal cut", "FZ1\x03\x02" "ab", 7,
	    "truncated literal at byte 4");
	lzt_refuse("copy cut after c", "FZ1\x05\x00" "a\x80", 7,
	    "truncated copy at byte 6");
	lzt_refuse("copy cut after d's first byte", "FZ1\x05\x00" "a\x80\x00", 8,
	    "truncated copy at byte 6");
	lzt_refuse("distance 0", "FZ1\x05\x00" "a\x80\x00\x00", 9,
	    "bad distance 0 at byte 6");
	lzt_refuse("distance past the start", "FZ1\x05\x00" "a\x80\x00\x02", 9,
	    "bad distance 2 at byte 6");
	lzt_refuse("distance 65535 past the start", "FZ1\x05\x00" "a\x80\xff\xff",
	    9, "bad distance 65535 at byte 6");
	lzt_refuse("literal past rawlen", "FZ1\x02\x02" "abc", 8,
	    "output past length 2 at byte 4");
	lzt_refuse("copy past rawlen", "FZ1\x04\x00" "a\x80\x00\x01", 9,
	    "output past length 4 at byte 6");
	lzt_refuse("output short", "FZ1\x05\x00" "a", 6,
	    "output short of length 5: 1 bytes");
	lzt_refuse("trailing bytes", "FZ1\x01\x00" "a\x00" "b", 8,
	    "trailing bytes at byte 6");
	lzt_refuse("trailing token after empty", "FZ1\x00\x00" "a", 6,
	    "trailing bytes at byte 4");
	lzt_fz2();
	lzt_fuzz(1);
	lzt_fuzz(2);
	lzt_ratio();
	return done_testing();
}
