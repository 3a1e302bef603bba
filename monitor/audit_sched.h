/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_sched.h - the daemon's scheduled posture audits (audits = ( ... )
 * in the configuration, struct fm_audit).  Each audit runs on its schedule
 * (every N seconds, or daily at HH:MM local time; the first run a few
 * seconds after start, or when the last stored run says it is due) as a
 * child process, `fumidai audit TYPE --json ... TARGET`, so that blocking
 * name lookups and any crash stay out of the daemon.  Its result goes to
 * Redis: the latest in <prefix>{g}:audit:<name>, a history in
 * <prefix>{g}:audit_hist:<name>, and a result worse than the one before
 * files a `posture` alert in the alert stream (doc/redis.md,
 * doc/detection.md).  Runs of one audit never overlap; a run is killed
 * after the audit's timeout.
 *
 * FUMIDAI_AUDIT_EVERY=N (test suites only) runs every audit every N
 * seconds, whatever its schedule says, the first run after at most N.
 *
 * SECURITY: the child's output is the audited servers' words, untrusted:
 * it reaches Redis as bytes (invalid UTF-8 escaped), and logs only through
 * log_escape.
 */
#ifndef FM_AUDIT_SCHED_H
#define FM_AUDIT_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"

struct event_base;
struct audit_sched;

/* audit_sched_new - start scheduling cf's audits on base (NULL when there
 * are none); cf is borrowed and must outlive the scheduler */
struct audit_sched *audit_sched_new(struct event_base *base,
    const struct fumidai *cf);
/* audit_sched_free - stop: a run in progress is killed and reaped, results
 * not yet stored are dropped (logged); accepts NULL */
void audit_sched_free(struct audit_sched *s);
/* The latest run of one audit since the daemon started (/metrics). */
struct audit_stat {
	const char *name;	/* borrowed from the configuration */
	int status;		/* 0 pass, 1 findings, 2 could not run (or
				 * timed out), -N killed by signal N */
	int64_t last_run;	/* its start, us since the epoch */
};
/* audit_sched_stats - up to max audits that ran into out; how many */
size_t audit_sched_stats(const struct audit_sched *s, struct audit_stat *out,
    size_t max);

/* audit_sched_posture_alerts - posture alerts filed since the start */
uint64_t audit_sched_posture_alerts(const struct audit_sched *s);

/* audit_sched_argv0 - the program's argv[0], resolved now (before a daemon
 * changes directory): what runs the audits when /proc/self/exe cannot be
 * read */
void audit_sched_argv0(const char *argv0);

#endif
