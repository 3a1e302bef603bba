/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tail.c - follow a growing log file on the libevent loop, and read archived
 * logs (plain, .gz, stdin) for replay.
 *
 * A follower reads its file in blocks of TAIL_BLOCK bytes, one block per
 * turn of the loop (a zero timeout between blocks, so Redis replies and the
 * other inputs are served), splits it into lines and hands the complete ones
 * to its callback.  inotify watches the file (through /proc/self/fd, so the
 * watch is on the inode actually open) and its directory (so a create or a
 * rename of the path is seen); a stat() every poll_ms is the fallback and the
 * safety net for filesystems that give no events and for a missing directory.
 *
 * At the end of the open file the path is checked: a smaller size with the
 * same inode is a copytruncate (read again from 0); another inode is a
 * rotation by rename + create.  The old file is read to its end first, and
 * the switch waits until the new file has data: a writer that writes there
 * is done with the old one, so the last lines of the old file are not lost.
 * Two rotations that both happen before the follower gets a turn lose the
 * middle file (as with tail -F).
 *
 * Chunks: data holds complete lines only.  Lines longer than max_line (not
 * counting the '\n') are dropped and counted in skipped_long; the chunk's
 * [start, end) still covers their bytes, so positions chain from chunk to
 * chunk and len may be less than end.offset - start.offset (or 0, when only
 * dropped lines were consumed).  No more than max_line + TAIL_BLOCK bytes
 * are buffered per file.  For a reader (tail_read, tail_read_range) a last
 * line without '\n' at the end of the input is delivered with a '\n'
 * appended to the chunk data; end.offset counts only the bytes of the input
 * and end.fp hashes them without the added '\n'.
 *
 * The fingerprint of a position is fnv1a64 of the line that ends there,
 * '\n' included: the bytes after the previous '\n' up to the offset.
 *
 * SECURITY: the lines are attacker-controlled and passed on as bytes (NUL
 * included) without interpretation; only their length is looked at.  Paths
 * come from the configuration or the command line; gzip is run with execvp
 * and no shell.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>
#ifdef HAVE_SYS_INOTIFY_H
#include <sys/inotify.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "tail.h"
#include "util.h"

#define TAIL_BLOCK	(256 * 1024)	/* bytes read per turn */
#define TAIL_REAP_MS	10		/* gzip exit poll */

enum tail_mode {
	TM_FOLLOW,		/* tail_follow */
	TM_FILE,		/* tail_read of a regular file: timer driven */
	TM_PIPE,		/* tail_read of a pipe or tty: EV_READ driven */
	TM_RANGE		/* tail_read_range: synchronous */
};

enum tail_state { TS_RUN, TS_REAP, TS_EOF, TS_DONE };

/* problems already logged, so each is logged once until it clears */
#define TW_OPEN		0x01
#define TW_STAT		0x02
#define TW_READ		0x04
#define TW_MISSING	0x08
#define TW_NOTREG	0x10

struct tail {
	struct event_base *base;
	enum tail_mode mode;
	enum tail_state state;
	char *path;		/* as given */
	char *dir;		/* directory of path */
	const char *name;	/* last component of path, points into path */
	size_t max_line;	/* longer lines are dropped */
	int poll_ms;		/* stat() polling interval */
	tail_chunk_fn *cb;
	tail_eof_fn *eof;
	void *arg;

	int fd;			/* input being read, -1 none */
	uint64_t dev, ino;	/* identity of fd (0/0 for a stream) */
	uint64_t roff;		/* bytes read from fd */
	struct tail_pos pos;	/* next line start: end of the last chunk */
	char *buf;		/* unconsumed bytes from pos.offset on */
	size_t blen, bcap;
	int skipping;		/* inside an over-long line */
	uint64_t skip_len;	/* its bytes so far */
	uint64_t skip_hash;	/* and their fnv1a64 */
	uint64_t skipped;	/* dropped lines not yet reported */
	int rotated;		/* the next chunk starts a new file */

