/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * webchild.h - `fumidai run`'s supervision of the dashboard: with
 * web.enabled it starts `fumidai web [-c FILE]` as a child process and
 * starts it again when it dies, after a pause that doubles from 1 s to
 * 60 s (back to 1 s once a child has lived a minute); stopping the daemon
 * (or a reload) stops the child with SIGTERM.  The child also gets
 * SIGTERM should the daemon die without stopping it (PR_SET_PDEATHSIG).
 *
 * Why a process of its own: see web.h.
 */
#ifndef FM_WEBCHILD_H
#define FM_WEBCHILD_H

#include <sys/types.h>

#include "fumidai.h"

struct event_base;
struct webchild;

#define WEBCHILD_BACKOFF_MIN_MS	1000
#define WEBCHILD_BACKOFF_MAX_MS	60000
#define WEBCHILD_STABLE_MS	60000	/* a child this old resets the pause */
#define WEBCHILD_POLL_MS	500	/* waitpid polling */
#define WEBCHILD_STOP_MS	5000	/* SIGTERM, then SIGKILL after this */

/* webchild_new - start supervising (NULL when web.enabled is false); cf
 * is borrowed until webchild_free */
struct webchild *webchild_new(struct event_base *base,
    const struct fumidai *cf);
/* webchild_free - stop the child and wait for it; NULL is fine */
void webchild_free(struct webchild *wc);
/* webchild_spawn - fork and exec fumidai's own binary with argv (stdin
 * /dev/null, no other inherited descriptor, SIGTERM when the parent dies);
 * the child's pid, or -1 */
pid_t webchild_spawn(const char *const *argv);
/* webchild_reap - wait for child pid: after SIGTERM and at most stop_ms,
 * then SIGKILL, when stop_ms > 0; its exit status (-signal, -1 error) */
int webchild_reap(pid_t pid, int stop_ms);
/* webchild_pid - the running child's pid, 0 when none (for tests) */
long webchild_pid(const struct webchild *wc);

#endif
