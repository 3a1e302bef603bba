/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * weblink.h - the dashboard's signatures (HMAC-SHA256): owner links,
 * admin cookies, and the key that signs both.
 *
 * An owner token is base64url(account bytes) "." expiry (Unix s) "."
 * base64url(HMAC(key, "owner\0" account "\0" expiry)); an admin cookie is
 * expiry "." base64url(HMAC(key, "admin\0" expiry)).  The key is
 * web.secret, else the contents of web.secret_file, else 32 random bytes
 * generated once into <state_dir>/web.key (mode 0600), so the daemon's
 * notifiers and `fumidai web` sign with the same key.
 *
 * SECURITY: tokens come from browsers: they are parsed with bounded
 * lengths, the MAC is compared in constant time, and the account they
 * carry is only ever raw bytes for the callers to escape.
 */
#ifndef FM_WEBLINK_H
#define FM_WEBLINK_H

#include <stddef.h>
#include <stdint.h>

#include "fumidai.h"
#include "util.h"

#define WEBLINK_KEY_LEN		32
#define WEBLINK_ACCOUNT_MAX	1024	/* bytes of an account in a token */

#define WEBLINK_OK		0
#define WEBLINK_BAD		-1	/* malformed or tampered */
#define WEBLINK_EXPIRED		-2

/* weblink_key - the signing key (see above) into key; 0, or -1 + err */
int weblink_key(const struct fumidai *cf, unsigned char key[WEBLINK_KEY_LEN],
    char *err, size_t errlen);
/* weblink_owner - an owner token for acct (len bytes) valid until expiry
 * (Unix s), appended to b */
void weblink_owner(struct buf *b, const unsigned char *key, const char *acct,
    size_t len, int64_t expiry);
/* weblink_owner_check - verify token p (n bytes) at now: WEBLINK_OK with
 * the account's raw bytes in acct and its expiry in *expiry, else
 * WEBLINK_BAD or WEBLINK_EXPIRED (checked after the MAC) */
int weblink_owner_check(const unsigned char *key, const char *p, size_t n,
    int64_t now, struct buf *acct, int64_t *expiry);
/* weblink_admin / weblink_admin_check - the admin cookie's value */
void weblink_admin(struct buf *b, const unsigned char *key, int64_t expiry);
int weblink_admin_check(const unsigned char *key, const char *p, size_t n,
    int64_t now);
/* weblink_url - base_url "/o/" token, valid ttl s from now, into b; -1 +
 * err when web.base_url is unset or there is no key */
int weblink_url(const struct fumidai *cf, const char *acct, size_t len,
    int ttl, struct buf *b, char *err, size_t errlen);
/* weblink_b64url - base64url without padding of p appended to b; and its
 * decoding (0 / -1) */
void weblink_b64url(struct buf *b, const unsigned char *p, size_t n);
int weblink_b64url_decode(struct buf *b, const char *p, size_t n);

#endif
