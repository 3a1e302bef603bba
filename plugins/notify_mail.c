/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify_mail.c - the "mail" notifier: alerts by mail to the admins (`to`
 * list), one message per alert, or with `digest` = N (minutes) one
 * message for the alerts collected over N minutes.
 *
 * One message per alert: deliver() hands the message to smtp_send with
 * the core's own done, so the alert is acknowledged only once the relay
 * took it.
 *
 * Digest: the core has one alert in flight per notifier, so holding every
 * alert's done until its digest is sent would make each digest hold one
 * alert.  Instead an alert is acknowledged (OK) once it is written and
 * synced to the digest's spool file (setting `spool`, required with
 * `digest`): one line per alert, read back by init after a restart.  A
 * digest goes out when the oldest alert in it is `digest` minutes old; it
 * leaves the spool only when the relay accepted it (or refused it for
 * good: logged); while the relay is down it is tried again after
 * MAIL_RETRY_MIN seconds, doubling up to the digest period, with what
 * came meanwhile.  So nothing is lost across restarts and crashes (at
 * least once: an alert delivered again after a crash that came before the
 * core saved its cursor is recognised by its id and not listed twice).
 *
 * SECURITY: alert text (account, summary, the record) reaches the message
 * only through mm_clean / mm_clean_json and mm_header; the body is base64
 * (mailmsg.h).  The spool holds the account and the record hex-encoded, so
 * no byte of them can split a line; a spool line that does not parse is
 * skipped and counted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fumidai/notifier.h"
#include "mailmsg.h"

#define MAIL_TEXT_MAX	200		/* bytes of an account shown */
#define MAIL_JSON_MAX	65536		/* bytes of a record shown and kept */
#define MAIL_RETRY_MIN	30		/* seconds before a digest's retry */
#define MAIL_TIMEFMT	"%Y-%m-%d %H:%M:%S %Z"

/* One alert, copied (a digest keeps it past deliver()). */
struct held {
	struct mm_buf json, account;	/* raw bytes */
	char id[17], kind[48], severity[16], ip[64], net[64];
	long long first, last, count;
	long long since;		/* when it came (wall clock) */
};

struct mailn {
	const struct fm_notify_host *h;
	void *host;
	char *from;
	char **to;
	size_t nto;
	char *prefix;		/* subject prefix */
	char *zone;		/* zone of times shown, NULL: local */
	int digest;		/* seconds, 0: one message per alert */
	char *spool;		/* the digest's file */
	struct held *pend;	/* spooled, not yet in a digest being sent */
	size_t npend;
	struct held *sending;	/* the digest in flight */
	size_t nsending;
	int in_flight;		/* sending is with smtp_send */
	int64_t retry_at;	/* no digest before this after a failure */
	int backoff;		/* seconds of the next retry delay */
};

static void *mail_init(const struct fm_notify_host *, void *, char *,
    size_t);
static void mail_deliver(void *, const struct fm_alert *, fm_done_fn *,
    void *);
static void mail_tick(void *, int64_t);
static void mail_free(void *);

const struct fm_notifier fm_notifier_plugin = {
	.abi = FM_NOTIFIER_ABI,
	.name = "mail",
	.description = "mail alerts to admins, one each or as a digest",
	.init = mail_init,
	.deliver = mail_deliver,
	.tick = mail_tick,
	.free = mail_free,
};

static void
held_free_one(struct held *c)
{
	mm_free(&c->json);
	mm_free(&c->account);
}

static void
held_free(struct held *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		held_free_one(&v[i]);
	free(v);
}

/* ---- the spool -------------------------------------------------------- */

static void
hex_add(struct mm_buf *b, const char *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		mm_addc(b, hx[(unsigned char)p[i] >> 4]);
		mm_addc(b, hx[(unsigned char)p[i] & 15]);
	}
}

