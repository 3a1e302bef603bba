/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd.h - the subcommands of fumidai(8).  Each takes the arguments after its
 * name (argv[0] is the command name), parses its own options (every command
 * accepts -c FILE) and returns the process exit status: 0 ok, 1 failure or
 * findings, 2 usage or configuration error.
 */
#ifndef FM_CMD_H
#define FM_CMD_H

#include "fumidai.h"

int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_alerts(int argc, char **argv);		/* cmd_alerts.c */
int cmd_check_config(int argc, char **argv);
int cmd_audit(int argc, char **argv);		/* cmd_audit.c */
int cmd_audits(int argc, char **argv);		/* cmd_audits.c */
int cmd_release(int argc, char **argv);		/* cmd_release.c */
int cmd_blocklist(int argc, char **argv);	/* cmd_blocklist.c */
int cmd_history(int argc, char **argv);		/* cmd_history.c */
int cmd_incident(int argc, char **argv);	/* cmd_incident.c */
int cmd_web(int argc, char **argv);		/* cmd_web.c */
int cmd_web_link(int argc, char **argv);	/* cmd_web.c */
int cmd_sessions(int argc, char **argv);	/* cmd_sessions.c */
int cmd_compact(int argc, char **argv);		/* compact.c */

/* cmd_load_config - -c path (NULL: default); prints the error and returns
 * NULL on failure (callers exit 2). */
struct fumidai *cmd_load_config(const char *path);

struct redisd;
/* cmd_redis_up - with the embedded Redis configured, make sure it runs (a
 * command run while the daemon is stopped starts it for itself); returns
 * what to hand to redisd_stop afterwards (NULL: nothing to stop) */
struct redisd *cmd_redis_up(struct fumidai *cf);

#endif
