-- SPDX-License-Identifier: BSD-2-Clause
-- sessions.lua - an account's open sessions (doc/sessions.md): the apply
-- script's E operation (scripts.c; sessions.c builds it), for one account
-- and one batch.  The build joins it before detect.lua into one chunk:
-- what a run found lands in FM_SESS, which detect.lua's concurrent_sessions
-- detector reads in the D operation that follows.
--
-- <tag>:sess is a hash: field "<host>|<service>|<session id>", value the
-- session's JSON record {"start","t","cc","asn","ip","service","host",
-- "mech","session"}.  A start sets its field, an end deletes it.  A session
-- whose end never came is dropped once it is max_age older than the newest
-- session event of the account (event time); past cap open sessions the
-- oldest go; the key expires max_age after the last start.
--
-- <tag>:sess_end keeps the sessions that ended within max_age (at most
-- cap): field "<field>|<t>", value the record with "end" (ISO) and "te"
-- (Unix seconds) added.  With it a start that a log read late (a second
-- server, a file replayed after another) brings in is still compared with
-- sessions that had ended by then but were open at its time.
--
--   E suffix kind field t rec cfg
--   kind s (start) or e (end); t Unix seconds; rec the record (start) or
--   the end time in ISO 8601 (end); cfg "max_age,cap,enabled,countries,
--   asns" (the detector's settings)
--
-- A start at t that finds the sessions open, or ended after t, come from
-- countries >= countries, or from AS numbers >= asns (0: never), is noted
-- for the detector with all those sessions.
--
-- Cost: an active account's :sess_end is full (cap sessions that ended
-- within max_age), and it is read by every call that holds an E
-- operation.  So the records are parsed once per call (a country and AS
-- number when first needed), a trim finds the oldest by one scan rather
-- than a sort, a start skips :sess_end when nothing in it ended after it,
-- and the writes of a run of E operations go out together at its end (one
-- HSET, HDEL and EXPIRE per key): the keys end as if each operation had
-- been written in turn.
--
-- SECURITY: fields and records are opaque bytes here, compared and stored
-- as they are.  t, cc, asn and ip are read from records that sessions.c
-- wrote with t, cc and asn first, cc as two capitals or empty, ip as
-- inet_ntop text; escaped JSON strings cannot hold the '"' these patterns
-- start at.

local FM_SESS = {ev = {}}

local function fm_sess_cfg(s)
  local c, k = {}, 0
  for v in string.gmatch(s, '[^,]+') do
    k = k + 1
    c[k] = tonumber(v)
  end
  return {age = c[1], cap = c[2], on = c[3], cc = c[4], asn = c[5]}
end

