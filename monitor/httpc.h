/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * httpc.h - the notifiers' HTTP client: one POST at a time per call, on the
 * event loop (libevent's evhttp), over http:// or https://.  HTTPS verifies
 * the server's certificate against the system's CA store (OpenSSL's default
 * paths: SSL_CERT_FILE / SSL_CERT_DIR override them) and its name (or
 * address) against the URL's host.  Each request has its own connection
 * (Connection: close); nothing is retried here: the caller decides.
 *
 * Results (FM_NOTIFY_* of fumidai/notifier.h): a 2xx answer is OK; a 4xx
 * is DROP, except 408 and 429 (RETRY); any other answer, a refused or lost
 * connection, a TLS or certificate failure, a timeout is RETRY; a URL or a
 * header that cannot be sent is DROP.
 *
 * SECURITY: the URL and the header lines come from the configuration and
 * the plugins; a header holding CR or LF, or a name that is not an HTTP
 * token, is refused (DROP) before anything is sent.  The body is sent as
 * given.  The server's answer is untrusted: only its status code and a
 * log_escape'd, bounded reason phrase reach the detail.
 */
#ifndef FM_HTTPC_H
#define FM_HTTPC_H

#include <stddef.h>

#include "fumidai/notifier.h"

struct event_base;
struct httpc;

#define HTTPC_TIMEOUT_S		30	/* connect, and each read or write */
#define HTTPC_BODY_MAX		(1024 * 1024)	/* answer bodies past it: RETRY */
#define HTTPC_DETAIL_MAX	200	/* bytes of a detail */

/* httpc_new - a client on base (TLS context made on first use) */
struct httpc *httpc_new(struct event_base *base);
/*
 * httpc_post - POST len bytes of body to url with extra header lines
 * ("Name: value"); timeout_s <= 0 means HTTPC_TIMEOUT_S.  Everything is
 * copied.  done(token, FM_NOTIFY_*, detail) runs exactly once, possibly
 * before this returns (a bad URL); detail is borrowed until it returns.
 */
void httpc_post(struct httpc *h, const char *url, const char *const *headers,
    size_t nheaders, const char *body, size_t len, int timeout_s,
    fm_done_fn *done, void *token);
/* httpc_pending - requests whose done has not run yet */
size_t httpc_pending(const struct httpc *h);
/* httpc_free - drop every request in flight (their done never runs) and
 * free the client; NULL is fine */
void httpc_free(struct httpc *h);

#endif
