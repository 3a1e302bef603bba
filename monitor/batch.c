/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * batch.c - a batch's events and the input ranges they came from.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"

void
batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	arena_init(&b->arena);
}

void
batch_add(struct batch *b, const struct fm_event *ev)
{
	struct fm_event *e;
	struct arena *a = &b->arena;

	if (b->nev == b->evcap) {
		b->evcap = b->evcap ? b->evcap * 2 : 256;
		b->ev = xrealloc(b->ev, b->evcap * sizeof(*b->ev));
	}
	e = &b->ev[b->nev++];
	*e = *ev;
	e->host = arena_str(a, ev->host);
	e->program = arena_str(a, ev->program);
	e->service = arena_str(a, ev->service);
	e->account = arena_str(a, ev->account);
	e->mech = arena_str(a, ev->mech);
	e->queue_id = arena_str(a, ev->queue_id);
	e->session = arena_str(a, ev->session);
	e->msgid = arena_str(a, ev->msgid);
	e->sender = arena_str(a, ev->sender);
	e->rcpt = arena_str(a, ev->rcpt);
	e->relay = arena_str(a, ev->relay);
	e->status = arena_str(a, ev->status);
	e->reason = arena_str(a, ev->reason);
	e->client_name = arena_str(a, ev->client_name);
	e->subject = arena_str(a, ev->subject);
	e->dsn = arena_str(a, ev->dsn);
	if (b->first_time == 0 || (ev->time && ev->time < b->first_time))
		b->first_time = ev->time;
	if (ev->time > b->last_time)
		b->last_time = ev->time;
}

void
batch_add_chunk(struct batch *b, uint32_t input, const struct tail_pos *start,
    const struct tail_pos *end)
{
	struct batch_chunk *c;

	/* Consecutive reads of one input extend one range. */
	if (b->nchunk > 0) {
		c = &b->chunk[b->nchunk - 1];
		if (c->input == input && c->end.dev == start->dev &&
		    c->end.ino == start->ino && c->end.offset == start->offset) {
			c->end = *end;
			return;
		}
	}
	if (b->nchunk == b->chunkcap) {
		b->chunkcap = b->chunkcap ? b->chunkcap * 2 : 8;
		b->chunk = xrealloc(b->chunk, b->chunkcap * sizeof(*b->chunk));
	}
	c = &b->chunk[b->nchunk++];
	c->input = input;
	c->start = *start;
	c->end = *end;
}

void
batch_reset(struct batch *b)
{
	b->nev = 0;
	b->nchunk = 0;
	b->lines = 0;
	b->first_time = b->last_time = 0;
	arena_reset(&b->arena);
}

void
batch_free(struct batch *b)
{
	free(b->ev);
	free(b->chunk);
	arena_free(&b->arena);
	memset(b, 0, sizeof(*b));
}
