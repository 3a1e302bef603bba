/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_parse.c - `fumidai parse [FILE...|-]`: what fumidai makes of a log.
 *
 * Prints one JSON object per event (NDJSON, after correlation, exactly what
 * run and replay would record) and a summary of what was not understood on
 * stderr.  Reads synchronously in large blocks: this is also the parser
 * benchmark's driver.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "event.h"
#include "logline.h"
#include "pipeline.h"
#include "util.h"

#define BLOCK (1 << 20)

struct parse_ctx {
	struct buf out;
	char **names;		/* input names for "src" */
	FILE *fp;
};

static void parse_event(void *, const struct fm_event *);
static void parse_skip(void *, uint32_t, uint64_t, const char *, const char *,
    size_t);
static int parse_file(struct pipeline *, uint32_t, const char *, size_t);

static void
parse_event(void *arg, const struct fm_event *ev)
{
	struct parse_ctx *pc = arg;

	event_json(&pc->out, ev, pc->names[ev->input]);
	buf_addc(&pc->out, '\n');
	if (pc->out.len > 256 * 1024) {
		fwrite(pc->out.data, 1, pc->out.len, pc->fp);
		buf_reset(&pc->out);
	}
}

static void
parse_skip(void *arg, uint32_t input, uint64_t line_no, const char *why,
    const char *p, size_t n)
{
	struct parse_ctx *pc = arg;
	struct buf b;

	buf_init(&b);
	log_escape(&b, p, FM_MIN(n, 300));
	fprintf(stderr, "fumidai: parse: %s:%llu: %s: %s\n", pc->names[input],
	    (unsigned long long)line_no, why, b.data ? b.data : "");
	buf_free(&b);
}

/* open_input - fd for path: "-" stdin, "*.gz" through gzip -dc */
static int
open_input(const char *path, pid_t *child)
{
	size_t n = strlen(path);
	int fd, p[2];

	*child = -1;
	if (strcmp(path, "-") == 0)
		return dup(0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (n < 3 || strcmp(path + n - 3, ".gz") != 0)
		return fd;
	if (pipe(p) == -1) {
		close(fd);
		return -1;
	}
	if ((*child = fork()) == 0) {
		dup2(fd, 0);
		dup2(p[1], 1);
		execlp("gzip", "gzip", "-dc", (char *)NULL);
		_exit(127);
	}
	close(fd);
	close(p[1]);
	return p[0];
}

/* parse_file - read path in blocks and feed whole lines to the pipeline */
static int
parse_file(struct pipeline *pl, uint32_t input, const char *path, size_t max_line)
{
	struct tail_chunk c;
	char *buf = xmalloc(BLOCK + max_line + 2);
	size_t have = 0, cap = BLOCK + max_line + 1;
	int skipping = 0, fd, st, rc = 0;
	ssize_t r;
	pid_t child;

	memset(&c, 0, sizeof(c));
	if ((fd = open_input(path, &child)) == -1) {
		fprintf(stderr, "fumidai: parse: %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	for (;;) {
		r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "fumidai: parse: %s: %s\n", path, strerror(errno));
			rc = -1;
			break;
		}
		if (r == 0) {
			if (have > 0 && !skipping) {	/* last line, no newline */
				c.data = buf;
				c.len = have;
				c.end.offset = c.start.offset + have;
				pipeline_chunk(pl, input, &c);
			}
			break;
		}
		have += (size_t)r;
		char *last = memrchr(buf, '\n', have);
		char *from = buf;
		if (skipping && last != NULL) {	/* end of an over-long line */
			char *nl = memchr(buf, '\n', have);
			c.start.offset += (uint64_t)(nl + 1 - buf);
			c.start.line_no++;
			from = nl + 1;
			skipping = 0;
		}
		if (skipping || last == NULL || last < from) {
			if (have >= max_line + 1) {	/* no newline in sight */
				if (!skipping) {
					c.skipped_long++;
					skipping = 1;
				}
				c.start.offset += have;
				have = 0;
			}
			continue;
		}
		c.data = from;
		c.len = (size_t)(last + 1 - from);
		c.end.offset = c.start.offset + c.len;
		uint64_t before = pipeline_counts(pl, input)->lines;
		pipeline_chunk(pl, input, &c);
		c.start.line_no += pipeline_counts(pl, input)->lines - before;
		c.skipped_long = 0;
		c.start.offset = c.end.offset;
		have -= (size_t)(last + 1 - buf);
		memmove(buf, last + 1, have);
	}
	close(fd);
	if (child > 0) {
		waitpid(child, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "fumidai: parse: %s: gzip -dc failed\n", path);
			rc = -1;
		}
	}
	free(buf);
	return rc;
}

