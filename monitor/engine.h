/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * engine.h - the loop behind `run` and `replay`: inputs -> pipeline ->
 * batches -> store, with checkpoints (run) and signals.
 *
 * run: follows every configured input, cuts a batch every batch_lines lines
 * or flush_interval ms, journals each cut, checkpoints whenever everything
 * is durable, resumes exactly after a stop or a crash.  SIGTERM/SIGINT
 * drain and exit, SIGHUP reloads the configuration (a bad one is refused and
 * the old one keeps running), SIGUSR1 logs the counters.
 *
 * replay: reads the given files once, as fast as Redis takes them, cutting
 * batches at fixed line counts so that replaying the same archive again
 * changes nothing (each file is its own stream, named by its first line).
 */
#ifndef FM_ENGINE_H
#define FM_ENGINE_H

#include "fumidai.h"

#define ENGINE_PRINT	0x01	/* print each recorded event as JSON */
#define ENGINE_PROGRESS	0x02	/* progress bar on stderr (replay) */

/* engine_run - follow until signalled; returns the exit status */
int engine_run(struct fumidai *cf, int flags);
/* engine_replay - replay files; returns the exit status */
int engine_replay(struct fumidai *cf, char **files, int nfiles, int flags);

#endif
