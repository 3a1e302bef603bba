/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * compact.h - archived history days (doc/redis.md, "Archived days").
 *
 * An account's day is three hashes while it is recent: its counters
 * (:c:<day>), login roll-ups (:lr:<day>) and messages (:m:<day>).  Once the
 * day is archive_after_days older than the newest event, `fumidai compact`
 * folds them into one compressed string, :h:<day> (monitor/lz.c), which
 * keeps everything they held in less than half the memory.  The daemon
 * runs the pass as a child process whenever the event time passes a day
 * (replay also runs a last pass before it exits); readers go through
 * compact_day_cmd, which gives an archived day, a live one or a mix of both
 * (a late write) in the shape HGETALL gives a live hash.
 */
#ifndef FM_COMPACT_H
#define FM_COMPACT_H

#include <stdint.h>

#include "fumidai.h"

struct redisContext;
struct event_base;

struct compact_stats {
	uint64_t days;		/* account days archived */
	uint64_t fields;	/* hash fields they held */
	uint64_t raw;		/* their bytes before compression */
	uint64_t stored;	/* the archives' bytes */
	uint64_t changed;	/* days written to meanwhile: left for later */
	uint64_t bad;		/* days whose archive could not be read */
};

/* compact_through - the newest day ("YYYYMMDD") to archive when the newest
 * event is at us; "" when archive_after_days is 0 (archiving off) */
void compact_through(const struct fumidai *cf, int64_t us, char out[9]);
/* compact_pass - archive every account day up to through (inclusive);
 * 0, or -1 with err (Redis lost) */
int compact_pass(struct redisContext *c, const struct fumidai *cf,
    const char *through, struct compact_stats *st, char *err, size_t errlen);
/* compact_day_cmd - append (pipelined) the command that reads day hash
 * kind ("c", "lr" or "m") of the account on day, archive included; hand
 * its reply to compact_day_reply.  The connection must have the archive
 * script loaded (store_connect_sync does it). */
void compact_day_cmd(struct redisContext *c, const struct fumidai *cf,
    const char *acct, size_t len, const char *kind, const char *day);
struct redisReply;
/* compact_day_reply - turn *r, the reply to compact_day_cmd of kind, into
 * the day hash as HGETALL would give it: the archive (decompressed here,
 * not in Redis) with the live hash over it, counters added; an error
 * reply is left as it is */
void compact_day_reply(struct redisReply **r, const char *kind);

/* The daemon's side: a child `fumidai compact --through DAY` whenever
 * compact_tick sees the event time pass a day, one at a time. */
struct compactor;
/* compactor_new - NULL when archiving is off; cf is borrowed */
struct compactor *compactor_new(struct event_base *base,
    const struct fumidai *cf);
/* compactor_tick - the newest event time Redis holds (every batch up to
 * one holding it applied) */
void compactor_tick(struct compactor *cm, int64_t us);
/* compactor_free - wait for a running child (SIGTERM first when stop) */
void compactor_free(struct compactor *cm, int stop);

#endif
