/* SPDX-License-Identifier: BSD-2-Clause */
/* logline-t.c - header parsing: every time format, hosts, tags, junk. */
#include "config.h"

#include <string.h>

#include "logline.h"
#include "tap.h"
#include "util.h"

static struct fm_line ln;
static struct logline_ctx ctx;

static int
parse(const char *s)
{
	return logline_parse(&ctx, s, strlen(s), &ln);
}

static int
streq(struct fm_str s, const char *want)
{
	return s.len == strlen(want) && (s.len == 0 || memcmp(s.p, want, s.len) == 0);
}

static void
check(const char *line, const char *time, const char *host, const char *prog,
    long pid, const char *msg)
{
	char t[40];

	if (!ok(parse(line) == 0, "parses: %s", line))
		return;
	time_format(ln.time, t, sizeof(t));
	is_str(t, time, "  time");
	ok(streq(ln.host, host), "  host %s", host);
	ok(streq(ln.program, prog), "  program %s", prog);
	is_int(ln.pid, pid, "  pid");
	ok(ln.msglen == strlen(msg) && (ln.msglen == 0 || memcmp(ln.msg, msg, ln.msglen) == 0),
	    "  msg %s", msg);
}

int
main(void)
{
	int64_t ref;

	logline_timezone("UTC");
	time_parse_arg("2026-11-25T00:00:00Z", &ref);
	logline_ctx_init(&ctx, ref);
	check("Nov 24 11:30:25 mx1 postfix/smtpd[123]: connect from x[1.2.3.4]",
	    "2026-11-24T11:30:25.000000Z", "mx1", "postfix/smtpd", 123,
	    "connect from x[1.2.3.4]");
	check("Nov  4 09:11:01 mail postfix/submission/smtpd[27133]: warning: a",
	    "2026-11-04T09:11:01.000000Z", "mail", "postfix/submission/smtpd",
	    27133, "warning: a");
	check("Aug 3 15:30:49 ksusha postfix/smtpd[17041]: x",
	    "2026-08-03T15:30:49.000000Z", "ksusha", "postfix/smtpd", 17041, "x");
	check("2026-11-24T11:30:25.123456+09:00 mx1 dovecot[9]: imap-login: Login",
	    "2026-11-24T02:30:25.123456Z", "mx1", "dovecot", 9, "imap-login: Login");
	check("2026-11-24T11:30:25.5Z h p: m", "2026-11-24T11:30:25.500000Z",
	    "h", "p", -1, "m");
	check("2026-11-24 11:30:25 auth-worker(22401): Info: pam(u,1.2.3.4): x",
	    "2026-11-24T11:30:25.000000Z", "", "auth-worker", 22401,
	    "Info: pam(u,1.2.3.4): x");
	check("Nov 24 11:30:25 imap-login: Info: Login: user=<a>",
	    "2026-11-24T11:30:25.000000Z", "", "imap-login", -1,
	    "Info: Login: user=<a>");
	check("2013-08-11 03:56:40 auth-worker(default): Info: x",
	    "2013-08-11T03:56:40.000000Z", "", "auth-worker(default)", -1,
	    "Info: x");
	check("Nov 24 10:00:00 imap(bob): Info: Disconnected: Logged out",
	    "2026-11-24T10:00:00.000000Z", "", "imap(bob)", -1,
	    "Info: Disconnected: Logged out");
	check("@400000004c91b044077a9e94 imap-login: Info: Aborted",
	    "2010-09-16T05:51:00.125476Z", "", "imap-login", -1, "Info: Aborted");
	check("mail postfix/smtpd[1]: warning: journal form",
	    "1970-01-01T00:00:00.000000Z", "mail", "postfix/smtpd", 1,
	    "warning: journal form");
	is_int(ln.hdr, FM_HDR_JOURNAL, "journal form has no time");
	check("<30>Nov 24 11:30:25 mx1 dovecot: imap-login: x",
	    "2026-11-24T11:30:25.000000Z", "mx1", "dovecot", -1, "imap-login: x");

	/* Year inference: a December line read in January is last year's. */
	time_parse_arg("2027-01-02T00:00:00Z", &ref);
	logline_ctx_init(&ctx, ref);
	check("Dec 31 23:59:59 h p[1]: a", "2026-12-31T23:59:59.000000Z", "h",
	    "p", 1, "a");
	check("Jan  1 00:00:01 h p[1]: b", "2027-01-01T00:00:01.000000Z", "h",
	    "p", 1, "b");
	logline_ctx_init(&ctx, 0);
	ctx.fixed_year = 2005;
	check("Jun 13 16:30:54 h p[1]: c", "2005-06-13T16:30:54.000000Z", "h",
	    "p", 1, "c");

	/* Time zone of times without offset. */
	logline_timezone("Asia/Tokyo");
	logline_ctx_init(&ctx, 0);
	ctx.fixed_year = 2026;
	check("Nov 24 11:30:25 h p[1]: d", "2026-11-24T02:30:25.000000Z", "h",
	    "p", 1, "d");
	logline_timezone("UTC");

	/* Junk is refused, never crashes. */
	ok(parse("") == -1, "empty line refused");
	ok(parse("Nov 24 11:30:25") == -1, "time only refused");
	ok(parse("Nov 24 11:30:25 ") == -1, "time and space refused");
	ok(parse("Foo 24 11:30:25 h p: m") == -1 || ln.hdr == FM_HDR_JOURNAL,
	    "bad month is not a time");
	ok(parse("Nov 99 11:30:25 h p: m") == -1 || ln.hdr == FM_HDR_JOURNAL,
	    "bad day is not a time");
	ok(parse("just some words") == -1, "words refused");
	ok(parse("2026-13-24T11:30:25Z h p: m") == -1 || ln.hdr == FM_HDR_JOURNAL,
	    "month 13 is not a time");
	{
		/* Every prefix of a valid line: no crash, no read past the end. */
		const char *full = "2026-11-24T11:30:25.123456+09:00 mx1 p[12]: m";
		size_t i, bad = 0;
		char *copy;

		for (i = 0; i <= strlen(full); i++) {
			copy = xmemdup(full, i);
			if (logline_parse(&ctx, copy, i, &ln) == 0 &&
			    ln.msg + ln.msglen > copy + i)
				bad++;
			free(copy);
		}
		is_int(bad, 0, "prefixes never read past the end");
	}
	return done_testing();
}
