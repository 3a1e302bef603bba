/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spool.c - the append-only spool file of batches waiting for Redis.
 *
 * Record layout (integers little-endian):
 *
 *	"FMS1"  u32 payload length  u64 fnv1a64(payload)
 *	payload: u32 stream length, stream, u64 seq, u32 ncmd,
 *	         ncmd x u32 command length, the commands' RESP bytes
 *
 * SECURITY: the file lives in state_dir, mode 0600, and is trusted only as
 * far as its checksums go: lengths are bounded before anything is read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

#define SPOOL_MAGIC	"FMS1"
#define SPOOL_HDR	16
#define SPOOL_MAX_REC	(1024u * 1024 * 1024)	/* sanity bound */

struct spool {
	char *path;
	int fd;
	uint64_t size;		/* end of the last valid record */
	struct buf io;		/* record being written or read */
};

static int spool_check(struct spool *sp, char *err, size_t errlen);

static void
enc32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
enc64(unsigned char *p, uint64_t v)
{
	enc32(p, (uint32_t)v);
	enc32(p + 4, (uint32_t)(v >> 32));
}

static void
put32(struct buf *b, uint32_t v)
{
	unsigned char p[4];

	enc32(p, v);
	buf_add(b, p, 4);
}

static void
put64(struct buf *b, uint64_t v)
{
	unsigned char p[8];

	enc64(p, v);
	buf_add(b, p, 8);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

struct spool *
spool_open(const char *path, char *err, size_t errlen)
{
	struct spool *sp;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	sp = xcalloc(1, sizeof(*sp));
	sp->path = xstrdup(path);
	sp->fd = fd;
	buf_init(&sp->io);
	if (spool_check(sp, err, errlen) == -1) {
		spool_close(sp);
		return NULL;
	}
	return sp;
}

/* pread_full - 0, or -1 with errno (EIO for a short file) */
static int
pread_full(int fd, void *p, size_t n, uint64_t off)
{
	ssize_t r;
	size_t done = 0;

	while (done < n) {
		r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

/* frame - the payload length of the record at off, read into sp->io, or
 * -1: torn, corrupt or unreadable (why in err) */
static int64_t
frame(struct spool *sp, uint64_t off, uint64_t end, char *err, size_t errlen)
{
	unsigned char h[SPOOL_HDR];
	uint32_t len;

	if (end - off < SPOOL_HDR) {
		snprintf(err, errlen, "torn record header");
		return -1;
	}
	if (pread_full(sp->fd, h, SPOOL_HDR, off) == -1) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		return -1;
	}
	len = get32(h + 4);
	if (memcmp(h, SPOOL_MAGIC, 4) != 0 || len > SPOOL_MAX_REC) {
		snprintf(err, errlen, "bad record header");
		return -1;
	}
	if (end - off - SPOOL_HDR < len) {
		snprintf(err, errlen, "torn record");
		return -1;
	}
	buf_reset(&sp->io);
	buf_reserve(&sp->io, len);
	if (pread_full(sp->fd, sp->io.data, len, off + SPOOL_HDR) == -1) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		return -1;
	}
	sp->io.len = len;
	if (fnv1a64(sp->io.data, len, FNV1A64_INIT) != get64(h + 8)) {
		snprintf(err, errlen, "checksum mismatch");
		return -1;
	}
	return len;
}

/* spool_check - find the end of the valid records; cut a bad tail */
static int
spool_check(struct spool *sp, char *err, size_t errlen)
{
	struct stat st;
	uint64_t off = 0, end;
	int64_t len;
	char why[128];

	if (fstat(sp->fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", sp->path, strerror(errno));
		return -1;
	}
	end = (uint64_t)st.st_size;
	while (off < end) {
		if ((len = frame(sp, off, end, why, sizeof(why))) == -1) {
			log_warnx("spool=%s offset=%llu dropped=%llu reason=\"%s\" "
			    "msg=\"spool tail dropped\"", sp->path,
			    (unsigned long long)off,
			    (unsigned long long)(end - off), why);
			if (ftruncate(sp->fd, (off_t)off) == -1) {
				snprintf(err, errlen, "%s: truncate: %s",
				    sp->path, strerror(errno));
				return -1;
			}
			break;
		}
		off += SPOOL_HDR + (uint64_t)len;
	}
	sp->size = off;
	return 0;
}

static int
write_full(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
spool_append(struct spool *sp, const char *stream, uint64_t seq,
    const struct model_cmds *cmds, char *err, size_t errlen)
{
	struct buf *b = &sp->io;
	size_t slen = strlen(stream), i, plen;

	buf_reset(b);
	buf_add(b, SPOOL_MAGIC, 4);
	put32(b, 0);
	put64(b, 0);
	put32(b, (uint32_t)slen);
	buf_add(b, stream, slen);
	put64(b, seq);
	put32(b, (uint32_t)cmds->n);
	for (i = 0; i < cmds->n; i++)
		put32(b, cmds->len[i]);
	buf_add(b, cmds->data.data, cmds->data.len);
	plen = b->len - SPOOL_HDR;
	if (plen > SPOOL_MAX_REC) {
		snprintf(err, errlen, "record too large (%zu bytes)", plen);
		return -1;
	}
	/* the header, now that the payload is known */
	enc32((unsigned char *)b->data + 4, (uint32_t)plen);
	enc64((unsigned char *)b->data + 8,
	    fnv1a64(b->data + SPOOL_HDR, plen, FNV1A64_INIT));
	if (write_full(sp->fd, b->data, b->len) == -1) {
		snprintf(err, errlen, "%s: write: %s", sp->path, strerror(errno));
		if (ftruncate(sp->fd, (off_t)sp->size) == -1)
			log_warn("spool=%s msg=\"cannot cut a failed write\"",
			    sp->path);
		return -1;
	}
	sp->size += b->len;
	return 0;
}

int
spool_sync(struct spool *sp, char *err, size_t errlen)
{
	if (fdatasync(sp->fd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", sp->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* parse - split a payload into r; -1 when its inner lengths disagree */
static int
parse(const unsigned char *p, size_t n, struct spool_rec *r)
{
	uint32_t slen, ncmd, i, len;
	size_t off = 0, total = 0;

	if (n < 4 || (slen = get32(p)) > n - 4 || n - 4 - slen < 12)
		return -1;
	buf_add(&r->stream, p + 4, slen);
	off = 4 + slen;
	r->seq = get64(p + off);
	ncmd = get32(p + off + 8);
	off += 12;
	if (ncmd > (n - off) / 4)
		return -1;
	for (i = 0; i < ncmd; i++)
		total += get32(p + off + 4 * (size_t)i);
	if (total != n - off - 4 * (size_t)ncmd)
		return -1;
	p += off;
	off = 4 * (size_t)ncmd;
	for (i = 0; i < ncmd; i++) {
		len = get32(p + 4 * (size_t)i);
		model_cmds_add(&r->cmds, p + off, len);
		off += len;
	}
	return 0;
}

int
spool_read(struct spool *sp, uint64_t *off, struct spool_rec *r, char *err,
    size_t errlen)
{
	char why[128];
	int64_t len;

	buf_reset(&r->stream);
	model_cmds_reset(&r->cmds);
	r->seq = 0;
	if (*off >= sp->size)
		return 0;
	if ((len = frame(sp, *off, sp->size, why, sizeof(why))) == -1 ||
	    parse((const unsigned char *)sp->io.data, (size_t)len, r) == -1) {
		snprintf(err, errlen, "%s: offset %llu: %s", sp->path,
		    (unsigned long long)*off, len == -1 ? why : "bad record");
		return -1;
	}
	*off += SPOOL_HDR + (uint64_t)len;
	return 1;
}

int
spool_cut(struct spool *sp, uint64_t off, char *err, size_t errlen)
{
	if (ftruncate(sp->fd, (off_t)off) == -1) {
		snprintf(err, errlen, "%s: truncate: %s", sp->path,
		    strerror(errno));
		return -1;
	}
	sp->size = off;
	return 0;
}

uint64_t
spool_size(const struct spool *sp)
{
	return sp->size;
}

const char *
spool_path(const struct spool *sp)
{
	return sp->path;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd != -1)
		close(sp->fd);
	buf_free(&sp->io);
	free(sp->path);
	free(sp);
}

void
spool_rec_init(struct spool_rec *r)
{
	buf_init(&r->stream);
	r->seq = 0;
	model_cmds_init(&r->cmds);
}

void
spool_rec_free(struct spool_rec *r)
{
	buf_free(&r->stream);
	model_cmds_free(&r->cmds);
}