static void
parse_summary(struct pipeline *pl, uint32_t input, const char *name)
{
	const struct pipeline_counts *n = pipeline_counts(pl, input);

	fprintf(stderr, "fumidai: parse: %s: lines=%llu events=%llu parsed=%llu "
	    "ignored=%llu unrecognized=%llu other_programs=%llu malformed=%llu "
	    "too_long=%llu bad_bytes=%llu\n", name,
	    (unsigned long long)n->lines, (unsigned long long)n->events,
	    (unsigned long long)n->parsed, (unsigned long long)n->ignored,
	    (unsigned long long)n->unknown, (unsigned long long)n->noparser,
	    (unsigned long long)n->malformed, (unsigned long long)n->too_long,
	    (unsigned long long)n->bad_bytes);
}

static void
parse_usage(void)
{
	fprintf(stderr, "usage: fumidai parse [-c FILE] [--year YYYY] [--tz ZONE] "
	    "[--parsers NAME,...]\n\t[--raw] [--show-skipped] [FILE...|-]\n");
}

int
cmd_parse(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "year", required_argument, NULL, 'y' },
		{ "tz", required_argument, NULL, 'z' },
		{ "parsers", required_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		{ "show-skipped", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct parse_ctx pc;
	struct fumidai *cf;
	struct pipeline *pl;
	const char *cfile = NULL, *tz = NULL, *plist = NULL;
	char err[1024], *dash[] = { "-" };
	char **files;
	int ch, nfiles, year = 0, rc = 0, raw = 0, show = 0;
	uint32_t i;

	while ((ch = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'y': year = atoi(optarg); break;
		case 'z': tz = optarg; break;
		case 'p': plist = optarg; break;
		case 'r': raw = 1; break;
		case 's': show = 1; break;
		default: parse_usage(); return 2;
		}
	}
	files = argv + optind;
	nfiles = argc - optind;
	if (nfiles == 0) {
		files = dash;
		nfiles = 1;
	}
	if ((cf = cmd_load_config(cfile)) == NULL)
		return 2;
	if (logline_timezone(tz ? tz : cf->timezone) == -1) {
		fprintf(stderr, "fumidai: parse: bad time zone\n");
		conf_free(cf);
		return 2;
	}
	conf_clear_inputs(cf);
	for (i = 0; i < (uint32_t)nfiles; i++) {
		conf_add_input(cf, files[i], "auto");
		if (plist != NULL) {
			struct fm_input *in = &cf->inputs[i];
			char *s = xstrdup(plist), *tok, *save = NULL;
			size_t k;

			for (k = 0; k < in->nparsers; k++)
				free(in->parsers[k]);
			in->nparsers = 0;
			for (tok = strtok_r(s, ",", &save); tok;
			    tok = strtok_r(NULL, ",", &save)) {
				in->parsers = xrealloc(in->parsers,
				    (in->nparsers + 1) * sizeof(char *));
				in->parsers[in->nparsers++] = xstrdup(tok);
			}
			free(s);
		}
	}
	memset(&pc, 0, sizeof(pc));
	buf_init(&pc.out);
	pc.names = files;
	pc.fp = stdout;
	if ((pl = pipeline_new(cf, parse_event, &pc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fumidai: parse: %s\n", err);
		conf_free(cf);
		return 2;
	}
	pipeline_set_raw(pl, raw);
	if (show)
		pipeline_set_skip_cb(pl, parse_skip, &pc);
	for (i = 0; i < (uint32_t)nfiles; i++) {
		struct stat sb;
		int64_t ref = 0;

		if (strcmp(files[i], "-") != 0 && stat(files[i], &sb) == 0)
			ref = (int64_t)sb.st_mtime * 1000000;
		pipeline_input_ref(pl, i, ref, year);
		if (parse_file(pl, i, files[i], cf->max_line) == -1)
			rc = 1;
		pipeline_expire(pl);
	}
	pipeline_flush(pl);
	fwrite(pc.out.data ? pc.out.data : "", 1, pc.out.len, stdout);
	fflush(stdout);
	for (i = 0; i < (uint32_t)nfiles; i++)
		parse_summary(pl, i, files[i]);
	buf_free(&pc.out);
	pipeline_free(pl);
	conf_free(cf);
	return rc;
}
