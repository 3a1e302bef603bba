/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit_sched.c - scheduled posture audits (see audit_sched.h).
 *
 * One job per configured audit.  Its timer starts a run: fork, and the
 * child execs fumidai's own binary (/proc/self/exe, else argv[0]) as
 * `fumidai audit TYPE --json [-c FILE] ARGS... TARGETS`, with stdin from
 * /dev/null and stdout into a pipe that the loop reads without blocking.
 * SIGCHLD keeps its default disposition (the engine's signal events are
 * left alone): the child is reaped by pid with WNOHANG once its stdout is
 * closed, polled until it is; a run past the audit's timeout is killed.
 * The next run is armed only when a run is over, so runs of one audit
 * never overlap.
 *
 * Each result is queued and stored by one Lua script on the {g} slot (the
 * store_lua text below, sent with EVALSHA through an rlink): the latest
 * result, the history, and, when the result is worse than the one before,
 * a posture alert filed the way the post script (scripts.c) files the
 * detectors' alerts, in the same call.  A result is sent once the link is
 * up; a reply lost with the link makes it go again, and the script knows
 * a run it has stored (by its start time) and skips it.
 *
 * The first run waits SCHED_FIRST_DELAY seconds, then the last stored run
 * of the audit decides: due (or never run) runs now, else at its time.
 *
 * SECURITY: the child's output (audited servers' words) is untrusted: it
 * is passed to Redis as bytes, with invalid UTF-8 written as \u00XX; the
 * script parses it with cjson and copies only short, escaped pieces into
 * the history and alerts.  Only escaped text reaches the log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "audit_sched.h"
#include "log.h"
#include "rlink.h"
#include "scripts.h"
#include "util.h"

#define SCHED_FIRST_DELAY	5		/* s after start */
#define SCHED_OUT_MAX		(4 << 20)	/* bytes of output kept */
#define SCHED_HIST_MAX		1000		/* history entries per audit */
#define SCHED_QUEUE_MAX		64		/* results waiting for Redis */
#define SCHED_RETRY_MS		2000		/* Redis down: try again */
#define SCHED_REAP_MS		50		/* waitpid polling */
#define SCHED_ARGS_MAX		(8 + 2 * 16 + 64)	/* child's argv */

struct audit_sched;

/* A finished run waiting to be stored. */
struct sched_result {
	struct sched_result *next;
	size_t job;			/* index in s->jobs */
	char run[24];			/* start, us since the epoch */
	char time[32];			/* start, ISO 8601 UTC */
	char status[16];		/* exit status, or -signal */
	struct buf out;			/* stdout (invalid UTF-8 escaped) */
	char note[128];			/* why the run did not finish, or "" */
};

struct sched_job {
	struct audit_sched *s;
	const struct fm_audit *a;	/* borrowed from s->cf */
	char *target;			/* the targets, for people */
	char *klatest, *khist;		/* its keys */
	struct event *ev_next;		/* the next run (or the plan) */
	struct event *ev_kill;		/* the running one's timeout */
	struct event *ev_read;		/* its stdout */
	struct event *ev_reap;		/* waitpid polling */
	int planned;			/* the first run was planned */
	pid_t pid;			/* running child, 0: none */
	int fd;				/* its stdout, -1: closed */
	struct buf out;
	int64_t started;		/* now_us() at its start */
	int timed_out, overflow;
	int ran;			/* a run finished since the start */
	int last_status;		/* its exit status (-N: signal N) */
	int64_t last_run;		/* its start, us since the epoch */
};

struct audit_sched {
	struct event_base *base;
	const struct fumidai *cf;
	struct rlink *rl;
	char exe[PATH_MAX];		/* what the children exec */
	struct sched_job *jobs;
	size_t njobs;
	int every;			/* FUMIDAI_AUDIT_EVERY, 0: none */
	char *kalerts;			/* <prefix>{g}:alerts */
	char *script;			/* post function + store_lua */
	char sha[41];
	struct sched_result *head, *tail;	/* to store, oldest first */
	size_t nqueued;
	int sending;			/* head is in flight */
	struct event *ev_retry;
	uint64_t posture;		/* posture alerts filed (/metrics) */
};

