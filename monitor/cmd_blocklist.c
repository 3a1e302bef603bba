/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_blocklist.c - `fumidai blocklist [-c FILE] [--json]`: the addresses
 * and networks the post script put on the block list (<prefix>{g}:blocklist,
 * a sorted set whose score is the Unix time the entry expires) that have
 * not expired by Redis's clock, soonest to expire first, each with the
 * alert that put it there (<prefix>{g}:blockwhy).  contrib/ has scripts
 * that load the same list into nftables and fail2ban.  Exit 0, or 2 on a
 * usage, configuration or Redis error.
 *
 * SECURITY: members and records come from Redis, which only fumidai should
 * write; they are printed terminal-safe (show_term_escape) or re-escaped
 * as JSON all the same.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"
#include "conf.h"
#include "redisd.h"
#include "scripts.h"
#include "show.h"
#include "store.h"
#include "util.h"

#define BLOCK_CHUNK	1000	/* members per ZRANGEBYSCORE */

struct blocklist {
	redisContext *c;
	struct buf zkey, hkey;
	int json;
	size_t n;
	char err[512];
};

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai blocklist [-c FILE] [--json]\n");
}

/* redis_now - Redis's clock, Unix seconds; -1 on error */
static long long
redis_now(struct blocklist *bl)
{
	redisReply *r = NULL;
	long long now = -1;

	redisAppendCommand(bl->c, "TIME");
	if (store_sync_reply(bl->c, &r, bl->err, sizeof(bl->err)) == 0 &&
	    r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING)
		now = strtoll(r->element[0]->str, NULL, 10);
	else if (bl->err[0] == '\0')
		snprintf(bl->err, sizeof(bl->err), "TIME: unexpected reply");
	if (r)
		freeReplyObject(r);
	return now;
}

/* print_entry - one member, its expiry, and why (rec may be NULL) */
static void
print_entry(struct blocklist *bl, const redisReply *m, long long exp,
    const redisReply *rec)
{
	static const char *const f[] = { "kind", "id", "summary" };
	struct buf v[nitems(f)], line, who;
	char when[32];
	size_t i;

	time_format(exp * 1000000, when, sizeof(when));
	if (strlen(when) > 20 && when[19] == '.')
		memcpy(when + 19, "Z", 2);
	for (i = 0; i < nitems(f); i++) {
		buf_init(&v[i]);
		if (rec != NULL && rec->type == REDIS_REPLY_STRING)
			(void)show_json_get(rec->str, rec->len, f[i], &v[i]);
	}
	buf_init(&line);
	buf_init(&who);
	if (bl->json) {
		buf_adds(&line, "{\"address\":\"");
		scripts_json_bin(&line, m->str, m->len);
		buf_addc(&line, '"');
		buf_printf(&line, ",\"expires\":\"%s\",\"expires_unix\":%lld",
		    when, exp);
		for (i = 0; i < nitems(f); i++) {
			buf_printf(&line, ",\"%s\":", f[i]);
			scripts_json_bin(&who, v[i].data ? v[i].data : "",
			    v[i].len);
			buf_addc(&line, '"');
			buf_add(&line, who.data ? who.data : "", who.len);
			buf_addc(&line, '"');
			buf_reset(&who);
		}
		buf_adds(&line, "}\n");
		fwrite(line.data, 1, line.len, stdout);
	} else {
		if (bl->n == 0)
			printf("%-42s  %-20s  %-22s  %s\n", "ADDRESS",
			    "EXPIRES", "KIND", "SUMMARY");
		show_term_escape(&who, m->str, m->len);
		printf("%-42s  %-20s  ", who.data ? who.data : "", when);
		buf_reset(&who);
		show_term_escape(&who, v[0].data ? v[0].data : "-",
		    v[0].len ? v[0].len : 1);
		printf("%-22s  ", who.data);
		show_put_term(v[2].data ? v[2].data : "", v[2].len);
		putchar('\n');
	}
	bl->n++;
	for (i = 0; i < nitems(f); i++)
		buf_free(&v[i]);
	buf_free(&line);
	buf_free(&who);
}

/* list - every active entry, BLOCK_CHUNK at a time; 0 / -1 */
static int
list(struct blocklist *bl, long long now)
{
	redisReply *z = NULL, *h;
	long long off = 0;
	size_t i, k;
	int rc = 0;

	for (;;) {
		redisAppendCommand(bl->c, "ZRANGEBYSCORE %b (%lld +inf "
		    "WITHSCORES LIMIT %lld %d", bl->zkey.data, bl->zkey.len,
		    now, off, BLOCK_CHUNK);
		if (store_sync_reply(bl->c, &z, bl->err, sizeof(bl->err)) != 0 ||
		    z->type != REDIS_REPLY_ARRAY) {
			if (z)
				freeReplyObject(z);
			return -1;
		}
		for (i = 0; i + 1 < z->elements; i += 2)
			redisAppendCommand(bl->c, "HGET %b %b", bl->hkey.data,
			    bl->hkey.len, z->element[i]->str,
			    z->element[i]->len);
		for (i = 0; rc == 0 && i + 1 < z->elements; i += 2) {
			h = NULL;
			if (store_sync_reply(bl->c, &h, bl->err,
			    sizeof(bl->err)) == -1) {
				rc = -1;
				break;
			}
			print_entry(bl, z->element[i],
			    strtoll(z->element[i + 1]->str, NULL, 10), h);
			freeReplyObject(h);
		}
		k = z->elements / 2;
		freeReplyObject(z);
		if (rc == -1 || k < BLOCK_CHUNK)
			return rc;
		off += (long long)k;
	}
}

int
cmd_blocklist(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct blocklist bl;
	struct fumidai *cf;
	struct redisd *rd;
	const char *path = NULL;
	long long now;
	int ch, rc = 0;

	memset(&bl, 0, sizeof(bl));
	while ((ch = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'j': bl.json = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	rd = cmd_redis_up(cf);
	buf_init(&bl.zkey);
	buf_init(&bl.hkey);
	scripts_tag_global(&bl.zkey, cf);
	buf_adds(&bl.zkey, ":blocklist");
	scripts_tag_global(&bl.hkey, cf);
	buf_adds(&bl.hkey, ":blockwhy");
	if ((bl.c = store_connect_sync(cf, bl.err, sizeof(bl.err))) == NULL ||
	    (now = redis_now(&bl)) < 0) {
		fprintf(stderr, "fumidai: blocklist: %s\n", bl.err);
		rc = 2;
	} else if (list(&bl, now) == -1) {
		fprintf(stderr, "fumidai: blocklist: %s\n", bl.err);
		rc = 2;
	} else if (!bl.json && bl.n == 0)
		printf("no blocked addresses\n");
	if (bl.c)
		redisFree(bl.c);
	redisd_stop(rd);
	buf_free(&bl.zkey);
	buf_free(&bl.hkey);
	conf_free(cf);
	return rc;
}
