/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sessions.h - an account's open IMAP, POP3 and SMTP sessions: which events
 * open and end one, and the E operation of the apply script that keeps them
 * in <tag>:sess (doc/sessions.md).  model.c hands every event to
 * sessions_event; the Lua side is monitor/sessions.lua.
 */
#ifndef FM_SESSIONS_H
#define FM_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"
#include "fumidai/plugin.h"

struct geo;
struct sessions;

#define SESSIONS_CAP	64	/* open sessions kept per account */

/* sessions_new - a reusable builder; cf is borrowed for its lifetime */
struct sessions *sessions_new(const struct fumidai *cf);
void sessions_free(struct sessions *ss);

/* sessions_want - whether ev opens or ends a session of a named account
 * (a login or logout / disconnect with an account and a session id) */
int sessions_want(const struct fm_event *ev);

/* One argument of the operation, for the caller to append (copied). */
typedef void sessions_put_fn(void *arg, const void *p, size_t n);

/*
 * sessions_event - the E operation of ev (sessions_want true) as its
 * arguments, in order, through put: "E" ":sess" kind field time record
 * cfg.  kind is "s" (start) or "e" (end); field "<host>|<service>|<id>";
 * time Unix seconds; record the session's JSON (start) or the end time in
 * ISO 8601 (end);
 * cfg "max_age,cap,enabled,countries,asns".  us is the event's time
 * (microseconds; the batch's when the line had none); g (may be NULL)
 * places the client address.
 */
void sessions_event(struct sessions *ss, const struct fm_event *ev,
    int64_t us, struct geo *g, sessions_put_fn *put, void *arg);

#endif
