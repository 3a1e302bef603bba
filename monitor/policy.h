/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy.h - the Postfix policy delegation server of `fumidai run`
 * (Postfix's SMTPD_POLICY_README protocol): smtpd sends name=value lines
 * ending with an empty line, fumidai answers "action=..." and an empty
 * line, and the connection is kept for the next request.  A request whose
 * sasl_username is flagged in <prefix>{g}:flags (the post script flags the
 * account of an alert of a policy.flag_kinds kind) gets DEFER or REJECT
 * with policy.text; everything else, and any trouble on fumidai's side
 * (Redis down or slower than policy.timeout, a malformed record), gets
 * DUNNO: a policy server must never be the reason mail stops.
 *
 * SECURITY: requests come from smtpd but carry client-chosen text (the
 * SASL name, HELO, addresses): every value is bounded, kept as bytes, used
 * only as a Redis argument and in escaped log lines, and never copied into
 * a reply.  A line, a request or a connection count past its limit drops
 * the connection.  The listener should be loopback or a unix socket.
 */
#ifndef FM_POLICY_H
#define FM_POLICY_H

#include <stddef.h>

#include "fumidai.h"

struct event_base;
struct policy;

#define POLICY_LINE_MAX		4096	/* bytes of one name=value line */
#define POLICY_REQUEST_MAX	65536	/* bytes of one request */
#define POLICY_ATTRS_MAX	256	/* lines of one request */
#define POLICY_CLIENTS_MAX	1024	/* connections at once */
#define POLICY_IDLE_S		1800	/* an idle connection is closed */

/* policy_new - listen on cf->policy.listen ("inet:HOST:PORT" with a
 * numeric HOST, "[::1]" for IPv6, or "unix:PATH") and open the Redis link;
 * NULL + err when the address is bad or taken.  cf is borrowed until
 * policy_free. */
struct policy *policy_new(struct event_base *base, const struct fumidai *cf,
    char *err, size_t errlen);
/* policy_free - close the listener, every client and the Redis link;
 * remove the unix socket; NULL is fine */
void policy_free(struct policy *p);

#endif