static char *sched_argv0;	/* audit_sched_argv0: the fallback binary */
static const struct timeval retry_tv = { SCHED_RETRY_MS / 1000,
    (SCHED_RETRY_MS % 1000) * 1000 };

static void job_arm(struct sched_job *, int64_t);
static void job_done(struct sched_job *, int);
static void sched_pump(struct audit_sched *);

/*
 * The store script.  KEYS <prefix>{g}:audit:<name>, <prefix>{g}:audit_hist:
 * <name>, <prefix>{g}:alerts; ARGV ttl hist_max alerts_max run time name
 * type target status output note.  It returns {result, verdict, alert id,
 * error}: result "first" (a baseline), "same", "better", "worse" (an alert
 * was filed), "norun" (recorded, not compared) or "dup" (stored before).
 *
 * A result is compared when the audit ran (exit 0 or 1, output readable),
 * with the last such result (the baseline, field "base"), or when there is
 * none yet, with the run before (a relay audit inconclusive at first, open
 * now, is worse).  Verdicts rank closed/pass < inconclusive/error/findings
 * < open/fail; findings are what makes a result bad, as comparable words:
 * the relay tests that relayed, the smtp findings' ids, the op25b targets
 * whose port 25 is open.  Worse: a higher rank, or a finding the baseline
 * did not have.  Redis does not roll a script back, so nothing after the
 * writes can fail.
 */
