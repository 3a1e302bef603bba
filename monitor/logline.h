/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * logline.h - split a log line's header: time, host, program tag, pid.
 *
 * Understood: RFC 3164 ("Nov 24 11:30:25 host prog[pid]: msg", year
 * inferred), RFC 3339 / ISO 8601 with fraction and offset ("2026-11-24T
 * 11:30:25.123456+09:00 host ..."), Dovecot's log_path format ("Nov 24
 * 11:30:25 imap-login: Info: ...", "2026-11-24 11:30:25 auth: ..."),
 * daemontools TAI64N ("@4000000060... prog: ..."), and journal lines with no
 * time ("host prog[pid]: msg").  Times without offset are in the configured
 * zone (logline_timezone).
 *
 * SECURITY: the line is untrusted; nothing outside [p, p+n) is read.
 */
#ifndef FM_LOGLINE_H
#define FM_LOGLINE_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai/plugin.h"

/* Per-input state for year inference. */
struct logline_ctx {
	int64_t ref;		/* reference time (us): now, or a file's mtime */
	int year;		/* year of the last RFC 3164 line, 0 before any */
	int mon;		/* its month 0-11 */
	int fixed_year;		/* year of the first line (parse --year), 0: infer */
};

/* logline_days_from_civil - days since 1970-01-01 of a proleptic Gregorian
 * date */
int64_t logline_days_from_civil(int y, int m, int d);
/* logline_timezone - zone for times without offset; NULL or "" = system */
int logline_timezone(const char *tz);
void logline_ctx_init(struct logline_ctx *c, int64_t ref_us);
/* logline_parse - 0 and *out filled, or -1 when the header is malformed */
int logline_parse(struct logline_ctx *c, const char *p, size_t n,
    struct fm_line *out);
/* logline_localtime - epoch us of a broken-down local time (cached mktime) */
int64_t logline_localtime(int year, int mon, int mday, int hour, int min,
    int sec, long usec);

#endif
