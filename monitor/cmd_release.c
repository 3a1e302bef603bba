/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_release.c - `fumidai release [-c FILE] [--hex] ACCOUNT`: lift the
 * flag that makes the policy server (policy.c) refuse an account's mail.
 * The flag is the field of <prefix>{g}:flags named by the account's
 * JSON-escaped name (scripts_json_bin, as the alert records hold it); its
 * value is the record of the alert that flagged it.  One small script
 * reads and deletes the field at once, so a flag set in between is never
 * lost unreported.  Exit 0 released, 1 it was not flagged, 2 usage,
 * configuration or Redis error.
 *
 * SECURITY: the name is taken as given (or as hex, for any bytes) and
 * reaches Redis as a binary-safe argument; the name and the record's
 * fields are printed with show_term_escape.
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

static const char release_lua[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if v then redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
    "return v\n";

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai release [-c FILE] [--hex] ACCOUNT\n");
}

/* put_field - the record's field name, decoded and terminal-safe */
static void
put_field(const char *j, size_t n, const char *name)
{
	struct buf v;

	buf_init(&v);
	if (show_json_get(j, n, name, &v) == 0 && v.len > 0)
		show_put_term(v.data, v.len);
	else
		fputs("?", stdout);
	buf_free(&v);
}

/* release - the flag's record into *r (nil when none); 0 / -1 */
static int
release(redisContext *c, const struct fumidai *cf, const struct buf *name,
    redisReply **r, char *err, size_t errlen)
{
	struct buf key, field;
	int rc;

	buf_init(&key);
	buf_init(&field);
	scripts_tag_global(&key, cf);
	buf_adds(&key, ":flags");
	scripts_json_bin(&field, name->data ? name->data : "", name->len);
	redisAppendCommand(c, "EVAL %s 1 %b %b", release_lua, key.data,
	    key.len, field.data ? field.data : "", field.len);
	rc = store_sync_reply(c, r, err, errlen);
	buf_free(&key);
	buf_free(&field);
	if (rc != 0) {
		if (*r != NULL)
			freeReplyObject(*r);
		*r = NULL;
		return -1;
	}
	return 0;
}

int
cmd_release(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct fumidai *cf;
	struct redisd *rd;
	redisContext *c;
	redisReply *r = NULL;
	struct buf name, shown;
	char err[512];
	int ch, hex = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:xh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'x': hex = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc - 1) {
		usage();
		return 2;
	}
	buf_init(&name);
	if (hex ? hex_decode(&name, argv[optind], strlen(argv[optind])) :
	    (buf_adds(&name, argv[optind]), 0)) {
		fprintf(stderr, "fumidai: release: --hex ACCOUNT is not hex\n");
		buf_free(&name);
		return 2;
	}
	if (name.len == 0) {
		fprintf(stderr, "fumidai: release: empty account name\n");
		buf_free(&name);
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL) {
		buf_free(&name);
		return 2;
	}
	rd = cmd_redis_up(cf);
	buf_init(&shown);
	show_term_escape(&shown, name.data, name.len);
	if ((c = store_connect_sync(cf, err, sizeof(err))) == NULL ||
	    release(c, cf, &name, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: release: %s\n", err);
		rc = 2;
	} else if (r->type != REDIS_REPLY_STRING) {
		printf("%s was not flagged\n", shown.data);
		rc = 1;
	} else {
		printf("released %s: it was flagged by a ", shown.data);
		put_field(r->str, r->len, "kind");
		printf(" alert (id ");
		put_field(r->str, r->len, "id");
		printf(", last event ");
		put_field(r->str, r->len, "last");
		printf(")\n");
		rc = 0;
	}
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	redisd_stop(rd);
	buf_free(&shown);
	buf_free(&name);
	conf_free(cf);
	return rc;
}
