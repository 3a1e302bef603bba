/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * incident_report.c - the readable reports of `fumidai incident`:
 * report.en.html (English) and report.ja.html (Japanese), one static,
 * self-contained HTML file each (a <style> element, no script, nothing
 * fetched).  They hold the summary's answers first (incident_summary.c:
 * whether anything was suspicious, the first and last suspicious event,
 * from where, how many messages to how many recipients in which domains,
 * delivery outcomes), then every alert, audit result, login and message of
 * the bundle.  The key numbers carry ids (n-logins-ok, n-failed,
 * n-messages, n-recipients, n-alerts, n-suspicious) for scripts.
 *
 * SECURITY: every string from a record is attacker-controlled (an account
 * named `<script>`, a subject with quotes, invalid UTF-8).  All of it goes
 * through incident_html, the one escaping function: terminal-escaped first
 * (valid UTF-8 out, no control character or bidi override), then & < > " '
 * as entities, so it is text in element content and in attribute values
 * alike.  Only this file's own constant strings are written unescaped.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "incident.h"
#include "show.h"
#include "util.h"

#define MAX_LISTED	200	/* suspicious events listed; JSON has all */

enum msg {
	M_TITLE, M_NOTHING, M_FIRST, M_LAST, M_SUMMARY,
	M_LOGINS_OK, M_FIRST_LAST_OK, M_FAILED, M_FIRST_LAST_FAIL, M_MESSAGES,
	M_RECIPIENTS, M_BYTES, M_INFERRED, M_ALERTS, M_AUDITS, M_SUSPICIOUS,
	M_WHERE, M_ADDRESSES, M_COUNTRIES, M_ASNS, M_DOMAINS, M_DELIVERY,
	M_LOGINS, M_ROLLUPS, M_SENT, M_NONE, M_NEW, M_GEO_NOTE, M_FILES,
	M_K_ALERT, M_K_FAILED, M_K_ADDRESS, M_K_COUNTRY, M_K_ASN, M_COUNT
};

static const char *const en[M_COUNT] = {
	"Incident report: account",
	"Nothing suspicious was found in this period: no alert, no failed "
	    "login, no login from an address or place the account had not "
	    "used before.",
	"First suspicious event", "Last suspicious event", "Summary",
	"Successful logins", "First / last successful login",
	"Failed login attempts", "First / last failure", "Messages sent",
	"Recipients", "Bytes sent",
	"Messages attributed by POP-before-SMTP (inferred)", "Alerts",
	"Audit results in force", "Suspicious events", "From where",
	"Addresses", "Countries", "Networks (ASN)", "Recipient domains",
	"Delivery outcomes (per recipient)", "Logins", "Logins per day",
	"Messages sent", "none", "new",
	"Countries and networks from the account's login geography (first and "
	    "last login there); counts per period are not recorded.",
	"The files of this bundle and their SHA-256 are in MANIFEST.sha256; "
	    "check them with <code>sha256sum -c MANIFEST.sha256</code>.",
	"alert", "failed logins", "login from a new address",
	"login from a new country", "login from a new network (ASN)",
};

static const char *const ja[M_COUNT] = {
	"インシデント報告: アカウント",
	"この期間に不審な点は見つかりませんでした。アラート、ログイン失敗、"
	    "このアカウントが以前に使っていないアドレスや場所からのログインは"
	    "ありません。",
	"最初の不審なイベント", "最後の不審なイベント", "概要",
	"ログイン成功", "最初 / 最後のログイン成功", "ログイン失敗 (試行数)",
	"最初 / 最後のログイン失敗", "送信メッセージ数", "宛先数",
	"送信バイト数", "POP before SMTP で推定したメッセージ", "アラート",
	"有効だった監査結果", "不審なイベント", "接続元", "アドレス", "国",
	"ネットワーク (ASN)", "宛先ドメイン", "配送結果 (宛先ごと)",
	"ログイン", "日ごとのログイン", "送信メッセージ", "なし", "新規",
	"国とネットワークはアカウントのログイン地理情報 (そこからの最初と"
	    "最後のログイン) によります。期間内の件数は記録されていません。",
	"この一式のファイルとその SHA-256 は MANIFEST.sha256 にあります。"
	    "<code>sha256sum -c MANIFEST.sha256</code> で検証できます。",
	"アラート", "ログイン失敗", "新しいアドレスからのログイン",
	"新しい国からのログイン", "新しいネットワーク (ASN) からのログイン",
};