static const char store_lua[] =
"-- fumidai audit v1: one audit run into its latest result and history, and\n"
"-- a posture alert when it is worse than the result it is compared with\n"
"local A, call = ARGV, redis.call\n"
"local latest, hist = KEYS[1], KEYS[2]\n"
"local ttl, hmax, amax, run, iso = A[1], tonumber(A[2]), A[3], A[4], A[5]\n"
"local name, typ, target, status = A[6], A[7], A[8], tonumber(A[9])\n"
"local out, note = A[10], A[11]\n"
"local prev = call('HMGET', latest, 'run', 'summary', 'base')\n"
"if prev[1] and tonumber(prev[1]) >= tonumber(run) then\n"
"  return {'dup', '', '', ''}\n"
"end\n"
"-- js - a JSON string; every byte but printable ASCII as \\u00XX\n"
"local function js(s)\n"
"  return '\"' .. (string.gsub(s, '[%c\"\\\\\\128-\\255]', function(c)\n"
"    return string.format('\\\\u%04x', string.byte(c)) end)) .. '\"'\n"
"end\n"
"local function list(t)\n"
"  local o = {}\n"
"  for k = 1, #t do o[k] = js(t[k]) end\n"
"  return '[' .. table.concat(o, ',') .. ']'\n"
"end\n"
"-- str - a value as printable ASCII, so that it compares equal after a\n"
"-- round trip through the stored JSON\n"
"local function str(v)\n"
"  if type(v) == 'string' then\n"
"    return (string.gsub(v, '[%c\\128-\\255]', '?'))\n"
"  end\n"
"  if type(v) == 'number' then return string.format('%d', v) end\n"
"  return '?'\n"
"end\n"
"local function items(v)\n"
"  return type(v) == 'table' and v or {}\n"
"end\n"
"-- rank - 0 good, 1 unknown (or findings), 2 bad\n"
"local function rank(v)\n"
"  if v == 'closed' or v == 'pass' then return 0 end\n"
"  if v == 'open' or v == 'fail' then return 2 end\n"
"  return 1\n"
"end\n"
"-- findings - what makes a result bad, as words that can be compared\n"
"local function findings(r)\n"
"  local f = {}\n"
"  if typ == 'relay' then\n"
"    for _, t in ipairs(items(r.tests)) do\n"
"      if type(t) == 'table' and t.verdict == 'open' then\n"
"        f[#f + 1] = 'relays: ' .. str(t.name)\n"
"      end\n"
"    end\n"
"  elseif typ == 'smtp' then\n"
"    for _, x in ipairs(items(r.findings)) do\n"
"      if type(x) == 'table' then f[#f + 1] = str(x.id) end\n"
"    end\n"
"  else\n"
"    for _, t in ipairs(items(r.targets)) do\n"
"      if type(t) == 'table' and t.port25 == 'open' then\n"
"        f[#f + 1] = 'port 25 open: ' .. str(t.host) .. ':' .. str(t.port)\n"
"      end\n"
"    end\n"
"  end\n"
"  return f\n"
"end\n"
"local ok, r = pcall(cjson.decode, out)\n"
"if not ok or type(r) ~= 'table' then r, out = nil, '' end\n"
"local verdict = r and type(r.verdict) == 'string' and r.verdict or 'error'\n"
"local err = note\n"
"if err == '' and r and type(r.error) == 'string' then err = r.error end\n"
"local found = r and findings(r) or {}\n"
"local conclusive = r ~= nil and (status == 0 or status == 1)\n"
"local entry = '{\"time\":' .. js(iso) .. ',\"verdict\":' .. js(verdict) ..\n"
"  ',\"status\":' .. string.format('%d', status) .. ',\"findings\":' ..\n"
"  list(found) .. ',\"error\":' .. (err ~= '' and js(err) or 'null') .. '}'\n"
"call('HSET', latest, 'run', run, 'time', iso, 'verdict', verdict,\n"
"  'status', A[9], 'type', typ, 'target', target, 'summary', entry,\n"
"  'json', out)\n"
"if conclusive then call('HSET', latest, 'base', entry) end\n"
"call('EXPIRE', latest, ttl)\n"
"call('LPUSH', hist, entry)\n"
"call('LTRIM', hist, 0, hmax - 1)\n"
"call('EXPIRE', hist, ttl)\n"
"if not conclusive then return {'norun', verdict, '', err} end\n"
"-- compare with the last conclusive result, else with the run before\n"
"local ref = prev[3] or prev[2]\n"
"if not ref then return {'first', verdict, '', err} end\n"
"local okp, p = pcall(cjson.decode, ref)\n"
"if not okp or type(p) ~= 'table' or type(p.findings) ~= 'table' then\n"
"  return {'first', verdict, '', err}\n"
"end\n"
"-- new findings make it worse only against a baseline: a run that could\n"
"-- not run may have seen less than there is\n"
"local rp, rn, new, had = rank(p.verdict), rank(verdict), {}, {}\n"
"for _, x in ipairs(p.findings) do had[x] = true end\n"
"for _, x in ipairs(found) do\n"
"  if not had[x] then new[#new + 1] = x end\n"
"end\n"
"if rn <= rp and (#new == 0 or not prev[3]) then\n"
"  local res = 'same'\n"
"  if not prev[3] then res = 'first'\n"
"  elseif rn < rp or #found < #p.findings then res = 'better' end\n"
"  return {res, verdict, '', err}\n"
"end\n"
"local id = string.sub(redis.sha1hex('posture\\0' .. name .. '\\0' .. run),\n"
"  1, 16)\n"
"local what = typ .. ' audit ' .. name .. ' of ' .. target .. ' got worse: ' ..\n"
"  p.verdict .. ' -> ' .. verdict\n"
"if #new > 0 then what = what .. ' (new: ' .. table.concat(new, ', ') .. ')' end\n"
"local t = js(iso)\n"
"local j = '{\"id\":\"' .. id .. '\",\"kind\":\"posture\",\"severity\":\"high\",' ..\n"
"  '\"account\":\"\",\"ip\":\"\",\"net\":\"\",\"time\":' .. t .. ',\"first\":' .. t ..\n"
"  ',\"last\":' .. t .. ',\"until\":' .. t .. ',\"count\":1,\"summary\":' ..\n"
"  js(what) .. ',\"audit\":' .. js(name) .. ',\"target\":' .. js(target) ..\n"
"  ',\"evidence\":{\"audit\":' .. js(name) .. ',\"type\":' .. js(typ) ..\n"
"  ',\"target\":' .. js(target) .. ',\"previous\":' .. ref .. ',\"current\":' ..\n"
"  entry .. ',\"new_findings\":' .. list(new) .. '}}'\n"
"-- filed as the post script files the detectors' alerts (store.c\n"
"-- post_alerts): no account or address, so nothing to flag or block\n"
"fm_post({KEYS[3]}, {ttl, amax, '', '', '0', '0', id, '1', 'posture', j, '',\n"
"  string.format('%d', math.floor(tonumber(run) / 1000000))})\n"
"return {'worse', verdict, id, err}\n"
;

