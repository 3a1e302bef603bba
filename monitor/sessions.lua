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

-- fm_sess_load - a hash of records into {field = {t, te, r}}
local function fm_sess_load(key)
  local h, all = {}, redis.call('HGETALL', key)
  for j = 1, #all, 2 do
    local r = all[j + 1]
    h[all[j]] = {t = tonumber(string.match(r,
      '^{"start":"[^"]*","t":(%-?%d+)')) or 0,
      te = tonumber(string.match(r, ',"te":(%-?%d+)}$')), r = r}
  end
  return h
end

-- fm_sess_trim - drop the entries of h whose time (start, or end with te)
-- is max_age before now, then the oldest past cap
local function fm_sess_trim(S, h, key, now, te)
  local del, all = {}, {}
  for f, s in pairs(h) do
    local t = te and (s.te or s.t) or s.t
    if t <= now - S.cfg.age then
      del[#del + 1] = f
    else
      all[#all + 1] = {t, f}
    end
  end
  if #all > S.cfg.cap then
    table.sort(all, function(a, b)
      return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
    end)
    for j = 1, #all - S.cfg.cap do del[#del + 1] = all[j][2] end
  end
  for _, f in ipairs(del) do h[f] = nil end
  for j = 1, #del, 500 do
    redis.call('HDEL', key, unpack(del, j, math.min(j + 499, #del)))
  end
end

-- fm_sess_place - the country code and AS number of a record
local function fm_sess_place(r)
  local cc, asn = string.match(r,
    '^{"start":"[^"]*","t":%-?%d+,"cc":"(%u*)","asn":(%d+)')
  return cc or '', asn or '0'
end

-- fm_sess_check - note the start at t when the sessions open at t come
-- from enough countries or networks
local function fm_sess_check(S, t, f)
  local C = S.cfg
  local ccs, asns, list = {}, {}, {}
  local nc, na = 0, 0
  local function add(k, s)
    local cc, asn = fm_sess_place(s.r)
    if cc ~= '' and not ccs[cc] then
      ccs[cc] = true
      nc = nc + 1
    end
    if asn ~= '0' and not asns[asn] then
      asns[asn] = true
      na = na + 1
    end
    list[#list + 1] = {s.t, k, s.r}
  end
  for k, s in pairs(S.h) do add(k, s) end
  for k, s in pairs(S.e) do
    if s.te and s.te > t then add(k, s) end
  end
  if nc < C.cc and (C.asn == 0 or na < C.asn) then return end
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
  redis.call('HDEL', S.key, f)
  if S.cfg.on ~= 1 then return end
  local k = f .. '|' .. s.t
  local r = string.sub(s.r, 1, -2) .. ',"end":"' .. iso .. '","te":' ..
    string.format('%d', t) .. '}'
  S.e[k] = {t = s.t, te = t, r = r}
  redis.call('HSET', S.ekey, k, r)
  fm_sess_trim(S, S.e, S.ekey, S.now, true)
  redis.call('EXPIRE', S.ekey, S.cfg.age)
end

-- fm_session - the E operation at A[i]; returns the index after it
local function fm_session(A, i, base)
  local kind, f, t, rec = A[i + 2], A[i + 3], tonumber(A[i + 4]), A[i + 5]
  local S = FM_SESS.s
  if not S then
    S = {key = base .. A[i + 1], ekey = base .. A[i + 1] .. '_end',
      cfg = fm_sess_cfg(A[i + 6]), now = t}
    S.h = fm_sess_load(S.key)
    S.e = S.cfg.on == 1 and fm_sess_load(S.ekey) or {}
    FM_SESS.s = S
  end
  if t > S.now then S.now = t end
  if kind == 's' then
    if t > S.now - S.cfg.age then
      S.h[f] = {t = t, r = rec}
      redis.call('HSET', S.key, f, rec)
      fm_sess_trim(S, S.h, S.key, S.now, false)
      redis.call('EXPIRE', S.key, S.cfg.age)
      if S.cfg.on == 1 and S.h[f] then fm_sess_check(S, t, f) end
    end
  elseif S.h[f] then
    fm_sess_end(S, f, t, rec)
  end
  return i + 7
end
