/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * web_api.h - pieces shared by the dashboard's API files: web_api.c
 * (dispatch, overview, alerts, audits), web_account.c (accounts, one
 * account, the owner's own) and web_feedback.c.  Each route writes its
 * answer into b and sends it (web_json / web_error).
 */
#ifndef FM_WEB_API_H
#define FM_WEB_API_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct web;
struct evhttp_request;
struct evkeyvalq;
struct redisReply;

/* api_text - a JSON string of untrusted bytes, < > & escaped too */
void api_text(struct buf *b, const char *p, size_t n);
/* api_account - {"name": text, "hex": hex} of an account's raw bytes */
void api_account(struct buf *b, const char *p, size_t n);
/* api_iso - a JSON string of Unix time s, ISO 8601 UTC */
void api_iso(struct buf *b, int64_t s);
/* api_param - query parameter name (decoded, borrowed from q) or NULL;
 * q is TAILQ_INIT-ed by the caller, filled on first use, cleared by it */
const char *api_param(struct evhttp_request *req, struct evkeyvalq *q,
    const char *name);
/* api_replies - n pipelined replies into v (NULL each on failure); -1 when
 * the link was lost.  api_free_replies frees them. */
int api_replies(struct web *w, struct redisReply **v, size_t n);
void api_free_replies(struct redisReply **v, size_t n);
/* api_alerts_list - JSON array of the newest alerts' records */
void api_alerts_list(struct web *w, struct buf *b, int limit,
    const char *kind, const struct buf *acct);
/* api_alert - a stored alert record with "account_hex" added (the hex of
 * its account's bytes) */
void api_alert(struct buf *b, const char *p, size_t n);
/* api_audits_list - JSON array of the configured audits' latest results */
void api_audits_list(struct web *w, struct buf *b);

/* routes (web_account.c) */
void api_audits(struct web *w, struct evhttp_request *req, struct buf *b);
void api_accounts(struct web *w, struct evhttp_request *req, struct buf *b);
void api_account_page(struct web *w, struct evhttp_request *req,
    struct buf *b);
void api_me(struct web *w, struct evhttp_request *req, struct buf *b,
    const struct buf *acct);
/* api_history - the account page's JSON object for acct (raw bytes) over
 * [since, until) us: 0, or -1 with the error sent */
int api_history(struct web *w, struct evhttp_request *req, struct buf *b,
    const struct buf *acct, int64_t since, int64_t until);

#endif
