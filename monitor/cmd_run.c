/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_run.c - `fumidai run` and `fumidai replay`: option parsing around
 * the engine.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "engine.h"
#include "log.h"

int
cmd_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "print", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct fumidai *cf;
	const char *path = NULL;
	int ch, fg = 0, flags = 0;

	while ((ch = getopt_long(argc, argv, "c:fpv", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': fg = 1; break;
		case 'p': flags |= ENGINE_PRINT; break;
		case 'v': log_setverbose(1); break;
		default:
			fprintf(stderr, "usage: fumidai run [-c FILE] [-f] [--print] [-v]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: fumidai run [-c FILE] [-f] [--print] [-v]\n");
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	if (!fg) {
		if (daemon(0, 0) == -1) {
			perror("fumidai: daemon");
			conf_free(cf);
			return 1;
		}
		log_init(LOG_TO_SYSLOG, 0);
	}
	return engine_run(cf, flags);
}

int
cmd_replay(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct fumidai *cf;
	const char *path = NULL;
	int ch, flags = isatty(2) ? ENGINE_PROGRESS : 0;

	while ((ch = getopt_long(argc, argv, "c:p", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'p': flags |= ENGINE_PRINT; break;
		case 'P': flags &= ~ENGINE_PROGRESS; break;
		default:
			fprintf(stderr, "usage: fumidai replay [-c FILE] [--print] "
			    "[--no-progress] LOG...|-\n");
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: fumidai replay [-c FILE] [--print] "
		    "[--no-progress] LOG...|-\n");
		return 2;
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	return engine_replay(cf, argv + optind, argc - optind, flags);
}
