/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h - write batches to Redis, exactly once, riding out outages.
 *
 * store_submit turns a batch into one pipelined EVALSHA per subject (account,
 * client address, global) at once, so the batch can be reused as soon as it
 * returns.  Commands go to Redis through hiredis async on the loop; while
 * Redis is away they wait in a bounded memory queue, then in an append-only
 * spool file in state_dir, and are sent in order when it returns.  A batch is
 * "durable" once Redis has answered all of its commands or it is safely in
 * the spool; ack() says so, in submission order.  See doc/redis.md for keys.
 *
 * The ack and drain callbacks may submit batches but must not free the
 * store.  The process must ignore SIGPIPE (Redis may close the socket).
 */
#ifndef FM_STORE_H
#define FM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "fumidai.h"

struct event_base;
struct store;

/* store_ack_fn - every batch up to and including (stream, seq) is durable */
typedef void store_ack_fn(void *arg, const char *stream, uint64_t seq);

#define STORE_KINDS	32	/* alert kinds counted apart */

struct store_stats {
	int connected;		/* Redis link up and scripts loaded */
	uint64_t batches;	/* batches submitted */
	uint64_t applied;	/* batches answered by Redis */
	uint64_t spooled;	/* batches written to the spool */
	uint64_t commands;	/* commands sent */
	uint64_t errors;	/* error replies */
	size_t backlog_bytes;	/* formatted commands waiting in memory */
	uint64_t spool_bytes;	/* bytes in the spool file */
	int64_t latency_us;	/* last round-trip time */
	uint64_t alerts;	/* alerts posted (new and updated) */
	/* alerts opened by this process, by kind (the first STORE_KINDS
	 * kinds seen; kinds are detect.lua's names) */
	struct {
		char kind[32];
		uint64_t n;
	} opened[STORE_KINDS];
	size_t nopened;
};

struct store *store_new(struct event_base *base, const struct fumidai *cf,
    store_ack_fn *ack, void *arg, char *err, size_t errlen);
void store_submit(struct store *s, const struct batch *b);
/* store_pending - batches submitted and not yet durable (backpressure) */
size_t store_pending(const struct store *s);
/* store_drain - call done once every submitted batch is durable */
void store_drain(struct store *s, void (*done)(void *arg), void *arg);
/* store_drain_applied - call done once Redis has applied every batch (the
 * spool included); after wait_ms without Redis, settle for the spool as
 * store_drain does (used by replay, whose user expects the data in Redis) */
void store_drain_applied(struct store *s, int wait_ms,
    void (*done)(void *arg), void *arg);
void store_stats(const struct store *s, struct store_stats *st);
void store_free(struct store *s);

/* Synchronous helpers for the command line (account, stats, tests). */
struct redisContext;
/* store_connect_sync - a blocking connection per cf->redis, or NULL + err */
struct redisContext *store_connect_sync(const struct fumidai *cf, char *err,
    size_t errlen);
struct redisReply;
/* store_sync_reply - the next pipelined reply into *r (caller frees it):
 * 0, 1 for an error reply (err set, *r still to free), -1 link lost */
int store_sync_reply(struct redisContext *c, struct redisReply **r, char *err,
    size_t errlen);
/* store_key_account - "<prefix>{a:<hex(account)>}" + suffix into b */
void store_key_account(struct buf *b, const struct fumidai *cf,
    const char *acct, size_t len, const char *suffix);
/* store_key_pattern - a SCAN MATCH pattern: the prefix, its glob
 * characters escaped, then rest (a pattern) into b */
void store_key_pattern(struct buf *b, const struct fumidai *cf,
    const char *rest);

#endif
