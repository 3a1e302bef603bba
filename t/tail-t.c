/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tail-t.c - the log follower and archive reader on a real libevent loop.
 *
 * Files live in a mkdtemp directory.  Writers run as timers inside the loop
 * or between loop turns; every wait is "run the loop until this holds" with
 * a generous deadline that only guards against a hang, never a measurement.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "tail.h"
#include "tap.h"
#include "util.h"

#define DEADLINE_S 60

static struct event_base *base;
static char tmpdir[512];
static int timed_out;
static struct event *deadline;

/* One consumer: collects the data and checks every chunk's invariants. */
struct coll {
	struct buf data;
	int nchunk, nrot, bad;
	uint64_t skipped;
	struct tail_pos first, last;	/* first start, last end */
	int have_last;
	int eof, eof_err;
	int pause_at;		/* pause after this many chunks, 0 never */
	int free_on_eof;
	size_t maxlen;
	unsigned long long other, other_seen;	/* see test_yield */
	int yielded;
};

static const char *
P(const char *name)
{
	static char ring[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	snprintf(ring[i], sizeof(ring[i]), "%s/%s", tmpdir, name);
	return ring[i];
}

static int
pos_eq(const struct tail_pos *a, const struct tail_pos *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->offset == b->offset &&
	    a->line_no == b->line_no && a->fp == b->fp;
}

static void
coll_init(struct coll *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->data);
}

static void
coll_cb(void *arg, struct tail *t, const struct tail_chunk *c)
{
	struct coll *k = arg;

	if (c->len > 0 && c->data[c->len - 1] != '\n')
		k->bad++;
	if (c->end.offset < c->start.offset ||
	    c->len > c->end.offset - c->start.offset + 1 ||
	    c->end.dev != c->start.dev || c->end.ino != c->start.ino ||
	    c->end.line_no < c->start.line_no)
		k->bad++;
	if (c->rotated) {
		k->nrot++;
		if (c->start.offset != 0 || c->start.line_no != 0)
			k->bad++;
	} else if (k->have_last && !pos_eq(&c->start, &k->last))
		k->bad++;
	if (!pos_eq(tail_position(t), &c->end))
		k->bad++;
	if (k->nchunk == 0)
		k->first = c->start;
	buf_add(&k->data, c->data, c->len);
	k->last = c->end;
	k->have_last = 1;
	k->nchunk++;
	k->skipped += c->skipped_long;
	if (c->len > k->maxlen)
		k->maxlen = c->len;
	if (k->nchunk > 1 && k->other != k->other_seen)
		k->yielded++;
	k->other_seen = k->other;
	if (k->pause_at && k->nchunk == k->pause_at)
		tail_pause(t);
}

static void
coll_eof(void *arg, struct tail *t, int error)
{
	struct coll *k = arg;

	k->eof++;
	k->eof_err = error;
	if (k->free_on_eof)
		tail_free(t);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = 1;
}

static void
deadline_start(void)
{
	struct timeval tv = { DEADLINE_S, 0 };

	timed_out = 0;
	evtimer_add(deadline, &tv);
}

/* RUN_UNTIL - turn the loop until cond holds (or the hang guard fires) */
#define RUN_UNTIL(cond) do {						\
	deadline_start();						\
	while (!(cond) && !timed_out)					\
		event_base_loop(base, EVLOOP_ONCE);			\
	evtimer_del(deadline);						\
	if (timed_out)							\
		diag("hang guard fired waiting for: %s", #cond);	\
} while (0)

/* spin - a few non-blocking turns: lets anything pending happen */
static void
spin(int n)
{
	while (n-- > 0)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static uint64_t
progress_done(struct tail *t)
{
	uint64_t done, total;

	tail_progress(t, &done, &total);
	return done;
}

static void
put(const char *path, const void *p, size_t n, int append)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC),
	    0644);
	if (fd == -1 || write(fd, p, n) != (ssize_t)n)
		fatal("write %s", path);
	close(fd);
}

static void
puts_(const char *path, const char *s, int append)
{
	put(path, s, strlen(s), append);
}