	int paused, busy, dying, error;
	unsigned warned;	/* TW_* */
	int missing;		/* polls that found no file at path */
	int ifd, wd_dir, wd_file;	/* inotify */
	struct event *ev_inotify, *ev_poll, *ev_work, *ev_read;
	pid_t child;		/* gzip, or -1 */
	int gzfd;		/* the .gz file gzip reads, for progress */
	uint64_t total;		/* size of the input, 0 unknown */
};

static struct tail *tail_new(struct event_base *, const char *, size_t,
    tail_chunk_fn *, tail_eof_fn *, void *);
static void tail_destroy(struct tail *);
static void tail_schedule(struct tail *, int);
static void tail_grow(struct tail *);
static ssize_t tail_fill(struct tail *);
static int tail_scan(struct tail *, size_t);
static int tail_final(struct tail *);
static int tail_deliver(struct tail *, const char *, size_t,
    const struct tail_pos *);
static void tail_reset(struct tail *, int, uint64_t, uint64_t);
static int tail_fp_at(int, uint64_t, uint64_t *);
static int tail_open_identity(const char *, const char *, uint64_t, uint64_t,
    char **);
static int range_open(const char *, const struct tail_pos *,
    const struct tail_pos *, char *, size_t);
static void tail_work_cb(evutil_socket_t, short, void *);
static void tail_read_cb(evutil_socket_t, short, void *);
static void tail_poll_cb(evutil_socket_t, short, void *);
static void follow_step(struct tail *);
static int follow_open(struct tail *);
static void follow_check(struct tail *);
static void follow_switch(struct tail *);
static void follow_resume(struct tail *, const struct tail_pos *);
static void follow_watch_file(struct tail *);
static void follow_watch_dir(struct tail *);
#ifdef HAVE_SYS_INOTIFY_H
static void tail_inotify_cb(evutil_socket_t, short, void *);
#endif
static void read_step(struct tail *);
static void read_finish(struct tail *);
static void read_reap(struct tail *);
static pid_t read_gunzip(int, int *);

/* tail_new - common part of every tail; no input open yet */
static struct tail *
tail_new(struct event_base *base, const char *path, size_t max_line,
    tail_chunk_fn *cb, tail_eof_fn *eof, void *arg)
{
	struct tail *t;
	char *slash;

	t = xcalloc(1, sizeof(*t));
	t->base = base;
	t->path = xstrdup(path);
	slash = strrchr(t->path, '/');
	if (slash == NULL) {
		t->dir = xstrdup(".");
		t->name = t->path;
	} else {
		t->dir = slash == t->path ? xstrdup("/") :
		    xmemdup(t->path, slash - t->path);
		t->name = slash + 1;
	}
	t->max_line = max_line > 0 ? max_line : 1;
	t->cb = cb;
	t->eof = eof;
	t->arg = arg;
	t->fd = t->ifd = t->gzfd = -1;
	t->wd_dir = t->wd_file = -1;
	t->child = -1;
	if (base != NULL)
		t->ev_work = evtimer_new(base, tail_work_cb, t);
	return t;
}

struct tail *
tail_follow(struct event_base *base, const char *path,
    const struct tail_pos *resume, size_t max_line, int poll_ms,
    tail_chunk_fn *cb, void *arg)
{
	struct tail *t;
	struct timeval tv;

	t = tail_new(base, path, max_line, cb, NULL, arg);
	t->mode = TM_FOLLOW;
	t->poll_ms = poll_ms > 0 ? poll_ms : 1000;
#ifdef HAVE_SYS_INOTIFY_H
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd == -1)
		log_warn("tail path=%s: inotify_init1, polling only", t->path);
	else {
		t->ev_inotify = event_new(base, t->ifd, EV_READ | EV_PERSIST,
		    tail_inotify_cb, t);
		event_add(t->ev_inotify, NULL);
	}
#endif
	follow_watch_dir(t);
	if (resume != NULL)
		follow_resume(t, resume);
	t->ev_poll = event_new(base, -1, EV_PERSIST, tail_poll_cb, t);
	tv.tv_sec = t->poll_ms / 1000;
	tv.tv_usec = (t->poll_ms % 1000) * 1000;
	event_add(t->ev_poll, &tv);
	tail_schedule(t, 0);
	return t;
}

