/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_audit.c - `fumidai audit relay|smtp|op25b ...`: dispatch to the
 * audits, and what they share: the HOST[:PORT] argument and the opening of
 * an SMTP dialogue (greeting, EHLO or HELO, STARTTLS when offered).
 *
 * SECURITY: the greeting and EHLO text are the server's, untrusted: kept
 * as bytes, printed escaped.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include <event2/event.h>

#include "audit.h"
#include "cmd.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: fumidai audit relay HOST[:PORT] [--json] [--to ADDR] "
	    "[--from ADDR]\n"
	    "                         [--from-domain D]... [--helo NAME] "
	    "[--timeout MS] [--no-tls]\n"
	    "                         [--sink ADDR]\n"
	    "       fumidai audit smtp HOST[:PORT] [--json] [--submission|--mx]"
	    " [--tls]\n"
	    "                         [--helo NAME] [--timeout MS] [--no-tls]\n"
	    "       fumidai audit op25b --target HOST[:PORT]... [--json] "
	    "[--timeout MS]\n");
}

int
cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return AUDIT_NORUN;
	}
	optind = 1;
	if (strcmp(argv[1], "relay") == 0)
		return audit_relay(argc - 1, argv + 1);
	if (strcmp(argv[1], "smtp") == 0)
		return audit_smtp(argc - 1, argv + 1);
	if (strcmp(argv[1], "op25b") == 0)
		return audit_op25b(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "fumidai: audit: unknown audit \"%s\"\n", argv[1]);
	usage(stderr);
	return AUDIT_NORUN;
}

int
audit_target_parse(const char *arg, const char *defport,
    struct audit_target *t, char *err, size_t errlen)
{
	const char *colon, *end;
	size_t hl;

	if (arg[0] == '[') {
		if ((end = strchr(arg, ']')) == NULL)
			goto bad;
		hl = (size_t)(end - arg - 1);
		arg++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto bad;
	} else {
		colon = strchr(arg, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;	/* a bare IPv6 address */
		hl = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	}
	if (hl == 0 || hl >= sizeof(t->host))
		goto bad;
	memcpy(t->host, arg, hl);
	t->host[hl] = '\0';
	if (colon != NULL) {
		if (colon[1] == '\0' || strlen(colon + 1) >= sizeof(t->port) ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
			goto bad;
		snprintf(t->port, sizeof(t->port), "%s", colon + 1);
	} else {
		snprintf(t->port, sizeof(t->port), "%s", defport);
	}
	return 0;
bad:
	snprintf(err, errlen, "bad target \"%s\" (HOST, HOST:PORT or "
	    "[IPV6]:PORT)", arg);
	return -1;
}

void
audit_hello_init(struct audit_hello *h, const char *helo, int no_tls)
{
	memset(h, 0, sizeof(*h));
	h->helo = helo;
	h->no_tls = no_tls;
}

void
audit_hello_free(struct audit_hello *h)
{
	free(h->banner);
	free(h->name);
	free(h->auth_plain);
	free(h->auth_tls);
	memset(h, 0, sizeof(*h));
}

/* hello_send - send "VERB helo"; -1 when the client refuses */
static int
hello_send(struct audit_hello *h, struct smtpc *c, const char *verb)
{
	char line[600];

	snprintf(line, sizeof(line), "%s %s", verb, h->helo);
	return smtpc_cmd(c, line);
}

/* hello_greeting - keep the banner and the server's name from it */
static int
hello_greeting(struct audit_hello *h, struct smtpc *c)
{
	const char *t = smtpc_text(c);
	size_t n = strcspn(t, " \n");

	h->banner_code = smtpc_code(c);
	h->banner = xstrdup(t);
	h->name = xmemdup(t, n);
	if (smtpc_code(c) != 220) {
		snprintf(h->err, sizeof(h->err), "greeting is not 220 (%d)",
		    smtpc_code(c));
		return -1;
	}
	h->phase = AH_EHLO;
	return hello_send(h, c, "EHLO");
}

/* hello_ehlo - the EHLO reply: note the extensions, go on to STARTTLS */
static int
hello_ehlo(struct audit_hello *h, struct smtpc *c)
{
	size_t alen, n;
	const char *auth = smtpc_ext(c, "AUTH", &alen);

	if (smtpc_code(c) != 250) {
		h->phase = AH_HELO;
		return hello_send(h, c, "HELO");
	}
	h->esmtp = 1;
	h->vrfy_ext = smtpc_ext(c, "VRFY", &n) != NULL;
	if (smtpc_tls(c)) {
		if (auth != NULL)
			h->auth_tls = xmemdup(auth, alen);
		h->phase = AH_READY;
		return 1;
	}
	if (auth != NULL)
		h->auth_plain = xmemdup(auth, alen);
	h->starttls_offered = smtpc_ext(c, "STARTTLS", &n) != NULL;
	if (!h->starttls_offered || h->no_tls) {
		h->phase = AH_READY;
		return 1;
	}
	h->phase = AH_STARTTLS;
	return smtpc_cmd(c, "STARTTLS");
}

int
audit_hello_step(struct audit_hello *h, struct smtpc *c, enum smtpc_ev ev)
{
	int r = 0;

	if (ev == SMTPC_EV_ERROR) {
		snprintf(h->err, sizeof(h->err), "%s", smtpc_error(c));
		h->phase = AH_FAILED;
		return -1;
	}
	switch (h->phase) {
	case AH_GREETING:
		r = hello_greeting(h, c);
		break;
	case AH_EHLO:
	case AH_EHLO_TLS:
		r = hello_ehlo(h, c);
		break;
	case AH_HELO:
		if (smtpc_code(c) != 250) {
			snprintf(h->err, sizeof(h->err), "HELO refused (%d)",
			    smtpc_code(c));
			r = -1;
			break;
		}
		h->phase = AH_READY;
		r = 1;
		break;
	case AH_STARTTLS:
		h->starttls_code = smtpc_code(c);
		if (smtpc_code(c) != 220) {	/* go on in plaintext */
			h->phase = AH_READY;
			r = 1;
			break;
		}
		h->phase = AH_TLS;
		r = smtpc_starttls(c);
		break;
	case AH_TLS:		/* SMTPC_EV_TLS */
		h->phase = AH_EHLO_TLS;
		r = hello_send(h, c, "EHLO");
		break;
	default:
		r = 1;
		break;
	}
	if (r == -1) {
		if (h->err[0] == '\0')
			snprintf(h->err, sizeof(h->err), "cannot send");
		h->phase = AH_FAILED;
	}
	return r;
}

void
audit_print_escaped(FILE *fp, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\n')
			fputs(" | ", fp);
		else if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			fputc(*p, fp);
		else
			fprintf(fp, "\\x%02x", *p);
	}
}

struct event_base *
audit_base(void)
{
	struct event_base *base = event_base_new();

	if (base == NULL) {
		fprintf(stderr, "fumidai: audit: cannot make an event base\n");
		exit(AUDIT_NORUN);
	}
	return base;
}
