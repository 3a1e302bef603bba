/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fumidai/plugin.h - the one header a fumidai plugin includes.
 *
 * A log-parser plugin exports exactly one symbol, `fm_parser_plugin`, a const
 * struct fm_parser.  The core splits the log into lines, validates them (UTF-8,
 * no NUL, length), parses the syslog / log_path header once (time, host,
 * program tag, pid) and hands each line to the parser that claims its program
 * tag.  The parser fills a struct fm_event in place and calls emit() for each
 * event the line carries.
 *
 * Ownership: every struct fm_str in a line or an event points into memory the
 * core owns; it is borrowed until the call returns.  Strings are NOT
 * NUL-terminated and are attacker-controlled (account names, HELO names):
 * treat them as binary, never print them unescaped.
 *
 * SECURITY: a parser must not read outside [msg, msg + msglen) and must accept
 * any byte sequence there without crashing.
 */
#ifndef FUMIDAI_PLUGIN_H
#define FUMIDAI_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bumped whenever a struct below changes layout or meaning. */
#define FM_PLUGIN_ABI 3

/* A byte string that is not NUL-terminated; len 0 means absent. */
struct fm_str {
	const char *p;
	size_t len;
};

#define FM_STR_SET(s, ptr, n) do { (s).p = (ptr); (s).len = (n); } while (0)

enum fm_kind {
	FM_EV_NONE = 0,
	FM_EV_LOGIN_OK,		/* authentication succeeded (account, ip, mech) */
	FM_EV_LOGIN_FAIL,	/* authentication failed; attempts >= 1 */
	FM_EV_CONNECT,		/* client connected (postfix smtpd) */
	FM_EV_DISCONNECT,	/* client left; auth_ok / auth_fail counters */
	FM_EV_LOGOUT,		/* authenticated session ended (dovecot imap/pop3) */
	FM_EV_MSG_SUBMIT,	/* smtpd accepted a message: queue id, client, account */
	FM_EV_MSG_ID,		/* cleanup: queue id -> message-id */
	FM_EV_MSG_QUEUED,	/* qmgr: queue id, sender, size, nrcpt */
	FM_EV_DELIVERY,		/* one recipient's delivery attempt: rcpt, relay, status */
	FM_EV_MSG_DONE,		/* qmgr removed the message */
	FM_EV_REJECT,		/* NOQUEUE: reject ... (reason, sender, rcpt) */
	FM_EV__COUNT
};

/* Where a login event comes from; the correlator uses it to count an attempt
 * that both a front end and the auth process logged exactly once. */
enum fm_origin {
	FM_ORIGIN_FRONT = 0,	/* the server the client talked to (smtpd, imap-login) */
	FM_ORIGIN_AUTHD = 1,	/* a password backend (dovecot auth, pam_unix) */
};

/* Which header format a line was in. */
enum fm_hdr {
	FM_HDR_SYSLOG = 0,	/* "TIME host prog[pid]: msg" (RFC 3164 / RFC 3339 time) */
	FM_HDR_NOHOST,		/* "TIME prog[pid]: msg" (dovecot log_path, TAI64N) */
	FM_HDR_JOURNAL,		/* "host prog[pid]: msg" with no time */
};

/* One log line after the core parsed its header. */
struct fm_line {
	int64_t time;		/* microseconds since the epoch, UTC; 0 if none */
	int hdr;		/* enum fm_hdr */
	struct fm_str host;	/* empty when the format has none */
	struct fm_str program;	/* tag without pid: "postfix/submission/smtpd" */
	long pid;		/* -1 when absent */
	const char *msg;	/* text after "prog[pid]: " */
	size_t msglen;
};

/* A normalized event.  Fields not set are zero / empty.  The core zeroes the
 * struct (and copies time, host, program, pid, source) before each parse call. */
