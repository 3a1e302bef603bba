/* SPDX-License-Identifier: BSD-2-Clause */
/* util-t.c - escaping, UTF-8, addresses, arena, times. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "util.h"

int
main(void)
{
	struct buf b;
	struct arena a;
	uint8_t af, addr[16];
	char out[64];
	int64_t t;
	int i;

	buf_init(&b);
	json_escape(&b, "a\"b\\c\nd\x01\x7f\xe3\x81\x82", 12);
	is_str(b.data, "a\\\"b\\\\c\\nd\\u0001\\u007f\xe3\x81\x82", "json escapes");
	buf_reset(&b);
	log_escape(&b, "bob\r\nX-Evil: 1 =\"", 17);
	is_str(b.data, "bob\\x0d\\x0aX-Evil: 1 \\x3d\\x22", "log escapes CR LF");
	buf_reset(&b);
	hex_encode(&b, "a{b}\0", 5);
	is_str(b.data, "617b627d00", "hex encode");
	buf_reset(&b);
	ok(hex_decode(&b, "617b627d00", 10) == 0 && b.len == 5 &&
	    memcmp(b.data, "a{b}\0", 5) == 0, "hex decode");
	ok(hex_decode(&b, "6g", 2) == -1, "hex decode refuses junk");
	buf_free(&b);

	ok(utf8_valid("plain ascii text here", 21), "ascii valid");
	ok(utf8_valid("\xe8\xb8\x8f\xe3\x81\xbf\xe5\x8f\xb0", 9), "japanese valid");
	ok(!utf8_valid("\xc0\xaf", 2), "overlong refused");
	ok(!utf8_valid("\xed\xa0\x80", 3), "surrogate refused");
	ok(!utf8_valid("abcdefgh\xff", 9), "0xff refused");
	ok(!utf8_valid("\xe3\x81", 2), "truncated refused");

	ok(addr_parse("192.0.2.1", 9, &af, addr) == 0 && af == 4, "ipv4");
	addr_format(af, addr, out, sizeof(out));
	is_str(out, "192.0.2.1", "ipv4 round trip");
	ok(addr_parse("::ffff:127.0.0.2", 16, &af, addr) == 0 && af == 4,
	    "v4-mapped is v4");
	addr_format(af, addr, out, sizeof(out));
	is_str(out, "127.0.0.2", "v4-mapped round trip");
	ok(addr_parse("2001:db8::1", 11, &af, addr) == 0 && af == 6, "ipv6");
	addr_format(af, addr, out, sizeof(out));
	is_str(out, "2001:db8::1", "ipv6 round trip");
	ok(addr_parse("unknown", 7, &af, addr) == -1, "junk address refused");

	arena_init(&a);
	for (i = 0; i < 3; i++) {
		struct fm_str s = { "hello", 5 }, c = arena_str(&a, s);
		char *big = arena_alloc(&a, 200000);

		memset(big, 'x', 200000);
		ok(c.len == 5 && memcmp(c.p, "hello", 5) == 0 && c.p != s.p,
		    "arena copy, round %d", i);
		arena_reset(&a);
	}
	arena_free(&a);

	ok(time_parse_arg("2026-11-24T10:00:00Z", &t) == 0 &&
	    t == 1795514400LL * 1000000, "time arg ISO");
	time_format(t + 5, out, sizeof(out));
	is_str(out, "2026-11-24T10:00:00.000005Z", "time format");
	ok(time_parse_arg("-7d", &t) == 0 && t < now_us(), "relative time");
	ok(time_parse_arg("yesterday", &t) == -1, "junk time refused");
	return done_testing();
}
