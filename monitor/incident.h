/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * incident.h - what the parts of `fumidai incident` share: the bundle being
 * built (struct incident), the summary computed from it (incident_summary.c),
 * the audit results in force during the range (incident_audit.c) and the
 * HTML reports (incident_report.c).  cmd_incident.c reads Redis and writes
 * the files.
 *
 * SECURITY: every string held here came from logs or from audited servers
 * and may hold any bytes.  The writers escape it: JSON with
 * scripts_json_bin (records fumidai stored are valid JSON already), CSV with
 * history_csv_text, HTML with incident_html.
 */
#ifndef FM_INCIDENT_H
#define FM_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "cmd_history.h"
#include "util.h"

/* One counted value (an address, a country, a domain, a status...). */
struct tally {
	struct buf key;
	struct buf note;	/* address: its country/ASN; ASN: its name */
	long long ok, fail, msgs, n;
	int64_t first, last;	/* us, 0: unknown */
	int isnew;		/* not seen before the range */
};

struct tallies {
	struct tally *v;
	size_t n;
	size_t *idx;		/* hash of keys: index + 1, 0 empty */
	size_t cap;		/* slots of idx, a power of two */
};

/* One suspicious event (or group of them, e.g. failures from one address). */
struct susp {
	const char *kind;	/* alert, failed_login, new_address, ... */
	struct buf what;	/* alert kind, service, country... */
	struct buf ip;
	long long count;
	int64_t first, last;
};

struct summary {
	long long ok, fail, messages, recipients, bytes, inferred;
	int64_t first_ok, last_ok, first_fail, last_fail;
	struct tallies ips, countries, asns, domains, status, kinds;
	int geo_fallback;	/* countries/ASNs from :geo, not records */
	struct susp *ev;	/* by first time */
	size_t nev;
};

/* One place of the account's login geography (:geo). */
struct geo_place {
	char kind;		/* 'c' country, 'a' ASN */
	struct buf key, name;
	long long count;
	int64_t first, last;
};

/* One audit: its latest run and the runs in force during the range. */
struct audit_rec {
	struct buf name;
	redisReply *h;		/* HMGET type target summary json time */
	redisReply *hist;	/* LRANGE, newest first */
	size_t *runs;		/* indices into hist, oldest first */
	size_t nruns;
	int latest_in;		/* the latest run is among runs */
};

struct incident {
	struct history h;	/* the range */
	const char *out;
	struct buf lnd, mnd;	/* logins / messages as history_json NDJSON */
	struct buf known;	/* before the range: history_json NDJSON */
	int has_known;		/* a successful login before the range */
	struct buf *alerts;	/* latest records of its alerts, as stored */
	size_t nalerts;
	struct geo_place *geo;
	size_t ngeo;
	struct audit_rec *audits;
	size_t naudits;
	struct summary s;
	char err[512];
};

/* incident_summarize - fill in->s from the NDJSON, alerts and geography */
void incident_summarize(struct incident *in);
/* incident_summary_json - summary.json */
void incident_summary_json(struct buf *b, const struct incident *in);
/* incident_summary_csv - summary.csv: section,key,detail,ok,fail,messages,
 * count,first,last,new (sections total, suspicious, address, country, asn,
 * domain, delivery, alert_kind) */
void incident_summary_csv(struct buf *b, const struct incident *in);
void incident_summary_free(struct summary *s);

/* incident_audits_read - the audits configured or recorded, and their runs
 * in force during the range: 0, or -1 with in->err set */
int incident_audits_read(redisContext *c, struct incident *in);
void incident_audits_json(struct buf *b, const struct incident *in);
void incident_audits_csv(struct buf *b, const struct incident *in);
void incident_audits_free(struct incident *in);
/* incident_audit_field - HMGET field i of an audit (type target summary
 * json time), NULL when absent */
const redisReply *incident_audit_field(const struct audit_rec *a, size_t i);

/* incident_report - report.<lang>.html, lang "en" or "ja" */
void incident_report(struct buf *b, const struct incident *in,
    const char *lang);
/* incident_html - untrusted text as HTML text: terminal-escaped (valid
 * UTF-8, no control byte, no bidi override), then & < > " ' as entities */
void incident_html(struct buf *b, const char *p, size_t n);

/* incident_lines - the next line of NDJSON at *p (before end): its start
 * and length, or NULL at the end */
const char *incident_line(const char **p, const char *end, size_t *len);
/* incident_array_next - the next element of the JSON array text at *p
 * (after '[' or a previous element): its start and length, or NULL */
const char *incident_array_next(const char **p, const char *end,
    size_t *len);
/* incident_strings - the strings of a JSON array text, decoded, joined
 * with sep, appended to out */
void incident_strings(struct buf *out, const struct buf *arr,
    const char *sep);
/* incident_time - the ISO time field name of a record, us (0: none) */
int64_t incident_time(const char *p, size_t n, const char *name,
    struct buf *tmp);

#endif