void
audit_sched_argv0(const char *argv0)
{
	char path[PATH_MAX];

	free(sched_argv0);
	sched_argv0 = NULL;
	if (argv0 == NULL)
		return;
	if (strchr(argv0, '/') != NULL && realpath(argv0, path) != NULL)
		sched_argv0 = xstrdup(path);
	else
		sched_argv0 = xstrdup(argv0);	/* looked up in PATH */
}

/* ---- time ---- */

/* daily_after - the first HH:MM (minute of the day, local time) after us */
static int64_t
daily_after(int64_t us, int minute)
{
	time_t t = (time_t)(us / 1000000), c;
	struct tm tm, x;
	int d;

	localtime_r(&t, &tm);
	for (d = 0; d < 3; d++) {
		x = tm;
		x.tm_mday += d;
		x.tm_hour = minute / 60;
		x.tm_min = minute % 60;
		x.tm_sec = 0;
		x.tm_isdst = -1;
		if ((c = mktime(&x)) != (time_t)-1 && c > t)
			return (int64_t)c * 1000000;
	}
	return us + 86400LL * 1000000;
}

/* job_due - when the run after one started at from (0: none) is due */
static int64_t
job_due(const struct sched_job *j, int64_t from)
{
	int every = j->s->every ? j->s->every : j->a->every;

	if (from <= 0)
		return now_us();
	if (every > 0)
		return from + (int64_t)every * 1000000;
	/* a minute on, so that a timer firing early cannot run it twice */
	return daily_after(from + 60 * 1000000LL, j->a->at);
}

static void
iso_time(int64_t us, char *out, size_t outlen)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- a run ---- */

/* job_argv - `fumidai audit TYPE --json [-c FILE] ARGS... TARGETS` */
static size_t
job_argv(const struct sched_job *j, const char **argv)
{
	const struct fm_audit *a = j->a;
	size_t n = 0, i;

	argv[n++] = "fumidai";
	argv[n++] = "audit";
	argv[n++] = a->type;
	argv[n++] = "--json";
	if (j->s->cf->config_file != NULL) {
		argv[n++] = "-c";
		argv[n++] = j->s->cf->config_file;
	}
	for (i = 0; i < a->nargs && n < SCHED_ARGS_MAX - 40; i++)
		argv[n++] = a->args[i];
	for (i = 0; i < a->ntargets && i < 16; i++) {
		if (strcmp(a->type, "op25b") == 0)
			argv[n++] = "--target";
		argv[n++] = a->targets[i];
	}
	argv[n] = NULL;
	return n;
}

/* child - in the forked child: stdio, no inherited descriptors, exec */
static void __attribute__((noreturn))
child(const char *exe, const char **argv, int out, int devnull)
{
	long fd, max;

	if (dup2(devnull, 0) == -1 || dup2(out, 1) == -1)
		_exit(127);
	(void)fcntl(0, F_SETFD, 0);
	(void)fcntl(1, F_SETFD, 0);
	if (close_range(3, ~0U, 0) == -1) {
		max = sysconf(_SC_OPEN_MAX);
		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			(void)close((int)fd);
	}
	execv(exe, (char *const *)argv);
	if (sched_argv0 != NULL)
		execvp(sched_argv0, (char *const *)argv);
	_exit(127);
}

static void
job_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_job *j = arg;
	char tmp[16384];
	ssize_t n;

	(void)what;
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n > 0) {
			if (j->out.len + (size_t)n <= SCHED_OUT_MAX)
				buf_add(&j->out, tmp, (size_t)n);
			else
				j->overflow = 1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;			/* end of output (or an error) */
	}
	event_free(j->ev_read);
	j->ev_read = NULL;
	close(j->fd);
	j->fd = -1;
	event_active(j->ev_reap, EV_TIMEOUT, 0);
}

