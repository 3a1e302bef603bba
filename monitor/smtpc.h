/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * smtpc.h - a small non-blocking SMTP client on a libevent base, for the
 * posture audits (audit_relay.c, audit_smtp.c, audit_op25b.c) and for
 * notification mail (mailout.c).
 *
 * One struct smtpc is one TCP connection.  smtpc_connect starts it and
 * reads the greeting; after that the caller sends one command at a time
 * (smtpc_cmd) and its callback runs once per complete reply.  STARTTLS
 * (smtpc_starttls, after a 220 to "STARTTLS") and implicit TLS (port 465)
 * wrap the connection in libevent's OpenSSL filter.  Certificates are NOT
 * verified: an audit looks at the posture, it sends nothing secret.
 *
 * Every line sent and received is kept in a transcript ("C: ", "S: " and
 * "*: " for connection events) for --json output.
 *
 * SECURITY: everything the server says is untrusted: replies are bounded
 * (SMTPC_LINE_MAX per line, SMTPC_REPLY_LINES lines), kept as bytes and
 * must be escaped (json_escape, log_escape) by whoever prints them.  Data
 * left in the buffer when TLS starts is discarded (no STARTTLS injection).
 */
#ifndef FM_SMTPC_H
#define FM_SMTPC_H

#include <stddef.h>

struct event_base;
struct buf;
struct smtpc;

#define SMTPC_LINE_MAX		4096
#define SMTPC_REPLY_LINES	256

/* What the callback is told. */
enum smtpc_ev {
	SMTPC_EV_REPLY,		/* a complete reply: smtpc_code, smtpc_text */
	SMTPC_EV_TLS,		/* TLS handshake after STARTTLS done */
	SMTPC_EV_ERROR,		/* connection over: smtpc_error, smtpc_errkind */
};

/* Why a connection failed (SMTPC_EV_ERROR). */
enum smtpc_errkind {
	SMTPC_E_NONE,
	SMTPC_E_REFUSED,	/* connect: refused, reset or unreachable */
	SMTPC_E_CONNECT_TIMEOUT,/* connect: no answer in time (filtered) */
	SMTPC_E_TIMEOUT,	/* connected, but a reply did not come in time */
	SMTPC_E_CLOSED,		/* the server closed or reset the connection */
	SMTPC_E_PROTO,		/* a malformed or oversized reply */
	SMTPC_E_TLS,		/* TLS handshake or record error */
	SMTPC_E_OTHER,		/* anything else (resolution, socket) */
};

/* smtpc_cb - runs on every event; the callback may call smtpc_cmd,
 * smtpc_starttls or smtpc_free (nothing of c is used after it returns). */
typedef void smtpc_cb(struct smtpc *c, enum smtpc_ev ev, void *arg);

/* smtpc_new - a client on base; timeout_ms bounds the connect and each
 * reply.  Nothing happens until smtpc_connect. */
struct smtpc *smtpc_new(struct event_base *base, int timeout_ms,
    smtpc_cb *cb, void *arg);
/* smtpc_free - close and free; NULL is fine */
void smtpc_free(struct smtpc *c);

/* smtpc_connect - resolve host (numeric or a name; resolution blocks) and
 * connect to port; with tls set, TLS starts right after the TCP connect
 * (smtps, port 465).  The first SMTPC_EV_REPLY is the greeting.  0, or -1
 * with smtpc_error set (then no callback runs). */
int smtpc_connect(struct smtpc *c, const char *host, const char *port,
    int tls);

/* smtpc_cmd - send one command line (without CRLF; CR and LF in it are
 * refused) and wait for its reply */
int smtpc_cmd(struct smtpc *c, const char *line);
/* smtpc_data - after "354" to DATA: send the message text (n bytes,
 * already dot-stuffed with CRLF line ends; the final "." line is added
 * here) and wait for its reply.  The transcript notes only its size. */
int smtpc_data(struct smtpc *c, const char *p, size_t n);
/* smtpc_starttls - after "220" to STARTTLS: start the handshake; the
 * callback gets SMTPC_EV_TLS or SMTPC_EV_ERROR */
int smtpc_starttls(struct smtpc *c);
/* smtpc_quit - send QUIT and close without waiting for more than its reply;
 * the callback gets the reply (or an error) as usual */
#define smtpc_quit(c)	smtpc_cmd((c), "QUIT")

/* The last reply: code (0 if none), text of all lines without the "250-"
 * prefixes, joined by '\n' (borrowed until the next command). */
int smtpc_code(const struct smtpc *c);
const char *smtpc_text(const struct smtpc *c);
/* smtpc_reply_line - the whole last reply as it came, lines joined by
 * "\n" with their codes (borrowed until the next command) */
const char *smtpc_reply_raw(const struct smtpc *c);

/* smtpc_ext - after a 250 to EHLO: the parameters of extension kw (case
 * insensitive; *len bytes, 0 when it has none; not NUL-terminated), or
 * NULL when not advertised.  The list is the latest EHLO's (a new one
 * replaces it, e.g. after TLS). */
const char *smtpc_ext(const struct smtpc *c, const char *kw, size_t *len);

int smtpc_tls(const struct smtpc *c);		/* 1 once TLS is up */
const char *smtpc_tls_info(const struct smtpc *c);	/* "TLSv1.3 cipher" */
/* smtpc_peer - the address connected to ("127.0.0.1", "::1"), "" before */
const char *smtpc_peer(const struct smtpc *c);
const char *smtpc_error(const struct smtpc *c);
enum smtpc_errkind smtpc_errkind(const struct smtpc *c);
const char *smtpc_errkind_name(enum smtpc_errkind k);

/* smtpc_transcript_json - append the transcript as a JSON array of
 * strings ("C: EHLO x", "S: 250-...", "*: connected 127.0.0.1:25") */
void smtpc_transcript_json(const struct smtpc *c, struct buf *b);

#endif