/* Column headings: English / Japanese, and the record field shown. */
struct col {
	const char *field, *en, *ja;
};

static const struct col alert_cols[] = {
	{ "first", "first", "最初" }, { "last", "last", "最後" },
	{ "kind", "kind", "種類" }, { "severity", "severity", "重大度" },
	{ "count", "count", "件数" }, { "ip", "address", "アドレス" },
	{ "summary", "summary", "内容" },
};
static const struct col login_cols[] = {
	{ "time", "time", "時刻" }, { "result", "result", "結果" },
	{ "service", "service", "サービス" }, { "ip", "address", "アドレス" },
	{ "cc", "country", "国" }, { "mech", "mechanism", "方式" },
	{ "attempts", "attempts", "試行" }, { "host", "server", "サーバ" },
	{ "reason", "reason", "理由" },
};
static const struct col roll_cols[] = {
	{ "day", "day", "日" }, { "first", "first", "最初" },
	{ "last", "last", "最後" }, { "result", "result", "結果" },
	{ "service", "service", "サービス" }, { "ip", "address", "アドレス" },
	{ "cc", "country", "国" }, { "asn", "ASN", "ASN" },
	{ "n", "count", "件数" },
};
static const struct col msg_cols[] = {
	{ "time", "time", "時刻" }, { "qid", "queue id", "キューID" },
	{ "from", "sender", "送信者" }, { "subject", "subject", "件名" },
	{ "size", "size", "サイズ" }, { "nrcpt", "recipients", "宛先数" },
	{ "rcpt", "to (status)", "宛先 (結果)" }, { "ip", "address", "アドレス" },
	{ "service", "service", "サービス" }, { "login", "login", "ログイン" },
	{ "msgid", "Message-ID", "Message-ID" },
};
static const struct col audit_cols[] = {
	{ "", "audit", "監査" }, { "time", "time", "時刻" },
	{ "verdict", "verdict", "判定" }, { "status", "exit", "終了コード" },
	{ "findings", "findings", "所見" }, { "error", "error", "エラー" },
};

struct rep {
	struct buf *b;
	const char *const *m;
	int ja;
	struct buf v, t;	/* scratch */
};

void
incident_html(struct buf *b, const char *p, size_t n)
{
	struct buf e;
	size_t i;

	buf_init(&e);
	show_term_escape(&e, p, n);
	for (i = 0; i < e.len; i++)
		switch (e.data[i]) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default: buf_addc(b, e.data[i]);
		}
	buf_free(&e);
}

static void
hbuf(struct rep *r, const struct buf *v)
{
	incident_html(r->b, v->data ? v->data : "", v->len);
}

static void
htime(struct rep *r, int64_t us)
{
	char t[32];

	if (us == 0) {
		buf_adds(r->b, "-");
		return;
	}
	time_format(us, t, sizeof(t));
	buf_adds(r->b, t);
}

static void
head(struct rep *r, const char *title, const struct col *c, size_t n)
{
	size_t i;

	buf_printf(r->b, "<h2>%s</h2>\n<table>\n<tr>", title);
	for (i = 0; i < n; i++)
		buf_printf(r->b, "<th>%s</th>", r->ja ? c[i].ja : c[i].en);
	buf_adds(r->b, "</tr>\n");
}

