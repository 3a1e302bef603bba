/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redisd.h - the embedded Redis: when the configuration names no Redis,
 * fumidai starts redis-server as a child on a unix socket in state_dir
 * (persistence on: appendonly + RDB snapshots in state_dir) and stops it on
 * exit.  The socket path is written into cf->redis.socket.
 */
#ifndef FM_REDISD_H
#define FM_REDISD_H

#include <sys/types.h>

#include "fumidai.h"

struct redisd;

/* redisd_start - start and wait until it answers PING; NULL + err.  quiet:
 * log nothing when all goes well (command-line tools) */
struct redisd *redisd_start(struct fumidai *cf, int quiet, char *err,
    size_t errlen);
/* redisd_stop - SHUTDOWN (saving), reap, free; NULL is fine */
void redisd_stop(struct redisd *r);
pid_t redisd_pid(const struct redisd *r);

#endif