static int
hex_val(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* hex_get - decode a field; 0 / -1 */
static int
hex_get(struct mm_buf *b, const char *s)
{
	size_t i, n = strlen(s);

	if (n % 2 != 0 || n / 2 > MAIL_JSON_MAX)
		return -1;
	for (i = 0; i < n; i += 2) {
		if (hex_val(s[i]) < 0 || hex_val(s[i + 1]) < 0)
			return -1;
		mm_addc(b, (char)(hex_val(s[i]) << 4 | hex_val(s[i + 1])));
	}
	return 0;
}

/* spool_line - one alert as a line of the spool */
static void
spool_line(struct mm_buf *b, const struct held *c)
{
	mm_printf(b, "v1\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld\t%lld\t%lld\t", c->id,
	    c->kind, c->severity, *c->ip ? c->ip : "-", *c->net ? c->net : "-",
	    c->first, c->last, c->count, c->since);
	hex_add(b, mm_str(&c->account), c->account.len);
	mm_addc(b, '\t');
	hex_add(b, mm_str(&c->json), c->json.len);
	mm_addc(b, '\n');
}

/* word_ok - a plain field of the core's making */
static int
word_ok(const char *s, const char *set, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n < max && strspn(s, set) == n;
}

/* spool_parse - a line back into c; 0 / -1 */
static int
spool_parse(char *line, struct held *c)
{
	char *f[13], *rest = line;
	int n = 0;

	memset(c, 0, sizeof(*c));
	line[strcspn(line, "\n")] = '\0';
	while (n < 13 && (f[n] = strsep(&rest, "\t")) != NULL)
		n++;
	if (n != 12 || strcmp(f[0], "v1") != 0 ||
	    !word_ok(f[1], "0123456789abcdef", sizeof(c->id)) ||
	    !word_ok(f[2], "abcdefghijklmnopqrstuvwxyz_0123456789",
	    sizeof(c->kind)) ||
	    !word_ok(f[3], "abcdefghijklmnopqrstuvwxyz", sizeof(c->severity)) ||
	    !word_ok(f[4], "0123456789abcdefABCDEF.:-", sizeof(c->ip)) ||
	    !word_ok(f[5], "0123456789abcdefABCDEF.:/-", sizeof(c->net)) ||
	    hex_get(&c->account, f[10]) == -1 || hex_get(&c->json, f[11]) == -1)
		return -1;
	snprintf(c->id, sizeof(c->id), "%s", f[1]);
	snprintf(c->kind, sizeof(c->kind), "%s", f[2]);
	snprintf(c->severity, sizeof(c->severity), "%s", f[3]);
	snprintf(c->ip, sizeof(c->ip), "%s", strcmp(f[4], "-") ? f[4] : "");
	snprintf(c->net, sizeof(c->net), "%s", strcmp(f[5], "-") ? f[5] : "");
	c->first = strtoll(f[6], NULL, 10);
	c->last = strtoll(f[7], NULL, 10);
	c->count = strtoll(f[8], NULL, 10);
	c->since = strtoll(f[9], NULL, 10);
	return 0;
}

/* pending - whether an alert of this id waits already */
static int
pending(const struct mailn *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->npend; i++)
		if (strcmp(m->pend[i].id, id) == 0)
			return 1;
	for (i = 0; i < m->nsending; i++)
		if (strcmp(m->sending[i].id, id) == 0)
			return 1;
	return 0;
}

static void
pend_add(struct mailn *m, const struct held *c)
{
	if ((m->pend = realloc(m->pend, (m->npend + 1) * sizeof(*c))) == NULL)
		abort();
	m->pend[m->npend++] = *c;
}

/* spool_load - what a previous run left; 0, or -1 when the file cannot be
 * read or made (err names it); nothing is created here (check-config) */