/* rcpt_cell - "to (status)" of each recipient of a message */
static void
rcpt_cell(struct rep *r, const struct buf *arr)
{
	const char *p = arr->data, *end = arr->data + arr->len, *e;
	struct buf to, st;
	size_t n;
	int k = 0;

	buf_init(&to);
	buf_init(&st);
	while (arr->len && arr->data[0] == '[' &&
	    (e = incident_array_next(&p, end, &n)) != NULL) {
		(void)show_json_get(e, n, "to", &to);
		(void)show_json_get(e, n, "status", &st);
		buf_adds(r->b, k++ ? "<br>" : "");
		hbuf(r, &to);
		buf_adds(r->b, " (");
		hbuf(r, &st);
		buf_adds(r->b, ")");
	}
	buf_free(&to);
	buf_free(&st);
}

/* login_cell - the login that sent a message, or the POP-before-SMTP
 * evidence it was inferred from */
static void
login_cell(struct rep *r, const char *p, size_t n)
{
	static const char *const f[] = { "time", "login_time", "ip",
	    "service", "mech" };
	struct buf o;
	size_t i;
	int k = 0;

	buf_init(&o);
	if (show_json_get(p, n, "login", &o) == -1 &&
	    show_json_get(p, n, "via", &o) == -1) {
		buf_free(&o);
		return;
	}
	for (i = 0; i < nitems(f); i++)
		if (show_json_get(o.data, o.len, f[i], &r->t) == 0 && r->t.len) {
			buf_adds(r->b, k++ ? " " : "");
			hbuf(r, &r->t);
		}
	if (show_json_get(p, n, "inferred", &r->t) == 0 &&
	    strcmp(r->t.data, "true") == 0) {
		buf_adds(r->b, r->ja ? " (推定、確度 " : " (inferred, confidence ");
		if (show_json_get(p, n, "confidence", &r->t) == 0)
			hbuf(r, &r->t);
		buf_adds(r->b, ")");
	}
	buf_free(&o);
}

/* row - a table row of fields of one JSON record */
static void
row(struct rep *r, const char *p, size_t n, const struct col *c, size_t nc)
{
	size_t i;

	buf_adds(r->b, "<tr>");
	for (i = 0; i < nc; i++) {
		buf_adds(r->b, "<td>");
		if (strcmp(c[i].field, "rcpt") == 0) {
			if (show_json_get(p, n, "rcpt", &r->v) == 0)
				rcpt_cell(r, &r->v);
		} else if (strcmp(c[i].field, "login") == 0)
			login_cell(r, p, n);
		else if (show_json_get(p, n, c[i].field, &r->v) == 0 ||
		    (strcmp(c[i].field, "n") == 0 &&
		    show_json_get(p, n, "count", &r->v) == 0))
			hbuf(r, &r->v);
		buf_adds(r->b, "</td>");
	}
	buf_adds(r->b, "</tr>\n");
}

/* records - the lines of NDJSON whose type is (or, with not, is not)
 * type, as a table */
static void
records(struct rep *r, const struct buf *nd, const char *type, int not,
    const char *title, const struct col *c, size_t nc)
{
	const char *p = nd->data, *end = nd->data + nd->len, *l;
	size_t n;

	head(r, title, c, nc);
	while ((l = incident_line(&p, end, &n)) != NULL)
		if (show_json_get(l, n, "type", &r->t) == 0 &&
		    (strcmp(r->t.data, type) == 0) != not)
			row(r, l, n, c, nc);
	buf_adds(r->b, "</table>\n");
}

static void
kv(struct rep *r, enum msg m, const char *id, long long n)
{
	buf_printf(r->b, "<tr><th>%s</th><td id=\"%s\">%lld</td></tr>\n",
	    r->m[m], id, n);
}

static void
kv_times(struct rep *r, enum msg m, int64_t t0, int64_t t1)
{
	buf_printf(r->b, "<tr><th>%s</th><td>", r->m[m]);
	htime(r, t0);
	buf_adds(r->b, " / ");
	htime(r, t1);
	buf_adds(r->b, "</td></tr>\n");
}

static const char *
kind_text(const struct rep *r, const char *kind)
{
	static const char *const k[] = { "alert", "failed_login",
	    "new_address", "new_country", "new_asn" };
	size_t i;

	for (i = 0; i < nitems(k); i++)
		if (strcmp(kind, k[i]) == 0)
			return r->m[M_K_ALERT + i];
	return kind;
}

