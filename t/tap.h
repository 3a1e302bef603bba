/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tap.h - a tiny TAP producer for the C unit tests (header-only).
 *   plan(n) / plan_no_plan(); ok(cond, fmt, ...); is_int(got, want, name);
 *   is_str(got, want, name); skip_all(reason); done_testing().
 */
#ifndef FM_TAP_H
#define FM_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

static inline void
plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline void
skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

static inline void
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static inline int
ok_(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}
#define ok(cond, ...) ok_(!!(cond), __VA_ARGS__)

#define is_int(got, want, name) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (!ok(g_ == w_, "%s", name))					\
		diag("  got: %lld, expected: %lld", g_, w_);		\
} while (0)

#define is_str(got, want, name) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (!ok(g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0, "%s", name)) \
		diag("  got: '%s', expected: '%s'", g_ ? g_ : "(null)",	\
		    w_ ? w_ : "(null)");				\
} while (0)

static inline int
done_testing(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
