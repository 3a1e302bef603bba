/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * weblink.c - owner links, admin cookies and their key (see weblink.h).
 *
 * HMAC-SHA256 comes from OpenSSL (a dependency already, for STARTTLS).  The
 * generated key file appears whole (a temporary file linked into place), so
 * two processes starting at once agree on one key: the loser reads the
 * winner's, never a half-written one.
 *
 * SECURITY: see weblink.h.  A token's parts are bounded before decoding;
 * the MAC is checked before the expiry, with CRYPTO_memcmp.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "weblink.h"

#define MAC_LEN		32

static const char b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int key_file(const char *, unsigned char *, int, char *, size_t);
static void mac(const unsigned char *, const char *, size_t, const char *,
    size_t, int64_t, unsigned char *);

void
weblink_b64url(struct buf *b, const unsigned char *p, size_t n)
{
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		buf_addc(b, b64u[v >> 18]);
		buf_addc(b, b64u[(v >> 12) & 63]);
		buf_addc(b, b64u[(v >> 6) & 63]);
		buf_addc(b, b64u[v & 63]);
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		buf_addc(b, b64u[v >> 18]);
		buf_addc(b, b64u[(v >> 12) & 63]);
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		buf_addc(b, b64u[v >> 18]);
		buf_addc(b, b64u[(v >> 12) & 63]);
		buf_addc(b, b64u[(v >> 6) & 63]);
	}
}

int
weblink_b64url_decode(struct buf *b, const char *p, size_t n)
{
	uint32_t v = 0;
	size_t i;
	int bits = 0;
	const char *c;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] == '\0' || (c = strchr(b64u, p[i])) == NULL)
			return -1;
		v = (v << 6) | (uint32_t)(c - b64u);
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_addc(b, (char)((v >> bits) & 0xff));
		}
	}
	/* the unused low bits must be zero: one encoding per value */
	return (v & ((1u << bits) - 1)) == 0 ? 0 : -1;
}

/* mac - HMAC(key, what "\0" acct "\0" expiry) into out (MAC_LEN bytes) */
static void
mac(const unsigned char *key, const char *what, size_t wn, const char *acct,
    size_t an, int64_t expiry, unsigned char *out)
{
	struct buf m;
	unsigned int olen = MAC_LEN;

	buf_init(&m);
	buf_add(&m, what, wn);
	buf_addc(&m, '\0');
	buf_add(&m, acct, an);
	buf_addc(&m, '\0');
	buf_addi(&m, expiry);
	if (HMAC(EVP_sha256(), key, WEBLINK_KEY_LEN, (unsigned char *)m.data,
	    m.len, out, &olen) == NULL)
		memset(out, 0, MAC_LEN);	/* never matches a real MAC */
	buf_free(&m);
}

void
weblink_owner(struct buf *b, const unsigned char *key, const char *acct,
    size_t len, int64_t expiry)
{
	unsigned char m[MAC_LEN];

	mac(key, "owner", 5, acct, len, expiry, m);
	weblink_b64url(b, (const unsigned char *)acct, len);
	buf_addc(b, '.');
	buf_addi(b, expiry);
	buf_addc(b, '.');
	weblink_b64url(b, m, sizeof(m));
}

/* parse_expiry - decimal digits only, no sign, at most 12 of them */
static int
parse_expiry(const char *p, size_t n, int64_t *out)
{
	size_t i;
	int64_t v = 0;

	if (n == 0 || n > 12)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* check_mac - the base64url MAC text p (n) against want */
static int
check_mac(const char *p, size_t n, const unsigned char *want)
{
	struct buf got;
	int ok;

	buf_init(&got);
	ok = n == 43 && weblink_b64url_decode(&got, p, n) == 0 &&
	    got.len == MAC_LEN && CRYPTO_memcmp(got.data, want, MAC_LEN) == 0;
	buf_free(&got);
	return ok;
}

int
weblink_owner_check(const unsigned char *key, const char *p, size_t n,
    int64_t now, struct buf *acct, int64_t *expiry)
{
	const char *d1, *d2;
	unsigned char m[MAC_LEN];

	buf_reset(acct);
	if (n > WEBLINK_ACCOUNT_MAX * 2 + 64 ||
	    (d1 = memchr(p, '.', n)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - p))) == NULL ||
	    parse_expiry(d1 + 1, (size_t)(d2 - d1 - 1), expiry) == -1 ||
	    weblink_b64url_decode(acct, p, (size_t)(d1 - p)) == -1 ||
	    acct->len == 0 || acct->len > WEBLINK_ACCOUNT_MAX) {
		buf_reset(acct);
		return WEBLINK_BAD;
	}
	mac(key, "owner", 5, acct->data, acct->len, *expiry, m);
	if (!check_mac(d2 + 1, n - (size_t)(d2 + 1 - p), m)) {
		buf_reset(acct);
		return WEBLINK_BAD;
	}
	return *expiry <= now ? WEBLINK_EXPIRED : WEBLINK_OK;
}