/* event - one suspicious event as text: time, what, from where */
static void
event(struct rep *r, const struct susp *e)
{
	htime(r, e->first);
	if (e->last && e->last != e->first) {
		buf_adds(r->b, " – ");
		htime(r, e->last);
	}
	buf_printf(r->b, ": %s", kind_text(r, e->kind));
	if (e->what.len) {
		buf_adds(r->b, " <b>");
		hbuf(r, &e->what);
		buf_adds(r->b, "</b>");
	}
	if (e->ip.len) {
		buf_adds(r->b, r->ja ? "、アドレス " : ", address ");
		hbuf(r, &e->ip);
	}
	if (e->count > 0)
		buf_printf(r->b, r->ja ? " (%lld 件)" : " (%lld)", e->count);
}

static void
conclusion(struct rep *r, const struct summary *s)
{
	const struct susp *last = NULL;
	size_t i;

	if (s->nev == 0) {
		buf_printf(r->b, "<p class=\"ok\" id=\"verdict\">%s</p>\n",
		    r->m[M_NOTHING]);
		return;
	}
	for (i = 0; i < s->nev; i++)
		if (last == NULL || s->ev[i].last >= last->last)
			last = &s->ev[i];
	buf_adds(r->b, "<div class=\"bad\" id=\"verdict\"><p>");
	if (r->ja)
		buf_printf(r->b, "不審なイベント (またはそのまとまり) が "
		    "<b id=\"n-events\">%zu</b> 件見つかりました。", s->nev);
	else
		buf_printf(r->b, "<b id=\"n-events\">%zu</b> suspicious events "
		    "(or groups of them) were found.", s->nev);
	buf_printf(r->b, "</p>\n<p>%s: ", r->m[M_FIRST]);
	event(r, &s->ev[0]);
	buf_printf(r->b, "</p>\n<p>%s: ", r->m[M_LAST]);
	event(r, last);
	buf_adds(r->b, "</p></div>\n");
}

static void
summary_table(struct rep *r, const struct incident *in)
{
	const struct summary *s = &in->s;

	buf_printf(r->b, "<h2>%s</h2>\n<table>\n", r->m[M_SUMMARY]);
	kv(r, M_LOGINS_OK, "n-logins-ok", s->ok);
	kv_times(r, M_FIRST_LAST_OK, s->first_ok, s->last_ok);
	kv(r, M_FAILED, "n-failed", s->fail);
	kv_times(r, M_FIRST_LAST_FAIL, s->first_fail, s->last_fail);
	kv(r, M_MESSAGES, "n-messages", s->messages);
	kv(r, M_RECIPIENTS, "n-recipients", s->recipients);
	kv(r, M_BYTES, "n-bytes", s->bytes);
	kv(r, M_INFERRED, "n-inferred", s->inferred);
	kv(r, M_ALERTS, "n-alerts", (long long)in->nalerts);
	kv(r, M_SUSPICIOUS, "n-suspicious", (long long)s->nev);
	buf_adds(r->b, "</table>\n");
}

static void
events_table(struct rep *r, const struct summary *s)
{
	size_t i;

	buf_printf(r->b, "<h2>%s</h2>\n", r->m[M_SUSPICIOUS]);
	if (s->nev == 0) {
		buf_printf(r->b, "<p>%s</p>\n", r->m[M_NONE]);
		return;
	}
	buf_adds(r->b, "<ol>\n");
	for (i = 0; i < s->nev && i < MAX_LISTED; i++) {
		buf_adds(r->b, "<li>");
		event(r, &s->ev[i]);
		buf_adds(r->b, "</li>\n");
	}
	buf_adds(r->b, "</ol>\n");
	if (s->nev > MAX_LISTED)
		buf_printf(r->b, r->ja ? "<p>ほか %zu 件 (すべて summary.json "
		    "にあります)。</p>\n" : "<p>%zu more (summary.json lists "
		    "them all).</p>\n", s->nev - MAX_LISTED);
}

