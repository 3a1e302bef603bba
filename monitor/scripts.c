/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scripts.c - the apply script, its SHA-1, and the subjects' key tags.
 *
 * One script serves every subject.  Its arguments name the batch, the
 * subject's long-lived keys, the "last seen" fields to keep, then a list of
 * operations on keys of that subject (the key is the subject tag plus a
 * suffix), so all the knowledge of what is recorded where lives in C
 * (model.c) and the script only has to be correct once:
 *
 *	KEYS[1]  <tag>:applied
 *	ARGV     stream seq ttl det
 *	         nlong suffix*nlong		long-lived keys (lists, totals)
 *	         nt (tfield tvalue k (field value)*k)*nt
 *	                 fields of the applied hash set together when tvalue
 *	                 is not older than the stored tfield (last login,
 *	                 ...): a later batch at the same time is later in
 *	                 the log (times have the log's resolution)
 *	         operations:
 *	I suffix n (field incr)*n	add to each field of a per-day hash, and
 *					1 to its field "writes"; no "writes" yet
 *					means the hash is new
 *	K suffix n (field incr)*n	same, on a long-lived hash (totals)
 *	H suffix n (field incr)*n	HINCRBY each (a per-day hash without
 *					"writes": the global geography)
 *	L suffix max n rec*n		LPUSH; trimmed to max once past max*9/8
 *	S suffix cap n member*n		SADD while the set is below cap
 *	P suffix n member*n		PFADD
 *	Z suffix cap n (member incr)*n	ZINCRBY each; past cap*9/8 members the
 *					lowest are dropped back to cap
 *	U suffix cap n (field rec)*n	login roll-ups (stored form, see
 *					history.lua): merge rec into the
 *					field (n added, first min, last max, the
 *					rest from the newer); a new field of a
 *					hash holding cap fields goes to
 *					"<result>|*|<service>" instead
 *	Q suffix ttl day skip		message dedup: if the queue-id key ends
 *					in "Q" skip the next `skip` arguments,
 *					else set it to its day (or this one)
 *					followed by "Q"
 *	M suffix ttl day field n patch*n	a message record: the queue-id key
 *					at suffix holds the record's day (set to
 *					day when absent); each JSON patch is
 *					merged into field of ":m:<day>"
 *	E suffix kind field t rec cfg	a session starts or ends (sessions.lua)
 *	D ...				the detectors (detect.lua), last
 *
 * det is "1" when a D operation follows: the script then returns the
 * alerts it raised, {1, (id version kind json opened last)*}, and for a batch it had
 * already applied, the alerts that batch raised then, {0, ...}, so that an
 * alert lost between the subject's script and the post script (a crash, a
 * lost link) is posted when fumidai re-sends the batch.
 *
 * Redis calls are what a run costs, so I, K and L only gather: every
 * I/K operation on one hash (a day's counters) is summed into one HMGET and
 * one HSET at the end ("writes" still grows by one per operation), and
 * every L record of one list goes into one LPUSH, in order, which leaves
 * the same list as one LPUSH per record.  U costs one HMGET, one HLEN and
 * one HSET per operation; M one GET, one HGET and one HSET per message.
 *
 * A message record is stored compact (history.lua's FMH.msg_enc, expanded
 * back to JSON by history_codec.c), written from the merged record alone,
 * so that the same patches always give the same bytes: patches are
 * decoded with cjson and merged (merge_msg) into the decoded record: "time" keeps the earliest,
 * "login" the first, each "rcpt" entry replaces the one with the same "to"
 * unless that one is final (sent, bounced, expired) and the new one is
 * "deferred", "expired" (qmgr gave up) makes every entry not final
 * expired at its time; other keys take the newest value.
 *
 * The subject's applied hash holds, per stream, the last sequence number
 * applied: a batch at or below it changes nothing, which makes re-sending
 * any batch harmless.  A batch that wrote nothing on the subject but set
 * members (SADD, PFADD: applying them twice changes nothing) and detector
 * events that left no state (an address, or a network, that saw only
 * successful logins) does not store its number, so such a subject has no
 * applied hash.  One HMGET reads it with the "last" fields, one HSET
 * writes them back.
 *
 * TTLs cost one call per key, so they are set when they matter: a key gets
 * EXPIRE ttl when the script creates it, and the first write of a day (a
 * per-day hash created) also refreshes the applied hash and the subject's
 * long-lived keys (but not twice a key this run just created).  A subject
 * active every day keeps its history; one that falls silent expires ttl
 * seconds after its last active day began.  Queue-id keys carry their own
 * short TTL.

 * SECURITY: account names reach keys only hex-encoded inside the hash tag;
 * addresses only as inet_ntop text; the script treats every argument as
 * opaque bytes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scripts.h"
static const char apply_lua[] =
"-- fumidai apply v7: one batch's effects on one subject, at most once.\n"
"local A, call = ARGV, redis.call\n"
"local applied = KEYS[1]\n"
"local base = string.sub(applied, 1, -9)\n"
"local stream, seq, ttl, hasdet = A[1], A[2], A[3], A[4]\n"
"local nlong = tonumber(A[5])\n"
"local i = 6 + nlong\n"
"local nt = tonumber(A[i])\n"
"local want, tg = {stream}, {}\n"
"i = i + 1\n"
"for t = 1, nt do\n"
"  want[t + 1] = A[i]\n"
"  tg[t] = i\n"
"  i = i + 3 + 2 * tonumber(A[i + 2])\n"
"end\n"
"local cur = call('HMGET', applied, unpack(want))\n"
"local last = cur[1]\n"
"if last and (#last > #seq or (#last == #seq and last >= seq)) then\n"
"  if hasdet == '1' then return fm_replayed(base, stream, seq) end\n"
"  return 0\n"
"end\n"
"local set = {stream, seq}\n"
"for t = 1, nt do\n"
"  local j = tg[t]\n"
"  if not cur[t + 1] or cur[t + 1] <= A[j + 1] then\n"
"    local ns = #set\n"
"    set[ns + 1], set[ns + 2] = A[j], A[j + 1]\n"
"    for m = j + 3, j + 2 * tonumber(A[j + 2]) + 2 do\n"
"      ns = ns + 1\n"
"      set[ns + 2] = A[m]\n"
"    end\n"
"  end\n"
"end\n"
"-- message records: merged from JSON patches, stored compact (history.lua)\n"
"local FINAL = {sent = true, bounced = true, expired = true}\n"
"local function merge_msg(rec, p)\n"
"  for k, v in pairs(p) do\n"
"    if k == 'rcpt' and type(v) == 'table' then\n"
"      local rl, at = rec.rcpt or {}, {}\n"
"      rec.rcpt = rl\n"
"      for j, d in ipairs(rl) do at[d.to or ''] = j end\n"
"      for _, d in ipairs(v) do\n"
"        local j = at[d.to or '']\n"
"        if not j then\n"
"          rl[#rl + 1] = d\n"
"          at[d.to or ''] = #rl\n"
"        elseif not (FINAL[rl[j].status] and d.status == 'deferred') then\n"
"          rl[j] = d\n"
"        end\n"
"      end\n"
"    elseif k == 'expired' then\n"
"      for _, d in ipairs(rec.rcpt or {}) do\n"
"        if not FINAL[d.status] then d.status, d.time = 'expired', v end\n"
"      end\n"
"    elseif k == 'time' then\n"
"      if not rec.time or v < rec.time then rec.time = v end\n"
"    elseif k == 'login' then\n"
"      if not rec.login then rec.login = v end\n"
"    else\n"
"      rec[k] = v\n"
"    end\n"
"  end\n"
"end\n"
"local function qday(v)\n"
"  if v and string.match(v, '^%d%d%d%d%d%d%d%d') then\n"
"    return string.sub(v, 1, 8)\n"
"  end\n"
"  return nil\n"
"end\n"
"-- counters and list pushes are gathered per key, then written once each\n"
"local hk, hs, lk, ls = {}, {}, {}, {}\n"
"local fresh, n = false, #A\n"
"local qn, dupq, alerts, wrote = 0, {}, nil, false\n"
"local function hash(key, op)\n"
"  local h = hs[key]\n"
"  if not h then\n"
"    h = {op = op, w = 0, f = {}, v = {}, at = {}}\n"
"    hs[key] = h\n"
"    hk[#hk + 1] = key\n"
"  end\n"
"  h.w = h.w + 1\n"
"  return h\n"
"end\n"
"local function list(key, max)\n"
"  local l = ls[key]\n"
"  if not l then\n"
"    l = {max = max, ops = 0}\n"
"    ls[key] = l\n"
"    lk[#lk + 1] = key\n"
"  end\n"
"  l.ops = l.ops + 1\n"
"  return l\n"
"end\n"
"while i <= n do\n"
"  local op, key = A[i], base .. A[i + 1]\n"
"  if op ~= 'D' and op ~= 'S' and op ~= 'P' then wrote = true end\n"
"  if op == 'I' or op == 'K' then\n"
"    local c = tonumber(A[i + 2])\n"
"    local h = hash(key, op)\n"
"    local f, v, at = h.f, h.v, h.at\n"
"    for m = i + 3, i + 1 + 2 * c, 2 do\n"
"      local name, k = A[m], at[A[m]]\n"
"      if k then\n"
"        v[k] = v[k] + tonumber(A[m + 1])\n"
"      else\n"
"        k = #f + 1\n"
"        f[k], v[k], at[name] = name, tonumber(A[m + 1]), k\n"
"      end\n"
"    end\n"
"    i = i + 3 + 2 * c\n"
"  elseif op == 'L' then\n"
"    local c = tonumber(A[i + 3])\n"
"    local l = list(key, A[i + 2])\n"
"    for m = i + 4, i + 3 + c do l[#l + 1] = A[m] end\n"
"    i = i + 4 + c\n"
"  elseif op == 'S' then\n"
"    local c = tonumber(A[i + 3])\n"
"    local card = call('SCARD', key)\n"
"    local room = tonumber(A[i + 2]) - card\n"
"    if room > 0 then\n"
"      call('SADD', key, unpack(A, i + 4, i + 3 + math.min(room, c)))\n"
"      if card == 0 then call('EXPIRE', key, ttl) end\n"
"    end\n"
"    i = i + 4 + c\n"
"  elseif op == 'P' then\n"
"    local c = tonumber(A[i + 2])\n"
"    if call('PFADD', key, unpack(A, i + 3, i + 2 + c)) == 1 then\n"
"      call('EXPIRE', key, ttl)\n"
"    end\n"
"    i = i + 3 + c\n"
"  elseif op == 'H' then\n"
"    local c = tonumber(A[i + 2])\n"
"    local new = call('EXISTS', key) == 0\n"
"    for m = i + 3, i + 1 + 2 * c, 2 do call('HINCRBY', key, A[m], A[m + 1]) end\n"
"    if new and c > 0 then call('EXPIRE', key, ttl) end\n"
"    i = i + 3 + 2 * c\n"
"  elseif op == 'Z' then\n"
"    local cap, c = tonumber(A[i + 2]), tonumber(A[i + 3])\n"
"    local new = call('EXISTS', key) == 0\n"
"    for m = i + 4, i + 2 + 2 * c, 2 do call('ZINCRBY', key, A[m + 1], A[m]) end\n"
"    if new and c > 0 then call('EXPIRE', key, ttl) end\n"
"    if c > 0 and call('ZCARD', key) > cap + math.floor(cap / 8) then\n"
"      call('ZREMRANGEBYRANK', key, 0, -(cap + 1))\n"
"    end\n"
"    i = i + 4 + 2 * c\n"
"  elseif op == 'U' then\n"
"    local cap, c = tonumber(A[i + 2]), tonumber(A[i + 3])\n"
"    local fl, got, out = {}, {}, {}\n"
"    for m = 1, c do fl[m] = A[i + 2 + 2 * m] end\n"
"    local cur = call('HMGET', key, unpack(fl))\n"
"    local len = call('HLEN', key)\n"
"    local new, day = len == 0, string.sub(A[i + 1], -8)\n"
"    for m = 1, c do\n"
"      local f, o = fl[m], cur[m]\n"
"      if not o then o = FMA.value(base, day, 'l', f) end\n"
"      if not o and not got[f] and len >= cap then\n"
"        f = string.gsub(f, '^([^|]*)|[^|]*|', '%1|*|', 1)\n"
"        if not got[f] then\n"
"          o = call('HGET', key, f) or FMA.value(base, day, 'l', f)\n"
"        end\n"
"      elseif not o then\n"
"        len = len + 1\n"
"      end\n"
"      if got[f] then o = got[f] end\n"
"      local v = FMH.ru_merge(o, A[i + 3 + 2 * m])\n"
"      if not got[f] then out[#out + 1] = f end\n"
"      got[f] = v\n"
"    end\n"
"    local hs = {}\n"
"    for m, f in ipairs(out) do hs[2 * m - 1], hs[2 * m] = f, got[f] end\n"
"    if #hs > 0 then call('HSET', key, unpack(hs)) end\n"
"    if new and #hs > 0 then FMA.expire(key, base, day, ttl) end\n"
"    i = i + 4 + 2 * c\n"
"  elseif op == 'Q' then\n"
"    local v = call('GET', key)\n"
"    qn = qn + 1\n"
"    if v and string.sub(v, -1) == 'Q' then\n"
"      dupq[qn] = true\n"
"      i = i + 5 + tonumber(A[i + 4])\n"
"    else\n"
"      call('SET', key, (qday(v) or A[i + 3]) .. 'Q', 'EX', A[i + 2])\n"
"      i = i + 5\n"
"    end\n"
"  elseif op == 'M' then\n"
"    local v = call('GET', key)\n"
"    local day, f, c = qday(v), A[i + 4], tonumber(A[i + 5])\n"
"    if not day then\n"
"      day = A[i + 3]\n"
"      if not v then call('SET', key, day, 'EX', A[i + 2]) end\n"
"    end\n"
"    local mk = base .. ':m:' .. day\n"
"    local live = call('HGET', mk, f)\n"
"    local old = live or FMA.value(base, day, 'm', f)\n"
"    local rec = old and FMH.msg_dec(old, day, base, f) or {}\n"
"    for m = i + 6, i + 5 + c do merge_msg(rec, cjson.decode(A[m])) end\n"
"    call('HSET', mk, f, FMH.msg_enc(rec, day, base, f))\n"
"    if not live and call('TTL', mk) < 0 then\n"
"      FMA.expire(mk, base, day, ttl)\n"
"    end\n"
"    i = i + 6 + c\n"
"  elseif op == 'E' then\n"
"    i = fm_session(A, i, base)\n"
"  elseif op == 'D' then\n"
"    local w\n"
"    alerts, i, w = fm_detect(A, i, base, stream, seq, ttl, dupq)\n"
"    wrote = wrote or w\n"
"  else\n"
"    return redis.error_reply('fumidai: bad operation')\n"
"  end\n"
"end\n"
"local expd = {}\n"
"for _, key in ipairs(hk) do\n"
"  local h = hs[key]\n"
"  local f, v = h.f, h.v\n"
"  local c = #f\n"
"  local cur = call('HMGET', key, 'writes', unpack(f))\n"
"  local out = {'writes', (tonumber(cur[1]) or 0) + h.w}\n"
"  for m = 1, c do\n"
"    out[2 * m + 1] = f[m]\n"
"    out[2 * m + 2] = string.format('%d', (tonumber(cur[m + 1]) or 0) + v[m])\n"
"  end\n"
"  call('HSET', key, unpack(out))\n"
"  if not cur[1] then\n"
"    local d = string.match(key, ':c:(%d%d%d%d%d%d%d%d)$')\n"
"    if d then FMA.expire(key, base, d, ttl) else call('EXPIRE', key, ttl) end\n"
"    if h.op == 'I' then fresh = true end\n"
"  end\n"
"end\n"
"for _, key in ipairs(lk) do\n"
"  local l = ls[key]\n"
"  local c, max, len = #l, tonumber(l.max), 0\n"
"  for k = 1, c, 1000 do\n"
"    len = call('LPUSH', key, unpack(l, k, math.min(k + 999, c)))\n"
"  end\n"
"  -- as if pushed one operation at a time: a push that creates the list\n"
"  -- sets its TTL, any other past max*9/8 trims it\n"
"  if len == c then\n"
"    call('EXPIRE', key, ttl)\n"
"    expd[key] = true\n"
"  end\n"
"  if len > max + math.floor(max / 8) and (len > c or l.ops > 1) then\n"
"    call('LTRIM', key, 0, max - 1)\n"
"  end\n"
"end\n"
"-- a batch that only added set members here (an address that only saw\n"
"-- successful logins) leaves no applied hash: applying it again changes\n"
"-- nothing\n"
"if not wrote and #set == 2 then return 1 end\n"
"if call('HSET', applied, unpack(set)) > 0 or fresh then\n"
"  call('EXPIRE', applied, ttl)\n"
"end\n"
"if fresh then\n"
"  for j = 6, 5 + nlong do\n"
"    local k = base .. A[j]\n"
"    if not expd[k] then call('EXPIRE', k, ttl) end\n"
"  end\n"
"end\n"
"if alerts and #alerts > 0 then\n"
"  table.insert(alerts, 1, 1)\n"
"  return alerts\n"
"end\n"
"return 1\n";

/*
 * The post script files alerts (detect.lua returns them from each
 * subject's script) in the global stream: KEYS[1] <prefix>{g}:alerts,
 * ARGV ttl maxlen flag_kinds block_kinds flag_recent block_ttl
 * (id version kind json opened last)*, opened being the record as the
 * alert was opened, or "" when it was opened by an earlier batch, last its
 * last event time (Unix seconds).  An alert of a flag kind whose last
 * event is at most flag_recent seconds old (by Redis's clock: a replay of
 * old archives flags nobody) flags its account in <prefix>{g}:flags (field:
 * the JSON-escaped account name, value: the record) for the policy server;
 * one of a block kind puts its network or address in <prefix>{g}:blocklist
 * (sorted set, score: last + block_ttl, dropped once past) with the record
 * in <prefix>{g}:blockwhy.
 * An alert is added to the stream (with its opening record) the first time
 * its id is seen; a higher version (it grows with
 * every change of the record) replaces its record in <prefix>{g}:alert:<id>, a lower or
 * equal one changes nothing, so posting twice is harmless.
 */
static const char post_lua[] =
"-- fumidai post v2: alerts into the stream, each once; flags, block list\n"
"local A, call = ARGV, redis.call\n"
"local stream = KEYS[1]\n"
"local base = string.sub(stream, 1, -7)\n"
"local ttl, maxlen, added = A[1], A[2], 0\n"
"local fk, bk = ',' .. A[3] .. ',', ',' .. A[4] .. ','\n"
"local recent, bttl = tonumber(A[5]), tonumber(A[6])\n"
"local now = tonumber(call('TIME')[1])\n"
"for i = 7, #A - 5, 6 do\n"
"  local id, c, kind, j, oj = A[i], A[i + 1], A[i + 2], A[i + 3], A[i + 4]\n"
"  local last = tonumber(A[i + 5])\n"
"  local k = base .. 'alert:' .. id\n"
"  local cur = call('HGET', k, 'version')\n"
"  if not cur then\n"
"    call('HSET', k, 'version', c, 'json', j)\n"
"    call('EXPIRE', k, ttl)\n"
"    if oj == '' then oj = j end\n"
"    call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'id', id, 'kind', kind,\n"
"      'json', oj)\n"
"    added = added + 1\n"
"  elseif tonumber(cur) < tonumber(c) then\n"
"    call('HSET', k, 'version', c, 'json', j)\n"
"  end\n"
"  local needle = ',' .. kind .. ','\n"
"  if last >= now - recent and string.find(fk, needle, 1, true) then\n"
"    local acct = string.match(j, '\"account\":\"(.-)\",\"ip\":\"')\n"
"    if acct and acct ~= '' then\n"
"      call('HSET', base .. 'flags', acct, j)\n"
"      call('EXPIRE', base .. 'flags', ttl)\n"
"    end\n"
"  end\n"
"  if bttl > 0 and last + bttl > now and string.find(bk, needle, 1, true) then\n"
"    local ip = string.match(j, '\"ip\":\"(.-)\",\"net\":\"')\n"
"    local net = string.match(j, '\"net\":\"(.-)\",\"time\":\"')\n"
"    local who = (net and net ~= '') and net or ip\n"
"    if who and who ~= '' then\n"
"      local old = tonumber(call('ZSCORE', base .. 'blocklist', who))\n"
"      if not old or old < last + bttl then\n"
"        call('ZADD', base .. 'blocklist', last + bttl, who)\n"
"        call('HSET', base .. 'blockwhy', who, j)\n"
"      end\n"
"    end\n"
"  end\n"
"end\n"
"if bttl > 0 then\n"
"  local gone = call('ZRANGEBYSCORE', base .. 'blocklist', '-inf', now)\n"
"  if #gone > 0 then\n"
"    call('ZREMRANGEBYSCORE', base .. 'blocklist', '-inf', now)\n"
"    call('HDEL', base .. 'blockwhy', unpack(gone))\n"
"  end\n"
"end\n"
"if added > 0 then call('EXPIRE', stream, ttl) end\n"
"return added\n";
static char post_sha[41];
static char *apply_text;

static const char *const kind_names[FM_EV__COUNT] = {
	"none", "login_ok", "login_fail", "connect", "disconnect", "logout",
	"msg_submit", "msg_id", "msg_queued", "delivery", "msg_done", "reject",
};
static const char sha_hex[] = "0123456789abcdef";
static char apply_sha[41];

/* ---- SHA-1 (FIPS 180-4), only to name the script before Redis is up ---- */

#define ROL(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

static void
sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], a, b, c, d, e, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20)
			t = ((b & c) | (~b & d)) + 0x5a827999;
		else if (i < 40)
			t = (b ^ c ^ d) + 0x6ed9eba1;
		else if (i < 60)
			t = ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
		else
			t = (b ^ c ^ d) + 0xca62c1d6;
		t += ROL(a, 5) + e + w[i];
		e = d; d = c; c = ROL(b, 30); b = a; a = t;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void
