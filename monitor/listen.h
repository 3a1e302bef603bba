/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * listen.h - the daemon's TCP listeners (policy server, metrics): bind
 * exactly the numeric address an administrator configured.
 */
#ifndef FM_LISTEN_H
#define FM_LISTEN_H

#include <stddef.h>

#include <event2/listener.h>

struct sockaddr;

/*
 * listen_tcp - an evconnlistener bound to "HOST:PORT" or "[HOST]:PORT"
 * (numeric host and port only: no resolver); what names the setting in
 * err ("policy.listen").  *loopback says whether the address is one.
 * cb may be NULL (evhttp_bind_listener takes such a listener).  NULL with
 * err set on failure.
 */
struct evconnlistener *listen_tcp(struct event_base *base, const char *spec,
    const char *what, evconnlistener_cb cb, void *arg, int *loopback,
    char *err, size_t errlen);
/* listen_is_loopback - 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 */
int listen_is_loopback(const struct sockaddr *sa);

#endif
