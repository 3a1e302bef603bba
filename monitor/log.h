/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.h - the daemon's own log: key=value lines on stderr (or syslog when
 * running detached).  Callers escape attacker-controlled text themselves
 * (log_escape) before it reaches a format argument.
 */
#ifndef FM_LOG_H
#define FM_LOG_H

#include <stdarg.h>

enum { LOG_TO_STDERR = 0, LOG_TO_SYSLOG = 1 };

void log_init(int to, int verbose);
void log_setverbose(int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* + errno */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal / fatalx - log and exit(1); only before the loop starts */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* log_plugin - the fm_log_fn handed to plugins */
void log_plugin(int level, const char *msg);

#endif