sha1(const unsigned char *p, size_t n, unsigned char out[20])
{
	uint32_t h[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
	    0xc3d2e1f0 };
	unsigned char tail[128];
	size_t i, rest = n % 64, tl;
	uint64_t bits = (uint64_t)n * 8;

	for (i = 0; i + 64 <= n; i += 64)
		sha1_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + i, rest);
	tail[rest] = 0x80;
	tl = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	for (i = 0; i < tl; i += 64)
		sha1_block(h, tail + i);
	for (i = 0; i < 20; i++)
		out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

void
scripts_sha1_hex(const void *p, size_t n, char *out)
{
	unsigned char d[20];
	int i;

	sha1(p, n, d);
	for (i = 0; i < 20; i++) {
		out[2 * i] = sha_hex[d[i] >> 4];
		out[2 * i + 1] = sha_hex[d[i] & 15];
	}
	out[40] = '\0';
}

/* scripts_apply_text - the detectors' functions, then the apply body */
const char *
scripts_apply_text(void)
{
	size_t a, b;

	if (apply_text == NULL) {
		a = strlen(detect_lua);
		b = sizeof(apply_lua);
		apply_text = xmalloc(a + b);
		memcpy(apply_text, detect_lua, a);
		memcpy(apply_text + a, apply_lua, b);
	}
	return apply_text;
}

