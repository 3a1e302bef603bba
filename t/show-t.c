/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * show-t.c - unit tests of show.c: terminal escaping of hostile text, the
 * top-level field reader of stored JSON records (nested and quoted look-alikes
 * of a key, every truncation of a record), string unescaping and ISO times.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "show.h"
#include "tap.h"

static const char rec[] =
    "{\"id\":\"00a1\",\"evidence\":{\"last\":\"2099-01-01T00:00:00Z\","
    "\"l\":[1,{\"last\":2},\"]}\"]},\"account\":\"x\\\",\\\"last\\\":\\\"1\","
    "\"count\":12,\"ok\":true,\"last\":\"2026-11-25T10:30:01Z\","
    "\"summary\":\"a\\u001b[31mb\\u00ff\\ud83d\\ude00\\n\"}";

static const char *
get(const char *json, const char *name, struct buf *b)
{
	return show_json_get(json, strlen(json), name, b) == 0 ?
	    (b->data ? b->data : "") : NULL;
}

static void
test_get(void)
{
	struct buf b;
	size_t n;
	int bad = 0;

	buf_init(&b);
	is_str(get(rec, "last", &b), "2026-11-25T10:30:01Z",
	    "last: the top-level one, not evidence's nor one inside a string");
	is_str(get(rec, "account", &b), "x\",\"last\":\"1", "escaped quotes");
	is_str(get(rec, "count", &b), "12", "number as text");
	is_str(get(rec, "ok", &b), "true", "bool as text");
	is_str(get(rec, "evidence", &b),
	    "{\"last\":\"2099-01-01T00:00:00Z\",\"l\":[1,{\"last\":2},\"]}\"]}",
	    "object as its JSON text");
	is_str(get(rec, "summary", &b), "a\x1b[31mb\xff\xf0\x9f\x98\x80\n",
	    "\\u00XX is a byte, a surrogate pair one code point");
	ok(get(rec, "missing", &b) == NULL && b.len == 0, "absent key: -1");
	ok(get(rec, "l", &b) == NULL, "nested key is not top-level");
	is_str(get(" { \"a\" : 1 , \"b\" : \"x\" } ", "b", &b), "x",
	    "whitespace");
	ok(get("{\"a\":\"\\q\"}", "a", &b) == NULL, "bad escape: -1");
	ok(get("[\"last\",1]", "last", &b) == NULL, "not an object: -1");
	ok(get("{\"a\":,\"last\":\"1\"}", "last", &b) == NULL,
	    "missing value: -1");
	/* Every truncation before the closing brace (which follows the last
	 * field), in a buffer of its exact size (ASan, valgrind). */
	for (n = 0; n < sizeof(rec) - 2; n++) {
		char *p = xmalloc(n ? n : 1);

		memcpy(p, rec, n);
		if (show_json_get(p, n, "summary", &b) == 0)
			bad++;
		(void)show_json_get(p, n, "last", &b);
		free(p);
	}
	is_int(bad, 0, "no truncated record yields the last field");
	buf_free(&b);
}

static void
test_unescape(void)
{
	static const char q[] = "KDDI \\\"au\\\" a\"b\\\\";
	struct buf b;

	buf_init(&b);
	ok(show_json_unescape(&b, q, sizeof(q) - 1) == 0, "unescape ok");
	is_str(b.data, "KDDI \"au\" a\"b\\", "quotes bare and escaped");
	buf_reset(&b);
	ok(show_json_unescape(&b, "ab\\u00", 6) == -1, "short \\u: -1");
	ok(show_json_unescape(&b, "ab\\", 3) == -1, "trailing backslash: -1");
	buf_free(&b);
}

static void
test_iso(void)
{
	int64_t us = 0;

	ok(show_iso_us("2026-11-25T10:30:01Z", 20, &us) == 0 &&
	    us == 1795602601LL * 1000000, "whole seconds");
	ok(show_iso_us("2026-11-25T10:30:01.250000Z", 27, &us) == 0 &&
	    us == 1795602601LL * 1000000 + 250000, "microseconds");
	ok(show_iso_us("2026-11-25T10:30:01.5Z", 22, &us) == 0 &&
	    us == 1795602601LL * 1000000 + 500000, "a tenth");
	ok(show_iso_us("2026-11-25T10:30:01", 19, &us) == -1, "no Z");
	ok(show_iso_us("2026-13-25T10:30:01Z", 20, &us) == -1, "month 13");
	ok(show_iso_us("2026-11-25T10:30:01Zx", 21, &us) == -1, "trailing");
	ok(show_iso_us("", 0, &us) == -1, "empty");
}

static void
test_term(void)
{
	static const char in[] = "a\x1b[2J\r\n\\\x7f\xc2\x85\xe2\x80\xae"
	    "\xc3\xa9\xe6\x97\xa5\xff\xc3";
	struct buf b;

	buf_init(&b);
	show_term_escape(&b, in, sizeof(in) - 1);
	is_str(b.data, "a\\x1b[2J\\x0d\\x0a\\x5c\\x7f\\xc2\\x85\\xe2\\x80\\xae"
	    "\xc3\xa9\xe6\x97\xa5\\xff\\xc3",
	    "controls, C1, bidi override, invalid bytes escaped; UTF-8 kept");
	buf_free(&b);
}

int
main(void)
{
	test_get();
	test_unescape();
	test_iso();
	test_term();
	return done_testing();
}
