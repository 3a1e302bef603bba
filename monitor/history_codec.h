/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * history_codec.h - the stored (compact) form of an account's history
 * records, expanded back to their documented JSON (doc/redis.md): the
 * message records of <tag>:m:<day> and the login roll-ups of
 * <tag>:lr:<day>, which the apply script keeps compact (monitor/history.lua),
 * and the recent attempts of <tag>:logins, which model.c keeps compact.
 * Every reader gets the JSON through history_expand_day and
 * history_expand_logins, called where those keys are read (history_fetch,
 * cmd_account.c).
 *
 * SECURITY: stored records hold attacker-controlled text, kept JSON-escaped
 * by the writers; expansion copies it between quotes or escapes it again,
 * and never reads past a value.  A value that is not in the stored form is
 * left as it is.
 */
#ifndef FM_HISTORY_CODEC_H
#define FM_HISTORY_CODEC_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "util.h"

#define HISTORY_DAY_LR	1	/* a :lr:<day> hash (roll-ups) */
#define HISTORY_DAY_M	2	/* a :m:<day> hash (messages) */

/* history_expand_msg - the JSON record of stored message p (n bytes) of
 * hash field "<host>|<qid>" of day "YYYYMMDD" of account acct (raw bytes)
 * into out (appended) */
void history_expand_msg(struct buf *out, const char *day, const char *field,
    size_t flen, const char *acct, size_t alen, const char *p, size_t n);
/* history_expand_rollup - the JSON record of stored roll-up p (n bytes) of
 * day "YYYYMMDD" into out (appended) */
void history_expand_rollup(struct buf *out, const char *day, const char *p,
    size_t n);
/* history_expand_day - the values of an HGETALL reply of a day hash (what:
 * HISTORY_DAY_LR or HISTORY_DAY_M) replaced, in place, by their JSON; a
 * value already JSON (starting with '{') is kept */
void history_expand_day(redisReply *r, int what, const char *day,
    const char *acct, size_t alen);
/* history_expand_login - the JSON record of stored :logins record p (n
 * bytes) appended to out; -1 (out unchanged) when p is not in the stored
 * form */
int history_expand_login(struct buf *out, const char *p, size_t n);
/* history_expand_logins - the elements of an LRANGE reply of :logins
 * replaced, in place, by their JSON; an element already JSON (starting with
 * '{') or not in the stored form is kept */
void history_expand_logins(redisReply *r);

#endif