/* follow_resume - reopen the file of a saved position, at path or beside it */
static void
follow_resume(struct tail *t, const struct tail_pos *r)
{
	struct stat st;
	char *where = NULL;
	uint64_t fp;
	int fd;

	fd = tail_open_identity(t->path, t->dir, r->dev, r->ino, &where);
	if (fd != -1 && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size >= r->offset &&
	    tail_fp_at(fd, r->offset, &fp) == 0 && fp == r->fp &&
	    lseek(fd, (off_t)r->offset, SEEK_SET) != -1) {
		t->fd = fd;
		t->dev = r->dev;
		t->ino = r->ino;
		t->roff = r->offset;
		t->pos = *r;
		if (strcmp(where, t->path) != 0)
			log_info("tail path=%s: resuming in rotated file %s "
			    "offset=%llu", t->path, where,
			    (unsigned long long)r->offset);
		free(where);
		follow_watch_file(t);
		return;
	}
	if (fd != -1)
		close(fd);
	free(where);
	log_warnx("tail path=%s: saved position dev=%llu ino=%llu offset=%llu "
	    "not found (file replaced, truncated or rotated away): reading "
	    "the current file from the start", t->path,
	    (unsigned long long)r->dev, (unsigned long long)r->ino,
	    (unsigned long long)r->offset);
	t->rotated = 1;
}

struct tail *
tail_read(struct event_base *base, const char *path, size_t max_line,
    tail_chunk_fn *cb, tail_eof_fn *eof, void *arg)
{
	struct tail *t;
	struct stat st;
	size_t len = strlen(path);
	int fd, stream = 0;

	if (strcmp(path, "-") == 0) {
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		stream = 1;
	} else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		log_warn("tail path=%s: open", path);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	t = tail_new(base, path, max_line, cb, eof, arg);
	t->mode = S_ISREG(st.st_mode) ? TM_FILE : TM_PIPE;
	t->total = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	if (!stream && S_ISREG(st.st_mode)) {
		t->dev = t->pos.dev = st.st_dev;
		t->ino = t->pos.ino = st.st_ino;
	}
	t->fd = fd;
	if (len > 3 && strcmp(path + len - 3, ".gz") == 0) {
		t->gzfd = fd;
		t->dev = t->ino = t->pos.dev = t->pos.ino = 0;
		t->mode = TM_PIPE;
		if ((t->child = read_gunzip(t->gzfd, &t->fd)) == -1) {
			log_warn("tail path=%s: cannot run gzip", path);
			t->fd = -1;
			tail_destroy(t);
			return NULL;
		}
	}
	if (t->mode == TM_PIPE) {
		t->ev_read = event_new(base, t->fd, EV_READ | EV_PERSIST,
		    tail_read_cb, t);
		event_add(t->ev_read, NULL);
	} else
		tail_schedule(t, 0);
	return t;
}

/* read_gunzip - run "gzip -dc" reading in; its output pipe into *out */
static pid_t
read_gunzip(int in, int *out)
{
	char *argv[] = { "gzip", "-dc", NULL };
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	switch ((pid = fork())) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		if (dup2(in, STDIN_FILENO) == -1 ||
		    dup2(p[1], STDOUT_FILENO) == -1)
			_exit(127);
		closefrom(STDERR_FILENO + 1);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* range_open - open the file of a range and check both ends still match */
static int
range_open(const char *path, const struct tail_pos *from,
    const struct tail_pos *to, char *err, size_t errlen)
{
	struct stat st;
	char *dir, *slash;
	uint64_t fp0, fp1;
	int fd;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	fd = tail_open_identity(path, slash ? dir : ".", from->dev, from->ino,
	    NULL);
	free(dir);
	if (fd == -1) {
		snprintf(err, errlen, "%s: no file with dev=%llu ino=%llu "
		    "at or beside it", path, (unsigned long long)from->dev,
		    (unsigned long long)from->ino);
		return -1;
	}
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size < to->offset ||
	    tail_fp_at(fd, from->offset, &fp0) == -1 ||
	    tail_fp_at(fd, to->offset, &fp1) == -1 ||
	    fp0 != from->fp || fp1 != to->fp) {
		snprintf(err, errlen, "%s: range %llu-%llu no longer matches "
		    "the file (truncated or rewritten)", path,
		    (unsigned long long)from->offset,
		    (unsigned long long)to->offset);
		close(fd);
		return -1;
	}
	return fd;
}

