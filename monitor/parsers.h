/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * parsers.h - load parser plugins (dlopen) and dispatch lines to them by
 * program tag.  A plugin whose descriptor's abi differs from FM_PLUGIN_ABI is
 * refused with a message saying both numbers.
 */
#ifndef FM_PARSERS_H
#define FM_PARSERS_H

#include <stddef.h>

#include "fumidai/plugin.h"

struct parsers;

/* parsers_open - load the named plugins from dir (each "NAME.so"); NULL
 * with err set when one is missing or refused. */
struct parsers *parsers_open(const char *dir, char *const *names, size_t n,
    char *err, size_t errlen);
/* parsers_parse - returns enum fm_parse_result, or -1 when no loaded parser
 * claims the line's program tag. */
int parsers_parse(struct parsers *ps, const struct fm_line *ln,
    struct fm_event *ev, fm_emit_fn *emit, void *arg);
void parsers_free(struct parsers *ps);

#endif
