/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_history.h - an account's history over a time range, read from Redis
 * (cmd_history.c), for `fumidai history` and `fumidai incident`: its recent
 * login records, the day roll-ups of its logins (count, first, last,
 * place) and the messages it sent (recipients and their delivery status,
 * Subject, the login that sent it), and their NDJSON and CSV forms.
 *
 * SECURITY: the records hold text from logs.  The writers escape it (JSON:
 * as stored by fumidai, valid with every unsafe byte escaped; CSV: quoted,
 * terminal-escaped, formulas defused).
 */
#ifndef FM_CMD_HISTORY_H
#define FM_CMD_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "fumidai.h"
#include "util.h"

#define DAY_US		((int64_t)86400 * 1000000)

/* what history_json / history_csv write */
#define HISTORY_LOGINS	1	/* login records and roll-ups */
#define HISTORY_SENT	2	/* messages */

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

/* One login roll-up of a day: result|ip|service, its count and record
 * ({"n","first","last","mech","host","reason","cc","city","asn","asorg"}). */
struct rollup {
	char day[9];		/* YYYYMMDD */
	struct buf result, ip, service;
	long long n;
	const redisReply *r;	/* the stored record, borrowed from rdays */
};

/* One stored record in range, with its time (0: unreadable). */
struct rec {
	const redisReply *r;	/* borrowed from rlogins / rdays */
	int64_t t;
};

/* Set cf, name, since, until, ranged, logins, sent; history_fetch fills in
 * the rest; history_free frees it (not cf). */
struct history {
	const struct fumidai *cf;
	struct buf name;	/* the account, raw bytes */
	int64_t since, until;	/* [since, until), us */
	int ranged;		/* a range was asked: drop records without time */
	int has_since;
	int logins, sent;	/* what to read */
	enum fmt fmt;
	redisReply *rlogins;	/* :logins, the recent attempts */
	redisReply **rdays;	/* the day hashes read (:lr:, :m:) */
	size_t nrdays;
	struct rec *vl, *vm;	/* in range, oldest first */
	size_t nl, nm;
	struct rollup *roll;	/* by day, result, address, service */
	size_t nroll;
	char err[512];
};

/* history_fetch - read the account's records of the range: 0, or -1 with
 * h->err set */
int history_fetch(redisContext *c, struct history *h);
/* history_json - one JSON object per line, "type" first */
void history_json(struct buf *b, const struct history *h, int what);
/* history_csv - a header row and one row per record (CRLF) */
void history_csv(struct buf *b, const struct history *h, int what);
/* history_csv_text - one untrusted CSV text field, quoted and defused */
void history_csv_text(struct buf *b, const char *p, size_t n);
void history_free(struct history *h);

#endif
