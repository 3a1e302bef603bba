/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * listen.c - bind the daemon's TCP listeners (see listen.h).
 *
 * SECURITY: the address comes from the administrator's configuration; it
 * is parsed as numbers only, so no name lookup can move a listener.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "listen.h"

int
listen_is_loopback(const struct sockaddr *sa)
{
	static const uint8_t v4map[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t *a;

	if (sa->sa_family == AF_INET)
		return ((const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr)[0] == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, v4map, 12) == 0)
		return a[12] == 127;
	return memcmp(a, in6addr_loopback.s6_addr, 16) == 0;
}

struct evconnlistener *
listen_tcp(struct event_base *base, const char *spec, const char *what,
    evconnlistener_cb cb, void *arg, int *loopback, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct evconnlistener *l;
	char host[128];
	const char *colon = strrchr(spec, ':');
	size_t hlen;
	int rc;

	if (colon == NULL || colon == spec || colon[1] == '\0' ||
	    (hlen = (size_t)(colon - spec)) >= sizeof(host)) {
		snprintf(err, errlen, "%s: expected HOST:PORT", what);
		return NULL;
	}
	if (spec[0] == '[' && colon[-1] == ']' && hlen > 2)
		snprintf(host, sizeof(host), "%.*s", (int)hlen - 2, spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hlen, spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s: %s (give a numeric address and "
		    "port)", what, spec, gai_strerror(rc));
		return NULL;
	}
	*loopback = listen_is_loopback(res->ai_addr);
	l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, res->ai_addr,
	    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL)
		snprintf(err, errlen, "%s: bind %s: %s", what, spec,
		    strerror(errno));
	return l;
}
