/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mailmsg.h - what the mail notifier plugins (notify_owner.c,
 * notify_mail.c) share: a growable buffer, reading fields of an alert's
 * JSON record, cleaning untrusted text for a message body, RFC 2047
 * encoded headers, RFC 5322 dates, Message-IDs, a MIME UTF-8 message with
 * a base64 body, time in a named zone, and small section templates.
 * Compiled into each plugin (a plugin links nothing of the core); nothing
 * here is exported from a plugin.
 *
 * SECURITY: alert text (account, places, organisations, summaries) is
 * attacker-controlled.  mm_clean makes it printable UTF-8 with every
 * control, format and invalid byte written as an escape; mm_header
 * encodes anything but plain printable ASCII as RFC 2047 encoded words
 * and folds lines, so no header value can hold CR or LF; the body is
 * base64, so no line of it can be taken for a header or a boundary.
 * Addresses reach a header only after mm_addr_ok.
 */
#ifndef FM_MAILMSG_H
#define FM_MAILMSG_H

#include <stddef.h>
#include <stdint.h>

#define mm_nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* mm_hash - FNV-1a 64 of n bytes (Message-ID parts, not security) */
uint64_t mm_hash(const void *p, size_t n);

/* A growable byte string, always NUL-terminated once written to.  Memory
 * exhaustion aborts (a plugin has no xmalloc). */
struct mm_buf {
	char *p;
	size_t len, cap;
};

void mm_free(struct mm_buf *b);
void mm_reset(struct mm_buf *b);
void mm_add(struct mm_buf *b, const void *p, size_t n);
void mm_adds(struct mm_buf *b, const char *s);
void mm_addc(struct mm_buf *b, char c);
void mm_printf(struct mm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* mm_str - the text ("" when nothing was written) */
const char *mm_str(const struct mm_buf *b);
char *mm_strdup(const char *s);		/* aborts on exhaustion */

/* mm_json_get - the value at dotted path ("evidence.to.city") of a JSON
 * object: a string decoded (\uXXXX to UTF-8, \u0000 to a NUL byte), a
 * number or true/false as written, an object or array as raw text; into
 * out (appended).  1 when found (null counts as absent), 0 if not. */
int mm_json_get(const char *json, size_t len, const char *path,
    struct mm_buf *out);

/* mm_clean - append untrusted bytes as printable UTF-8: controls, C1,
 * bidi and other format characters, backslash and invalid UTF-8 become
 * "\xNN" / "\u{NNNN}" / "\\"; at most max bytes of input ("..." after) */
void mm_clean(struct mm_buf *out, const char *p, size_t n, size_t max);
/* mm_clean_json - the same for a JSON record: backslashes kept (the JSON
 * writer escaped every control character already) */
void mm_clean_json(struct mm_buf *out, const char *p, size_t n, size_t max);

/* mm_addr_ok - a plain address local@domain: dot-atom local part
 * (RFC 5322 atext), domain of letters, digits, '-' and dots, <= 254 */
int mm_addr_ok(const char *s, size_t n);
/* mm_domain_ok - a host name as above */
int mm_domain_ok(const char *s, size_t n);

/* mm_header - "Name: value\r\n": value as is when it is printable ASCII
 * that fits and holds no "=?", else RFC 2047 B words of UTF-8 folded to
 * lines of at most 78 bytes.  value must hold no control characters
 * (mm_clean output or trusted text). */
void mm_header(struct mm_buf *out, const char *name, const char *value);
/* mm_header_encoded - the same, always as encoded words: for a value that
 * holds text from logs (which then never reaches a header as it is) */
void mm_header_encoded(struct mm_buf *out, const char *name,
    const char *value);
/* mm_header_addrs - "To: a, b, ...\r\n" folded; addresses checked by the
 * caller (mm_addr_ok) */
void mm_header_addrs(struct mm_buf *out, const char *name,
    const char *const *addrs, size_t n);
/* mm_date - an RFC 5322 date of t (UTC, "+0000"), locale-independent */
void mm_date(struct mm_buf *out, int64_t t);
/* mm_base64 - base64 of p in lines of 76 characters, each ending CRLF */
void mm_base64(struct mm_buf *out, const void *p, size_t n);

/* The parts of a notification message (all text trusted or cleaned). */
struct mm_msg {
	const char *from;		/* address */
	const char *const *to;		/* addresses */
	size_t nto;
	const char *subject;		/* UTF-8 */
	int subject_untrusted;		/* it holds text from logs: encode */
	const char *msgid;		/* "<...>" */
	int64_t date;			/* Unix seconds */
	const char *extra;		/* more header lines (CRLF each) or NULL */
	const char *body;		/* UTF-8 text, LF or CRLF line ends */
	size_t bodylen;
};
/* mm_message - the whole message: From, To, Subject, Date, Message-ID,
 * MIME-Version, Content-Type text/plain UTF-8, base64 body */
void mm_message(struct mm_buf *out, const struct mm_msg *m);

/* mm_msgid - "<tag.a.b@domain>" from safe parts (letters, digits, '.',
 * '-'; anything else is dropped); domain falls back to "localhost" */
void mm_msgid(struct mm_buf *out, const char *tag, const char *a,
    const char *b, const char *domain);

/* mm_zone_ok - a time zone name of the system's database ("Asia/Tokyo",
 * "UTC"); NULL or "" is the system's local time */
int mm_zone_ok(const char *zone);
/* mm_strftime - t formatted in zone (NULL: local time) with strftime's
 * fmt; TZ is changed only for the call and put back */
void mm_strftime(struct mm_buf *out, int64_t t, const char *zone,
    const char *fmt);
/* mm_iso_time - Unix seconds of "2026-11-25T10:30:01Z" (fraction and
 * offsets accepted), -1 if not that */
int64_t mm_iso_time(const char *s);

/* Templates: a text file of sections.  "[name]" starts one; lines that
 * start with '#' are comments; a section's trailing blank lines are
 * dropped.  In a section's text ${var} expands to a value; a line that
 * starts with '?' is left out when one of its ${...} expands to ""
 * (otherwise the '?' goes). */
struct mm_tpl {
	char *path;
	char **names, **texts;
	size_t n;
};
/* mm_tpl_load - read path; 0, or -1 with a message naming file and line */
int mm_tpl_load(struct mm_tpl *t, const char *path, char *err,
    size_t errlen);
void mm_tpl_free(struct mm_tpl *t);
/* mm_tpl_get - a section's text, NULL when it has none */
const char *mm_tpl_get(const struct mm_tpl *t, const char *name);

/* mm_var_fn - the value of var (NUL-terminated name), NULL if unknown */
typedef const char *mm_var_fn(void *ctx, const char *var);
/* mm_expand - append text with ${var} expanded; -1 with the unknown name
 * in err when a var is unknown */
int mm_expand(struct mm_buf *out, const char *text, mm_var_fn *fn,
    void *ctx, char *err, size_t errlen);

#endif
