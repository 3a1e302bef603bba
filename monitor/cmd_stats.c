/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_stats.c - `fumidai stats [--json] [-c FILE]`: the global counters in
 * Redis (today and in total, logins, messages and events by kind), the
 * distinct accounts and addresses seen today, then each input's position
 * and line counters (pipeline_print_positions).  Exit 0, or 2 on a usage,
 * configuration or Redis error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cmd.h"
#include "redisd.h"
#include "conf.h"
#include "fumidai/plugin.h"	/* pipeline.h needs struct fm_event */
#include "pipeline.h"
#include "scripts.h"
#include "store.h"
#include "util.h"

/* The global counters shown, in order (doc/redis.md). */
static const char *const counter_names[] = {
	"login_ok", "login_fail", "messages", "recipients", "bytes",
};
/* The HyperLogLogs of distinct names per day. */
static const char *const distinct_names[] = {
	"acct_ok", "acct_fail", "ip_ok", "ip_fail",
};

struct stats {
	char day[9];
	redisReply *today, *total;
	long long distinct[nitems(distinct_names)];
};

static void
usage(void)
{
	fprintf(stderr, "usage: fumidai stats [-c FILE] [--json]\n");
}

/* field - a hash field's value from an HGETALL reply, 0 when absent */
static long long
field(const redisReply *r, const char *name)
{
	size_t i;

	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (strcmp(r->element[i]->str, name) == 0)
			return strtoll(r->element[i + 1]->str, NULL, 10);
	return 0;
}

static int
fetch(redisContext *c, const struct fumidai *cf, struct stats *st, char *err,
    size_t errlen)
{
	struct buf k;
	redisReply *r;
	size_t i;
	char suffix[32];
	int rc = 0;
	int got;

	scripts_day(now_us(), st->day);
	buf_init(&k);
	snprintf(suffix, sizeof(suffix), ":c:%s", st->day);
	scripts_tag_global(&k, cf);
	buf_adds(&k, suffix);
	redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	buf_reset(&k);
	scripts_tag_global(&k, cf);
	buf_adds(&k, ":totals");
	redisAppendCommand(c, "HGETALL %b", k.data, k.len);
	for (i = 0; i < nitems(distinct_names); i++) {
		snprintf(suffix, sizeof(suffix), ":%s:%s", distinct_names[i],
		    st->day);
		buf_reset(&k);
		scripts_tag_global(&k, cf);
		buf_adds(&k, suffix);
		redisAppendCommand(c, "PFCOUNT %b", k.data, k.len);
	}
	buf_free(&k);
	for (i = 0; i < 2 + nitems(distinct_names); i++) {
		if ((got = store_sync_reply(c, &r, err, errlen)) == -1)
			return -1;
		if (got == 1)
			rc = -1;
		if (i == 0)
			st->today = r;
		else if (i == 1)
			st->total = r;
		else {
			st->distinct[i - 2] = r->type == REDIS_REPLY_INTEGER ?
			    r->integer : 0;
			freeReplyObject(r);
		}
	}
	return rc;
}

static void
print_human(const struct stats *st)
{
	size_t i;
	int k;
	char name[32];

	printf("global counters\n  %-16s %12s %14s\n", "", "today", "total");
	for (i = 0; i < nitems(counter_names); i++)
		printf("  %-16s %12lld %14lld\n", counter_names[i],
		    field(st->today, counter_names[i]),
		    field(st->total, counter_names[i]));
	printf("\nevents by kind\n");
	for (k = 1; k < FM_EV__COUNT; k++) {
		snprintf(name, sizeof(name), "ev.%s", scripts_kind_name(k));
		printf("  %-16s %12lld %14lld\n", scripts_kind_name(k),
		    field(st->today, name), field(st->total, name));
	}
	printf("\ndistinct today (approximate)\n"
	    "  accounts logged in %lld, accounts failing %lld, "
	    "addresses logged in %lld, addresses failing %lld\n\n",
	    st->distinct[0], st->distinct[1], st->distinct[2],
	    st->distinct[3]);
}

static void
json_counts(struct buf *b, const char *name, const redisReply *r)
{
	char ev[32];
	size_t i;
	int k;

	buf_printf(b, "\"%s\":{", name);
	for (i = 0; i < nitems(counter_names); i++)
		buf_printf(b, "\"%s\":%lld,", counter_names[i],
		    field(r, counter_names[i]));
	buf_add(b, "\"events\":{", 10);
	for (k = 1; k < FM_EV__COUNT; k++) {
		snprintf(ev, sizeof(ev), "ev.%s", scripts_kind_name(k));
		buf_printf(b, "%s\"%s\":%lld", k > 1 ? "," : "",
		    scripts_kind_name(k), field(r, ev));
	}
	buf_add(b, "}}", 2);
}

static void
print_json_head(const struct stats *st)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_printf(&b, "{\"day\":\"%s\",", st->day);
	json_counts(&b, "today", st->today);
	buf_addc(&b, ',');
	json_counts(&b, "total", st->total);
	buf_add(&b, ",\"distinct_today\":{", 19);
	for (i = 0; i < nitems(distinct_names); i++)
		buf_printf(&b, "%s\"%s\":%lld", i ? "," : "", distinct_names[i],
		    st->distinct[i]);
	buf_add(&b, "},\"inputs\":", 11);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

int
cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct stats st;
	struct fumidai *cf;
	struct redisd *rd = NULL;
	redisContext *c;
	char err[512];
	int ch, json = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'j': json = 1; break;
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
	memset(&st, 0, sizeof(st));
	rd = cmd_redis_up(cf);
	if ((c = store_connect_sync(cf, err, sizeof(err))) == NULL ||
	    fetch(c, cf, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: stats: %s\n", err);
		rc = 2;
		goto out;
	}
	if (json) {
		print_json_head(&st);
		fflush(stdout);
		pipeline_print_positions(cf, stdout, 1);
		printf("}\n");
	} else {
		print_human(&st);
		fflush(stdout);
		pipeline_print_positions(cf, stdout, 0);
	}
out:
	if (st.today)
		freeReplyObject(st.today);
	if (st.total)
		freeReplyObject(st.total);
	if (c)
		redisFree(c);
	redisd_stop(rd);
	conf_free(cf);
	return rc;
}