/* tallies - a table of counted values; cols: 'o' ok/fail, 'm' messages,
 * 'p' note (place), 'a' note (name), 't' first/last, 'n' new, 'c' count */
static void
tallies(struct rep *r, enum msg title, const char *kh,
    const struct tallies *t, const char *cols)
{
	static const char *const hen[] = { "ok</th><th>failed", "messages",
	    "place", "first / last", "new", "count", "name" };
	static const char *const hja[] = { "成功</th><th>失敗", "送信数",
	    "場所", "最初 / 最後", "新規", "件数", "名前" };
	static const char order[] = "omptnca";
	const char *const *h = r->ja ? hja : hen;
	const char *c;
	size_t i;

	buf_printf(r->b, "<h3>%s</h3>\n", r->m[title]);
	if (t->n == 0) {
		buf_printf(r->b, "<p>%s</p>\n", r->m[M_NONE]);
		return;
	}
	buf_printf(r->b, "<table>\n<tr><th>%s</th>", kh);
	for (c = cols; *c; c++)
		buf_printf(r->b, "<th>%s</th>", h[strchr(order, *c) - order]);
	buf_adds(r->b, "</tr>\n");
	for (i = 0; i < t->n; i++) {
		const struct tally *x = &t->v[i];

		buf_adds(r->b, "<tr><td>");
		hbuf(r, &x->key);
		buf_adds(r->b, "</td>");
		for (c = cols; *c; c++) {
			buf_adds(r->b, "<td>");
			switch (*c) {
			case 'o':
				buf_printf(r->b, "%lld</td><td>%lld", x->ok,
				    x->fail);
				break;
			case 'm':
				buf_printf(r->b, "%lld", x->msgs);
				break;
			case 'p':
			case 'a':
				hbuf(r, &x->note);
				break;
			case 't':
				htime(r, x->first);
				buf_adds(r->b, " / ");
				htime(r, x->last);
				break;
			case 'n':
				buf_adds(r->b, x->isnew ? r->m[M_NEW] : "");
				break;
			case 'c':
				buf_printf(r->b, "%lld", x->n);
				break;
			}
			buf_adds(r->b, "</td>");
		}
		buf_adds(r->b, "</tr>\n");
	}
	buf_adds(r->b, "</table>\n");
}

static void
where(struct rep *r, const struct summary *s)
{
	buf_printf(r->b, "<h2>%s</h2>\n", r->m[M_WHERE]);
	tallies(r, M_ADDRESSES, r->ja ? "アドレス" : "address", &s->ips,
	    "opmtn");
	if (s->geo_fallback)
		buf_printf(r->b, "<p>%s</p>\n", r->m[M_GEO_NOTE]);
	tallies(r, M_COUNTRIES, r->ja ? "国" : "country", &s->countries,
	    s->geo_fallback ? "tn" : "otn");
	tallies(r, M_ASNS, "ASN", &s->asns, s->geo_fallback ? "atn" : "oatn");
	tallies(r, M_DOMAINS, r->ja ? "ドメイン" : "domain", &s->domains, "c");
	tallies(r, M_DELIVERY, r->ja ? "結果" : "status", &s->status, "c");
}

/* audit_value - r->v, a value of a history entry: a list one per line */
static void
audit_value(struct rep *r)
{
	if (r->v.len == 0 || r->v.data[0] != '[') {
		hbuf(r, &r->v);
		return;
	}
	buf_reset(&r->t);
	incident_strings(&r->t, &r->v, "\n");
	hbuf(r, &r->t);
}