/* job_reap_cb - the output is over: collect the child, or look again */
static void
job_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_job *j = arg;
	struct timeval tv = { 0, SCHED_REAP_MS * 1000 };
	pid_t r;
	int st;

	(void)fd;
	(void)what;
	if (j->pid == 0)
		return;
	while ((r = waitpid(j->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == 0) {
		evtimer_add(j->ev_reap, &tv);
		return;
	}
	if (r == -1) {
		log_warn("audit=%s: waitpid", j->a->name);
		st = 127 << 8;
	}
	j->pid = 0;
	job_done(j, st);
}

static void
job_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_job *j = arg;

	(void)fd;
	(void)what;
	if (j->pid == 0)
		return;
	log_warnx("audit=%s timeout=%d msg=\"run timed out; killed\"",
	    j->a->name, j->a->timeout);
	j->timed_out = 1;
	(void)kill(j->pid, SIGKILL);	/* its stdout closes: EOF, reap */
}

/* job_start - fork and exec the audit; a failure to start is a result */
static void
job_start(struct sched_job *j)
{
	const char *argv[SCHED_ARGS_MAX];
	struct timeval tv = { j->a->timeout, 0 };
	int p[2], devnull;
	pid_t pid;

	j->started = now_us();
	j->timed_out = j->overflow = 0;
	buf_reset(&j->out);
	job_argv(j, argv);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("audit=%s: pipe", j->a->name);
		job_done(j, 127 << 8);
		return;
	}
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (pid = fork()) == -1) {
		log_warn("audit=%s: cannot start it", j->a->name);
		if (devnull != -1)
			close(devnull);
		close(p[0]);
		close(p[1]);
		job_done(j, 127 << 8);
		return;
	}
	if (pid == 0)
		child(j->s->exe, argv, p[1], devnull);
	close(p[1]);
	close(devnull);
	(void)evutil_make_socket_nonblocking(p[0]);
	j->pid = pid;
	j->fd = p[0];
	j->ev_read = event_new(j->s->base, p[0], EV_READ | EV_PERSIST,
	    job_read_cb, j);
	if (j->ev_read == NULL)
		fatalx("event_new");
	event_add(j->ev_read, NULL);
	evtimer_add(j->ev_kill, &tv);
	log_debug("audit=%s pid=%ld msg=\"started\"", j->a->name, (long)pid);
}

/* result_output - the child's output without its final newline, invalid
 * UTF-8 as \u00XX (outside a JSON string such a byte is an error anyway) */
static void
result_output(struct buf *b, const struct buf *out)
{
	size_t i, n = out->len;

	while (n > 0 && (out->data[n - 1] == '\n' || out->data[n - 1] == '\r'))
		n--;
	if (utf8_valid(out->data ? out->data : "", n)) {
		buf_add(b, out->data ? out->data : "", n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out->data[i];

		if (c < 0x80)
			buf_addc(b, (char)c);
		else
			buf_printf(b, "\\u00%02x", c);
	}
}

/* job_done - the run is over (st as waitpid gives it): queue the result,
 * arm the next run */
static void
job_done(struct sched_job *j, int st)
{
	struct audit_sched *s = j->s;
	struct sched_result *r = xcalloc(1, sizeof(*r));
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);

	evtimer_del(j->ev_kill);
	j->ran = 1;
	j->last_status = j->timed_out || j->overflow ? 2 : code;
	j->last_run = j->started;
	r->job = (size_t)(j - s->jobs);
	snprintf(r->run, sizeof(r->run), "%lld", (long long)j->started);
	iso_time(j->started, r->time, sizeof(r->time));
	snprintf(r->status, sizeof(r->status), "%d", code);
	buf_init(&r->out);
	if (j->timed_out)
		snprintf(r->note, sizeof(r->note), "timed out after %d s",
		    j->a->timeout);
	else if (j->overflow)
		snprintf(r->note, sizeof(r->note), "output over %d bytes",
		    SCHED_OUT_MAX);
	else if (code < 0)
		snprintf(r->note, sizeof(r->note), "killed by signal %d", -code);
	else if (code > 2)
		snprintf(r->note, sizeof(r->note), "could not run the audit "
		    "(exit %d)", code);
	if (!j->overflow)
		result_output(&r->out, &j->out);
	buf_reset(&j->out);
	if (s->nqueued == SCHED_QUEUE_MAX) {
		log_warnx("audit=%s msg=\"Redis has been away too long; a "
		    "result is dropped\"", j->a->name);
		buf_free(&r->out);
		free(r);
	} else {
		if (s->tail != NULL)
			s->tail->next = r;
		else
			s->head = r;
		s->tail = r;
		s->nqueued++;
	}
	job_arm(j, job_due(j, j->started));
	sched_pump(s);
}

