/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailmsg-t.c - the mail notifier plugins (notify_owner.so, notify_mail.so,
 * loaded with dlopen as the core loads them, with plugins/mailmsg.c built
 * in) through a fake host that keeps the message they submit: headers,
 * RFC 2047 subjects, folding, base64 bodies, times in zones, owner
 * addresses and maps, templates, the digest spool, and that log text with
 * CR/LF never makes a header.
 *
 * Needs the plugins built (FUMIDAI_PLUGIN_DIR or FM_BUILDDIR/plugins/.libs)
 * and the templates (FM_SRCDIR/etc/templates).
 */
#include "config.h"

#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fumidai/notifier.h"
#include "util.h"
#include "tap.h"

static char tmpdir[256];

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
	chmod(path, (mode_t)mode);
}

static void
append_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static int
count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	int c, n = 0;

	if (fp == NULL)
		return -1;
	while ((c = getc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}


struct result {
	int calls, status;
	char detail[600];
};

static void
done_cb(void *token, int status, const char *detail)
{
	struct result *r = token;

	r->calls++;
	r->status = status;
	snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
}

/* ---- the plugins through a fake host ------------------------------------ */

struct fake {
	const char *const *kv;		/* "name", "value", ... NULL */
	const char *lists[8][9];	/* name, values..., NULL */
	struct buf sent;		/* the last message submitted */
	char from[256];
	char rcpt[4][256];
	size_t nsent, nrcpt;
	fm_done_fn *done;		/* the last smtp_send's */
	void *token;
	int logs;
};

static void
fake_log(void *host, int level, const char *fmt, ...)
{
	struct fake *f = host;

	(void)level;
	(void)fmt;
	f->logs++;
}

static const char *
fake_str(void *host, const char *name)
{
	struct fake *f = host;
	size_t i;

	for (i = 0; f->kv[i] != NULL; i += 2)
		if (strcmp(f->kv[i], name) == 0)
			return f->kv[i + 1];
	return NULL;
}

static long long
fake_int(void *host, const char *name, long long def)
{
	const char *v = fake_str(host, name);

	return v != NULL ? atoll(v) : def;
}

static size_t
fake_list(void *host, const char *name, const char *const **out)
{
	struct fake *f = host;
	size_t i, n;

	for (i = 0; i < 8 && f->lists[i][0] != NULL; i++) {
		if (strcmp(f->lists[i][0], name) != 0)
			continue;
		for (n = 0; f->lists[i][n + 1] != NULL; n++)
			;
		*out = &f->lists[i][1];
		return n;
	}
	if (fake_str(host, name) != NULL) {
		for (i = 0; f->kv[i] != NULL; i += 2)
			if (strcmp(f->kv[i], name) == 0) {
				*out = &f->kv[i + 1];
				return 1;
			}
	}
	*out = NULL;
	return 0;
}

static void
fake_smtp(void *host, const char *from, const char *const *rcpts, size_t n,
    const char *msg, size_t len, fm_done_fn *done, void *token)
{
	struct fake *f = host;
	size_t i;

	buf_reset(&f->sent);
	buf_add(&f->sent, msg, len);
	snprintf(f->from, sizeof(f->from), "%s", from);
	for (i = 0; i < n && i < 4; i++)
		snprintf(f->rcpt[i], sizeof(f->rcpt[i]), "%s", rcpts[i]);
	f->nrcpt = n;
	f->nsent++;
	f->done = done;
	f->token = token;
}

static const struct fm_notify_host fake_host = {
	.log = fake_log,
	.conf_str = fake_str,
	.conf_int = fake_int,
	.conf_list = fake_list,
	.smtp_send = fake_smtp,
};

static const struct fm_notifier *
load(const char *name, void **dl)
{
	char path[1024];
	const char *dir = getenv("FUMIDAI_PLUGIN_DIR");

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	else
		snprintf(path, sizeof(path), "%s/plugins/.libs/%s.so",
		    getenv("FM_BUILDDIR") ? getenv("FM_BUILDDIR") : ".", name);
	if ((*dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		printf("Bail out! %s\n", dlerror());
		exit(1);
	}
	return dlsym(*dl, FM_NOTIFIER_SYMBOL);
}

/* b64_decode - of text up to the end or a blank line */
static void
b64_decode(struct buf *out, const char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long v = 0;
	int bits = 0;
	const char *q;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '=' || (q = strchr(a, p[i])) == NULL || p[i] == '\0')
			continue;
		v = (v << 6) | (unsigned long)(q - a);
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_addc(out, (char)((v >> bits) & 0xff));
		}
	}
}

