/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * show.h - what the commands that show Redis contents (account, alerts)
 * share: terminal-safe printing of untrusted text, and reading fields of the
 * JSON records fumidai itself stored (login history, alerts).
 *
 * SECURITY: the text comes from logs (account names, reasons) and may hold
 * any bytes.  show_term_escape lets no control character, escape sequence or
 * bidirectional override reach a terminal.  The JSON readers trust nothing
 * about their input but its length: malformed records give -1, never a read
 * past the end.
 */
#ifndef FM_SHOW_H
#define FM_SHOW_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* show_term_escape - printable text for a terminal appended to b: valid
 * UTF-8 kept, control characters (C0, C1), backslash, invalid bytes, line
 * separators and bidirectional controls written as \xNN per byte */
void show_term_escape(struct buf *b, const char *p, size_t n);
/* show_put_term - the same, to stdout */
void show_put_term(const char *p, size_t n);

/* show_json_get - top-level field name of the JSON object p (n bytes) into
 * out: a string value decoded (\u00XX is the byte XX: that is how fumidai
 * stores invalid UTF-8), any other value (number, bool, object, array) as
 * its JSON text.  0, or -1 when absent or malformed (out emptied). */
int show_json_get(const char *p, size_t n, const char *name, struct buf *out);

/* show_json_unescape - decode the body of a JSON string (no quotes) into
 * out, as show_json_get does; 0 / -1 on a bad escape (out then holds what
 * was decoded) */
int show_json_unescape(struct buf *out, const char *p, size_t n);

/* show_iso_us - "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (what fumidai stores) to
 * microseconds since the epoch; 0 / -1 */
int show_iso_us(const char *p, size_t n, int64_t *us);

#endif