/* ---- storing results ---- */

static void store_cb(void *arg, struct redisReply *reply);

/* result_send - EVALSHA (or EVAL) the store script for r; -1 when the
 * link is not ready */
static int
result_send(struct audit_sched *s, const struct sched_result *r, int eval)
{
	const struct sched_job *j = &s->jobs[r->job];
	const char *argv[17];
	size_t argvlen[17], i;
	char ttl[24], hmax[24], amax[24];

	snprintf(ttl, sizeof(ttl), "%lld", (long long)s->cf->retention_days *
	    86400);
	snprintf(hmax, sizeof(hmax), "%d", SCHED_HIST_MAX);
	snprintf(amax, sizeof(amax), "%d", SCRIPTS_ALERTS_MAX);
	argv[0] = eval ? "EVAL" : "EVALSHA";
	argv[1] = eval ? s->script : s->sha;
	argv[2] = "3";
	argv[3] = j->klatest;
	argv[4] = j->khist;
	argv[5] = s->kalerts;
	argv[6] = ttl;
	argv[7] = hmax;
	argv[8] = amax;
	argv[9] = r->run;
	argv[10] = r->time;
	argv[11] = j->a->name;
	argv[12] = j->a->type;
	argv[13] = j->target;
	argv[14] = r->status;
	argv[15] = r->out.data ? r->out.data : "";
	argv[16] = r->note;
	for (i = 0; i < 17; i++)
		argvlen[i] = strlen(argv[i]);
	argvlen[15] = r->out.len;
	return rlink_cmd(s->rl, store_cb, s, 17, argv, argvlen);
}

static const char *
reply_str(const struct redisReply *reply, size_t i)
{
	if (reply->type != REDIS_REPLY_ARRAY || i >= reply->elements ||
	    reply->element[i]->type != REDIS_REPLY_STRING)
		return "";
	return reply->element[i]->str;
}

/* result_log - what the script said about a stored result */
static void
result_log(struct audit_sched *s, const struct sched_result *r,
    const struct redisReply *reply)
{
	const struct sched_job *j = &s->jobs[r->job];
	const char *res = reply_str(reply, 0), *err = reply_str(reply, 3);
	struct buf e;

	buf_init(&e);
	log_escape(&e, err, strlen(err) < 200 ? strlen(err) : 200);
	if (strcmp(res, "worse") == 0) {
		s->posture++;
		log_warnx("audit=%s type=%s verdict=%s status=%s alert=%s "
		    "msg=\"posture got worse: alert filed\"", j->a->name,
		    j->a->type, reply_str(reply, 1), r->status,
		    reply_str(reply, 2));
	} else if (strcmp(res, "norun") == 0)
		log_warnx("audit=%s type=%s verdict=%s status=%s%s%s%s "
		    "msg=\"audit could not run (recorded, not compared)\"",
		    j->a->name, j->a->type, reply_str(reply, 1), r->status,
		    e.len ? " error=\"" : "", e.len ? e.data : "",
		    e.len ? "\"" : "");
	else if (strcmp(res, "dup") == 0)
		log_debug("audit=%s run=%s msg=\"stored before\"", j->a->name,
		    r->run);
	else
		log_info("audit=%s type=%s verdict=%s status=%s result=%s",
		    j->a->name, j->a->type, reply_str(reply, 1), r->status, res);
	buf_free(&e);
}

static void
result_pop(struct audit_sched *s)
{
	struct sched_result *r = s->head;

	if ((s->head = r->next) == NULL)
		s->tail = NULL;
	s->nqueued--;
	buf_free(&r->out);
	free(r);
}