int
tail_read_range(const char *path, const struct tail_pos *from,
    const struct tail_pos *to, size_t max_line, tail_chunk_fn *cb, void *arg,
    char *err, size_t errlen)
{
	struct tail *t;
	ssize_t n;
	int fd, rc = -1;

	if (from->dev == 0 && from->ino == 0) {
		snprintf(err, errlen, "%s: a stream position cannot be re-read",
		    path);
		return -1;
	}
	if (to->dev != from->dev || to->ino != from->ino ||
	    to->offset < from->offset) {
		snprintf(err, errlen, "%s: invalid range", path);
		return -1;
	}
	if ((fd = range_open(path, from, to, err, errlen)) == -1)
		return -1;
	t = tail_new(NULL, path, max_line, cb, NULL, arg);
	t->mode = TM_RANGE;
	t->fd = fd;
	t->dev = from->dev;
	t->ino = from->ino;
	t->pos = *from;
	t->roff = from->offset;
	while (t->roff < to->offset) {
		tail_grow(t);
		n = pread(fd, t->buf + t->blen,
		    FM_MIN(TAIL_BLOCK, to->offset - t->roff), (off_t)t->roff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: read: %s", path, n == 0 ?
			    "unexpected end of file" : strerror(errno));
			goto out;
		}
		t->roff += n;
		tail_scan(t, n);
	}
	if (t->blen > 0 || t->skipping)
		tail_final(t);
	rc = 0;
 out:
	tail_destroy(t);
	return rc;
}

void
tail_pause(struct tail *t)
{
	t->paused = 1;
	if (t->ev_work != NULL)
		event_del(t->ev_work);
	if (t->ev_read != NULL)
		event_del(t->ev_read);
}

void
tail_resume(struct tail *t)
{
	if (!t->paused)
		return;
	t->paused = 0;
	if (t->mode == TM_PIPE && t->state == TS_RUN)
		event_add(t->ev_read, NULL);
	else
		tail_schedule(t, 0);
}

const struct tail_pos *
tail_position(const struct tail *t)
{
	return &t->pos;
}

/* tail_progress - a follower reports bytes read and the current size, a
 * reader of .gz the compressed bytes gzip has taken from the shared file */
void
tail_progress(const struct tail *t, uint64_t *done, uint64_t *total)
{
	struct stat st;
	off_t off;

	*done = t->roff;
	*total = t->total;
	if (t->gzfd != -1) {
		off = lseek(t->gzfd, 0, SEEK_CUR);
		*done = off > 0 ? (uint64_t)off : 0;
		if (t->state != TS_RUN)
			*done = t->total;
	} else if (t->mode == TM_FOLLOW)
		*total = t->fd != -1 && fstat(t->fd, &st) == 0 ?
		    (uint64_t)st.st_size : 0;
}

const char *
tail_path(const struct tail *t)
{
	return t->path;
}

/* tail_free - from inside one of its callbacks the release is deferred
 * until the callback returns; tail_read_range's handle is not the caller's */
void
tail_free(struct tail *t)
{
	if (t == NULL || t->mode == TM_RANGE)
		return;
	if (t->busy) {
		t->dying = 1;
		tail_pause(t);
		return;
	}
	tail_destroy(t);
}

static void
tail_destroy(struct tail *t)
{
	int status;

	if (t->ev_work != NULL)
		event_free(t->ev_work);
	if (t->ev_read != NULL)
		event_free(t->ev_read);
	if (t->ev_poll != NULL)
		event_free(t->ev_poll);
	if (t->ev_inotify != NULL)
		event_free(t->ev_inotify);
	if (t->ifd != -1)
		close(t->ifd);
	if (t->fd != -1)
		close(t->fd);
	if (t->gzfd != -1)
		close(t->gzfd);
	if (t->child != -1) {
		kill(t->child, SIGTERM);
		while (waitpid(t->child, &status, 0) == -1 && errno == EINTR)
			;
	}
	free(t->buf);
	free(t->dir);
	free(t->path);
	free(t);
}

