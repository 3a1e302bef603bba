/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rlink.h - a small asynchronous Redis link for the daemon's side services
 * (audit scheduler, notifiers, policy server): one hiredis async context on
 * the event loop, AUTH/SELECT as configured, reconnect with backoff.  Unlike
 * the store it queues nothing: a command while the link is down fails at
 * once, and the caller decides (retry later, answer DUNNO, ...).
 *
 * SECURITY: arguments are binary-safe (argv/argvlen); nothing is formatted
 * into a command string.
 */
#ifndef FM_RLINK_H
#define FM_RLINK_H

#include <stddef.h>

#include "fumidai.h"

struct event_base;
struct redisReply;
struct rlink;

/* rlink_cb - the reply (an error reply included), or NULL when the link was
 * lost before it came */
typedef void rlink_cb(void *arg, struct redisReply *reply);

/* rlink_new - connect per cf->redis (the embedded server's socket when none
 * is configured); who names the service in logs.  cf is borrowed. */
struct rlink *rlink_new(struct event_base *base, const struct fumidai *cf,
    const char *who);
/* rlink_ready - connected and authenticated */
int rlink_ready(const struct rlink *l);
/* rlink_cmd - send a command; 0, or -1 when the link is not ready (cb is
 * then not called) */
int rlink_cmd(struct rlink *l, rlink_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen);
/* rlink_cmdv - the same from a NULL-terminated list of C strings */
int rlink_cmdv(struct rlink *l, rlink_cb *cb, void *arg, ...);
/* rlink_key - "<prefix>" + suffix into a new string (free it) */
char *rlink_key(const struct fumidai *cf, const char *suffix);
/* rlink_free - close; pending callbacks get NULL, now (so free what they
 * use after this); never call it from inside one of its callbacks */
void rlink_free(struct rlink *l);

#endif
