/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c - the daemon's log.  Lines are "level=... msg"; the message text is
 * the caller's, who has escaped any untrusted part.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_to = LOG_TO_STDERR;
static int log_verbose;

static void vlog(int pri, const char *prefix, const char *fmt, va_list ap,
    int with_errno);

void
log_init(int to, int verbose)
{
	log_to = to;
	log_verbose = verbose;
	if (to == LOG_TO_SYSLOG)
		openlog("fumidai", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

static void
vlog(int pri, const char *prefix, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048];
	int saved = errno;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	if (log_to == LOG_TO_SYSLOG)
		syslog(pri, "%s", msg);
	else
		fprintf(stderr, "fumidai: %s%s\n", prefix, msg);
	errno = saved;
}

#define LOGFN(name, pri, prefix, cond, werr)			\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	if (!(cond))							\
		return;							\
	va_start(ap, fmt);						\
	vlog(pri, prefix, fmt, ap, werr);				\
	va_end(ap);							\
}

LOGFN(log_warn, LOG_WARNING, "warning: ", 1, 1)
LOGFN(log_warnx, LOG_WARNING, "warning: ", 1, 0)
LOGFN(log_info, LOG_INFO, "", 1, 0)
LOGFN(log_debug, LOG_DEBUG, "debug: ", log_verbose, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void
log_plugin(int level, const char *msg)
{
	switch (level) {
	case 0:
	case 1:
		log_warnx("%s", msg);
		break;
	case 2:
		log_info("%s", msg);
		break;
	default:
		log_debug("%s", msg);
	}
}
