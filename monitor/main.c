/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - fumidai(8): dispatch to the subcommands.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_sched.h"
#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "notify.h"
#include "redisd.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "run", cmd_run, "follow the configured logs into Redis (-f: foreground)" },
	{ "replay", cmd_replay, "feed archived logs (plain, .gz, -) through the pipeline" },
	{ "parse", cmd_parse, "print the events found in logs as NDJSON" },
	{ "account", cmd_account, "show an account's recent history and counters" },
	{ "compact", cmd_compact, "archive old history days now (the daemon does it daily)" },
	{ "stats", cmd_stats, "show global counters and input positions" },
	{ "alerts", cmd_alerts, "list the alerts the detectors raised" },
	{ "release", cmd_release, "lift the flag that makes the policy server refuse an account" },
	{ "blocklist", cmd_blocklist, "list the blocked addresses and networks" },
	{ "history", cmd_history, "an account's logins and sent messages over a time range" },
	{ "incident", cmd_incident, "write an evidence bundle of an account's activity" },
	{ "sessions", cmd_sessions, "an account's open IMAP, POP3 and SMTP sessions" },
	{ "web", cmd_web, "serve the web dashboard (run starts it when web.enabled)" },
	{ "web-link", cmd_web_link, "print an account owner's signed dashboard link" },
	{ "check-config", cmd_check_config, "validate the configuration and print it" },
	{ "audit", cmd_audit, "audit SMTP posture: relay, smtp, op25b (no config needed)" },
	{ "audits", cmd_audits, "show the scheduled audits' latest results and history" },
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: fumidai COMMAND [-c FILE] [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(fp, "  %-13s %s\n", cmds[i].name, cmds[i].help);
	fprintf(fp, "\nSee fumidai(8).  Default configuration: %s\n",
	    FM_DEFAULT_CONFIG);
}

struct fumidai *
cmd_load_config(const char *path)
{
	struct fumidai *cf;
	char err[1024];

	if ((cf = conf_load(path, path != NULL, err, sizeof(err))) == NULL)
		fprintf(stderr, "fumidai: configuration error: %s\n", err);
	return cf;
}

struct redisd *
cmd_redis_up(struct fumidai *cf)
{
	struct redisd *r;
	char err[1024];

	/* Nothing was ever recorded here: do not create a state_dir. */
	if (!cf->redis.embedded || access(cf->state_dir, F_OK) == -1)
		return NULL;
	if ((r = redisd_start(cf, 1, err, sizeof(err))) == NULL)
		fprintf(stderr, "fumidai: %s\n", err);
	return r;
}

int
cmd_check_config(int argc, char **argv)
{
	struct fumidai *cf;
	const char *path = NULL;
	char err[1024];
	int ch, quiet = 0;

	while ((ch = getopt(argc, argv, "c:q")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'q': quiet = 1; break;
		default:
			fprintf(stderr, "usage: fumidai check-config [-c FILE] [-q]\n");
			return 2;
		}
	}
	if ((cf = cmd_load_config(path)) == NULL)
		return 2;
	if (notify_check(cf, err, sizeof(err)) == -1) {
		fprintf(stderr, "fumidai: configuration error: %s\n", err);
		conf_free(cf);
		return 2;
	}
	if (!quiet)
		conf_dump(cf, stdout);
	conf_free(cf);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t i;

	log_init(LOG_TO_STDERR, getenv("FUMIDAI_DEBUG") != NULL);
	audit_sched_argv0(argv[0]);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("fumidai %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			optind = 1;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "fumidai: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
