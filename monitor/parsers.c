/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parsers.c - load parser plugins and dispatch lines to them.
 *
 * Each plugin is a shared object NAME.so in the plugin directory exporting
 * one const struct fm_parser named fm_parser_plugin.  Which parser handles a
 * program tag is asked once per distinct tag and remembered in a small
 * table, so the per-line cost is one hash and one indirect call.
 *
 * SECURITY: plugin names come from the administrator's configuration; they
 * must be plain names (no '/'), so a configuration cannot load an arbitrary
 * path.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parsers.h"
#include "util.h"

#define TAGS 512		/* distinct program tags remembered */
#define TAG_MAX 64		/* longer tags are looked up each time */

struct loaded {
	void *dl;			/* dlopen handle */
	const struct fm_parser *p;	/* its descriptor */
	void *self;			/* its state */
};

struct tagslot {
	uint64_t hash;
	uint8_t len;			/* 0: empty slot */
	int16_t which;			/* index into loaded, -1: nobody */
	char tag[TAG_MAX];
};

struct parsers {
	struct loaded *v;
	size_t n;
	struct tagslot tags[TAGS];
	size_t ntags;
};

static int parsers_load1(struct parsers *, const char *, const char *, char *,
    size_t);
static int parsers_which(struct parsers *, const char *, size_t);

struct parsers *
parsers_open(const char *dir, char *const *names, size_t n, char *err,
    size_t errlen)
{
	struct parsers *ps = xcalloc(1, sizeof(*ps));
	size_t i;

	ps->v = xcalloc(n ? n : 1, sizeof(*ps->v));
	for (i = 0; i < n; i++) {
		if (parsers_load1(ps, dir, names[i], err, errlen) == -1) {
			parsers_free(ps);
			return NULL;
		}
	}
	return ps;
}

/* parsers_load1 - dlopen dir/name.so, check its ABI, init it */
static int
parsers_load1(struct parsers *ps, const char *dir, const char *name, char *err,
    size_t errlen)
{
	char path[4096];
	struct loaded *l = &ps->v[ps->n];
	const char *ierr = NULL;

	if (*name == '\0' || strchr(name, '/') != NULL || strlen(name) > 64) {
		snprintf(err, errlen, "parser \"%s\": not a plugin name", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	if ((l->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "parser \"%s\": cannot load %s: %s", name,
		    path, dlerror());
		return -1;
	}
	if ((l->p = dlsym(l->dl, FM_PARSER_SYMBOL)) == NULL) {
		snprintf(err, errlen, "parser \"%s\": %s has no %s symbol",
		    name, path, FM_PARSER_SYMBOL);
		dlclose(l->dl);
		return -1;
	}
	if (l->p->abi != FM_PLUGIN_ABI) {
		snprintf(err, errlen, "parser \"%s\": %s was built for plugin "
		    "ABI %d, this fumidai speaks ABI %d; rebuild the plugin",
		    name, path, l->p->abi, FM_PLUGIN_ABI);
		dlclose(l->dl);
		return -1;
	}
	if ((l->self = l->p->init(log_plugin, &ierr)) == NULL) {
		snprintf(err, errlen, "parser \"%s\": init failed: %s", name,
		    ierr ? ierr : "unknown error");
		dlclose(l->dl);
		return -1;
	}
	ps->n++;
	return 0;
}

/* tag_hash - tags are short and looked up once a line: the first and the
 * last 8 bytes (overlapping) of a longer one, the bytes of a shorter one */
static uint64_t
tag_hash(const char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t h = n * k, w = 0, w2 = 0;
	size_t i;

	if (n >= 8) {
		memcpy(&w, p, 8);
		memcpy(&w2, p + n - 8, 8);
		for (i = 8; i + 8 < n; i += 8) {	/* the middle of long ones */
			uint64_t m;

			memcpy(&m, p + i, 8);
			h = (h ^ m) * k;
		}
	} else {
		for (i = 0; i < n; i++)
			w = w << 8 | (unsigned char)p[i];
	}
	h = (h ^ w) * k;
	h = (h ^ w2) * k;
	return h ^ h >> 32;
}

/* parsers_which - index of the parser claiming tag, -1 for none */
static int
parsers_which(struct parsers *ps, const char *tag, size_t len)
{
	uint64_t h = tag_hash(tag, len);
	size_t i, slot;
	int which = -1;

	if (len < TAG_MAX) {
		for (i = 0; i < TAGS; i++) {
			struct tagslot *ts = &ps->tags[(h + i) & (TAGS - 1)];

			if (ts->len == 0)
				break;
			if (ts->hash == h && ts->len == len &&
			    fm_memeq(ts->tag, tag, len))
				return ts->which;
		}
	}
	for (i = 0; i < ps->n; i++) {
		if (ps->v[i].p->claims(tag, len)) {
			which = (int)i;
			break;
		}
	}
	if (len > 0 && len < TAG_MAX && ps->ntags < TAGS / 2) {
		for (slot = h & (TAGS - 1); ps->tags[slot].len != 0;
		    slot = (slot + 1) & (TAGS - 1))
			;
		ps->tags[slot].hash = h;
		ps->tags[slot].len = (uint8_t)len;
		ps->tags[slot].which = (int16_t)which;
		memcpy(ps->tags[slot].tag, tag, len);
		ps->ntags++;
	}
	return which;
}

int
parsers_parse(struct parsers *ps, const struct fm_line *ln, struct fm_event *ev,
    fm_emit_fn *emit, void *arg)
{
	int which = parsers_which(ps, ln->program.p, ln->program.len);
	struct loaded *l;

	if (which < 0)
		return -1;
	l = &ps->v[which];
	return l->p->parse(l->self, ln, ev, emit, arg);
}

void
parsers_free(struct parsers *ps)
{
	size_t i;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		ps->v[i].p->free(ps->v[i].self);
		dlclose(ps->v[i].dl);
	}
	free(ps->v);
	free(ps);
}