/* header - the unfolded value of a header of msg ("" when none); RFC 2047
 * B words decoded (the white space between two of them dropped) */
static void
header(struct buf *out, const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n"), *p, *eol, *w, *e, *ws;
	struct buf raw;
	size_t n = strlen(name);
	int prev_word = 0;

	buf_reset(out);
	buf_addc(out, '\0');
	out->len = 0;
	buf_init(&raw);
	for (p = msg; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		for (p += n + 1; *p == ' '; p++)
			;
		for (;;) {		/* unfold: drop the CRLFs */
			buf_add(&raw, p, (size_t)(eol - p));
			if (eol[2] != ' ' && eol[2] != '\t')
				break;
			p = eol + 2;
			eol = strstr(p, "\r\n");
		}
		break;
	}
	buf_addc(&raw, '\0');
	for (w = raw.data; *w != '\0'; ) {
		for (ws = w; *ws == ' ' || *ws == '\t'; ws++)
			;
		if (strncmp(ws, "=?UTF-8?B?", 10) == 0 &&
		    (e = strstr(ws + 10, "?=")) != NULL) {
			if (!prev_word)
				buf_add(out, w, (size_t)(ws - w));
			b64_decode(out, ws + 10, (size_t)(e - ws - 10));
			w = e + 2;
			prev_word = 1;
			continue;
		}
		buf_add(out, w, (size_t)(ws - w));
		w = ws;
		if (*w != '\0')
			buf_addc(out, *w++);
		prev_word = 0;
	}
	buf_addc(out, '\0');
	out->len--;
	buf_free(&raw);
}

/* body - the decoded base64 body */
static void
body(struct buf *out, const char *msg)
{
	const char *b = strstr(msg, "\r\n\r\n");

	buf_reset(out);
	if (b != NULL)
		b64_decode(out, b + 4, strlen(b + 4));
	buf_addc(out, '\0');
	out->len--;
}

/* lines_ok - every line ends CRLF, none over 78 bytes, no bare CR/LF */
static int
lines_ok(const char *msg)
{
	const char *p, *eol;

	for (p = msg; *p != '\0'; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL)
			return 0;
		if (eol - p > 78 || memchr(p, '\n', (size_t)(eol - p)) ||
		    memchr(p, '\r', (size_t)(eol - p)))
			return 0;
	}
	return 1;
}

/* nheaders - header fields (not continuation lines) of msg */
static int
nheaders(const char *msg)
{
	const char *p;
	int n = 0;

	for (p = msg; *p != '\0' && strncmp(p, "\r\n", 2) != 0; ) {
		if (*p != ' ' && *p != '\t')
			n++;
		if ((p = strstr(p, "\r\n")) == NULL)
			break;
		p += 2;
	}
	return n;
}

static struct fm_alert
alert(const char *kind, const char *account, size_t alen, const char *ip,
    const char *json)
{
	struct fm_alert a;

	memset(&a, 0, sizeof(a));
	a.json = json;
	a.json_len = strlen(json);
	a.id = "0123456789abcdef";
	a.kind = kind;
	a.severity = "medium";
	a.account = account;
	a.account_len = alen;
	a.ip = ip;
	a.net = "";
	a.time = a.first = a.last = 1795602601;	/* 2026-11-25 10:30:01 UTC */
	a.count = 1;
	return a;
}