static void
audits(struct rep *r, const struct incident *in)
{
	const redisReply *e, *x;
	size_t i, j, k;

	for (i = 0, k = 0; i < in->naudits; i++)
		k += in->audits[i].nruns;
	if (k == 0) {
		buf_printf(r->b, "<h2>%s</h2>\n<p>%s</p>\n", r->m[M_AUDITS],
		    r->m[M_NONE]);
		return;
	}
	head(r, r->m[M_AUDITS], audit_cols, nitems(audit_cols));
	for (i = 0; i < in->naudits; i++) {
		const struct audit_rec *a = &in->audits[i];

		for (j = 0; j < a->nruns; j++) {
			e = a->hist->element[a->runs[j]];
			buf_adds(r->b, "<tr><td>");
			incident_html(r->b, a->name.data, a->name.len);
			for (k = 0; k < 2; k++)
				if ((x = incident_audit_field(a, k)) != NULL) {
					buf_adds(r->b, k ? " " : " (");
					incident_html(r->b, x->str, x->len);
				}
			buf_adds(r->b, incident_audit_field(a, 0) ? ")</td>" :
			    "</td>");
			for (k = 1; k < nitems(audit_cols); k++) {
				buf_adds(r->b, "<td>");
				if (show_json_get(e->str, e->len,
				    audit_cols[k].field, &r->v) == 0 &&
				    strcmp(r->v.data, "null") != 0)
					audit_value(r);
				buf_adds(r->b, "</td>");
			}
			buf_adds(r->b, "</tr>\n");
		}
	}
	buf_adds(r->b, "</table>\n");
}

void
incident_report(struct buf *b, const struct incident *in, const char *lang)
{
	struct rep r;
	char t0[32], t1[32], now[32];
	size_t i;

	r.b = b;
	r.ja = strncmp(lang, "ja", 2) == 0;
	r.m = r.ja ? ja : en;
	buf_init(&r.v);
	buf_init(&r.t);
	time_format(in->h.since, t0, sizeof(t0));
	time_format(in->h.until, t1, sizeof(t1));
	time_format(now_us(), now, sizeof(now));
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<title>fumidai: %s</title>\n"
	    "<style>body{font-family:sans-serif;margin:1em 2em}"
	    "table{border-collapse:collapse;margin-bottom:1em}"
	    "td,th{border:1px solid #999;padding:2px 6px;text-align:left;"
	    "vertical-align:top;overflow-wrap:anywhere;white-space:pre-line}"
	    "th{background:#eee}"
	    ".ok{background:#e6f4e6;padding:.5em}"
	    ".bad{background:#fbe9e7;padding:.5em}</style>\n</head>\n<body>\n"
	    "<h1>%s <code id=\"account\">", r.ja ? "ja" : "en", r.m[M_TITLE],
	    r.m[M_TITLE]);
	incident_html(b, in->h.name.data, in->h.name.len);
	buf_adds(b, "</code></h1>\n<p>");
	if (r.ja)
		buf_printf(b, "対象期間: %s から %s まで (イベント時刻、UTC、終了"
		    "時刻は含まない)。fumidai の記録による。作成日時 %s。", t0, t1,
		    now);
	else
		buf_printf(b, "Events from %s to %s (event time, UTC; the end "
		    "excluded), as recorded by fumidai.  Written %s.", t0, t1,
		    now);
	buf_adds(b, "</p>\n");
	conclusion(&r, &in->s);
	summary_table(&r, in);
	events_table(&r, &in->s);
	where(&r, &in->s);
	if (in->nalerts == 0)
		buf_printf(b, "<h2>%s</h2>\n<p>%s</p>\n", r.m[M_ALERTS],
		    r.m[M_NONE]);
	else {
		head(&r, r.m[M_ALERTS], alert_cols, nitems(alert_cols));
		for (i = 0; i < in->nalerts; i++)
			row(&r, in->alerts[i].data, in->alerts[i].len,
			    alert_cols, nitems(alert_cols));
		buf_adds(b, "</table>\n");
	}
	audits(&r, in);
	records(&r, &in->lnd, "login", 0, r.m[M_LOGINS], login_cols,
	    nitems(login_cols));
	records(&r, &in->lnd, "login", 1, r.m[M_ROLLUPS], roll_cols,
	    nitems(roll_cols));
	records(&r, &in->mnd, "message", 0, r.m[M_SENT], msg_cols,
	    nitems(msg_cols));
	buf_printf(b, "<p>%s</p>\n</body>\n</html>\n", r.m[M_FILES]);
	buf_free(&r.v);
	buf_free(&r.t);
}