static uint64_t
fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static uint64_t
fino(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* gen_line - a deterministic line of varied length */
static void
gen_line(struct buf *b, int i, int maxpad)
{
	int pad = (int)((i * 2654435761u) % (unsigned)maxpad), j;

	buf_printf(b, "line %d ", i);
	for (j = 0; j < pad; j++)
		buf_addc(b, 'a' + (i + j) % 26);
	buf_addc(b, '\n');
}

/* positions - the tail_pos of every line start of a file's content */
static struct tail_pos *
positions(const char *path, const struct buf *b, size_t *n)
{
	struct tail_pos *v;
	size_t i, ls = 0, k = 0;
	struct stat st;

	if (stat(path, &st) == -1)
		fatal("stat %s", path);
	v = xcalloc(b->len + 2, sizeof(*v));
	v[0].dev = st.st_dev;
	v[0].ino = st.st_ino;
	for (i = 0; i < b->len; i++) {
		if (b->data[i] != '\n')
			continue;
		k++;
		v[k] = v[0];
		v[k].offset = i + 1;
		v[k].line_no = k;
		v[k].fp = fnv1a64(b->data + ls, i + 1 - ls, FNV1A64_INIT);
		ls = i + 1;
	}
	*n = k + 1;
	return v;
}

static void
slurp(const char *path, struct buf *b)
{
	char tmp[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		fatal("open %s", path);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(b, tmp, n);
	close(fd);
}

static int saved_stderr = -1;

static void
capture_start(void)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(P("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
}

/* capture_end - stderr since capture_start (caller frees) */
static char *
capture_end(void)
{
	struct buf b;
	char tmp[4096];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	buf_init(&b);
	fd = open(P("stderr.txt"), O_RDONLY);
	while (fd != -1 && (n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, n);
	if (fd != -1)
		close(fd);
	buf_addc(&b, '\0');
	return b.data;
}

static void
test_append_partial_nul(void)
{
	struct coll k;
	struct tail *t;
	const char *p = P("append.log");
	static const char nul[] = "x\0y\n";

	puts_(p, "one\ntwo\n", 0);
	coll_init(&k);
	t = tail_follow(base, p, NULL, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.data.len == 8);
	is_str(k.data.data, "one\ntwo\n", "follow: existing lines");
	puts_(p, "three\n", 1);
	RUN_UNTIL(k.data.len == 14);
	is_str(k.data.data, "one\ntwo\nthree\n", "follow: appended line");
	is_int(k.last.offset, 14, "follow: end offset");
	is_int(k.last.line_no, 3, "follow: line_no");
	ok(k.last.fp == fnv1a64("three\n", 6, FNV1A64_INIT), "follow: fp");
	ok(k.last.ino == fino(p), "follow: inode");

	puts_(p, "alpha\nbet", 1);
	RUN_UNTIL(progress_done(t) == fsize(p));
	spin(5);
	is_str(k.data.data, "one\ntwo\nthree\nalpha\n",
	    "partial: only the complete line delivered");
	is_int(tail_position(t)->offset, 20, "partial: position at line start");
	puts_(p, "a\n", 1);
	RUN_UNTIL(k.data.len == 25);
	is_str(k.data.data + 14, "alpha\nbeta\n", "partial: completed later");

	put(p, nul, 4, 1);
	RUN_UNTIL(k.data.len == 29);
	ok(k.data.len == 29 && memcmp(k.data.data + 25, nul, 4) == 0,
	    "NUL bytes passed through");
	is_int(k.nrot, 0, "append: no rotation");
	is_int(k.bad, 0, "append: chunk invariants");
	tail_free(t);
	buf_free(&k.data);
}

/* A writer inside the loop: lines split at odd places, rotations. */
struct writer {
	const char *path;
	int fd;
	struct buf all;		/* everything written */
	struct buf pend;	/* rest of a line to write next tick */
	int line, total, per_tick, rot_every, since, nrot, copytrunc;
	int gate;		/* copytruncate: wait for the follower */
	struct tail *t;
	struct coll *k;
	struct event *ev;
	int done;
};

static void
writer_out(struct writer *w, const char *p, size_t n)
{
	if (n > 0 && write(w->fd, p, n) != (ssize_t)n)
		fatal("write");
	buf_add(&w->all, p, n);
}

/* writer_rotate - 1 when rotated, 0 when the follower is not ready yet */
static int
writer_rotate(struct writer *w)
{
	char old[PATH_MAX];
	struct buf copy;

	snprintf(old, sizeof(old), "%s.1", w->path);
	if (!w->copytrunc) {
		if (tail_position(w->t)->ino != fino(w->path))
			return 0;	/* previous rotation not seen yet */
		if (rename(w->path, old) == -1)
			fatal("rename");
		close(w->fd);
		w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND,
		    0644);
		if (w->fd == -1)
			fatal("open");
		w->nrot++;
		return 1;
	}
	if (tail_position(w->t)->offset != fsize(w->path))
		return 0;		/* follower still behind */
	buf_init(&copy);
	slurp(w->path, &copy);
	put(old, copy.data, copy.len, 0);
	buf_free(&copy);
	if (ftruncate(w->fd, 0) == -1)
		fatal("ftruncate");
	w->nrot++;
	w->gate = w->k->nrot + 1;
	return 1;
}

static void
writer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct writer *w = arg;
	struct buf b;
	size_t cut;
	int i;

	(void)fd;
	(void)what;
	if (w->gate && w->k->nrot < w->gate)
		return;
	w->gate = 0;
	writer_out(w, w->pend.data, w->pend.len);
	buf_reset(&w->pend);
	if (w->line >= w->total) {
		w->done = 1;
		event_del(w->ev);
		return;
	}
	if (w->since >= w->rot_every) {
		if (!writer_rotate(w))
			return;
		w->since = 0;
		if (w->copytrunc) {	/* one short line, then wait */
			writer_out(w, "after truncate\n", 15);
			return;
		}
	}
	buf_init(&b);
	for (i = 0; i < w->per_tick && w->line < w->total; i++, w->since++)
		gen_line(&b, w->line++, 150);
	cut = b.len - (size_t)(w->line % 37);
	writer_out(w, b.data, cut);
	buf_add(&w->pend, b.data + cut, b.len - cut);
	buf_free(&b);
}

static void
run_writer(int copytrunc)
{
	const char *what = copytrunc ? "copytruncate" : "rename+create";
	struct writer w;
	struct coll k;
	struct timeval tv = { 0, 1000 };

	memset(&w, 0, sizeof(w));
	w.path = P(copytrunc ? "ct.log" : "rot.log");
	w.copytrunc = copytrunc;
	w.fd = open(w.path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	buf_init(&w.all);
	buf_init(&w.pend);
	w.total = 20000;
	w.per_tick = 60;
	w.rot_every = 3000;
	coll_init(&k);
	w.k = &k;
	w.t = tail_follow(base, w.path, NULL, 4096, 50, coll_cb, &k);
	w.ev = event_new(base, -1, EV_PERSIST, writer_cb, &w);
	event_add(w.ev, &tv);
	RUN_UNTIL(w.done && k.data.len >= w.all.len);
	ok(w.done && k.data.len == w.all.len &&
	    memcmp(k.data.data, w.all.data, w.all.len) == 0,
	    "%s while writing: every line once, in order (%zu bytes)", what,
	    w.all.len);
	ok(w.nrot >= 5, "%s: %d rotations happened", what, w.nrot);
	is_int(k.nrot, w.nrot, "rotated flag once per rotation");
	is_int(k.bad, 0, "rotation: chunk invariants");
	ok(k.last.ino == fino(w.path), "ends in the current file");
	event_free(w.ev);
	tail_free(w.t);
	close(w.fd);
	buf_free(&w.all);
	buf_free(&w.pend);
	buf_free(&k.data);
}

static void
test_copytruncate_simple(void)
{
	struct coll k;
	struct tail *t;
	const char *p = P("ct1.log");

	puts_(p, "first line\nsecond line\n", 0);
	coll_init(&k);
	t = tail_follow(base, p, NULL, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.data.len == 23);
	truncate(p, 0);
	puts_(p, "x\ny\n", 1);
	RUN_UNTIL(k.data.len == 27);
	is_str(k.data.data, "first line\nsecond line\nx\ny\n",
	    "copytruncate: new content from 0");
	is_int(k.nrot, 1, "copytruncate: rotated flag");
	is_int(k.last.offset, 4, "copytruncate: offset in the new content");
	is_int(k.last.line_no, 2, "copytruncate: line_no restarts");
	is_int(k.bad, 0, "copytruncate: chunk invariants");
	tail_free(t);
	buf_free(&k.data);
}

static void
test_created_later(void)
{
	struct coll k;
	struct tail *t;
	const char *p = P("later.log"), *d = P("nodir"), *q = P("nodir/x.log");

	coll_init(&k);
	t = tail_follow(base, p, NULL, 1024, 50, coll_cb, &k);
	spin(5);
	is_int(k.nchunk, 0, "missing file: nothing yet");
	puts_(p, "hello\n", 0);
	RUN_UNTIL(k.data.len == 6);
	is_str(k.data.data, "hello\n", "file created after start: read from 0");
	is_int(k.nrot, 0, "created: first file is not a rotation");
	unlink(p);
	spin(3);
	puts_(p, "again\n", 0);
	RUN_UNTIL(k.data.len == 12);
	is_str(k.data.data, "hello\nagain\n", "deleted, recreated: new file");
	is_int(k.nrot, 1, "recreated: rotated flag");
	tail_free(t);
	buf_free(&k.data);

	coll_init(&k);
	t = tail_follow(base, q, NULL, 1024, 20, coll_cb, &k);
	spin(5);
	mkdir(d, 0755);
	puts_(q, "in new dir\n", 0);
	RUN_UNTIL(k.data.len == 11);
	is_str(k.data.data, "in new dir\n", "missing directory: polled");
	tail_free(t);
	buf_free(&k.data);
}

static void
test_resume(void)
{
	struct coll k;
	struct tail *t;
	struct tail_pos *v, saved;
	struct buf all;
	const char *p = P("resume.log");
	size_t n;
	int i;

	buf_init(&all);
	for (i = 0; i < 100; i++)
		gen_line(&all, i, 80);
	put(p, all.data, all.len, 0);
	v = positions(p, &all, &n);
	coll_init(&k);
	k.last = v[37];
	k.have_last = 1;
	t = tail_follow(base, p, &v[37], 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.last.offset == all.len);
	ok(k.data.len == all.len - v[37].offset && memcmp(k.data.data,
	    all.data + v[37].offset, k.data.len) == 0,
	    "resume mid-file: lines 38.. exactly");
	ok(pos_eq(&k.first, &v[37]), "resume: starts at the saved pos");
	ok(pos_eq(&k.last, &v[100]), "resume: ends at the last line");
	is_int(k.nrot, 0, "resume: no rotation");
	saved = *tail_position(t);
	tail_free(t);
	buf_free(&k.data);
	free(v);

	/* down: more lines arrive; restart from the saved position */
	puts_(p, "while down 1\nwhile down 2\n", 1);
	coll_init(&k);
	k.last = saved;
	k.have_last = 1;
	t = tail_follow(base, p, &saved, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.data.len == 26);
	spin(3);
	is_str(k.data.data, "while down 1\nwhile down 2\n",
	    "restart: only the new lines, none twice");
	is_int(k.last.line_no, 102, "restart: line_no continues");
	is_int(k.bad, 0, "resume: chunk invariants");
	tail_free(t);
	buf_free(&k.data);
	buf_free(&all);
}

static void
test_resume_rotated(int new_empty)
{
	struct coll k;
	struct tail *t;
	struct tail_pos saved;
	const char *p = P("rr.log"), *old = P("rr.log.1");
	const char *want = "b1\nb2\nc1\nc2\n";

	unlink(old);
	puts_(p, "a1\na2\n", 0);
	coll_init(&k);
	t = tail_follow(base, p, NULL, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.data.len == 6);
	saved = *tail_position(t);
	tail_free(t);
	buf_free(&k.data);

	puts_(p, "b1\nb2\n", 1);	/* written while down, then rotated */
	rename(p, old);
	puts_(p, new_empty ? "" : "c1\nc2\n", 0);
	capture_start();
	coll_init(&k);
	k.last = saved;
	k.have_last = 1;
	t = tail_follow(base, p, &saved, 1024, 50, coll_cb, &k);
	if (new_empty) {
		RUN_UNTIL(k.data.len == 6);
		spin(5);
		is_str(k.data.data, "b1\nb2\n",
		    "rotated while down, new file empty: old drained");
		puts_(p, "c1\nc2\n", 1);
	}
	RUN_UNTIL(k.data.len == 12);
	free(capture_end());
	is_str(k.data.data, want, new_empty ?
	    "... then the new file once it has data" :
	    "rotated while down: rotated file drained, then the new one");
	ok(pos_eq(&k.first, &saved), "rotated resume: starts at saved pos");
	is_int(k.nrot, 1, "rotated resume: one rotation");
	is_int(k.bad, 0, "rotated resume: chunk invariants");
	tail_free(t);
	buf_free(&k.data);
}

static void
test_fp_mismatch(void)
{
	struct coll k;
	struct tail *t;
	struct tail_pos saved;
	const char *p = P("fp.log");
	const char *repl = "other content 1\nother content 2\n";
	char *err;

	puts_(p, "orig 1\norig 2\n", 0);
	coll_init(&k);
	t = tail_follow(base, p, NULL, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.data.len == 14);
	saved = *tail_position(t);
	tail_free(t);
	buf_free(&k.data);

	puts_(p, repl, 0);		/* rewritten in place, same inode */
	capture_start();
	coll_init(&k);
	t = tail_follow(base, p, &saved, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.data.len == strlen(repl));
	err = capture_end();
	is_str(k.data.data, repl, "fp mismatch: current file from 0");
	is_int(k.nrot, 1, "fp mismatch: rotated flag");
	ok(strstr(err, "saved position") != NULL && strstr(err, p) != NULL,
	    "fp mismatch: warning names the path");
	free(err);
	tail_free(t);
	buf_free(&k.data);
}

static void
test_long_lines(void)
{
	struct coll k;
	struct tail *t;
	struct buf b;
	const char *p = P("long.log");
	char y[60];

	buf_init(&b);
	buf_adds(&b, "s1\n");
	while (b.len < 303)
		buf_addc(&b, 'x');
	buf_adds(&b, "\ns2\n");
	while (b.len < 407)
		buf_addc(&b, 'm');	/* exactly max_line: kept */
	buf_addc(&b, '\n');
	put(p, b.data, b.len, 0);
	coll_init(&k);
	t = tail_follow(base, p, NULL, 100, 50, coll_cb, &k);
	RUN_UNTIL(k.last.offset == b.len);
	is_int(k.skipped, 1, "long line: counted");
	is_int(k.data.len, 3 + 3 + 101, "long line: neighbours intact");
	ok(memcmp(k.data.data, "s1\ns2\n", 6) == 0, "long line: dropped");
	is_int(k.last.line_no, 4, "long line: counted in line_no");

	memset(y, 'y', sizeof(y));
	put(p, y, sizeof(y), 1);	/* partial, still short */
	RUN_UNTIL(progress_done(t) == fsize(p));
	put(p, y, sizeof(y), 1);	/* now over max_line */
	RUN_UNTIL(progress_done(t) == fsize(p));
	spin(3);
	put(p, y, sizeof(y), 1);
	RUN_UNTIL(progress_done(t) == fsize(p));
	puts_(p, "yy\ns3\n", 1);
	RUN_UNTIL(k.last.offset == fsize(p));
	is_int(k.skipped, 2, "long line in pieces: counted");
	ok(k.data.len == 110 && memcmp(k.data.data + 107, "s3\n", 3) == 0,
	    "long line in pieces: next line intact");
	is_int(k.last.line_no, 6, "long line in pieces: line_no");
	is_int(k.bad, 0, "long lines: chunk invariants");
	tail_free(t);
	buf_free(&k.data);
	buf_free(&b);
}

static int
gzip_file(const char *in, const char *out)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "gzip -c '%s' > '%s'", in, out);
	return system(cmd);
}

static void
test_read(void)
{
	struct coll k;
	struct tail *t;
	struct buf b, want;
	const char *p = P("r.log"), *big = P("big.log"), *gz = P("big.log.gz");
	uint64_t done, total;
	int i;

	puts_(p, "r1\nr2\nlast", 0);
	coll_init(&k);
	t = tail_read(base, p, 1024, coll_cb, coll_eof, &k);
	RUN_UNTIL(k.eof);
	is_str(k.data.data, "r1\nr2\nlast\n", "read: final line + newline");
	is_int(k.eof_err, 0, "read: eof without error");
	is_int(k.last.offset, 10, "read: offset counts file bytes");
	is_int(k.last.line_no, 3, "read: line_no");
	ok(k.last.fp == fnv1a64("last", 4, FNV1A64_INIT), "read: fp of last");
	ok(k.last.ino == fino(p), "read: plain file keeps its identity");
	tail_progress(t, &done, &total);
	ok(done == 10 && total == 10, "read: progress %llu/%llu",
	    (unsigned long long)done, (unsigned long long)total);
	tail_free(t);
	buf_free(&k.data);

	/* big: several blocks, one line longer than a block */
	buf_init(&b);
	buf_init(&want);
	for (i = 0; i < 40000; i++) {
		gen_line(&b, i, 120);
		if (i == 20000) {
			size_t j;

			for (j = 0; j < 600 * 1024; j++)
				buf_addc(&b, 'L');
			buf_addc(&b, '\n');
		}
	}
	for (i = 0; i < 40000; i++)
		gen_line(&want, i, 120);
	put(big, b.data, b.len, 0);
	coll_init(&k);
	t = tail_read(base, big, 1000, coll_cb, coll_eof, &k);
	RUN_UNTIL(k.eof);
	ok(k.data.len == want.len && memcmp(k.data.data, want.data,
	    want.len) == 0, "read big: all lines but the long one");
	is_int(k.skipped, 1, "read big: long line counted");
	ok(k.nchunk > 4 && k.maxlen <= 256 * 1024 + 1000,
	    "read big: bounded chunks (%d, max %zu)", k.nchunk, k.maxlen);
	is_int(k.last.offset, b.len, "read big: end offset");
	is_int(k.bad, 0, "read big: chunk invariants");
	tail_free(t);
	buf_free(&k.data);

	if (gzip_file(big, gz) != 0) {
		ok(0, "gzip available");
		return;
	}
	coll_init(&k);
	k.free_on_eof = 1;
	t = tail_read(base, gz, 1000, coll_cb, coll_eof, &k);
	RUN_UNTIL(k.eof);
	ok(k.data.len == want.len && memcmp(k.data.data, want.data,
	    want.len) == 0, "read .gz: same lines");
	is_int(k.eof_err, 0, "read .gz: gzip ok");
	ok(k.last.dev == 0 && k.last.ino == 0, "read .gz: stream position");
	is_int(k.last.offset, b.len, "read .gz: offset in decompressed bytes");
	is_int(k.bad, 0, "read .gz: chunk invariants (freed in eof)");
	buf_free(&k.data);
	buf_free(&b);
	buf_free(&want);
}

static void
test_read_gz_progress_and_errors(void)
{
	struct coll k;
	struct tail *t;
	const char *p = P("small.log"), *gz = P("small.log.gz");
	const char *bad = P("bad.log.gz");
	uint64_t done, total;
	char *err;

	puts_(p, "g1\ng2\n", 0);
	gzip_file(p, gz);
	coll_init(&k);
	t = tail_read(base, gz, 1000, coll_cb, coll_eof, &k);
	RUN_UNTIL(k.eof);
	tail_progress(t, &done, &total);
	ok(total == fsize(gz) && done == total, "read .gz: progress in "
	    "compressed bytes %llu/%llu", (unsigned long long)done,
	    (unsigned long long)total);
	is_str(k.data.data, "g1\ng2\n", "read small .gz");
	tail_free(t);
	buf_free(&k.data);

	puts_(bad, "this is not gzip data\n", 0);
	capture_start();
	coll_init(&k);
	t = tail_read(base, bad, 1000, coll_cb, coll_eof, &k);
	RUN_UNTIL(k.eof);
	err = capture_end();
	is_int(k.eof_err, 1, "bad .gz: eof reports the gzip failure");
	ok(strstr(err, "gzip") != NULL, "bad .gz: logged");
	free(err);
	tail_free(t);
	buf_free(&k.data);

	capture_start();
	t = tail_read(base, P("does-not-exist.log"), 1000, coll_cb, coll_eof,
	    &k);
	err = capture_end();
	ok(t == NULL && strstr(err, "does-not-exist") != NULL,
	    "read missing file: NULL, logged");
	free(err);
}

static void
test_read_stdin(void)
{
	struct coll k;
	struct tail *t;
	int p[2], saved;
	pid_t pid;

	if (pipe(p) == -1)
		fatal("pipe");
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (write(p[1], "p1\np2", 5) != 5)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	saved = dup(0);
	dup2(p[0], 0);
	close(p[0]);
	coll_init(&k);
	t = tail_read(base, "-", 1000, coll_cb, coll_eof, &k);
	dup2(saved, 0);
	close(saved);
	RUN_UNTIL(k.eof);
	waitpid(pid, NULL, 0);
	is_str(k.data.data, "p1\np2\n", "read stdin pipe");
	ok(k.last.dev == 0 && k.last.ino == 0 && k.last.offset == 5,
	    "read stdin: stream position");
	tail_free(t);
	buf_free(&k.data);
}

static void
test_range(void)
{
	struct coll k;
	struct tail_pos *v, bad;
	struct buf all;
	const char *p = P("range.log"), *old = P("range.log.1");
	char err[256];
	size_t n, want0, want1;
	int i, rc;

	buf_init(&all);
	for (i = 0; i < 50; i++) {
		if (i == 19) {
			while (all.len % 512 != 0 || all.len < 4096)
				buf_addc(&all, 'Z');
			buf_addc(&all, '\n');
		} else
			gen_line(&all, i, 60);
	}
	put(p, all.data, all.len, 0);
	v = positions(p, &all, &n);
	coll_init(&k);
	rc = tail_read_range(p, &v[10], &v[30], 100, coll_cb, &k, err,
	    sizeof(err));
	want0 = v[10].offset;
	want1 = v[30].offset;
	is_int(rc, 0, "range: ok");
	ok(pos_eq(&k.first, &v[10]) && pos_eq(&k.last, &v[30]),
	    "range: exact start and end positions");
	is_int(k.skipped, 1, "range: long line inside counted");
	ok(k.data.len == want1 - want0 - (v[20].offset - v[19].offset) &&
	    memcmp(k.data.data, all.data + want0, v[19].offset - want0) == 0,
	    "range: exactly the lines of the range");
	buf_free(&k.data);

	coll_init(&k);
	rc = tail_read_range(p, &v[19], &v[20], 100, coll_cb, &k, err,
	    sizeof(err));
	ok(rc == 0 && k.nchunk == 1 && k.data.len == 0 && k.skipped == 1 &&
	    pos_eq(&k.last, &v[20]), "range of one dropped line: empty chunk");
	buf_free(&k.data);

	rename(p, old);
	puts_(p, "new file\n", 0);
	coll_init(&k);
	rc = tail_read_range(p, &v[0], &v[5], 100, coll_cb, &k, err,
	    sizeof(err));
	ok(rc == 0 && k.data.len == v[5].offset &&
	    memcmp(k.data.data, all.data, k.data.len) == 0 &&
	    pos_eq(&k.last, &v[5]), "range: found beside path after rotation");
	buf_free(&k.data);

	coll_init(&k);
	rc = tail_read_range(p, &v[3], &v[3], 100, coll_cb, &k, err,
	    sizeof(err));
	ok(rc == 0 && k.nchunk == 0, "empty range: no chunk");
	bad = v[8];
	bad.fp ^= 1;
	rc = tail_read_range(p, &v[3], &bad, 100, coll_cb, &k, err,
	    sizeof(err));
	ok(rc == -1 && k.nchunk == 0 && strstr(err, "no longer matches"),
	    "range: fingerprint mismatch refused: %s", err);
	bad = v[8];
	bad.ino = 0;
	bad.dev = 0;
	rc = tail_read_range(p, &bad, &bad, 100, coll_cb, &k, err, sizeof(err));
	ok(rc == -1, "range: stream position refused");
	bad = v[8];
	bad.offset = all.len + 10;
	rc = tail_read_range(p, &v[3], &bad, 100, coll_cb, &k, err,
	    sizeof(err));
	ok(rc == -1 && k.nchunk == 0, "range: past the end refused");
	is_int(k.bad, 0, "range: chunk invariants");
	buf_free(&k.data);
	free(v);

	/* to the end of a file without a final newline */
	puts_(p, "a\nb", 0);
	buf_reset(&all);
	buf_adds(&all, "a\n");
	v = positions(p, &all, &n);
	bad = v[1];
	bad.offset = 3;
	bad.line_no = 2;
	bad.fp = fnv1a64("b", 1, FNV1A64_INIT);
	coll_init(&k);
	rc = tail_read_range(p, &v[0], &bad, 100, coll_cb, &k, err,
	    sizeof(err));
	ok(rc == 0 && strcmp(k.data.data, "a\nb\n") == 0 &&
	    pos_eq(&k.last, &bad), "range: unterminated last line");
	buf_free(&k.data);
	free(v);
	buf_free(&all);
}

static void
other_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coll *k = arg;

	(void)fd;
	(void)what;
	k->other++;
}

