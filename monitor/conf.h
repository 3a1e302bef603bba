/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf.h - load and validate the libconfig file into a struct fumidai.
 * One option table drives loading, validation, defaults and check-config.
 */
#ifndef FM_CONF_H
#define FM_CONF_H

#include <stdio.h>

#include "fumidai.h"

/* conf_load - parse path (NULL: the default file, or the built-in default
 * when it does not exist and path was not given).  Returns a new struct or
 * NULL with a message naming file, line and setting in err. */
struct fumidai *conf_load(const char *path, int path_given, char *err, size_t errlen);
/* conf_default - the embedded default configuration */
struct fumidai *conf_default(void);
void conf_free(struct fumidai *cf);
/* conf_add_input - an input with the default parsers; conf_clear_inputs */
void conf_add_input(struct fumidai *cf, const char *path, const char *format);
void conf_clear_inputs(struct fumidai *cf);
/* conf_severity - "info" "low" "medium" "high" "critical" as 0..4; -1 */
int conf_severity(const char *s);
/* conf_dump - print the effective configuration (libconfig syntax) */
void conf_dump(const struct fumidai *cf, FILE *fp);

#endif