static void
test_owner(void)
{
	static const char nc_json[] = "{\"id\":\"0123456789abcdef\","
	    "\"kind\":\"new_country\",\"severity\":\"medium\","
	    "\"account\":\"alice@example.org\",\"ip\":\"127.0.2.1\","
	    "\"summary\":\"first login from US\",\"evidence\":{\"country\":"
	    "\"US\",\"country_name\":\"United States\",\"city\":\"New York\\r\\n"
	    "X-Evil: 1\",\"asn\":64502,\"known\":[\"JP\"],\"logins\":5}}";
	char tpl[512], mapf[512];
	const char *kv[] = { "from", "security@mx.example.org", "admin",
	    "postmaster@example.org (+81 3 1234 5678)", "timezone",
	    "Asia/Tokyo", "domain", "example.org", "templates", tpl, "map",
	    mapf, NULL };
	struct fake f = { .kv = kv, .lists = { { "languages",
	    "bob@example.org:ja", "example.jp:ja", NULL },
	    { "timezones", "example.net:America/New_York", NULL } } };
	const struct fm_notifier *p;
	struct fm_alert a;
	struct result r;
	struct buf h, b;
	char err[512];
	void *dl, *self;

	snprintf(tpl, sizeof(tpl), "%s/etc/templates",
	    getenv("FM_SRCDIR") ? getenv("FM_SRCDIR") : ".");
	snprintf(mapf, sizeof(mapf), "%s/owners", tmpdir);
	write_file(mapf, "# account address\ncarol carol.private@example.net\n",
	    0644);
	buf_init(&f.sent);
	buf_init(&h);
	buf_init(&b);
	p = load("notify_owner", &dl);
	ok(p != NULL && p->abi == FM_NOTIFIER_ABI &&
	    strcmp(p->name, "owner") == 0, "owner: the plugin loads (abi, name)");
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self != NULL, "owner: init (%s)", self ? "ok" : err);
	if (self == NULL)
		return;

	a = alert("new_country", "alice@example.org", 17, "127.0.2.1", nc_json);
	memset(&r, 0, sizeof(r));
	p->deliver(self, &a, done_cb, &r);
	is_int(f.nsent, 1, "owner: new_country: one message");
	is_str(f.rcpt[0], "alice@example.org", "owner: to the account itself");
	is_str(f.from, "security@mx.example.org", "owner: from the setting");
	ok(lines_ok(f.sent.data), "owner: CRLF lines of at most 78 bytes");
	header(&h, f.sent.data, "To");
	is_str(h.data, "alice@example.org", "owner: To:");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "Security notice: sign-in to your mail account from a "
	    "new country", "owner: English subject for the kind");
	header(&h, f.sent.data, "Date");
	ok(h.len > 25 && strstr(h.data, " +0000") != NULL &&
	    strchr("MTWFS", h.data[0]) != NULL && h.data[3] == ',',
	    "owner: RFC 5322 Date (%s)", h.data);
	header(&h, f.sent.data, "Message-ID");
	ok(strncmp(h.data, "<fumidai-owner.0123456789abcdef.", 32) == 0 &&
	    strstr(h.data, "@mx.example.org>") != NULL,
	    "owner: Message-ID in our domain (%s)", h.data);
	header(&h, f.sent.data, "Content-Type");
	is_str(h.data, "text/plain; charset=UTF-8", "owner: UTF-8 text");
	header(&h, f.sent.data, "X-Evil");
	is_int(h.len, 0, "owner: CR/LF in the city made no header");
	is_int(nheaders(f.sent.data), 10, "owner: exactly the 10 header fields");
	body(&b, f.sent.data);
	ok(strstr(b.data, "New York\\x0D\\x0AX-Evil: 1, United States") != NULL,
	    "owner: body: place, with CR/LF escaped");
	ok(strstr(b.data, "127.0.2.1") != NULL, "owner: body: IP");
	ok(strstr(b.data, "2026-11-25 19:30:01 JST (UTC+0900)") != NULL,
	    "owner: body: time in the owner's zone");
	ok(strstr(b.data, "postmaster@example.org (+81 3 1234 5678)") != NULL,
	    "owner: body: how to reach the admin");
	ok(strstr(b.data, "Change your password") != NULL,
	    "owner: body: what to do");
	ok(strstr(b.data, "Used for:") == NULL,
	    "owner: body: no service line when the record has none");
	ok(getenv("TZ") == NULL, "owner: TZ is put back");
	is_int(r.calls, 0, "owner: done is the core's (not called by the "
	    "plugin when it submits)");

	/* Japanese, with a service */
	a = alert("success_after_failures", "bob@example.org", 15,
	    "127.0.3.9", "{\"evidence\":{\"failures\":12,\"service\":\"imap\"}}");
	p->deliver(self, &a, done_cb, &r);
	ok(lines_ok(f.sent.data), "owner ja: CRLF lines of at most 78 bytes");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "【重要】メールアカウントへの不審なログインのお知らせ",
	    "owner ja: the RFC 2047 subject decodes to the Japanese one");
	ok(strstr(f.sent.data, "Subject: =?UTF-8?B?") != NULL,
	    "owner ja: ... it is B-encoded");
	body(&b, f.sent.data);
	ok(strstr(b.data, "2026年11月25日 19時30分01秒 JST") != NULL,
	    "owner ja: body: time in Japanese form");
	ok(strstr(b.data, "IMAP (メール受信)") != NULL &&
	    strstr(b.data, "直前の失敗回数: 12") != NULL,
	    "owner ja: body: service and failures");

	/* map, zone per domain */
	a = alert("impossible_travel", "carol", 5, "127.0.2.7",
	    "{\"evidence\":{\"from\":{\"ip\":\"127.0.1.5\",\"country\":\"JP\","
	    "\"city\":\"Tokyo\",\"time\":\"2026-11-25T10:00:00Z\"},\"to\":{"
	    "\"ip\":\"127.0.2.7\",\"country\":\"US\",\"city\":\"New York\"},"
	    "\"distance_km\":10850}}");
	p->deliver(self, &a, done_cb, &r);
	is_str(f.rcpt[0], "carol.private@example.net",
	    "owner: the map file's address");
	ok(strstr(f.sent.data, "Subject: Security notice: sign-ins to your mail "
	    "account from two distant\r\n places\r\n") != NULL,
	    "owner: a long ASCII subject is folded at a space");
	ok(lines_ok(f.sent.data), "owner: ... lines of at most 78 bytes");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "Security notice: sign-ins to your mail account from "
	    "two distant places", "owner: ... and unfolds as it was");
	body(&b, f.sent.data);
	ok(strstr(b.data, "Tokyo, JP (127.0.1.5), 2026-11-25 05:00:00 EST") !=
	    NULL && strstr(b.data, "New York, US (127.0.2.7), 2026-11-25 "
	    "05:30:01 EST") != NULL && strstr(b.data, "10850 km") != NULL,
	    "owner: impossible_travel: both places, the owner domain's zone");

	/* account@domain; the map read again after a change */
	a = alert("new_asn", "dave", 4, "127.0.4.1",
	    "{\"evidence\":{\"asn\":64505,\"org\":\"No Place Net\"}}");
	p->deliver(self, &a, done_cb, &r);
	is_str(f.rcpt[0], "dave@example.org", "owner: account@domain");
	write_file(mapf, "dave dave@elsewhere.example.net\n", 0644);
	{
		struct timespec ts[2] = { { 0, UTIME_NOW }, { 1, 0 } };

		utimensat(AT_FDCWD, mapf, ts, 0);	/* surely changed */
	}
	p->deliver(self, &a, done_cb, &r);
	is_str(f.rcpt[0], "dave@elsewhere.example.net",
	    "owner: a changed map is read again");
	write_file(mapf, "dave not-an-address\n", 0644);
	p->deliver(self, &a, done_cb, &r);
	is_str(f.rcpt[0], "dave@elsewhere.example.net",
	    "owner: a broken map is refused, the old one kept");
	ok(f.logs > 0, "owner: ... and logged");

	/* no address to be had: dropped, nothing sent */
	f.nsent = 0;
	memset(&r, 0, sizeof(r));
	a = alert("new_country", "eve\r\nBcc: x@example.net", 24, "127.0.2.1",
	    nc_json);
	p->deliver(self, &a, done_cb, &r);
	is_int(r.status, FM_NOTIFY_DROP, "owner: account with CR/LF: no owner "
	    "address, DROP");
	is_int(f.nsent, 0, "owner: ... nothing sent");
	memset(&r, 0, sizeof(r));
	a = alert("brute_force", "alice@example.org", 17, "127.0.2.1", "{}");
	p->deliver(self, &a, done_cb, &r);
	ok(r.calls == 1 && r.status == FM_NOTIFY_OK && f.nsent == 0,
	    "owner: other kinds: OK, nothing sent");
	p->free(self);

	/* settings checked */
	write_file(mapf, "carol carol@example.net\n", 0644);
	kv[5] = "Nowhere/Atlantis";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "timezone") != NULL,
	    "owner: an unknown zone is refused (%s)", err);
	kv[5] = "Asia/Tokyo";
	kv[1] = "bad address@example.org";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "from") != NULL,
	    "owner: a bad from is refused (%s)", err);
	kv[1] = "security@mx.example.org";
	f.lists[0][1] = "bob@example.org:../../etc";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "languages") != NULL,
	    "owner: a language that is no code is refused (%s)", err);
	f.lists[0][1] = "bob@example.org:xx";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "owner.xx.txt") != NULL,
	    "owner: a language without a template is refused (%s)", err);
	dlclose(dl);
	buf_free(&f.sent);
	buf_free(&h);
	buf_free(&b);
}

