/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * correlate.h - tie events together and count each attempt once.
 *
 * - Postfix: queue id -> (account, client, smtpd session); every later event
 *   of that message (message-id, qmgr, deliveries) gets the account and
 *   client of the authenticated submission.  The first sasl_username line of
 *   an smtpd session is also that session's LOGIN_OK; a session whose
 *   disconnect line says auth=N/M with successes but sent nothing becomes a
 *   LOGIN_OK with no account.
 * - Dovecot: a failure logged by the auth process and again by the front end
 *   (Postfix warning, imap-login "auth failed, N attempts") is one attempt.
 * - POP-before-SMTP (off unless a window is set): a message submitted
 *   without SASL from an address that logged into POP3 / IMAP within the
 *   window before is attributed to the newest such login's account, flagged
 *   FM_F_INFERRED, with that login in the event's via_* fields.
 *
 * All state is bounded and expires on event time, never wall time, so the
 * output depends only on the sequence of events fed in.  correlate_save /
 * correlate_load checkpoint it.
 */
#ifndef FM_CORRELATE_H
#define FM_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai/plugin.h"
#include "util.h"

struct correlate;

struct correlate *correlate_new(void);
void correlate_free(struct correlate *c);
/* correlate_pop_window - POP-before-SMTP window in seconds, 0: off (the
 * default) */
void correlate_pop_window(struct correlate *c, int64_t seconds);
/* correlate_event - feed one parsed event; emits zero or more events (some
 * may be earlier ones held back until their partner line arrived). */
void correlate_event(struct correlate *c, const struct fm_event *ev,
    fm_emit_fn *emit, void *arg);
/* correlate_expire - release state older than now (event time, us) */
void correlate_expire(struct correlate *c, int64_t now, fm_emit_fn *emit,
    void *arg);
/* correlate_flush - emit everything held back (end of parse/replay) */
void correlate_flush(struct correlate *c, fm_emit_fn *emit, void *arg);
/* correlate_save / correlate_load - checkpoint; load returns 0 / -1 */
void correlate_save(const struct correlate *c, struct buf *out);
int correlate_load(struct correlate *c, const char *p, size_t n);
/* correlate_size - entries held (for stats and bounds tests) */
size_t correlate_size(const struct correlate *c);

#endif