/* not_now - an error reply that says "later" (the result is kept) */
static int
not_now(const char *err)
{
	static const char *const w[] = { "LOADING", "BUSY", "TRYAGAIN",
	    "MASTERDOWN", "READONLY", "OOM", "CLUSTERDOWN", "MISCONF" };
	size_t i;

	for (i = 0; i < nitems(w); i++)
		if (strncmp(err, w[i], strlen(w[i])) == 0)
			return 1;
	return 0;
}

static void
store_cb(void *arg, struct redisReply *reply)
{
	struct audit_sched *s = arg;
	struct buf e;

	if (s->rl == NULL)		/* audit_sched_free */
		return;
	s->sending = 0;
	if (reply == NULL) {		/* link lost: the same again later */
		sched_pump(s);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
		if (result_send(s, s->head, 1) == 0)
			s->sending = 1;
		else
			sched_pump(s);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR && not_now(reply->str)) {
		if (!evtimer_pending(s->ev_retry, NULL))
			evtimer_add(s->ev_retry, &retry_tv);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		buf_init(&e);
		log_escape(&e, reply->str, FM_MIN(reply->len, 200));
		log_warnx("audit=%s error=\"%s\" msg=\"result not stored\"",
		    s->jobs[s->head->job].a->name, e.data ? e.data : "");
		buf_free(&e);
	} else
		result_log(s, s->head, reply);
	result_pop(s);
	sched_pump(s);
}

/* sched_pump - send the oldest result, or try again later */
static void
sched_pump(struct audit_sched *s)
{
	if (s->sending || s->head == NULL)
		return;
	if (result_send(s, s->head, 0) == 0) {
		s->sending = 1;
		return;
	}
	if (!evtimer_pending(s->ev_retry, NULL))
		evtimer_add(s->ev_retry, &retry_tv);
}

static void
sched_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sched_pump(arg);
}

/* ---- planning ---- */

/* job_arm - the next run at wall-clock time at (now or later) */
static void
job_arm(struct sched_job *j, int64_t at)
{
	int64_t d = at - now_us();
	struct timeval tv;

	if (d < 0)
		d = 0;
	tv.tv_sec = (time_t)(d / 1000000);
	tv.tv_usec = (suseconds_t)(d % 1000000);
	evtimer_add(j->ev_next, &tv);
}

/* plan_cb - the audit's last stored run: when the first run is due */
static void
plan_cb(void *arg, struct redisReply *reply)
{
	struct sched_job *j = arg;
	long long last = 0;

	if (j->s->rl == NULL)		/* audit_sched_free */
		return;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		last = strtoll(reply->str, NULL, 10);
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		log_warnx("audit=%s error=\"%.200s\" msg=\"cannot read its last "
		    "run; running it now\"", j->a->name, reply->str);
	job_arm(j, job_due(j, last));
}

/* job_next_cb - run now; the first time, ask Redis when it last ran */
static void
job_next_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sched_job *j = arg;

	(void)fd;
	(void)what;
	if (j->pid != 0)		/* cannot happen: armed when idle */
		return;
	if (!j->planned) {
		j->planned = 1;
		if (rlink_cmdv(j->s->rl, plan_cb, j, "HGET", j->klatest, "run",
		    (char *)NULL) == 0)
			return;
	}
	job_start(j);
}

static void
job_init(struct audit_sched *s, struct sched_job *j,
    const struct fm_audit *a)
{
	struct buf b;
	size_t i;

	j->s = s;
	j->a = a;
	j->fd = -1;
	buf_init(&j->out);
	buf_init(&b);
	for (i = 0; i < a->ntargets; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		buf_adds(&b, a->targets[i]);
	}
	j->target = xstrdup(b.data ? b.data : "");
	buf_reset(&b);
	scripts_tag_global(&b, s->cf);
	buf_printf(&b, ":audit:%s", a->name);
	j->klatest = xstrdup(b.data);
	buf_reset(&b);
	scripts_tag_global(&b, s->cf);
	buf_printf(&b, ":audit_hist:%s", a->name);
	j->khist = xstrdup(b.data);
	buf_free(&b);
	j->ev_next = evtimer_new(s->base, job_next_cb, j);
	j->ev_kill = evtimer_new(s->base, job_kill_cb, j);
	j->ev_reap = evtimer_new(s->base, job_reap_cb, j);
	if (j->ev_next == NULL || j->ev_kill == NULL || j->ev_reap == NULL)
		fatalx("evtimer_new");
}

