/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_web.c - `fumidai web [-c FILE]`: serve the dashboard (web.h) in the
 * foreground until SIGTERM or SIGINT; and `fumidai web-link ACCOUNT
 * [--ttl S] [-c FILE]`: print an owner's signed link (weblink.h).
 *
 * `fumidai run` starts `fumidai web` itself when web.enabled (webchild.h);
 * run by hand, it serves whatever the configuration says, enabled or not.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "redisd.h"
#include "web.h"
#include "weblink.h"

static void
web_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	log_info("service=web signal=%d msg=\"stopping\"", (int)sig);
	event_base_loopexit(base, NULL);
}

/* web_serve - the loop of `fumidai web` */
static int
web_serve(struct fumidai *cf)
{
	struct event_base *base;
	struct event *ev_term, *ev_int;
	struct web *w;
	char err[1024];

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "fumidai: event_base_new failed\n");
		return 1;
	}
	if ((w = web_new(base, cf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fumidai: %s\n", err);
		event_base_free(base);
		return 1;
	}
	ev_term = evsignal_new(base, SIGTERM, web_signal_cb, base);
	ev_int = evsignal_new(base, SIGINT, web_signal_cb, base);
	if (ev_term == NULL || ev_int == NULL)
		fatalx("evsignal_new");
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_base_dispatch(base);
	web_free(w);
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(base);
	return 0;
}

int
cmd_web(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct fumidai *cf;
	struct redisd *rd;
	const char *path = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:sv", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 's': log_init(LOG_TO_SYSLOG, 0); break;
		case 'v': log_setverbose(1); break;
		default:
			fprintf(stderr, "usage: fumidai web [-c FILE] [-v] [--syslog]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: fumidai web [-c FILE] [-v] [--syslog]\n");
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	rd = cmd_redis_up(cf);
	rc = web_serve(cf);
	redisd_stop(rd);
	conf_free(cf);
	return rc;
}

int
cmd_web_link(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct fumidai *cf;
	const char *path = NULL;
	struct buf b;
	char err[1024], *end;
	long ttl = -1;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:t:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't':
			ttl = strtol(optarg, &end, 10);
			if (*end != '\0' || ttl < 1 || ttl > 86400L * 3650) {
				fprintf(stderr, "fumidai: --ttl: seconds, 1 to "
				    "315360000\n");
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	buf_init(&b);
	if (weblink_url(cf, argv[optind], strlen(argv[optind]), ttl > 0 ?
	    (int)ttl : cf->web.link_ttl, &b, err, sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: %s\n", err);
		buf_free(&b);
		conf_free(cf);
		return 2;
	}
	printf("%.*s\n", (int)b.len, b.data);
	buf_free(&b);
	conf_free(cf);
	return 0;
usage:
	fprintf(stderr, "usage: fumidai web-link [-c FILE] [--ttl S] ACCOUNT\n");
	return 2;
}