static void
test_pause_yield(void)
{
	struct coll k;
	struct tail *t;
	struct event *other;
	struct buf b;
	const char *p = P("pause.log");
	int i, pp[2], n;

	buf_init(&b);
	for (i = 0; i < 30000; i++)
		gen_line(&b, i, 120);
	put(p, b.data, b.len, 0);
	if (pipe(pp) == -1 || write(pp[1], "x", 1) != 1)
		fatal("pipe");
	coll_init(&k);
	k.pause_at = 1;
	/* another input that is always ready: it must run between blocks */
	other = event_new(base, pp[0], EV_READ | EV_PERSIST, other_cb, &k);
	event_add(other, NULL);
	t = tail_follow(base, p, NULL, 1024, 50, coll_cb, &k);
	RUN_UNTIL(k.nchunk == 1);
	puts_(p, "more\n", 1);
	spin(20);
	is_int(k.nchunk, 1, "paused: no callbacks");
	tail_resume(t);
	RUN_UNTIL(k.data.len == b.len + 5);
	ok(k.data.len == b.len + 5 && memcmp(k.data.data, b.data, b.len) == 0,
	    "resumed: everything delivered");
	n = k.nchunk;
	ok(n > 3 && k.yielded == n - 1,
	    "other input served between every two blocks (%d/%d)", k.yielded,
	    n - 1);
	is_int(k.bad, 0, "pause: chunk invariants");
	event_free(other);
	close(pp[0]);
	close(pp[1]);
	tail_free(t);
	buf_free(&k.data);
	buf_free(&b);

	/* a reader paused on its last chunk holds its eof back */
	puts_(p, "a\nb", 0);
	coll_init(&k);
	k.pause_at = 2;
	t = tail_read(base, p, 100, coll_cb, coll_eof, &k);
	RUN_UNTIL(k.nchunk == 2);
	spin(10);
	ok(k.eof == 0, "paused reader: no eof");
	tail_resume(t);
	RUN_UNTIL(k.eof);
	ok(k.eof == 1 && strcmp(k.data.data, "a\nb\n") == 0,
	    "resumed reader: eof");
	tail_free(t);
	buf_free(&k.data);
}

