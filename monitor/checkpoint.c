/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * checkpoint.c - the checkpoint and journal files in state_dir.
 *
 * Both are line-oriented text so an admin can read them; paths are written
 * in hex so that no file name can break the format.  A checkpoint ends with
 * a checksum line: a torn or edited file is refused, not half believed.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "checkpoint.h"
#include "event.h"

#define CKPT_MAGIC "fumidai-checkpoint 1"

static void
path_of(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void
pos_print(struct buf *b, const struct tail_pos *p)
{
	buf_printf(b, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
	    p->dev, p->ino, p->offset, p->line_no, p->fp);
}

/* pos_scan - five numbers from *s; advances *s; 0 / -1 */
static int
pos_scan(char **s, struct tail_pos *p)
{
	uint64_t *f[5] = { &p->dev, &p->ino, &p->offset, &p->line_no, &p->fp };
	char *end;
	int i;

	for (i = 0; i < 5; i++) {
		errno = 0;
		*f[i] = strtoull(*s, &end, 10);
		if (end == *s || errno != 0)
			return -1;
		*s = end;
	}
	return 0;
}

#define NCOUNTS 10
static uint64_t *
counts_field(struct pipeline_counts *n, int i)
{
	uint64_t *f[NCOUNTS] = { &n->lines, &n->bytes, &n->events, &n->parsed,
	    &n->ignored, &n->unknown, &n->noparser, &n->malformed,
	    &n->too_long, &n->bad_bytes };
	return f[i];
}

int
checkpoint_write(const char *state_dir, const struct checkpoint *ck, char *err,
    size_t errlen)
{
	struct buf b;
	char path[4096];
	size_t i;
	int j, rc;

	buf_init(&b);
	buf_printf(&b, "%s\nseq %" PRIu64 "\ntime %" PRId64 "\n", CKPT_MAGIC,
	    ck->seq, ck->time);
	for (i = 0; i < ck->nin; i++) {
		struct pipeline_counts n = ck->in[i].n;

		buf_adds(&b, "input ");
		hex_encode(&b, ck->in[i].path, strlen(ck->in[i].path));
		pos_print(&b, &ck->in[i].pos);
		for (j = 0; j < NCOUNTS; j++)
			buf_printf(&b, " %" PRIu64, *counts_field(&n, j));
		buf_addc(&b, '\n');
	}
	buf_adds(&b, "corr ");
	hex_encode(&b, ck->corr.data ? ck->corr.data : "", ck->corr.len);
	buf_addc(&b, '\n');
	buf_printf(&b, "sum %016" PRIx64 "\n", fnv1a64(b.data, b.len, FNV1A64_INIT));
	path_of(path, sizeof(path), state_dir, "checkpoint");
	rc = write_file_atomic(path, b.data, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

static int
ckpt_line(struct checkpoint *ck, char *line)
{
	char *s, *sp;
	struct buf pb;
	struct ckpt_input *in;
	int j;

	if (strncmp(line, "seq ", 4) == 0) {
		ck->seq = strtoull(line + 4, NULL, 10);
		return 0;
	}
	if (strncmp(line, "time ", 5) == 0) {
		ck->time = strtoll(line + 5, NULL, 10);
		return 0;
	}
	if (strncmp(line, "corr ", 5) == 0)
		return hex_decode(&ck->corr, line + 5, strlen(line + 5));
	if (strncmp(line, "input ", 6) != 0)
		return -1;
	s = line + 6;
	if ((sp = strchr(s, ' ')) == NULL)
		return -1;
	buf_init(&pb);
	if (hex_decode(&pb, s, (size_t)(sp - s)) == -1) {
		buf_free(&pb);
		return -1;
	}
	ck->in = xrealloc(ck->in, (ck->nin + 1) * sizeof(*ck->in));
	in = &ck->in[ck->nin++];
	memset(in, 0, sizeof(*in));
	in->path = pb.data ? pb.data : xstrdup("");
	s = sp;
	if (pos_scan(&s, &in->pos) == -1)
		return -1;
	for (j = 0; j < NCOUNTS; j++)
		*counts_field(&in->n, j) = strtoull(s, &s, 10);
	return 0;
}

int
checkpoint_read(const char *state_dir, struct checkpoint *ck, char *err,
    size_t errlen)
{
	char path[4096], *line = NULL, *sum;
	size_t cap = 0;
	ssize_t n;
	struct buf all;
	FILE *fp;
	int rc = -1, ended = 0;

	memset(ck, 0, sizeof(*ck));
	buf_init(&ck->corr);
	path_of(path, sizeof(path), state_dir, "checkpoint");
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&all);
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (strncmp(line, "sum ", 4) == 0) {
			uint64_t want = strtoull(line + 4, &sum, 16);

			ended = want == fnv1a64(all.data, all.len, FNV1A64_INIT);
			break;
		}
		buf_add(&all, line, (size_t)n);
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (all.len == (size_t)n) {
			if (strcmp(line, CKPT_MAGIC) != 0)
				break;
			continue;
		}
		if (ckpt_line(ck, line) == -1)
			break;
	}
	if (ended)
		rc = 0;
	else
		snprintf(err, errlen, "%s: damaged or not a checkpoint (remove "
		    "it to start over from the beginning of each input)", path);
	free(line);
	buf_free(&all);
	fclose(fp);
	if (rc == -1)
		checkpoint_free(ck);
	return rc;
}

void
checkpoint_free(struct checkpoint *ck)
{
	size_t i;

	for (i = 0; i < ck->nin; i++)
		free(ck->in[i].path);
	free(ck->in);
	buf_free(&ck->corr);
	memset(ck, 0, sizeof(*ck));
}

FILE *
journal_open(const char *state_dir, char *err, size_t errlen)
{
	char path[4096];
	FILE *fp;

	path_of(path, sizeof(path), state_dir, "journal");
	if ((fp = fopen(path, "a")) == NULL)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return fp;
}

int
journal_append(FILE *fp, const struct batch *b)
{
	struct buf l;
	size_t i;
	int rc;

	buf_init(&l);
	buf_printf(&l, "batch %" PRIu64 " %zu", b->seq, b->nchunk);
	for (i = 0; i < b->nchunk; i++) {
		buf_printf(&l, " %u", b->chunk[i].input);
		pos_print(&l, &b->chunk[i].start);
		pos_print(&l, &b->chunk[i].end);
	}
	buf_addc(&l, '\n');
	rc = fwrite(l.data, 1, l.len, fp) == l.len && fflush(fp) == 0 ? 0 : -1;
	buf_free(&l);
	return rc;
}

int
journal_reset(const char *state_dir, FILE **fp, char *err, size_t errlen)
{
	char path[4096];

	if (*fp != NULL)
		fclose(*fp);
	path_of(path, sizeof(path), state_dir, "journal");
	if ((*fp = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* journal_line - parse "batch SEQ N (input start end){N}"; 0 / -1 */
static int
journal_line(char *s, struct journal_batch *jb)
{
	char *end;
	size_t i, n;

	if (strncmp(s, "batch ", 6) != 0)
		return -1;
	s += 6;
	jb->seq = strtoull(s, &end, 10);
	if (end == s)
		return -1;
	s = end;
	n = strtoul(s, &end, 10);
	if (end == s || n > 100000)
		return -1;
	s = end;
	jb->chunk = xcalloc(n ? n : 1, sizeof(*jb->chunk));
	jb->nchunk = n;
	for (i = 0; i < n; i++) {
		jb->chunk[i].input = (uint32_t)strtoul(s, &end, 10);
		if (end == s)
			return -1;
		s = end;
		if (pos_scan(&s, &jb->chunk[i].start) == -1 ||
		    pos_scan(&s, &jb->chunk[i].end) == -1)
			return -1;
	}
	return *s == '\n' || *s == '\0' ? 0 : -1;
}

ssize_t
journal_read(const char *state_dir, uint64_t after, struct journal_batch **out,
    char *err, size_t errlen)
{
	char path[4096], *line = NULL;
	size_t cap = 0, n = 0;
	struct journal_batch *v = NULL, jb;
	FILE *fp;

	*out = NULL;
	path_of(path, sizeof(path), state_dir, "journal");
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) > 0) {
		memset(&jb, 0, sizeof(jb));
		if (journal_line(line, &jb) == -1) {
			/* A torn last line: the batch it named was never sent. */
			free(jb.chunk);
			break;
		}
		if (jb.seq <= after) {
			free(jb.chunk);
			continue;
		}
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = jb;
	}
	free(line);
	fclose(fp);
	*out = v;
	return (ssize_t)n;
}

void
journal_free(struct journal_batch *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].chunk);
	free(v);
}