/* tail_schedule - run the next step after ms (0: next turn of the loop) */
static void
tail_schedule(struct tail *t, int ms)
{
	struct timeval tv;

	if (t->paused || t->dying || t->ev_work == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(t->ev_work, &tv);
}

static void
tail_work_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;

	(void)fd;
	(void)what;
	if (t->paused)
		return;
	if (t->mode == TM_FOLLOW) {
		follow_step(t);
		return;
	}
	switch (t->state) {
	case TS_RUN:
		read_step(t);
		break;
	case TS_REAP:
		read_reap(t);
		break;
	case TS_EOF:
		t->state = TS_DONE;
		t->busy++;
		if (t->eof != NULL)
			t->eof(t->arg, t, t->error);
		if (--t->busy == 0 && t->dying)
			tail_destroy(t);
		break;
	case TS_DONE:
		break;
	}
}

/* tail_grow - room for a block after the partial line, and a '\n' */
static void
tail_grow(struct tail *t)
{
	if (t->bcap < t->blen + TAIL_BLOCK + 1) {
		t->bcap = t->blen + TAIL_BLOCK + 1;
		t->buf = xrealloc(t->buf, t->bcap);
	}
}

/* tail_fill - read one block after the buffered partial line */
static ssize_t
tail_fill(struct tail *t)
{
	ssize_t n;

	tail_grow(t);
	n = read(t->fd, t->buf + t->blen, TAIL_BLOCK);
	if (n > 0)
		t->roff += n;
	return n;
}

/* tail_scan - split the buffer after n new bytes arrived behind the partial
 * line: lines up to max_line are compacted to the front, longer ones
 * dropped, and what was consumed is delivered.  -1 when the tail was freed
 * by its callback. */
static int
tail_scan(struct tail *t, size_t n)
{
	char *p = t->buf, *end = t->buf + t->blen + n, *line = p, *w = p;
	char *from = p + t->blen, *nl;
	const char *last = NULL;
	struct tail_pos start = t->pos;
	size_t len, lastlen = 0, rem;

	if (t->skipping) {
		if ((nl = memchr(p, '\n', n)) == NULL) {
			t->skip_hash = fnv1a64(p, n, t->skip_hash);
			t->skip_len += n;
			return 0;
		}
		len = nl + 1 - p;
		t->pos.fp = fnv1a64(p, len, t->skip_hash);
		t->pos.offset += t->skip_len + len;
		t->pos.line_no++;
		t->skipped++;
		t->skipping = 0;
		line = from = nl + 1;
	}
	while ((nl = memchr(from, '\n', end - from)) != NULL) {
		len = nl + 1 - line;
		if (len - 1 > t->max_line) {
			t->skipped++;
			last = line;
		} else {
			if (w != line)
				memmove(w, line, len);
			last = w;
			w += len;
		}
		lastlen = len;
		t->pos.offset += len;
		t->pos.line_no++;
		line = from = nl + 1;
	}
	if (last != NULL)
		t->pos.fp = fnv1a64(last, lastlen, FNV1A64_INIT);
	rem = end - line;
	if (rem > t->max_line) {
		t->skipping = 1;
		t->skip_hash = fnv1a64(line, rem, FNV1A64_INIT);
		t->skip_len = rem;
		rem = 0;
	}
	t->blen = 0;
	if (t->pos.offset != start.offset &&
	    tail_deliver(t, p, w - p, &start) == -1)
		return -1;
	memmove(t->buf, line, rem);
	t->blen = rem;
	return 0;
}

/* tail_final - end of a reader's input: deliver an unterminated last line
 * with a '\n' added, or count the over-long one being dropped */