void
weblink_admin(struct buf *b, const unsigned char *key, int64_t expiry)
{
	unsigned char m[MAC_LEN];

	mac(key, "admin", 5, "", 0, expiry, m);
	buf_addi(b, expiry);
	buf_addc(b, '.');
	weblink_b64url(b, m, sizeof(m));
}

int
weblink_admin_check(const unsigned char *key, const char *p, size_t n,
    int64_t now)
{
	const char *d;
	unsigned char m[MAC_LEN];
	int64_t expiry;

	if (n > 128 || (d = memchr(p, '.', n)) == NULL ||
	    parse_expiry(p, (size_t)(d - p), &expiry) == -1)
		return WEBLINK_BAD;
	mac(key, "admin", 5, "", 0, expiry, m);
	if (!check_mac(d + 1, n - (size_t)(d + 1 - p), m))
		return WEBLINK_BAD;
	return expiry <= now ? WEBLINK_EXPIRED : WEBLINK_OK;
}

/* derive - any length of secret into the key (SHA-256 of it) */
static void
derive(const void *p, size_t n, unsigned char *key)
{
	unsigned int len = WEBLINK_KEY_LEN;

	if (EVP_Digest(p, n, key, &len, EVP_sha256(), NULL) != 1)
		memset(key, 0, WEBLINK_KEY_LEN);
}

/* new_key - 32 random bytes into path, all at once: written to a
 * temporary file (mode 0600) that is then linked to path, so a reader never
 * sees a partial key; when path exists already (another process won), it
 * is left as it is.  0, or -1 + err */
static int
new_key(const char *path, char *err, size_t errlen)
{
	unsigned char rnd[WEBLINK_KEY_LEN];
	char *tmp;
	int fd, rc = -1;

	xasprintf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	(void)unlink(tmp);		/* left by a crash of this pid */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    write(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd) ||
	    fsync(fd) == -1)
		snprintf(err, errlen, "%s: cannot write a new key", path);
	else if (link(tmp, path) == -1 && errno != EEXIST)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	close(fd);
	(void)unlink(tmp);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	free(tmp);
	return rc;
}

/* key_file - read path into key; with create, make it first when it is
 * missing.  A key file others may read, or group members change, is
 * refused (chmod 600, or 640 for a group of readers). */
static int
key_file(const char *path, unsigned char *key, int create, char *err,
    size_t errlen)
{
	unsigned char tmp[4096];
	struct stat st;
	ssize_t n;
	int fd;

	if (create && access(path, F_OK) == -1 && errno == ENOENT &&
	    new_key(path, err, errlen) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IWGRP | S_IRWXO)) != 0) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file of mode 0600 "
		    "(or 0640)", path);
		return -1;
	}
	n = read(fd, tmp, sizeof(tmp));
	close(fd);
	if (n < 16) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		snprintf(err, errlen, "%s: a key needs at least 16 bytes", path);
		return -1;
	}
	derive(tmp, (size_t)n, key);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

int
weblink_key(const struct fumidai *cf, unsigned char key[WEBLINK_KEY_LEN],
    char *err, size_t errlen)
{
	char *path;
	int rc;

	if (cf->web.secret != NULL) {
		derive(cf->web.secret, strlen(cf->web.secret), key);
		return 0;
	}
	if (cf->web.secret_file != NULL)
		return key_file(cf->web.secret_file, key, 0, err, errlen);
	if (mkdir_p(cf->state_dir, 0700) == -1) {
		snprintf(err, errlen, "%s: %s", cf->state_dir, strerror(errno));
		return -1;
	}
	xasprintf(&path, "%s/web.key", cf->state_dir);
	rc = key_file(path, key, 1, err, errlen);
	free(path);
	return rc;
}

int
weblink_url(const struct fumidai *cf, const char *acct, size_t len, int ttl,
    struct buf *b, char *err, size_t errlen)
{
	unsigned char key[WEBLINK_KEY_LEN];
	const char *u = cf->web.base_url;
	size_t n;

	if (u == NULL) {
		snprintf(err, errlen, "web.base_url is not set");
		return -1;
	}
	if (len == 0 || len > WEBLINK_ACCOUNT_MAX) {
		snprintf(err, errlen, "no account, or a too long one");
		return -1;
	}
	if (weblink_key(cf, key, err, errlen) == -1)
		return -1;
	n = strlen(u);
	while (n > 0 && u[n - 1] == '/')
		n--;
	buf_add(b, u, n);
	buf_adds(b, "/o/");
	weblink_owner(b, key, acct, len, now_us() / 1000000 + ttl);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}