void
pipeline_print_positions(const struct fumidai *cf, FILE *fp, int json)
{
	struct checkpoint ck;
	char err[512], t[40];
	size_t i;
	int r;

	r = checkpoint_read(cf->state_dir, &ck, err, sizeof(err));
	if (r != 0) {
		if (json)
			fprintf(fp, "{\"checkpoint\":null}");
		else
			fprintf(fp, "inputs: %s\n", r == 1 ?
			    "no checkpoint yet (fumidai run has not run here)" : err);
		return;
	}
	time_format(ck.time, t, sizeof(t));
	if (json) {
		struct buf b;

		buf_init(&b);
		buf_printf(&b, "{\"checkpoint\":{\"time\":\"%s\",\"seq\":%" PRIu64
		    ",\"inputs\":[", t, ck.seq);
		for (i = 0; i < ck.nin; i++) {
			const struct pipeline_counts *n = &ck.in[i].n;

			buf_adds(&b, i ? ",{\"path\":" : "{\"path\":");
			json_str(&b, ck.in[i].path, strlen(ck.in[i].path));
			buf_printf(&b, ",\"inode\":%" PRIu64 ",\"offset\":%" PRIu64
			    ",\"line\":%" PRIu64 ",\"lines\":%" PRIu64 ",\"events\":%"
			    PRIu64 ",\"unrecognized\":%" PRIu64 ",\"malformed\":%"
			    PRIu64 ",\"too_long\":%" PRIu64 ",\"bad_bytes\":%" PRIu64
			    "}", ck.in[i].pos.ino, ck.in[i].pos.offset,
			    ck.in[i].pos.line_no, n->lines, n->events, n->unknown,
			    n->malformed, n->too_long, n->bad_bytes);
		}
		buf_adds(&b, "]}}");
		fputs(b.data, fp);
		buf_free(&b);
	} else {
		fprintf(fp, "checkpoint: %s (batch %" PRIu64 ")\n", t, ck.seq);
		for (i = 0; i < ck.nin; i++) {
			const struct pipeline_counts *n = &ck.in[i].n;

			fprintf(fp, "input %s: inode=%" PRIu64 " offset=%" PRIu64
			    " line=%" PRIu64 " lines=%" PRIu64 " events=%" PRIu64
			    " unrecognized=%" PRIu64 " malformed=%" PRIu64
			    " too_long=%" PRIu64 " bad_bytes=%" PRIu64 "\n",
			    ck.in[i].path, ck.in[i].pos.ino, ck.in[i].pos.offset,
			    ck.in[i].pos.line_no, n->lines, n->events, n->unknown,
			    n->malformed, n->too_long, n->bad_bytes);
		}
	}
	checkpoint_free(&ck);
}