const char *
scripts_apply_sha(void)
{
	const char *t;

	if (apply_sha[0] == '\0') {
		t = scripts_apply_text();
		scripts_sha1_hex(t, strlen(t), apply_sha);
	}
	return apply_sha;
}

const char *
scripts_post_text(void)
{
	return post_lua;
}

const char *
scripts_post_sha(void)
{
	if (post_sha[0] == '\0')
		scripts_sha1_hex(post_lua, sizeof(post_lua) - 1, post_sha);
	return post_sha;
}

const char *
scripts_archive_sha(void)
{
	static char sha[41];

	if (sha[0] == '\0')
		scripts_sha1_hex(archive_lua, strlen(archive_lua), sha);
	return sha;
}

const char *
scripts_kind_name(int kind)
{
	if (kind <= 0 || kind >= FM_EV__COUNT)
		return "other";
	return kind_names[kind];
}
/* ---- subject tags ---- */

static const char *
prefix(const struct fumidai *cf)
{
	return cf->redis.prefix ? cf->redis.prefix : "";
}

void
scripts_tag_account(struct buf *b, const struct fumidai *cf, const char *acct,
    size_t len)
{
	buf_adds(b, prefix(cf));
	buf_add(b, "{a:", 3);
	hex_encode(b, acct, len);
	buf_addc(b, '}');
}

