/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * notify_pubsub.c - the Redis pub/sub notifier: each alert's JSON record
 * is PUBLISHed on `channel` (default "<prefix>alerts", redis.prefix being
 * the prefix) of the Redis fumidai writes to, for dashboards and scripts
 * that SUBSCRIBE.  Pub/sub does not keep messages: a subscriber that is
 * not connected misses them (the stream <prefix>{g}:alerts keeps them);
 * so a PUBLISH that Redis took is delivered, whoever listened.
 *
 * SECURITY: the message is the record, valid JSON with every
 * attacker-controlled string escaped; the channel name comes from the
 * configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fumidai/notifier.h"

#define PS_CHANNEL_MAX	256

struct pubsub {
	const struct fm_notify_host *h;
	void *host;
	const char *channel;		/* NULL: the core's default */
};

static void *
ps_init(const struct fm_notify_host *h, void *host, char *err, size_t errlen)
{
	struct pubsub *ps;
	const char *ch = h->conf_str(host, "channel");

	if (ch != NULL && (*ch == '\0' || strlen(ch) > PS_CHANNEL_MAX)) {
		snprintf(err, errlen, "channel: 1 to %d bytes", PS_CHANNEL_MAX);
		return NULL;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ps->h = h;
	ps->host = host;
	ps->channel = ch;
	return ps;
}

static void
ps_deliver(void *self, const struct fm_alert *a, fm_done_fn *done,
    void *token)
{
	struct pubsub *ps = self;

	ps->h->publish(ps->host, ps->channel, a->json, a->json_len, done, token);
}

static void
ps_free(void *self)
{
	free(self);
}

const struct fm_notifier fm_notifier_plugin = {
	.abi = FM_NOTIFIER_ABI,
	.name = "pubsub",
	.description = "PUBLISH of each alert's JSON on a Redis channel",
	.init = ps_init,
	.deliver = ps_deliver,
	.tick = NULL,
	.free = ps_free,
};
