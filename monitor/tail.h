/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tail.h - follow a growing log file on the libevent loop, and read archived
 * logs (plain, .gz, stdin) for replay.
 *
 * A follower delivers chunks of complete lines (each ending in '\n'): a
 * partial last line waits for its newline.  It survives rotation by rename +
 * create (the old file is drained to its end first) and by copytruncate, a
 * file that does not exist yet, and lines longer than max_line (dropped,
 * counted in skipped_long).  inotify wakes it; stat() polling every poll_ms
 * is the fallback and the safety net.
 *
 * Positions: a tail_pos names a byte offset in one file (device, inode) plus
 * the line number there and a fingerprint of the line just before it, so a
 * restart can check it resumes in the same file at the same place.
 *
 * Ownership: chunk data is borrowed until the callback returns.  A chunk's
 * [start, end) also covers the over-long lines dropped inside it, so len can
 * be smaller than end.offset - start.offset, even 0.  A reader's last line
 * without '\n' is delivered with a '\n' added (not counted in end.offset).
 */
#ifndef FM_TAIL_H
#define FM_TAIL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

struct tail_pos {
	uint64_t dev, ino;	/* identity of the file; 0/0 for a stream */
	uint64_t offset;	/* bytes consumed, always at a line start */
	uint64_t line_no;	/* complete lines consumed */
	uint64_t fp;		/* fnv1a64 of the last consumed line, 0 at offset 0 */
};

struct tail_chunk {
	const char *data;	/* complete lines */
	size_t len;
	struct tail_pos start;	/* position of data[0] */
	struct tail_pos end;	/* position after data[len-1] */
	uint64_t skipped_long;	/* over-long lines dropped before end */
	int rotated;		/* first chunk after a rotation / truncation */
};

struct tail;
typedef void tail_chunk_fn(void *arg, struct tail *t, const struct tail_chunk *c);
/* tail_eof_fn - a reader reached the end of its input (replay only) */
typedef void tail_eof_fn(void *arg, struct tail *t, int error);

/* tail_follow - follow path; resume NULL starts at the beginning of the
 * current file.  A resume position whose file or fingerprint no longer
 * matches is looked up among the files beside path (a rotated file keeps its
 * inode) and drained from there, else reading starts at the beginning of the
 * current file and a warning is logged. */
struct tail *tail_follow(struct event_base *base, const char *path,
    const struct tail_pos *resume, size_t max_line, int poll_ms,
    tail_chunk_fn *cb, void *arg);
/* tail_read - read a whole file for replay: "-" is stdin, "*.gz" is
 * decompressed with gzip -dc (no shell).  Calls eof when done (error 1 on a
 * read error or a failed gzip).  NULL (logged) if path cannot be opened. */
struct tail *tail_read(struct event_base *base, const char *path,
    size_t max_line, tail_chunk_fn *cb, tail_eof_fn *eof, void *arg);
/* tail_read_range - synchronously re-read [from, to) of the file with
 * identity (from.dev, from.ino), found as path or beside it; the chunk(s)
 * delivered cover exactly that range.  0 / -1 with err. */
int tail_read_range(const char *path, const struct tail_pos *from,
    const struct tail_pos *to, size_t max_line, tail_chunk_fn *cb, void *arg,
    char *err, size_t errlen);
/* tail_pause / tail_resume - backpressure: no callbacks while paused */
/* (tail_free may be called from a callback: the release is deferred) */
void tail_pause(struct tail *t);
void tail_resume(struct tail *t);
/* tail_position - position after the last delivered chunk */
const struct tail_pos *tail_position(const struct tail *t);
/* tail_progress - bytes read and total size (replay progress); total 0 unknown */
void tail_progress(const struct tail *t, uint64_t *done, uint64_t *total);
const char *tail_path(const struct tail *t);
void tail_free(struct tail *t);

#endif