/* tag_addr - "<prefix>{<kind><address>[/<plen>]}" (plen < 0: none) */
static void
tag_addr(struct buf *b, const struct fumidai *cf, const char *kind, int af,
    const uint8_t *addr, int plen)
{
	char text[64];

	addr_format(af, addr, text, sizeof(text));
	buf_adds(b, prefix(cf));
	buf_adds(b, kind);
	buf_adds(b, text);
	if (plen >= 0) {
		buf_addc(b, '/');
		buf_addu(b, (unsigned)plen);
	}
	buf_addc(b, '}');
}

void
scripts_tag_ip(struct buf *b, const struct fumidai *cf, int af,
    const uint8_t *addr)
{
	tag_addr(b, cf, "{ip:", af, addr, -1);
}

void
scripts_tag_net(struct buf *b, const struct fumidai *cf, int af,
    const uint8_t *addr, int plen)
{
	tag_addr(b, cf, "{n:", af, addr, plen);
}

void
scripts_tag_global(struct buf *b, const struct fumidai *cf)
{
	buf_adds(b, prefix(cf));
	buf_add(b, "{g}", 3);
}

void
scripts_day(int64_t us, char *out)
{
	time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
	struct tm tm;
	unsigned y, i;

	gmtime_r(&t, &tm);
	y = (unsigned)(tm.tm_year + 1900) % 10000;
	for (i = 0; i < 4; i++, y /= 10)
		out[3 - i] = (char)('0' + y % 10);
	out[4] = (char)('0' + (tm.tm_mon + 1) / 10);
	out[5] = (char)('0' + (tm.tm_mon + 1) % 10);
	out[6] = (char)('0' + tm.tm_mday / 10);
	out[7] = (char)('0' + tm.tm_mday % 10);
	out[8] = '\0';
}

void
scripts_json_bin(struct buf *b, const char *p, size_t n)
{
	size_t i;

	if (utf8_valid(p, n)) {
		json_escape(b, p, n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80)
			json_escape(b, p + i, 1);
		else
			buf_printf(b, "\\u00%02x", c);
	}
}