/* sched_script - the post script as a function, then store_lua */
static void
sched_script(struct audit_sched *s)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "local function fm_post(KEYS, ARGV)\n");
	buf_adds(&b, scripts_post_text());
	buf_adds(&b, "end\n");
	buf_adds(&b, store_lua);
	s->script = b.data;	/* owned now */
	scripts_sha1_hex(b.data, b.len, s->sha);
}

struct audit_sched *
audit_sched_new(struct event_base *base, const struct fumidai *cf)
{
	struct audit_sched *s;
	struct timeval tv = { SCHED_FIRST_DELAY, 0 };
	const char *env = getenv("FUMIDAI_AUDIT_EVERY");
	ssize_t n;
	size_t i;

	if (cf->naudits == 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->cf = cf;
	if ((n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1)) > 0)
		s->exe[n] = '\0';
	else
		snprintf(s->exe, sizeof(s->exe), "%s", sched_argv0 ?
		    sched_argv0 : "fumidai");
	if (env != NULL && atoi(env) > 0) {
		s->every = atoi(env);
		tv.tv_sec = FM_MIN(SCHED_FIRST_DELAY, s->every);
		log_warnx("FUMIDAI_AUDIT_EVERY=%d: every audit runs every %d s "
		    "(test suites only)", s->every, s->every);
	}
	sched_script(s);
	xasprintf(&s->kalerts, "%s{g}:alerts", cf->redis.prefix ?
	    cf->redis.prefix : "");
	s->rl = rlink_new(base, cf, "audits");
	s->ev_retry = evtimer_new(base, sched_retry_cb, s);
	if (s->ev_retry == NULL)
		fatalx("evtimer_new");
	s->jobs = xcalloc(cf->naudits, sizeof(*s->jobs));
	s->njobs = cf->naudits;
	for (i = 0; i < s->njobs; i++) {
		job_init(s, &s->jobs[i], &cf->audits[i]);
		evtimer_add(s->jobs[i].ev_next, &tv);
	}
	log_info("audits=%zu msg=\"posture audits scheduled\"", s->njobs);
	return s;
}

/* job_free - kill a run in progress and reap it (SIGKILL: at once) */
static void
job_free(struct sched_job *j)
{
	int st;

	if (j->pid != 0) {
		log_info("audit=%s msg=\"run stopped\"", j->a->name);
		(void)kill(j->pid, SIGKILL);
		while (waitpid(j->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (j->ev_read != NULL)
		event_free(j->ev_read);
	if (j->fd != -1)
		close(j->fd);
	event_free(j->ev_next);
	event_free(j->ev_kill);
	event_free(j->ev_reap);
	buf_free(&j->out);
	free(j->target);
	free(j->klatest);
	free(j->khist);
}

void
audit_sched_free(struct audit_sched *s)
{
	struct rlink *rl;
	size_t i;

	if (s == NULL)
		return;
	rl = s->rl;
	s->rl = NULL;		/* the callbacks rlink_free makes do nothing */
	rlink_free(rl);
	if (s->nqueued > 0)
		log_warnx("audits: %zu result(s) not stored in Redis are "
		    "dropped", s->nqueued);
	while (s->head != NULL)
		result_pop(s);
	for (i = 0; i < s->njobs; i++)
		job_free(&s->jobs[i]);
	free(s->jobs);
	event_free(s->ev_retry);
	free(s->kalerts);
	free(s->script);
	free(s);
}

size_t
audit_sched_stats(const struct audit_sched *s, struct audit_stat *out,
    size_t max)
{
	size_t i, n = 0;

	for (i = 0; s != NULL && i < s->njobs && n < max; i++) {
		if (!s->jobs[i].ran)
			continue;
		out[n].name = s->jobs[i].a->name;
		out[n].status = s->jobs[i].last_status;
		out[n].last_run = s->jobs[i].last_run;
		n++;
	}
	return n;
}

uint64_t
audit_sched_posture_alerts(const struct audit_sched *s)
{
	return s != NULL ? s->posture : 0;
}