static void
test_mail(void)
{
	static const char *const ids[] = { "00000000000000a1",
	    "00000000000000a2", "00000000000000a3", "00000000000000a4",
	    "00000000000000a5" };
	char spool[512];
	const char *kv[] = { "from", "fumidai@mx.example.org", "digest", "0",
	    "timezone", "UTC", "subject_prefix", "[fumidai]", NULL };
	struct fake f = { .kv = kv, .lists = { { "to", "admin@example.org",
	    "sec@example.org", NULL } } };
	static const char evil[] = "x\r\nBcc: evil@example.net\r\n\xe2\x80\xae"
	    "gpj.exe\xff";
	const struct fm_notifier *p;
	struct fm_alert a;
	struct result r[3], d;
	struct buf h, b;
	char err[512];
	void *dl, *self;
	int i;

	buf_init(&f.sent);
	buf_init(&h);
	buf_init(&b);
	p = load("notify_mail", &dl);
	ok(p != NULL && strcmp(p->name, "mail") == 0, "mail: the plugin loads");
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self != NULL, "mail: init (%s)", self ? "ok" : err);
	if (self == NULL)
		return;
	a = alert("brute_force", evil, sizeof(evil) - 1, "127.0.3.1",
	    "{\"summary\":\"12 failed logins\\r\\nBcc: y@example.net\"}");
	p->deliver(self, &a, done_cb, &r[0]);
	is_int(f.nsent, 1, "mail: one message per alert");
	is_int(f.nrcpt, 2, "mail: to both admins");
	ok(lines_ok(f.sent.data), "mail: CRLF lines of at most 78 bytes");
	header(&h, f.sent.data, "Bcc");
	is_int(h.len, 0, "mail: CR/LF in the account made no Bcc header");
	is_int(nheaders(f.sent.data), 9, "mail: exactly the 9 header fields");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "[fumidai] medium brute_force: x\\x0D\\x0ABcc: "
	    "evil@example.net\\x0D\\x0A\\u{202E}gpj.exe\\xFF",
	    "mail: the subject shows the account escaped");
	header(&h, f.sent.data, "To");
	is_str(h.data, "admin@example.org, sec@example.org", "mail: To:");
	body(&b, f.sent.data);
	ok(strstr(b.data, "12 failed logins\\x0D\\x0ABcc: y@example.net") != NULL,
	    "mail: body: the summary, escaped");
	ok(strstr(b.data, "First:    2026-11-25 10:30:01 UTC") != NULL,
	    "mail: body: times");
	a = alert("brute_force", "alice@example.org", 17, "127.0.3.1", "{}");
	p->deliver(self, &a, done_cb, &r[0]);
	header(&h, f.sent.data, "Subject");
	ok(strstr(f.sent.data, "\r\nSubject: =?UTF-8?B?") != NULL &&
	    strcmp(h.data, "[fumidai] medium brute_force: alice@example.org") ==
	    0, "mail: an account in the subject is encoded even when ASCII");
	p->free(self);

	/* digest: alerts acknowledged once in the spool, sent when due */
	kv[3] = "1";
	kv[6] = "spool";
	kv[7] = spool;
	snprintf(spool, sizeof(spool), "%s/digest", tmpdir);
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self != NULL, "digest: init (%s)", self ? "ok" : err);
	f.nsent = 0;
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		a = alert("spray", "", 0, "127.0.6.1", "{\"summary\":\"s\"}");
		a.id = ids[i];
		p->deliver(self, &a, done_cb, &r[i]);
	}
	ok(r[0].calls == 1 && r[1].calls == 1 && r[2].calls == 1 &&
	    r[2].status == FM_NOTIFY_OK, "digest: each alert OK once spooled");
	is_int(count_lines(spool), 3, "digest: ... three lines in the spool");
	memset(&d, 0, sizeof(d));
	a.id = ids[1];
	p->deliver(self, &a, done_cb, &d);
	ok(d.calls == 1 && d.status == FM_NOTIFY_OK &&
	    count_lines(spool) == 3, "digest: an alert delivered again is not "
	    "kept twice");
	p->tick(self, (int64_t)time(NULL));
	is_int(f.nsent, 0, "digest: nothing before it is due");
	p->tick(self, (int64_t)time(NULL) + 61);
	is_int(f.nsent, 1, "digest: one message once due");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "[fumidai] 3 alerts", "digest: its subject");
	body(&b, f.sent.data);
	ok(strstr(b.data, "---- 3 of 3: medium spray: 127.0.6.1") != NULL,
	    "digest: every alert in the body");
	f.done(f.token, FM_NOTIFY_RETRY, "relay down");
	is_int(count_lines(spool), 3, "digest: relay down: all still spooled");
	a.id = ids[3];
	p->deliver(self, &a, done_cb, &d);
	p->tick(self, (int64_t)time(NULL) + 10);
	is_int(f.nsent, 1, "digest: no retry before the delay");
	p->tick(self, (int64_t)time(NULL) + 120);
	is_int(f.nsent, 2, "digest: retried later");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "[fumidai] 4 alerts", "digest: ... with what came since");
	a.id = ids[4];
	p->deliver(self, &a, done_cb, &d);	/* while it is in flight */
	f.done(f.token, FM_NOTIFY_OK, "sent");
	is_int(count_lines(spool), 1, "digest: accepted: only the newer alert "
	    "stays in the spool");
	p->free(self);

	/* a restart: the spool is read back (a broken line skipped) */
	append_file(spool, "v1\tnot\ta line\n");
	f.logs = 0;
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self != NULL && f.logs > 0, "digest: restart: spool read, a broken "
	    "line skipped and logged");
	p->tick(self, (int64_t)time(NULL) + 61);
	is_int(f.nsent, 3, "digest: restart: the spooled alert is sent");
	header(&h, f.sent.data, "Subject");
	is_str(h.data, "[fumidai] 1 alert", "digest: ... alone");
	p->free(self);			/* with the digest in flight: no leak */
	kv[7] = "/nonexistent/fumidai/digest";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "spool") != NULL,
	    "digest: a spool that cannot be made: refused (%s)", err);
	kv[6] = "subject_prefix";
	kv[7] = "[fumidai]";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "spool") != NULL,
	    "digest: no spool setting: refused (%s)", err);
	kv[3] = "0";
	f.lists[0][1] = "not an address";
	self = p->init(&fake_host, &f, err, sizeof(err));
	ok(self == NULL && strstr(err, "to") != NULL,
	    "mail: a bad admin address is refused (%s)", err);
	dlclose(dl);
	buf_free(&f.sent);
	buf_free(&h);
	buf_free(&b);
}

int
main(void)
{
	char tmpl[] = "/tmp/mailmsg-t-XXXXXX";
	char cmd[600];

	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	unsetenv("TZ");
	test_owner();
	test_mail();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
