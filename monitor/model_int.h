/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * model_int.h - the batch builder's tables, shared by model.c (events to
 * per-subject operations) and model_emit.c (operations to EVALSHA
 * commands).  Internal to those two files.
 */
#ifndef FM_MODEL_INT_H
#define FM_MODEL_INT_H

#include <stdint.h>

#include "geo.h"
#include "model.h"
#include "sessions.h"
#include "util.h"

#define NIL	UINT32_MAX
#define CHUNK	1000	/* items per operation (Lua unpack has a limit) */
#define MODEL_GEO_CHECK_US	(60 * 1000000LL)	/* GeoIP file check */

/* A string in the builder's text buffer. */
struct sref {
	uint32_t off, len;
};

struct item {
	struct sref s;		/* field, member, record, patch or raw argument */
	int64_t val;		/* I K H Z: the sum; U: its md->roll index */
	uint32_t next;
};

struct group {
	char op;		/* I K H L S P Z U M (scripts.c), or 0: raw
				 * arguments */
	struct sref suffix;
	struct sref field;	/* M: the record's field, "<host>|<qid>" */
	char day[9];		/* M: the day of its first event */
	uint32_t head, tail, n;
	uint32_t next;		/* next group of the subject */
};

/* A login roll-up of the batch (an item of a U group points at it). */
struct roll {
	int64_t n, first, last;	/* attempts, times (us) */
	const struct fm_event *ev;	/* the newest: mech, host, reason */
	uint32_t geo;		/* its place in md->geo, NIL: none */
};

/* An event for the subject's detectors (the D operation, detect.c). */
struct det {
	const struct fm_event *ev;
	int64_t t;		/* event time, seconds */
	int64_t n;		/* attempts (failures), recipients (messages) */
	uint32_t geo;		/* its place in md->geo, NIL: none */
	uint32_t qn;		/* message: number of its Q operation */
	uint32_t next;
	char kind;		/* 'o' login ok, 'f' failure, 'm' message */
};

struct subj {
	struct sref tag;	/* "<prefix>{a:...}" */
	uint32_t dhead, dtail;	/* detector events, NIL: none */
	uint32_t nq;		/* Q operations so far */
	uint32_t head, tail;	/* groups in creation order */
	uint32_t raw;		/* the raw group, NIL until used */
	uint32_t cday;		/* the ":c:<day>" group of day cday_start */
	uint32_t totals;	/* the ":totals" group, NIL until used */
	int64_t cday_start;
	const struct fm_event *last_ok, *last_fail;
	char type;		/* 'a' account, 'i' address, 'n' network, 'g' */
};

/* Open addressing map from composite byte keys to indices. */
struct slot {
	uint64_t h;		/* 0: empty */
	uint32_t koff, klen, val;
};

/* The time bucket of one event. */
struct tb {
	int64_t us;
	int64_t day_start;
	char day[9];		/* "YYYYMMDD" */
	char hh[3];		/* "00".."23" */
};

struct model {
	const struct fumidai *cf;
	struct buf text;	/* strings referred to by sref */
	struct buf keys;	/* map keys */
	struct buf kb;		/* scratch key */
	struct buf scratch;
	struct slot *slot;
	size_t nslot, nused;
	struct subj *subj;
	size_t nsubj, subjcap;
	struct group *grp;
	size_t ngrp, grpcap;
	struct item *item;
	size_t nitem, itemcap;
	uint32_t global;
	/* the global event counters' items, per kind: day, hour, totals
	 * (valid for group evg and hour evhh) */
	uint32_t evday[FM_EV__COUNT], evhour[FM_EV__COUNT];
	uint32_t evtot[FM_EV__COUNT];
	uint32_t evg;
	char evhh[2];
	int64_t day_start;	/* cache of the last bucket's day */
	char day[9];
	char ttl[24], attl[24], hmax[24], qttl[24], cap[24], rucap[24], topcap[24];
	struct roll *roll;	/* the batch's login roll-ups */
	size_t nroll, rollcap;
	struct det *det;	/* detector events of the batch */
	size_t ndet, detcap;
	struct geo_result *geo;	/* places of its successful logins */
	size_t ngeo, geocap;
	struct geo *g;		/* GeoIP databases, NULL: none */
	struct buf dcfg;	/* the detector settings argument (det_cfg) */
	struct sessions *ss;	/* E operations (sessions.c) */
	uint32_t ssubj;		/* their subject */
	int64_t geo_checked;	/* mono time of the last file check */
};

/* model_num - v in decimal into out (>= 24 bytes, not terminated); its
 * length */
size_t	model_num(char *out, int64_t v);
/* model_emit_subject - the subject's EVALSHA command, appended to out */
void	model_emit_subject(struct model *md, uint32_t s, const struct batch *b,
	    struct model_cmds *out);
/* model_det_cfg - the detector settings argument into md->dcfg */
void	model_det_cfg(struct model *md, int geo);

#endif
