/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit.h - the posture audits behind `fumidai audit relay|smtp|op25b`
 * (cmd_audit.c dispatches; audit_relay.c, audit_smtp.c, audit_op25b.c run
 * one each on a libevent base through smtpc.h).  Exit status of every
 * audit: 0 passes, 1 findings, 2 could not run (or no conclusion).
 *
 * The part shared by the SMTP audits lives here: the target "HOST[:PORT]",
 * and audit_hello, which drives greeting, EHLO (HELO fallback) and
 * STARTTLS + EHLO again, remembering what was advertised before TLS.
 *
 * SECURITY: server replies are untrusted; they reach the terminal only
 * through audit_print_escaped and JSON only through json_str.
 */
#ifndef FM_AUDIT_H
#define FM_AUDIT_H

#include <stdio.h>

#include "smtpc.h"

struct buf;

enum { AUDIT_PASS = 0, AUDIT_FINDINGS = 1, AUDIT_NORUN = 2 };

/* "HOST", "HOST:PORT", "[V6]:PORT" */
struct audit_target {
	char host[256];
	char port[16];
};
int audit_target_parse(const char *arg, const char *defport,
    struct audit_target *t, char *err, size_t errlen);

/* The opening of an SMTP dialogue, step by step. */
enum audit_hello_phase {
	AH_GREETING, AH_EHLO, AH_HELO, AH_STARTTLS, AH_TLS, AH_EHLO_TLS,
	AH_READY, AH_FAILED,
};
struct audit_hello {
	enum audit_hello_phase phase;
	const char *helo;		/* borrowed: our EHLO name */
	int no_tls;			/* do not try STARTTLS */
	int banner_code;
	char *banner;			/* greeting text (owned) */
	char *name;			/* server's name from the greeting */
	int esmtp;			/* EHLO was accepted */
	char *auth_plain;		/* AUTH params before TLS, or NULL */
	char *auth_tls;			/* AUTH params after TLS, or NULL */
	int starttls_offered;
	int starttls_code;		/* reply to STARTTLS, 0 if not sent */
	int vrfy_ext;			/* VRFY listed in EHLO */
	char err[300];			/* why AH_FAILED */
};
void audit_hello_init(struct audit_hello *h, const char *helo, int no_tls);
void audit_hello_free(struct audit_hello *h);
/* audit_hello_step - feed one smtpc event; 1 when ready for the audit's
 * own commands, 0 while still opening, -1 when the session failed */
int audit_hello_step(struct audit_hello *h, struct smtpc *c,
    enum smtpc_ev ev);

/* audit_print_escaped - s on fp with non-printable bytes as \xNN */
void audit_print_escaped(FILE *fp, const char *s);
/* audit_base - a new event base (exits 2 when none can be made) */
struct event_base *audit_base(void);

int audit_relay(int argc, char **argv);
int audit_smtp(int argc, char **argv);
int audit_op25b(int argc, char **argv);

#endif
