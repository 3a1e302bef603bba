/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify_syslog.c - the syslog notifier: one line per alert through
 * syslog(3), with the configured `facility` (default "mail") and `ident`
 * (default "fumidai"), at a level from the alert's severity (critical:
 * crit, high: err, medium: warning, low: notice, info: info):
 *
 *   alert id=3f2a9c0d1e4b5a6c kind=brute_force severity=medium
 *   account="alice@example.org" ip=192.0.2.7 net=- count=1
 *   first=2026-11-25T10:25:10Z last=2026-11-25T10:30:01Z summary="..."
 *
 * syslog(3) keeps one identity per process: an ident other than the
 * daemon's own is set for the line and the daemon's (fumidai, LOG_PID,
 * LOG_DAEMON: see monitor/log.c) is put back right after.  Nothing waits
 * on the network: the line goes to the local syslog socket, so every
 * delivery is OK at once.
 *
 * SECURITY: account and summary are attacker-controlled: they are written
 * in double quotes with every byte that is not printable ASCII, and '"'
 * and '\', as \xNN, so a line holds no control character and cannot be
 * taken for another field or another line.  Other fields are plain text
 * checked by the core (ids, kinds, addresses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "fumidai/notifier.h"

#define SL_TEXT_MAX	400	/* bytes of account or summary written */

struct sl {
	const struct fm_notify_host *h;
	void *host;
	int facility;
	const char *ident;		/* borrowed from the core's settings */
	int own_ident;			/* ident differs from the daemon's */
};

static const struct {
	const char *name;
	int fac;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static void *
sl_init(const struct fm_notify_host *h, void *host, char *err, size_t errlen)
{
	const char *fac = h->conf_str(host, "facility");
	const char *p;
	struct sl *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->h = h;
	s->host = host;
	s->facility = LOG_MAIL;
	s->ident = h->conf_str(host, "ident");
	if (fac != NULL) {
		for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
			if (strcasecmp(fac, facilities[i].name) == 0)
				break;
		if (i == sizeof(facilities) / sizeof(facilities[0])) {
			snprintf(err, errlen, "facility: one of mail, daemon, auth, "
			    "authpriv, user, local0 .. local7");
			free(s);
			return NULL;
		}
		s->facility = facilities[i].fac;
	}
	if (s->ident != NULL) {
		for (p = s->ident; *p != '\0'; p++)
			if (*p <= ' ' || *p >= 0x7f || *p == ':' || *p == '[')
				break;
		if (*s->ident == '\0' || *p != '\0' || p - s->ident > 48) {
			snprintf(err, errlen, "ident: 1 to 48 printable characters "
			    "without spaces, ':' or '['");
			free(s);
			return NULL;
		}
		s->own_ident = strcmp(s->ident, "fumidai") != 0;
	}
	return s;
}

/* sl_esc - untrusted bytes as printable ASCII, at most SL_TEXT_MAX */
static void
sl_esc(char *out, size_t outlen, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k = 0;

	for (i = 0; i < n && i < SL_TEXT_MAX && k + 5 < outlen; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[k++] = (char)c;
		else {
			out[k++] = '\\';
			out[k++] = 'x';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	if (i < n && k + 4 < outlen) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* sl_summary - the record's top-level "summary" string, decoded as far as
 * this needs (\uXXXX of ASCII as the byte, others kept as escapes).  In
 * fumidai's records every quote inside a string is escaped, so the first
 * `"summary":"` is the field itself. */
static size_t
sl_summary(const char *json, size_t len, char *out, size_t outlen)
{
	const char *p, *end = json + len;
	size_t k = 0;

	if ((p = strstr(json, "\"summary\":\"")) == NULL)
		return 0;
	for (p += 11; p < end && *p != '"' && k + 1 < outlen; p++) {
		if (*p != '\\' || p + 1 >= end) {
			out[k++] = *p;
			continue;
		}
		p++;
		if (*p == 'u' && p + 4 < end && p[1] == '0' && p[2] == '0' &&
		    hexval(p[3]) >= 0 && hexval(p[4]) >= 0) {
			out[k++] = (char)(hexval(p[3]) << 4 | hexval(p[4]));
			p += 4;
		} else if (*p == 'u') {
			out[k++] = '\\';	/* kept as written, escaped later */
			p--;
		} else
			out[k++] = *p == 'n' ? '\n' : *p == 't' ? '\t' :
			    *p == 'r' ? '\r' : *p;
	}
	return k;
}

static int
sl_level(const char *sev)
{
	if (strcmp(sev, "critical") == 0)
		return LOG_CRIT;
	if (strcmp(sev, "high") == 0)
		return LOG_ERR;
	if (strcmp(sev, "medium") == 0)
		return LOG_WARNING;
	if (strcmp(sev, "low") == 0)
		return LOG_NOTICE;
	return LOG_INFO;
}

static void
iso(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, outlen, "-");
	else
		strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
sl_deliver(void *self, const struct fm_alert *a, fm_done_fn *done,
    void *token)
{
	struct sl *s = self;
	char acct[4 * SL_TEXT_MAX + 8], sum[4 * SL_TEXT_MAX + 8];
	char raw[SL_TEXT_MAX + 1], first[32], last[32];
	size_t n;

	sl_esc(acct, sizeof(acct), a->account, a->account_len);
	n = sl_summary(a->json, a->json_len, raw, sizeof(raw));
	sl_esc(sum, sizeof(sum), raw, n);
	iso(a->first, first, sizeof(first));
	iso(a->last, last, sizeof(last));
	if (s->own_ident)
		openlog(s->ident, LOG_PID, s->facility);
	syslog(s->facility | sl_level(a->severity), "alert id=%s kind=%s "
	    "severity=%s account=\"%s\" ip=%s net=%s count=%ld first=%s "
	    "last=%s summary=\"%s\"", a->id, a->kind, a->severity, acct,
	    *a->ip ? a->ip : "-", *a->net ? a->net : "-", a->count, first,
	    last, sum);
	if (s->own_ident)
		openlog("fumidai", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	done(token, FM_NOTIFY_OK, NULL);
}

static void
sl_free(void *self)
{
	free(self);
}

const struct fm_notifier fm_notifier_plugin = {
	.abi = FM_NOTIFIER_ABI,
	.name = "syslog",
	.description = "one syslog line per alert",
	.init = sl_init,
	.deliver = sl_deliver,
	.tick = NULL,
	.free = sl_free,
};