static int
want(const char *name, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return argc == 1;
}

int
main(int argc, char **argv)
{
	char cmd[PATH_MAX + 16];

	log_init(LOG_TO_STDERR, 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tail-t.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		fatal("mkdtemp");
	base = event_base_new();
	deadline = evtimer_new(base, deadline_cb, NULL);

	if (want("append_partial_nul", argc, argv))
		test_append_partial_nul();
	if (want("copytruncate_simple", argc, argv))
		test_copytruncate_simple();
	if (want("run_writer", argc, argv))
		run_writer(0);
	if (want("run_writer", argc, argv))
		run_writer(1);
	if (want("created_later", argc, argv))
		test_created_later();
	if (want("resume", argc, argv))
		test_resume();
	if (want("resume_rotated", argc, argv))
		test_resume_rotated(0);
	if (want("resume_rotated", argc, argv))
		test_resume_rotated(1);
	if (want("fp_mismatch", argc, argv))
		test_fp_mismatch();
	if (want("long_lines", argc, argv))
		test_long_lines();
	if (want("read", argc, argv))
		test_read();
	if (want("read_gz_progress_and_errors", argc, argv))
		test_read_gz_progress_and_errors();
	if (want("read_stdin", argc, argv))
		test_read_stdin();
	if (want("range", argc, argv))
		test_range();
	if (want("pause_yield", argc, argv))
		test_pause_yield();

	event_free(deadline);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