static int
tail_final(struct tail *t)
{
	struct tail_pos start = t->pos;
	size_t len = 0;

	if (t->skipping) {
		t->pos.offset += t->skip_len;
		t->pos.fp = t->skip_hash;
		t->skipped++;
		t->skipping = 0;
	} else {
		t->pos.offset += t->blen;
		t->pos.fp = fnv1a64(t->buf, t->blen, FNV1A64_INIT);
		t->buf[t->blen] = '\n';
		len = t->blen + 1;
	}
	t->pos.line_no++;
	t->blen = 0;
	return tail_deliver(t, t->buf, len, &start);
}

/* tail_deliver - hand data (ending at t->pos) to the callback */
static int
tail_deliver(struct tail *t, const char *data, size_t len,
    const struct tail_pos *start)
{
	struct tail_chunk c;

	c.data = data;
	c.len = len;
	c.start = *start;
	c.end = t->pos;
	c.skipped_long = t->skipped;
	c.rotated = t->rotated;
	t->skipped = 0;
	t->rotated = 0;
	t->busy++;
	t->cb(t->arg, t, &c);
	if (--t->busy == 0 && t->dying) {
		tail_destroy(t);
		return -1;
	}
	return 0;
}

/* tail_reset - forget the buffered partial line; position 0 of a file */
static void
tail_reset(struct tail *t, int rotated, uint64_t dev, uint64_t ino)
{
	if (t->skipping)
		t->skipped++;
	if (t->blen > 0 || t->skipping)
		log_warnx("tail path=%s: incomplete last line of the old file "
		    "dropped", t->path);
	t->blen = 0;
	t->skipping = 0;
	t->roff = 0;
	t->dev = dev;
	t->ino = ino;
	memset(&t->pos, 0, sizeof(t->pos));
	t->pos.dev = dev;
	t->pos.ino = ino;
	t->rotated = t->rotated || rotated;
}

/* tail_fp_at - fingerprint of the line ending at off (0 at offset 0) */
static int
tail_fp_at(int fd, uint64_t off, uint64_t *fp)
{
	char b[8192], *nl;
	uint64_t end, start = 0, h = FNV1A64_INIT;
	size_t want;
	ssize_t n;

	*fp = 0;
	if (off == 0)
		return 0;
	for (end = off - 1; end > 0; end -= want) {
		want = FM_MIN(sizeof(b), end);
		if (pread(fd, b, want, (off_t)(end - want)) != (ssize_t)want)
			return -1;
		if ((nl = memrchr(b, '\n', want)) != NULL) {
			start = end - want + (nl - b) + 1;
			break;
		}
	}
	for (; start < off; start += n) {
		want = FM_MIN(sizeof(b), off - start);
		if ((n = pread(fd, b, want, (off_t)start)) <= 0)
			return -1;
		h = fnv1a64(b, n, h);
	}
	*fp = h;
	return 0;
}

/* tail_open_identity - open the regular file (dev, ino): path itself or a
 * file in dir; its name in *where (owned by the caller) if where != NULL */
static int
tail_open_identity(const char *path, const char *dir, uint64_t dev,
    uint64_t ino, char **where)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char *cand = NULL;
	int fd;

	if (stat(path, &st) == 0 && (uint64_t)st.st_dev == dev &&
	    (uint64_t)st.st_ino == ino)
		cand = xstrdup(path);
	else if ((d = opendir(dir)) != NULL) {
		while (cand == NULL && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			xasprintf(&cand, "%s/%s", dir, de->d_name);
			if (stat(cand, &st) == -1 || !S_ISREG(st.st_mode) ||
			    (uint64_t)st.st_dev != dev ||
			    (uint64_t)st.st_ino != ino) {
				free(cand);
				cand = NULL;
			}
		}
		closedir(d);
	}
	if (cand == NULL)
		return -1;
	fd = open(cand, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1 && (fstat(fd, &st) == -1 || (uint64_t)st.st_dev != dev ||
	    (uint64_t)st.st_ino != ino || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd != -1 && where != NULL)
		*where = cand;
	else
		free(cand);
	return fd;
}