-- fm_sess_load - a hash of records into {field = {t, te, r}}, and the
-- latest te; te is looked for only in a record ending in a digit and '}'
-- (an open session's ends in '"}'), in its tail first: ',"te":N}' can only
-- match there
local function fm_sess_load(key)
  local h, all, max = {}, redis.call('HGETALL', key), nil
  for j = 1, #all, 2 do
    local r, te = all[j + 1], nil
    local b = string.byte(r, -2)
    if b and b >= 48 and b <= 57 then
      te = tonumber(string.match(string.sub(r, -40), ',"te":(%-?%d+)}$') or
        string.match(r, ',"te":(%-?%d+)}$'))
      if te and (not max or te > max) then max = te end
    end
    h[all[j]] = {t = tonumber(string.match(r,
      '^{"start":"[^"]*","t":(%-?%d+)')) or 0, te = te, r = r}
  end
  return h, max
end

-- fm_sess_put, fm_sess_del - note a field set or deleted in key k of S
-- for fm_sess_flush: S.w[k] lists the fields in the order of their first
-- change, and maps each to true when its last change deleted it
local function fm_sess_put(S, k, f)
  local w = S.w[k]
  if w[f] == nil then w[#w + 1] = f end
  w[f] = false
end

local function fm_sess_del(S, k, f)
  local w = S.w[k]
  if w[f] == nil then w[#w + 1] = f end
  w[f] = true
end

-- fm_sess_flush - one HSET of the fields set, one HDEL of those deleted,
-- then the EXPIRE each operation would have left, per key
local function fm_sess_flush(S)
  for _, k in ipairs({S.key, S.ekey}) do
    local w, h = S.w[k], k == S.key and S.h or S.e
    local set, del = {}, {}
    for _, f in ipairs(w) do
      if w[f] then
        del[#del + 1] = f
      else
        set[#set + 1] = f
        set[#set + 1] = h[f].r
      end
    end
    for j = 1, #set, 1000 do
      redis.call('HSET', k, unpack(set, j, math.min(j + 999, #set)))
    end
    for j = 1, #del, 500 do
      redis.call('HDEL', k, unpack(del, j, math.min(j + 499, #del)))
    end
    if S.x[k] and next(h) then redis.call('EXPIRE', k, S.cfg.age) end
    S.w[k], S.x[k] = {}, nil
  end
end

-- fm_sess_trim - drop the entries of h (key k) whose time (start, or end
-- with te) is max_age before now, then the oldest past cap; h is at most
-- one past cap at a start or an end, so the oldest is what the scan found
local function fm_sess_trim(S, h, k, now, te)
  local del, n, lim, mf, mt = nil, 0, now - S.cfg.age, nil, nil
  for f, s in pairs(h) do
    local t = te and (s.te or s.t) or s.t
    if t <= lim then
      del = del or {}
      del[#del + 1] = f
    else
      n = n + 1
      if not mt or t < mt or (t == mt and f < mf) then mf, mt = f, t end
    end
  end
  for _, f in ipairs(del or {}) do
    h[f] = nil
    fm_sess_del(S, k, f)
  end
  if n - S.cfg.cap == 1 then
    h[mf] = nil
    fm_sess_del(S, k, mf)
  elseif n > S.cfg.cap then
    local all = {}
    for f, s in pairs(h) do
      all[#all + 1] = {te and (s.te or s.t) or s.t, f}
    end
    table.sort(all, function(a, b)
      return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
    end)
    for j = 1, n - S.cfg.cap do
      h[all[j][2]] = nil
      fm_sess_del(S, k, all[j][2])
    end
  end
end

-- fm_sess_place - the country code and AS number of a session (its
-- record's, read once)
local function fm_sess_place(s)
  if not s.cc then
    local cc, asn = string.match(s.r,
      '^{"start":"[^"]*","t":%-?%d+,"cc":"(%u*)","asn":(%d+)')
    s.cc, s.asn = cc or '', asn or '0'
  end
  return s.cc, s.asn
end

-- fm_sess_ended - the sessions of :sess_end that ended after t
local function fm_sess_ended(S, t)
  local out = {}
  if S.emax and S.emax > t then
    for k, s in pairs(S.e) do
      if s.te and s.te > t then out[k] = s end
    end
  end
  return out
end

-- fm_sess_check - note the start at t when the sessions open at t come
-- from enough countries or networks
local function fm_sess_check(S, t, f)
  local C = S.cfg
  local ccs, asns, nc, na = {}, {}, 0, 0
  local ended = fm_sess_ended(S, t)
  for _, h in ipairs({S.h, ended}) do
    for _, s in pairs(h) do
      local cc, asn = fm_sess_place(s)
      if cc ~= '' and not ccs[cc] then
        ccs[cc] = true
        nc = nc + 1
      end
      if asn ~= '0' and not asns[asn] then
        asns[asn] = true
        na = na + 1
      end
    end
  end
  if nc < C.cc and (C.asn == 0 or na < C.asn) then return end
  local list = {}
  for _, h in ipairs({S.h, ended}) do
    for k, s in pairs(h) do list[#list + 1] = {s.t, k, s.r} end
  end
  table.sort(list, function(a, b)
    return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
  end)
  local cl, al = {}, {}
  for c in pairs(ccs) do cl[#cl + 1] = c end
  for a in pairs(asns) do al[#al + 1] = tonumber(a) end
  table.sort(cl)
  table.sort(al)
  FM_SESS.ev[#FM_SESS.ev + 1] = {t = t, list = list, cc = cl, asn = al,
    bycc = nc >= C.cc,
    ip = string.match(S.h[f].r, ',"ip":"([^"]*)"') or ''}
end

-- fm_sess_end - session f ended at t (iso): from :sess to :sess_end
local function fm_sess_end(S, f, t, iso)
  local s = S.h[f]
  S.h[f] = nil
  fm_sess_del(S, S.key, f)
  if S.cfg.on ~= 1 then return end
  local k = f .. '|' .. s.t
  local r = string.sub(s.r, 1, -2) .. ',"end":"' .. iso .. '","te":' ..
    string.format('%d', t) .. '}'
  S.e[k] = {t = s.t, te = t, r = r}
  if not S.emax or t > S.emax then S.emax = t end
  fm_sess_put(S, S.ekey, k)
  fm_sess_trim(S, S.e, S.ekey, S.now, true)
  S.x[S.ekey] = true
end

-- fm_session - the E operation at A[i]; returns the index after it.  The
-- last of a run of E operations writes the run's changes.
local function fm_session(A, i, base)
  local kind, f, t, rec = A[i + 2], A[i + 3], tonumber(A[i + 4]), A[i + 5]
  local S = FM_SESS.s
  if not S then
    S = {key = base .. A[i + 1], ekey = base .. A[i + 1] .. '_end',
      cfg = fm_sess_cfg(A[i + 6]), now = t, w = {}, x = {}}
    S.w[S.key], S.w[S.ekey] = {}, {}
    S.h = fm_sess_load(S.key)
    if S.cfg.on == 1 then S.e, S.emax = fm_sess_load(S.ekey) else S.e = {} end
    FM_SESS.s = S
  end
  if t > S.now then S.now = t end
  if kind == 's' then
    if t > S.now - S.cfg.age then
      S.h[f] = {t = t, r = rec}
      fm_sess_put(S, S.key, f)
      fm_sess_trim(S, S.h, S.key, S.now, false)
      S.x[S.key] = true
      if S.cfg.on == 1 and S.h[f] then fm_sess_check(S, t, f) end
    end
  elseif S.h[f] then
    fm_sess_end(S, f, t, rec)
  end
  if A[i + 7] ~= 'E' then fm_sess_flush(S) end
  return i + 7
end
