/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * event.h - names of event kinds and the NDJSON form of an event, the one
 * printed by `fumidai parse` (field names are a stable interface,
 * documented in fumidai(8)).
 */
#ifndef FM_EVENT_H
#define FM_EVENT_H

#include "fumidai/plugin.h"
#include "util.h"

/* event_kind_name - "login_ok", ...; "none" for an unknown kind */
const char *event_kind_name(int kind);
/* event_kind_parse - kind from its name, or -1 */
int event_kind_parse(const char *name);
/* event_json - append one JSON object (no newline); src names the input */
void event_json(struct buf *b, const struct fm_event *ev, const char *src);

#endif