static int
spool_load(struct mailn *m, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0, bad = 0;
	struct held c;
	char *dir;
	FILE *fp;
	int fd, ok;

	if ((fd = open(m->spool, O_RDONLY | O_CLOEXEC)) == -1 &&
	    errno == ENOENT) {
		/* none yet: its directory must take it */
		dir = mm_strdup(m->spool);
		*strrchr(dir, '/') = '\0';
		ok = access(*dir ? dir : "/", W_OK | X_OK) == 0;
		free(dir);
		if (ok)
			return 0;
	}
	if (fd == -1 || (fp = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "spool: %s: %s", m->spool, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		if (spool_parse(line, &c) == -1 || pending(m, c.id)) {
			bad += pending(m, c.id) ? 0 : 1;
			held_free_one(&c);
			continue;
		}
		pend_add(m, &c);
	}
	free(line);
	fclose(fp);
	if (bad > 0)
		m->h->log(m->host, FM_LOG_WARN, "msg=\"spool %s: %zu broken "
		    "lines skipped\"", m->spool, bad);
	if (m->npend > 0)
		m->h->log(m->host, FM_LOG_INFO, "msg=\"spool %s: %zu alerts "
		    "wait for a digest\"", m->spool, m->npend);
	return 0;
}

/* spool_append - c on the spool, synced; 0 / -1 (errno) */
static int
spool_append(struct mailn *m, const struct held *c)
{
	struct mm_buf b = { 0 };
	ssize_t w;
	size_t off = 0;
	int fd, e = 0;

	spool_line(&b, c);
	if ((fd = open(m->spool, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		mm_free(&b);
		return -1;
	}
	while (off < b.len && ((w = write(fd, b.p + off, b.len - off)) > 0 ||
	    errno == EINTR))
		off += w > 0 ? (size_t)w : 0;
	if (off < b.len || fdatasync(fd) == -1)
		e = errno ? errno : EIO;
	close(fd);
	mm_free(&b);
	errno = e;
	return e ? -1 : 0;
}

/* spool_rewrite - the spool holds what is pending (and in flight) */
static int
spool_rewrite(struct mailn *m)
{
	struct mm_buf b = { 0 }, tmp = { 0 };
	size_t i, off = 0;
	ssize_t w;
	int fd, rc = -1;

	for (i = 0; i < m->nsending; i++)
		spool_line(&b, &m->sending[i]);
	for (i = 0; i < m->npend; i++)
		spool_line(&b, &m->pend[i]);
	mm_printf(&tmp, "%s.tmp", m->spool);
	if ((fd = open(mm_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) != -1) {
		while (off < b.len && ((w = write(fd, b.p + off,
		    b.len - off)) > 0 || errno == EINTR))
			off += w > 0 ? (size_t)w : 0;
		if (off == b.len && fdatasync(fd) == 0 && close(fd) == 0 &&
		    rename(mm_str(&tmp), m->spool) == 0)
			rc = 0;
		else if (fd != -1)
			unlink(mm_str(&tmp));
	}
	if (rc == -1)
		m->h->log(m->host, FM_LOG_WARN, "msg=\"spool %s: cannot rewrite "
		    "it: %s (alerts sent may be sent again)\"", m->spool,
		    strerror(errno));
	mm_free(&b);
	mm_free(&tmp);
	return rc;
}

/* ---- settings --------------------------------------------------------- */

static int
mail_to(struct mailn *m, char *err, size_t errlen)
{
	const char *const *v;
	size_t i;

	if ((m->nto = m->h->conf_list(m->host, "to", &v)) == 0) {
		snprintf(err, errlen, "to: the admins' addresses are needed: "
		    "to = [\"postmaster@example.org\"];");
		return -1;
	}
	if ((m->to = calloc(m->nto, sizeof(char *))) == NULL)
		abort();
	for (i = 0; i < m->nto; i++) {
		if (!mm_addr_ok(v[i], strlen(v[i]))) {
			snprintf(err, errlen, "to: \"%s\" is not a plain address "
			    "(user@domain)", v[i]);
			return -1;
		}
		m->to[i] = mm_strdup(v[i]);
	}
	return 0;
}

/* mail_digest - digest and spool */
static int
mail_digest(struct mailn *m, char *err, size_t errlen)
{
	long long d = m->h->conf_int(m->host, "digest", 0);
	const char *s = m->h->conf_str(m->host, "spool");

	if (d < 0 || d > 10080) {
		snprintf(err, errlen, "digest: minutes between digests, 0 (one "
		    "mail per alert) to 10080");
		return -1;
	}
	m->digest = (int)d * 60;
	if (s != NULL && *s != '\0')
		m->spool = mm_strdup(s);
	if (m->digest > 0 && (m->spool == NULL || *m->spool != '/')) {
		snprintf(err, errlen, "spool: a digest needs a file (absolute "
		    "path) to keep its alerts in: spool = "
		    "\"/var/lib/fumidai/digest-admins\";");
		return -1;
	}
	return 0;
}

static int
mail_settings(struct mailn *m, char *err, size_t errlen)
{
	struct mm_buf pfx = { 0 };
	const char *s;
	char host[256];

	if (mail_to(m, err, errlen) == -1)
		return -1;
	if ((s = m->h->conf_str(m->host, "from")) != NULL && *s != '\0')
		m->from = mm_strdup(s);
	else {
		if (gethostname(host, sizeof(host)) != 0 ||
		    !mm_domain_ok(host, strnlen(host, sizeof(host) - 1)))
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		if (asprintf(&m->from, "fumidai@%s", host) == -1)
			abort();
	}
	if (!mm_addr_ok(m->from, strlen(m->from))) {
		snprintf(err, errlen, "from: \"%s\" is not a plain address",
		    m->from);
		return -1;
	}
	if (mail_digest(m, err, errlen) == -1)
		return -1;
	if ((s = m->h->conf_str(m->host, "subject_prefix")) == NULL)
		s = "[fumidai]";
	mm_clean(&pfx, s, strlen(s), 100);	/* no control bytes in a header */
	m->prefix = mm_strdup(mm_str(&pfx));
	mm_free(&pfx);
	if ((s = m->h->conf_str(m->host, "timezone")) != NULL && *s != '\0') {
		if (!mm_zone_ok(s)) {
			snprintf(err, errlen, "timezone: no zone \"%s\" in the "
			    "system's time zone database", s);
			return -1;
		}
		m->zone = mm_strdup(s);
	}
	return 0;
}

static void *
mail_init(const struct fm_notify_host *h, void *host, char *err,
    size_t errlen)
{
	struct mailn *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		abort();
	m->h = h;
	m->host = host;
	m->backoff = MAIL_RETRY_MIN;
	if (mail_settings(m, err, errlen) == -1 ||
	    (m->digest > 0 && spool_load(m, err, errlen) == -1)) {
		mail_free(m);
		return NULL;
	}
	return m;
}

/*
 * mail_free - nothing is lost: every alert in memory is in the spool.  A
 * digest in flight is forgotten: the core frees notifiers only after
 * mailout_shutdown, so its callback never comes; it is in the spool and
 * goes out again after the restart.
 */
static void
mail_free(void *self)
{
	struct mailn *m = self;
	size_t i;

	if (m == NULL)
		return;
	held_free(m->pend, m->npend);
	held_free(m->sending, m->nsending);
	for (i = 0; i < m->nto; i++)
		free(m->to[i]);
	free(m->to);
	free(m->from);
	free(m->prefix);
	free(m->zone);
	free(m->spool);
	free(m);
}

/* ---- text ------------------------------------------------------------- */

/* held_copy - what a message needs of a (a is borrowed) */
static void
held_copy(struct held *c, const struct fm_alert *a)
{
	memset(c, 0, sizeof(*c));
	mm_add(&c->json, a->json, a->json_len < MAIL_JSON_MAX ? a->json_len :
	    MAIL_JSON_MAX);
	mm_add(&c->account, a->account, a->account_len < MAIL_JSON_MAX ?
	    a->account_len : MAIL_JSON_MAX);
	snprintf(c->id, sizeof(c->id), "%s", a->id);
	snprintf(c->kind, sizeof(c->kind), "%s", a->kind);
	snprintf(c->severity, sizeof(c->severity), "%s", a->severity);
	snprintf(c->ip, sizeof(c->ip), "%s", a->ip);
	snprintf(c->net, sizeof(c->net), "%s", a->net);
	c->first = a->first;
	c->last = a->last;
	c->count = a->count;
	c->since = (long long)time(NULL);
}

/* word - a core-made field (kind, severity, ip), cleaned all the same */
static void
word(struct mm_buf *b, const char *s)
{
	mm_clean(b, s, strlen(s), 64);
}

/* subject_of - "high brute_force: alice@example.org" */
static void
subject_of(struct mm_buf *b, const struct held *c)
{
	word(b, c->severity);
	mm_addc(b, ' ');
	word(b, c->kind);
	if (c->account.len > 0 || *c->ip != '\0' || *c->net != '\0')
		mm_adds(b, ": ");
	if (c->account.len > 0)
		mm_clean(b, mm_str(&c->account), c->account.len, MAIL_TEXT_MAX);
	else
		word(b, *c->ip != '\0' ? c->ip : c->net);
}

/* field - "Name:     value\n" when value is not empty */
static void
field(struct mm_buf *b, const char *name, struct mm_buf *value)
{
	if (value->len > 0)
		mm_printf(b, "%-10s%s\n", name, mm_str(value));
	mm_reset(value);
}

/* body_of - one alert in words, then its record */
static void
body_of(struct mailn *m, struct mm_buf *b, const struct held *c)
{
	struct mm_buf t = { 0 };

	mm_json_get(mm_str(&c->json), c->json.len, "summary", &t);
	mm_clean(b, mm_str(&t), t.len, 1000);
	mm_reset(&t);
	mm_adds(b, "\n\n");
	word(&t, c->kind);
	field(b, "Kind:", &t);
	word(&t, c->severity);
	field(b, "Severity:", &t);
	mm_clean(&t, mm_str(&c->account), c->account.len, MAIL_TEXT_MAX);
	field(b, "Account:", &t);
	word(&t, c->ip);
	field(b, "Address:", &t);
	word(&t, c->net);
	field(b, "Network:", &t);
	if (c->first > 0)
		mm_strftime(&t, c->first, m->zone, MAIL_TIMEFMT);
	field(b, "First:", &t);
	if (c->last > 0)
		mm_strftime(&t, c->last, m->zone, MAIL_TIMEFMT);
	field(b, "Last:", &t);
	mm_printf(&t, "%lld", c->count);
	field(b, "Count:", &t);
	word(&t, c->id);
	field(b, "Alert:", &t);
	mm_adds(b, "\nRecord:\n");
	mm_clean_json(b, mm_str(&c->json), c->json.len, MAIL_JSON_MAX);
	mm_adds(b, "\n");
	mm_free(&t);
}

/* compose - the message for n alerts (digest: a digest even of one) */
static void
compose(struct mailn *m, const struct held *v, size_t n, struct mm_buf *msg)
{
	struct mm_buf subject = { 0 }, body = { 0 }, id = { 0 }, ids = { 0 };
	struct mm_msg mm;
	char hash[17];
	size_t i;

	mm_printf(&subject, "%s ", m->prefix);
	if (m->digest == 0)
		subject_of(&subject, &v[0]);
	else
		mm_printf(&subject, "%zu alert%s", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		if (m->digest > 0) {
			mm_printf(&body, "%s---- %zu of %zu: ", i ? "\n" : "",
			    i + 1, n);
			subject_of(&body, &v[i]);
			mm_adds(&body, "\n\n");
		}
		body_of(m, &body, &v[i]);
		mm_adds(&ids, v[i].id);
	}
	for (i = 0; i < m->nto; i++)
		mm_adds(&ids, m->to[i]);
	snprintf(hash, sizeof(hash), "%016llx",
	    (unsigned long long)mm_hash(mm_str(&ids), ids.len));
	mm_msgid(&id, m->digest == 0 ? "fumidai-alert" : "fumidai-digest",
	    v[0].id, hash, strrchr(m->from, '@') + 1);
	memset(&mm, 0, sizeof(mm));
	mm.from = m->from;
	mm.to = (const char *const *)m->to;
	mm.nto = m->nto;
	mm.subject = mm_str(&subject);
	mm.subject_untrusted = m->digest == 0 && v[0].account.len > 0;
	mm.msgid = mm_str(&id);
	mm.date = (int64_t)time(NULL);
	mm.body = mm_str(&body);
	mm.bodylen = body.len;
	mm_message(msg, &mm);
	mm_free(&subject);
	mm_free(&body);
	mm_free(&id);
	mm_free(&ids);
}

/* ---- delivery --------------------------------------------------------- */

static void
mail_deliver(void *self, const struct fm_alert *a, fm_done_fn *done,
    void *token)
{
	struct mailn *m = self;
	struct mm_buf msg = { 0 };
	struct held c;

	held_copy(&c, a);
	if (m->digest == 0) {
		compose(m, &c, 1, &msg);
		held_free_one(&c);
		m->h->smtp_send(m->host, m->from, (const char *const *)m->to,
		    m->nto, mm_str(&msg), msg.len, done, token);
		mm_free(&msg);
		return;
	}
	if (pending(m, c.id)) {
		held_free_one(&c);
		done(token, FM_NOTIFY_OK, "already in the digest");
		return;
	}
	if (spool_append(m, &c) == -1) {
		held_free_one(&c);
		done(token, FM_NOTIFY_RETRY, strerror(errno));
		return;
	}
	pend_add(m, &c);
	done(token, FM_NOTIFY_OK, "kept for the digest");
}

/* digest_done - the digest's fate */
static void
digest_done(void *token, int status, const char *detail)
{
	struct mailn *m = token;
	struct held *v;

	m->in_flight = 0;
	if (status == FM_NOTIFY_RETRY) {
		/* back in front of what came meanwhile, in order */
		if ((v = realloc(m->sending, (m->nsending + m->npend) *
		    sizeof(*v))) == NULL)
			abort();
		if (m->npend > 0)
			memcpy(v + m->nsending, m->pend, m->npend * sizeof(*v));
		free(m->pend);
		m->pend = v;
		m->npend += m->nsending;
		m->sending = NULL;
		m->nsending = 0;
		m->retry_at = (int64_t)time(NULL) + m->backoff;
		m->h->log(m->host, FM_LOG_WARN, "msg=\"digest not sent, again "
		    "in %d s\" alerts=%zu detail=\"%s\"", m->backoff, m->npend,
		    detail != NULL ? detail : "");
		m->backoff = m->backoff * 2 <= m->digest ? m->backoff * 2 :
		    m->digest > MAIL_RETRY_MIN ? m->digest : MAIL_RETRY_MIN;
		return;
	}
	if (status == FM_NOTIFY_DROP)
		m->h->log(m->host, FM_LOG_WARN, "msg=\"digest refused for good, "
		    "its alerts are dropped\" alerts=%zu detail=\"%s\"",
		    m->nsending, detail != NULL ? detail : "");
	else
		m->h->log(m->host, FM_LOG_INFO, "msg=\"digest sent\" alerts=%zu",
		    m->nsending);
	held_free(m->sending, m->nsending);
	m->sending = NULL;
	m->nsending = 0;
	m->backoff = MAIL_RETRY_MIN;
	m->retry_at = 0;
	spool_rewrite(m);
}

/* mail_tick - send the collected alerts once the oldest is due */
static void
mail_tick(void *self, int64_t now)
{
	struct mailn *m = self;
	struct mm_buf msg = { 0 };

	if (m->digest == 0 || m->npend == 0 || m->in_flight ||
	    now < m->retry_at || now < m->pend[0].since + m->digest)
		return;
	m->sending = m->pend;
	m->nsending = m->npend;
	m->pend = NULL;
	m->npend = 0;
	m->in_flight = 1;
	compose(m, m->sending, m->nsending, &msg);
	m->h->smtp_send(m->host, m->from, (const char *const *)m->to, m->nto,
	    mm_str(&msg), msg.len, digest_done, m);
	mm_free(&msg);
}
