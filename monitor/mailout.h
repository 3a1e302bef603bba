/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailout.h - submit one notification message, without blocking: over SMTP
 * to a relay (smtpc.c on the event loop), or through a sendmail command
 * (fork + exec, the message on a pipe).  The notification core (notify.c)
 * offers it to notifier plugins as their smtp_send service.
 *
 * SMTP: EHLO (HELO when EHLO is refused), STARTTLS when the relay offers it
 * (certificate not verified: the relay is the admin's own), MAIL FROM, RCPT
 * TO for each recipient, DATA (dot-stuffed, CRLF line ends), QUIT.  A 250
 * to the message is FM_NOTIFY_OK; a 5xx greeting, a 5xx to MAIL, DATA or
 * the message, or to every RCPT, is FM_NOTIFY_DROP; a 4xx to any RCPT
 * (then nothing is sent: no recipient gets it twice), any other reply, a
 * refused or lost connection, a TLS failure or a timeout is
 * FM_NOTIFY_RETRY.  When some recipients get a 5xx and the rest a 2xx, the
 * message goes to the accepted ones and the result is OK with a detail
 * saying that some were refused.
 *
 * sendmail: `SENDMAIL -i -f FROM -- RCPT...` with the message (LF line
 * ends, no dot-stuffing: -i) on its standard input; exit 0 is OK;
 * EX_TEMPFAIL, EX_OSERR, EX_OSFILE, EX_IOERR, EX_CANTCREAT, EX_UNAVAILABLE,
 * EX_SOFTWARE, 126/127 (cannot be executed: a fixed configuration delivers
 * it later), death by a signal or MAILOUT_SENDMAIL_MS without an exit are
 * RETRY; any other status is DROP.  The child is reaped by pid (SIGCHLD
 * keeps its default disposition), its first bytes of stderr become the
 * detail.
 *
 * The caller ignores SIGPIPE (the daemon does, engine.c): a sendmail that
 * exits before reading the whole message makes the write fail with EPIPE.
 *
 * SECURITY: from and every recipient must be a plain address
 * (mailout_addr_ok): no CR, LF, NUL, space, '<', '>', leading '-', at most
 * 254 bytes; anything else is FM_NOTIFY_DROP before a connection or a
 * process is made.  The message itself is sent as given (the plugins
 * build it); bare CR and LF become CRLF so that it cannot end the DATA
 * phase early.  Relay replies and sendmail's stderr are untrusted: only
 * log_escape'd text reaches the detail.
 */
#ifndef FM_MAILOUT_H
#define FM_MAILOUT_H

#include <stddef.h>

#include "fumidai/notifier.h"

struct event_base;
struct fumidai;

#define MAILOUT_SMTP_MS		60000	/* connect and each SMTP reply */
#define MAILOUT_SENDMAIL_MS	120000	/* a sendmail run, start to exit */
#define MAILOUT_DETAIL_MAX	200	/* bytes of reply text in a detail */

/*
 * mailout_send - submit msg (len bytes: header, blank line, body) from
 * `from` to nrcpts recipients, through sendmail when it is non-NULL (a
 * command path), else over SMTP to relay "HOST[:PORT]" ("[v6]:PORT" for
 * an IPv6 literal; the port defaults to 25; a host name is resolved with
 * getaddrinfo, which blocks: use an address).  cf names the EHLO host
 * (cf->instance when it is a valid host name, else the system's name);
 * it may be NULL.  Everything is copied: the caller may free its
 * arguments as soon as this returns.  done(token, FM_NOTIFY_*, detail)
 * runs exactly once, possibly before this returns; detail is borrowed
 * until it returns.
 */
void mailout_send(struct event_base *base, const struct fumidai *cf,
    const char *relay, const char *sendmail, const char *from,
    const char *const *rcpts, size_t nrcpts, const char *msg, size_t len,
    fm_done_fn *done, void *token);

/* mailout_addr_ok - whether s is an address mailout accepts */
int mailout_addr_ok(const char *s);

/* mailout_pending - submissions started whose done has not run yet */
size_t mailout_pending(void);

/*
 * mailout_shutdown - at exit: drop every submission in flight (a sendmail
 * child still reading is sent SIGTERM, so it queues nothing half-written,
 * and reaped) and free everything; their done callbacks never run.  The
 * caller must not advance past what was in flight (at-least-once).
 */
void mailout_shutdown(void);

/* mailout_set_timeouts - for tests: SMTP reply and sendmail limits (ms;
 * 0 keeps the default) */
void mailout_set_timeouts(int smtp_ms, int sendmail_ms);

#endif
