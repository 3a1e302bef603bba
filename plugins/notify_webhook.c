/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify_webhook.c - the webhook notifier: each alert's JSON record is
 * POSTed to `url` (http:// or https://) with Content-Type
 * application/json, the header X-Fumidai-Alert-Id, the configured extra
 * `headers` ("Name: value" each), and, when `secret` is set,
 * X-Fumidai-Signature: sha256=<hex of HMAC-SHA256(secret, body)>, so the
 * receiver can check that the body came from fumidai unchanged.  A 2xx
 * answer is delivered, a 4xx (but 408/429) dropped, anything else retried
 * by the core (notifier.h).
 *
 * SECURITY: the body is the alert record, valid JSON with every
 * attacker-controlled string escaped; nothing from the alert but its id
 * (16 hex digits) reaches a header.  Configured headers are checked for
 * CR, LF and a token name here (and again by the core).  The secret is
 * never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fumidai/notifier.h"

#define WH_HEADERS_MAX	32	/* configured extra headers */
#define WH_HEADER_MAX	1024	/* bytes of one */

struct webhook {
	const struct fm_notify_host *h;
	void *host;
	const char *url;		/* borrowed from the core's settings */
	const char *const *headers;
	size_t nheaders;
	int has_ctype;			/* headers set a Content-Type */
	const char *secret;		/* NULL: no signature */
};

/* wh_header_ok - "Name: value": a token name, no CR, LF or DEL, and not
 * one of the headers fumidai writes itself */
static int
wh_header_ok(const char *s, int *ctype)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	static const char *const own[] = { "host:", "content-length:",
	    "connection:", "transfer-encoding:", "x-fumidai-alert-id:",
	    "x-fumidai-signature:" };
	const char *p;
	size_t i;

	if (strlen(s) > WH_HEADER_MAX)
		return 0;
	for (p = s; *p != '\0' && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(tchar, *p) != NULL))
			return 0;
	if (p == s || *p != ':')
		return 0;
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strncasecmp(s, own[i], strlen(own[i])) == 0)
			return 0;
	if (strncasecmp(s, "content-type:", 13) == 0)
		*ctype = 1;
	for (; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == 0x7f)
			return 0;
	return 1;
}

static void *
wh_init(const struct fm_notify_host *h, void *host, char *err, size_t errlen)
{
	struct webhook *w;
	size_t i;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->h = h;
	w->host = host;
	w->url = h->conf_str(host, "url");
	w->nheaders = h->conf_list(host, "headers", &w->headers);
	w->secret = h->conf_str(host, "secret");
	if (w->url == NULL || (strncasecmp(w->url, "http://", 7) != 0 &&
	    strncasecmp(w->url, "https://", 8) != 0) ||
	    strpbrk(w->url, " \t\r\n") != NULL) {
		snprintf(err, errlen, "url: an http:// or https:// URL is needed");
		goto fail;
	}
	if (w->nheaders > WH_HEADERS_MAX) {
		snprintf(err, errlen, "headers: at most %d", WH_HEADERS_MAX);
		goto fail;
	}
	for (i = 0; i < w->nheaders; i++)
		if (!wh_header_ok(w->headers[i], &w->has_ctype)) {
			snprintf(err, errlen, "headers: entry %zu is not \"Name: "
			    "value\" on one line, or names a header fumidai "
			    "writes itself", i + 1);
			goto fail;
		}
	if (w->secret != NULL && *w->secret == '\0') {
		snprintf(err, errlen, "secret: empty (leave it out for no "
		    "signature)");
		goto fail;
	}
	return w;
fail:
	free(w);
	return NULL;
}

/* wh_sign - "X-Fumidai-Signature: sha256=<hex>" of body into out */
static int
wh_sign(const struct webhook *w, const char *body, size_t len, char *out,
    size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	int k;

	if (HMAC(EVP_sha256(), w->secret, (int)strlen(w->secret),
	    (const unsigned char *)body, len, md, &mdlen) == NULL)
		return -1;
	k = snprintf(out, outlen, "X-Fumidai-Signature: sha256=");
	if (k < 0 || (size_t)k + 2 * mdlen + 1 > outlen)
		return -1;
	for (i = 0; i < mdlen; i++) {
		out[k++] = hex[md[i] >> 4];
		out[k++] = hex[md[i] & 15];
	}
	out[k] = '\0';
	return 0;
}

static void
wh_deliver(void *self, const struct fm_alert *a, fm_done_fn *done,
    void *token)
{
	struct webhook *w = self;
	const char *hdrs[WH_HEADERS_MAX + 3];
	char idh[64], sig[128];
	size_t n = 0, i;

	for (i = 0; i < w->nheaders; i++)
		hdrs[n++] = w->headers[i];
	if (!w->has_ctype)
		hdrs[n++] = "Content-Type: application/json";
	snprintf(idh, sizeof(idh), "X-Fumidai-Alert-Id: %s", a->id);
	hdrs[n++] = idh;
	if (w->secret != NULL) {
		if (wh_sign(w, a->json, a->json_len, sig, sizeof(sig)) == -1) {
			done(token, FM_NOTIFY_RETRY, "HMAC failed");
			return;
		}
		hdrs[n++] = sig;
	}
	w->h->http_post(w->host, w->url, hdrs, n, a->json, a->json_len, done,
	    token);
}

static void
wh_free(void *self)
{
	free(self);
}

const struct fm_notifier fm_notifier_plugin = {
	.abi = FM_NOTIFIER_ABI,
	.name = "webhook",
	.description = "HTTP(S) POST of each alert's JSON, optionally signed",
	.init = wh_init,
	.deliver = wh_deliver,
	.tick = NULL,
	.free = wh_free,
};