/* follow_step - read one block, or at the end look at the path */
static void
follow_step(struct tail *t)
{
	ssize_t n;

	if (t->fd == -1 && follow_open(t) == -1)
		return;
	n = tail_fill(t);
	if (n > 0) {
		t->warned &= ~TW_READ;
		if (tail_scan(t, n) == 0)
			tail_schedule(t, 0);
		return;
	}
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			tail_schedule(t, 0);
		else if (!(t->warned & TW_READ)) {
			log_warn("tail path=%s: read", t->path);
			t->warned |= TW_READ;
		}
		return;
	}
	follow_check(t);
}

/* follow_open - open the file at path from its start; -1 to wait for it */
static int
follow_open(struct tail *t)
{
	struct stat st;
	int fd;

	fd = open(t->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT && errno != ENOTDIR &&
		    !(t->warned & TW_OPEN)) {
			log_warn("tail path=%s: open (retrying)", t->path);
			t->warned |= TW_OPEN;
		}
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (!(t->warned & TW_NOTREG))
			log_warnx("tail path=%s: not a regular file (retrying)",
			    t->path);
		t->warned |= TW_NOTREG;
		close(fd);
		return -1;
	}
	t->warned &= ~(TW_OPEN | TW_NOTREG);
	t->fd = fd;
	tail_reset(t, 0, st.st_dev, st.st_ino);
	follow_watch_file(t);
	return 0;
}

/* follow_check - at the end of the open file: truncated, rotated, or idle */
static void
follow_check(struct tail *t)
{
	struct stat st;
	ssize_t n;

	if (stat(t->path, &st) == -1) {
		if (errno != ENOENT && errno != ENOTDIR &&
		    !(t->warned & TW_STAT)) {
			log_warn("tail path=%s: stat (retrying)", t->path);
			t->warned |= TW_STAT;
		}
		return;
	}
	t->warned &= ~TW_STAT;
	if ((uint64_t)st.st_dev == t->dev && (uint64_t)st.st_ino == t->ino) {
		if ((uint64_t)st.st_size >= t->roff)
			return;
		log_info("tail path=%s: truncated (copytruncate), reading "
		    "from the start", t->path);
		if (lseek(t->fd, 0, SEEK_SET) == -1) {
			log_warn("tail path=%s: lseek", t->path);
			return;
		}
		t->blen = 0;
		t->skipping = 0;
		tail_reset(t, 1, t->dev, t->ino);
		tail_schedule(t, 0);
		return;
	}
	if (st.st_size == 0 || !S_ISREG(st.st_mode))
		return;		/* the writer is still on the old file */
	/* The new file has data, so the old one is complete: one more read
	 * after that stat() sees all of it. */
	if ((n = tail_fill(t)) > 0) {
		if (tail_scan(t, n) == 0)
			tail_schedule(t, 0);
		return;
	}
	follow_switch(t);
}

/* follow_switch - leave the drained old file for the one now at path */
static void
follow_switch(struct tail *t)
{
	log_info("tail path=%s: rotated, following the new file", t->path);
	close(t->fd);
	t->fd = -1;
#ifdef HAVE_SYS_INOTIFY_H
	if (t->wd_file != -1 && t->wd_file != t->wd_dir)
		inotify_rm_watch(t->ifd, t->wd_file);
#endif
	t->wd_file = -1;
	t->rotated = 1;
	if (follow_open(t) == 0)
		tail_schedule(t, 0);
}