struct fm_event {
	int kind;		/* enum fm_kind */
	int origin;		/* enum fm_origin */
	int64_t time;		/* microseconds since the epoch, UTC */
	struct fm_str host;	/* server that logged it */
	struct fm_str program;
	struct fm_str service;	/* smtp submission smtps pop3 imap managesieve lmtp ... */
	struct fm_str account;	/* login name / sasl_username, binary */
	struct fm_str mech;	/* PLAIN LOGIN CRAM-MD5 ... */
	struct fm_str queue_id;
	struct fm_str session;	/* dovecot session id; postfix: "smtpd pid" */
	struct fm_str msgid;	/* Message-ID without <> */
	struct fm_str sender;	/* envelope sender (may be empty for <>) */
	struct fm_str rcpt;	/* one recipient */
	struct fm_str relay;
	struct fm_str status;	/* sent deferred bounced expired ... */
	struct fm_str reason;	/* failure reason / reply text */
	struct fm_str client_name; /* reverse name of the client or "unknown" */
	uint8_t af;		/* 0 none, 4 or 6 */
	uint8_t addr[16];	/* client address, network order (v4 in the first 4) */
	int64_t size;		/* message size, -1 unknown */
	int nrcpt;		/* recipients (qmgr nrcpt=) */
	int attempts;		/* failed attempts a login-fail line stands for */
	int auth_ok, auth_fail;	/* disconnect line's auth=OK/TOTAL split */
	long pid;
	int flags;		/* FM_F_* */
	/* Set by the core, not by parsers. */
	uint32_t input;		/* index of the input that read the line */
	uint64_t line_no;	/* 1-based line number in that input */
	/* Set by the correlator on a message it attributed by POP-before-SMTP:
	 * the login that is the evidence (via_time 0: none). */
	int64_t via_time;	/* that login's time, us */
	struct fm_str via_service; /* its service: "pop3" or "imap" */
	int via_accounts;	/* distinct accounts from the address in the window */
	/* ABI 3: a message's Subject (cleanup's header_checks INFO/WARN
	 * line, kind MSG_ID with no msgid) and a delivery's DSN code. */
	struct fm_str subject;
	struct fm_str dsn;	/* "2.0.0", "5.1.1" ... */
	/* Set by the correlator on a MSG_SUBMIT that is not its SMTP
	 * session's first: when that session logged in (0: this line). */
	int64_t login_time;
};

#define FM_F_INFERRED	0x01	/* account attributed by correlation, not logged */
#define FM_F_NOSESSION	0x02	/* authd line that named no session */

/* What parse() returns. */
enum fm_parse_result {
	FM_PARSE_UNKNOWN = 0,	/* line not understood (counted as unrecognized) */
	FM_PARSE_IGNORED = 1,	/* understood but carries no event */
	FM_PARSE_EVENT = 2,	/* emit() was called at least once */
};

/* The core's callback; ev is borrowed until it returns. */
typedef void fm_emit_fn(void *arg, const struct fm_event *ev);

/* Log callback; level is one of FM_LOG_*; msg is printed as is. */
#define FM_LOG_ERR	0
#define FM_LOG_WARN	1
#define FM_LOG_INFO	2
#define FM_LOG_DEBUG	3
typedef void fm_log_fn(int level, const char *msg);

struct fm_parser {
	int abi;		/* FM_PLUGIN_ABI */
	const char *name;	/* "postfix", "dovecot" */
	const char *description;
	/* claims - whether this parser handles lines with this program tag */
	int (*claims)(const char *prog, size_t len);
	/* init - private state, or NULL with *err set; log may be stored */
	void *(*init)(fm_log_fn *log, const char **err);
	/* parse - fill *ev (pre-zeroed by the core) and emit; see enum above */
	int (*parse)(void *self, const struct fm_line *ln, struct fm_event *ev,
	    fm_emit_fn *emit, void *arg);
	void (*free)(void *self);
};

/* fm_memeq - memcmp(a, b, n) == 0 without the library call, for the short
 * fields, keys and tags of the per-line path (core and plugins alike): a word at a time, the last (partial)
 * word as the overlapping last full one */
static inline int
fm_memeq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	uint64_t u, v, acc = 0;
	uint32_t s, t;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&u, x + i, 8);
			memcpy(&v, y + i, 8);
			acc |= u ^ v;
		}
		memcpy(&u, x + n - 8, 8);
		memcpy(&v, y + n - 8, 8);
		return (acc | (u ^ v)) == 0;
	}
	if (n >= 4) {
		memcpy(&s, x, 4);
		memcpy(&t, y, 4);
		acc = s ^ t;
		memcpy(&s, x + n - 4, 4);
		memcpy(&t, y + n - 4, 4);
		return (acc | (s ^ t)) == 0;
	}
	return n == 0 || (x[0] == y[0] && x[n >> 1] == y[n >> 1] &&
	    x[n - 1] == y[n - 1]);
}

/* The symbol each parser plugin exports. */
#define FM_PARSER_SYMBOL "fm_parser_plugin"

#endif
