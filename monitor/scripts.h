/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scripts.h - the Lua script that applies one batch to one subject
 * (account, client address, or the global subject), and the key names the
 * subjects share.  doc/redis.md describes every key.
 *
 * SECURITY: account names are attacker-controlled bytes: they reach keys
 * only hex-encoded inside the subject's hash tag, so no name can forge
 * another subject's keys or move them to another Cluster slot.
 */
#ifndef FM_SCRIPTS_H
#define FM_SCRIPTS_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"
#include "util.h"

/* scripts_apply_text - the Lua source of the apply script */
const char *scripts_apply_text(void);
/* scripts_apply_sha - its SHA-1 in hex, as SCRIPT LOAD returns it */
const char *scripts_apply_sha(void);
/* scripts_post_text / scripts_post_sha - the script that files alerts in
 * the global stream (detect.c) */
const char *scripts_post_text(void);
const char *scripts_post_sha(void);
/* archive_lua / scripts_archive_sha - the script that reads and folds an
 * account's archived days (monitor/archive_main.lua, compact.c) */
extern const char archive_lua[];
const char *scripts_archive_sha(void);
/* scripts_sha1_hex - SHA-1 of p in hex into out (>= 41 bytes) */
void scripts_sha1_hex(const void *p, size_t n, char *out);

/* scripts_tag_* - a subject's hash-tagged key stem appended to b:
 * "<prefix>{a:<hex(acct)>}", "<prefix>{ip:<text>}",
 * "<prefix>{n:<text>/<plen>}" (a network), "<prefix>{g}" */
void scripts_tag_account(struct buf *b, const struct fumidai *cf,
    const char *acct, size_t len);
void scripts_tag_ip(struct buf *b, const struct fumidai *cf, int af,
    const uint8_t *addr);
void scripts_tag_net(struct buf *b, const struct fumidai *cf, int af,
    const uint8_t *addr, int plen);
void scripts_tag_global(struct buf *b, const struct fumidai *cf);

/* scripts_day - "YYYYMMDD" (UTC) of us into out (>= 9 bytes) */
void scripts_day(int64_t us, char *out);

/* scripts_json_bin - JSON string body of untrusted bytes (no quotes); a
 * byte of invalid UTF-8 becomes \u00XX so the result is always valid JSON */
void scripts_json_bin(struct buf *b, const char *p, size_t n);

/* scripts_kind_name - "login_ok", "msg_queued", ...; "other" when unknown */
const char *scripts_kind_name(int kind);

#define SCRIPTS_SET_CAP		1000	/* members kept per capped set */
#define SCRIPTS_ROLLUP_CAP	1000	/* login roll-up fields per account day */
#define SCRIPTS_TOP_CAP		1000	/* members kept per global top zset */
#define SCRIPTS_QID_TTL		(5 * 86400)	/* queue id state, seconds */
#define SCRIPTS_ALERTS_MAX	100000	/* entries kept in the alert stream */

/* The detectors' Lua (detect.c), appended to the apply script. */
extern const char detect_lua[];

#endif