/* follow_watch_file - inotify on the inode open in t->fd */
static void
follow_watch_file(struct tail *t)
{
#ifdef HAVE_SYS_INOTIFY_H
	char proc[64];

	if (t->ifd == -1)
		return;
	if (t->wd_file != -1 && t->wd_file != t->wd_dir)
		inotify_rm_watch(t->ifd, t->wd_file);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	t->wd_file = inotify_add_watch(t->ifd, proc,
	    IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
#else
	(void)t;
#endif
}

/* follow_watch_dir - inotify on the directory, for creates and renames */
static void
follow_watch_dir(struct tail *t)
{
#ifdef HAVE_SYS_INOTIFY_H
	if (t->ifd == -1 || t->wd_dir != -1)
		return;
	t->wd_dir = inotify_add_watch(t->ifd, t->dir, IN_ONLYDIR | IN_CREATE |
	    IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB |
	    IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
#else
	(void)t;
#endif
}

#ifdef HAVE_SYS_INOTIFY_H
/* tail_inotify_cb - any event on the file, or on its name in the directory,
 * schedules a step; the step finds out what happened */
static void
tail_inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;
	char b[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	ssize_t n;
	char *p;
	int wake = 0;

	(void)what;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		for (p = b; p < b + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)(void *)p;
			if (ie->mask & IN_Q_OVERFLOW)
				wake = 1;
			else if (ie->wd == t->wd_file) {
				if (ie->mask & IN_IGNORED)
					t->wd_file = -1;
				wake = 1;
			} else if (ie->wd == t->wd_dir) {
				if (ie->mask & (IN_IGNORED | IN_MOVE_SELF |
				    IN_DELETE_SELF)) {
					inotify_rm_watch(t->ifd, t->wd_dir);
					t->wd_dir = -1;
					wake = 1;
				} else if (ie->len > 0 &&
				    strcmp(ie->name, t->name) == 0)
					wake = 1;
			}
		}
	}
	if (wake)
		tail_schedule(t, 0);
}
#endif

/* tail_poll_cb - the safety net: rewatch, warn about a missing file, step */
static void
tail_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;
	struct stat st;

	(void)fd;
	(void)what;
	follow_watch_dir(t);
	if (t->fd != -1 && t->wd_file == -1)
		follow_watch_file(t);
	if (stat(t->path, &st) == 0) {
		if (t->warned & TW_MISSING)
			log_info("tail path=%s: file is back", t->path);
		t->warned &= ~TW_MISSING;
		t->missing = 0;
	} else if (errno == ENOENT || errno == ENOTDIR) {
		if (++t->missing >= 2 && !(t->warned & TW_MISSING)) {
			log_warnx("tail path=%s: file does not exist, waiting "
			    "for it", t->path);
			t->warned |= TW_MISSING;
		}
	}
	tail_schedule(t, 0);
}

/* tail_read_cb - a pipe (stdin, gzip) is readable */
static void
tail_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tail *t = arg;

	(void)fd;
	(void)what;
	if (!t->paused && t->state == TS_RUN)
		read_step(t);
}

/* read_step - one read() of a reader; its end goes to read_finish */
static void
read_step(struct tail *t)
{
	ssize_t n;

	n = tail_fill(t);
	if (n > 0) {
		if (tail_scan(t, n) == 0 && t->mode == TM_FILE)
			tail_schedule(t, 0);
		return;
	}
	if (n == -1 && (errno == EINTR || errno == EAGAIN)) {
		if (t->mode == TM_FILE)
			tail_schedule(t, 0);
		return;
	}
	if (n == -1) {
		log_warn("tail path=%s: read", t->path);
		t->error = 1;
	}
	read_finish(t);
}

/* read_finish - the input ended: last line, then reap gzip, then eof */
static void
read_finish(struct tail *t)
{
	if (t->ev_read != NULL)
		event_del(t->ev_read);
	t->state = t->child != -1 ? TS_REAP : TS_EOF;
	if (!t->error && (t->blen > 0 || t->skipping) && tail_final(t) == -1)
		return;
	if (t->child != -1) {
		close(t->fd);
		t->fd = -1;
	}
	tail_schedule(t, 0);
}

/* read_reap - collect gzip's exit status without blocking */
static void
read_reap(struct tail *t)
{
	pid_t pid;
	int status;

	pid = waitpid(t->child, &status, WNOHANG);
	if (pid == 0) {
		tail_schedule(t, TAIL_REAP_MS);
		return;
	}
	if (pid == -1 && errno == EINTR) {
		tail_schedule(t, 0);
		return;
	}
	if (pid == -1)	/* reaped by someone else: trust the stream */
		log_debug("tail path=%s: gzip status lost", t->path);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("tail path=%s: gzip failed (%s %d)", t->path,
		    WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		t->error = 1;
	}
	t->child = -1;
	t->state = TS_EOF;
	tail_schedule(t, 0);
}
