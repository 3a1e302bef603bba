-- SPDX-License-Identifier: BSD-2-Clause
-- detect.lua - fumidai's detectors (doc/detection.md), run inside the apply
-- script (scripts.c) for one subject and one batch: its D operation.
--
-- Everything runs on event time.  A subject's state (windows, learned
-- places, open alerts) is one MessagePack string, <subject>:det, read and
-- written once per batch, so every fumidai sharing the Redis sees one view
-- and each decision is taken once, atomically.  Windows are exact lists of
-- (time, count) pairs (merged past a cap), distinct counts are maps from
-- member to last time; both are pruned to what the largest window needs.
--
-- The D operation's arguments (model.c emit_det):
--   D type bare cfg name nev event*nev
--   type: a (account) i (address) n (network) g (global); bare: the
--   subject's tag without prefix and braces, for alert ids; cfg: the
--   settings, numbers separated by commas in FM_CFG's order; name: the
--   JSON-escaped account, the address, the network, or "".
--   event fields: a: k t n unknown service ip qn cc cname city lat lon acc
--   asn org (15); i, n: k t n unknown service ip account (7); g: k t n (3).
--   k: o (login ok), f (failure), m (message); text fields arrive
--   JSON-escaped, so they go into alert JSON as they are.
-- concurrent_sessions takes no event of its own: it reads FM_SESS, which
-- the batch's E operations (sessions.lua, joined before this file) filled.
--
-- SECURITY: names, places and services are attacker- or database-
-- controlled; they are only compared, used as table keys, and copied into
-- JSON text already escaped by model.c.

local fm_floor, fm_max, fm_min = math.floor, math.max, math.min
local FM_LIST_CAP, FM_GLOBAL_CAP = 256, 1024

local function fm_iso(t)
  t = fm_floor(t)
  local d = fm_floor(t / 86400)
  local s = t - d * 86400
  local z = d + 719468
  local era = fm_floor(z / 146097)
  local doe = z - era * 146097
  local yoe = fm_floor((doe - fm_floor(doe / 1460) + fm_floor(doe / 36524)
    - fm_floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + fm_floor(yoe / 4) - fm_floor(yoe / 100))
  local mp = fm_floor((5 * doy + 2) / 153)
  local dd = doy - fm_floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', y, m, dd,
    fm_floor(s / 3600), fm_floor(s % 3600 / 60), s % 60)
end

local function fm_num(v)
  if v == fm_floor(v) then return string.format('%d', v) end
  return string.format('%.1f', v)
end

local function kv(k, v) return '"' .. k .. '":' .. v end
local function ks(k, v) return '"' .. k .. '":"' .. v .. '"' end

-- ---- windows: lists {t1, n1, t2, n2, ...} in time order ----

local function ladd(L, t, n, cap)
  local c = #L
  if c == 0 or L[c - 1] < t then
    L[c + 1], L[c + 2] = t, n
  elseif L[c - 1] == t then
    L[c] = L[c] + n
  else
    -- the log went back in time: keep the list in order
    local j = c - 1
    while j >= 1 and L[j] > t do j = j - 2 end
    if j >= 1 and L[j] == t then
      L[j + 1] = L[j + 1] + n
    else
      table.insert(L, j + 2, n)
      table.insert(L, j + 2, t)
    end
  end
  if #L > 2 * (cap or FM_LIST_CAP) then
    -- past the cap the two oldest entries merge (into the later time)
    L[4] = L[4] + L[2]
    table.remove(L, 1)
    table.remove(L, 1)
  end
end

-- lsum - the count in (ref - w, ref], after time `after` when given
local function lsum(L, ref, w, after)
  local lo, c = ref - w, 0
  if after and after > lo then lo = after end
  for j = #L - 1, 1, -2 do
    local t = L[j]
    if t <= lo then break end
    if t <= ref then c = c + L[j + 1] end
  end
  return c
end

-- lfirst - time of the oldest entry in (ref - w, ref]
local function lfirst(L, ref, w)
  local f = ref
  for j = #L - 1, 1, -2 do
    if L[j] <= ref - w then break end
    if L[j] < f then f = L[j] end
  end
  return f
end

-- lgap - the shortest time between two entries (0 when one holds more
-- than one), -1 with fewer than two: the pace of a series, whatever order
-- its entries came in
local function lgap(L)
  local g, n = -1, #L
  if n == 2 and L[2] > 1 then return 0 end
  for j = 1, n - 3, 2 do
    local d = L[j + 2] - L[j]
    if L[j + 1] > 1 then d = 0 end
    if g < 0 or d < g then g = d end
  end
  if n >= 2 and L[n] > 1 then g = 0 end
  return g
end

local function lprune(L, ref, w)
  local k = 0
  while k + 1 <= #L and L[k + 1] <= ref - w do k = k + 2 end
  if k > 0 then
    local n = #L
    for j = 1, n - k do L[j] = L[j + k] end
    for j = n, n - k + 1, -1 do L[j] = nil end
  end
end

-- ---- distinct members: maps member -> last time ----

-- mprune - drop members older than w, then the oldest past cap; tf reads a
-- member's time from its value
local function mprune(M, ref, w, cap, tf)
  local n, all = 0, {}
  for k, v in pairs(M) do
    local t = tf and tf(v) or v
    if t <= ref - w then M[k] = nil else n = n + 1; all[n] = {t, k} end
  end
  if n > cap then
    table.sort(all, function(a, b) return a[1] < b[1] or
      (a[1] == b[1] and a[2] < b[2]) end)
    for j = 1, n - cap do M[all[j][2]] = nil end
  end
end

-- Distinct members with their first and last time: M[k] = {first, last}.

local function dtouch(M, k, t)
  local v = M[k]
  if not v then
    M[k] = {t, t}
    return nil
  end
  local old = v[2]
  if t < v[1] then v[1] = t end
  if t > v[2] then v[2] = t end
  return old
end

local function dcount(M, ref, w)
  local c = 0
  for _, v in pairs(M) do
    if v[2] > ref - w and v[1] <= ref then c = c + 1 end
  end
  return c
end

local function dlast(v) return v[2] end

-- The time a threshold was crossed, in event-time order: whatever order
-- the events reached Redis in (several servers, several fumidai), an alert
-- opens at the same time and so gets the same id.

-- lcross - the first entry time T in the window (ref - w, ref] with thr or
-- more in (T - w, T]
local function lcross(L, ref, w, thr)
  local lo, sum = 1, 0
  for j = 1, #L - 1, 2 do
    local t = L[j]
    if t > ref then break end
    sum = sum + L[j + 1]
    while L[lo] <= t - w do
      sum = sum - L[lo + 1]
      lo = lo + 2
    end
    if sum >= thr and t > ref - w then return t end
  end
  return nil
end

-- dcross - the first time T in (ref - w, ref] at which thr members were
-- active, a member being active from its first time until w after its
-- last; get reads (first, last) from a value
local function dcross(M, ref, w, thr, get)
  local ev = {}
  for _, v in pairs(M) do
    local f, l
    if get then f, l = get(v) else f, l = v[1], v[2] end
    if f <= ref then
      ev[#ev + 1] = {f, 1}
      ev[#ev + 1] = {l + w, -1}
    end
  end
  table.sort(ev, function(a, b)
    return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2])
  end)
  local c = 0
  for _, e in ipairs(ev) do
    c = c + e[2]
    if e[2] == 1 and c >= thr and e[1] > ref - w then return e[1] end
  end
  return nil
end

-- ---- alerts ----

-- due - whether a detector should look now: always while no alert of this
-- key is open, then at most once per 120th of its window (the rest of the
-- batch's firings are folded into one update at its end: see fire)
local function due(X, key, t, w)
  local a = X.S.al[key]
  if not a or t >= a.u or not a.e then return true end
  return t - a.e >= fm_max(1, fm_floor(w / 120))
end

-- fire - open the alert of key (at ot, the crossing time, when given), or
-- update the open one.  A firing (flush
-- false) counts: count, the rate limit (e) and the cooldown, which slides
-- to cooldown seconds after the latest firing.  A flush (end of batch, for
-- an evaluation the rate limit held back) only brings first, last and the
-- evidence up to date.  So nothing that is decided depends on where the
-- batches happened to end.
local function fire(X, flush, kind, key, sev, t, first, last, acct, ip, net,
    summary, evid, ot)
  local S = X.S
  local a = S.al[key]
  local opened = false
  ot = ot or t
  if flush then
    if not a then return end
  elseif a and t < a.u and t >= a.o - X.cd then
    a.c = a.c + 1
    if t + X.cd > a.u then a.u = t + X.cd end
    a.e = t
  else
    a = {o = ot, f = first, l = last, u = t + X.cd, c = 1, e = t,
      id = string.sub(redis.sha1hex(kind .. '\0' .. X.bare .. '\0' ..
        key .. '\0' .. fm_num(ot)), 1, 16)}
    S.al[key] = a
    opened = true
  end
  if not flush then X.pend[key] = nil end
  if last > a.l then a.l = last end
  if first < a.f then a.f = first end
  local j = '{' .. ks('id', a.id) .. ',' .. ks('kind', kind) .. ',' ..
    ks('severity', sev) .. ',' .. ks('account', acct or '') .. ',' ..
    ks('ip', ip or '') .. ',' .. ks('net', net or '') .. ',' ..
    ks('time', fm_iso(a.o)) .. ',' .. ks('first', fm_iso(a.f)) .. ',' ..
    ks('last', fm_iso(a.l)) .. ',' .. ks('until', fm_iso(a.u)) .. ',' ..
    kv('count', a.c) .. ',' .. ks('summary', summary) .. ',' ..
    '"evidence":{' .. evid .. '}}'
  if not X.out[a.id] then X.order[#X.order + 1] = a.id end
  -- the post script keeps the record of the highest version (every
  -- change of the record, by any fumidai, makes a higher one); the stream
  -- gets the record as it was opened, which no batching can change
  a.v = (a.v or 0) + 1
  local o = X.out[a.id]
  X.out[a.id] = {string.format('%d', a.v), kind, j,
    opened and j or (o and o[4] or ''), fm_num(a.l)}
  X.open[key] = j
end

-- pend - evaluate fn once at the end of the batch (as a flush)
local function pend(X, key, fn, a1, a2, a3)
  if not X.pend[key] then X.porder[#X.porder + 1] = key end
  X.pend[key] = {fn, a1, a2, a3}
end

-- check - evaluate fn now if due, else at the end of the batch
local function check(X, key, t, w, fn, a1, a2, a3)
  if due(X, key, t, w) then
    X.pend[key] = nil
    fn(X, false, a1, a2, a3)
  else
    pend(X, key, fn, a1, a2, a3)
  end
end

local function flush_pending(X)
  for _, key in ipairs(X.porder) do
    local p = X.pend[key]
    if p then p[1](X, true, p[2], p[3], p[4]) end
  end
end

-- llast - time of the newest entry at or before ref
local function llast(L, ref)
  for j = #L - 1, 1, -2 do
    if L[j] <= ref then return L[j] end
  end
  return ref
end

-- ---- account detectors ----

-- knownip - the account logged in from ip before t (by its first success
-- from there, so the answer does not depend on what else the batch held)
local function knownip(S, ip, t)
  local v = S.kn[ip]
  return v ~= nil and type(v) == 'table' and v[1] < t
end

local function bf_eval(X, flush, ip, t, ref)
  local S, C = X.S, X.C
  local r = S.ip[ip]
  local w, thr = C.bf_w, C.bf_t
  local cnt = lsum(r.e, ref, w)
  if cnt < thr then
    w, thr = C.bf_lw, C.bf_lt
    cnt = lsum(r.e, ref, w)
  end
  if cnt < thr then return end
  local mi = lgap(r.e)
  local known = knownip(S, ip, t)
  local stale = known and (mi < 0 or mi >= C.stale)
  local kind = stale and 'stale_password' or 'brute_force'
  fire(X, flush, kind, kind .. '|' .. ip, stale and 'low' or 'medium', t,
    lfirst(r.e, ref, w), llast(r.e, ref), X.name, ip, '',
    cnt .. ' failed logins for this account from ' .. ip ..
    ' within ' .. w .. ' s (threshold ' .. thr .. ')' ..
    (stale and '; steady, from an address that logged in before:' ..
      ' likely a client with an old password' or ''),
    kv('window', w) .. ',' .. kv('failures', cnt) .. ',' ..
    kv('threshold', thr) .. ',' ..
    kv('known_ip', known and 'true' or 'false') .. ',' ..
    kv('min_interval', mi), lcross(r.e, ref, w, thr))
end

local function di_eval(X, flush, t, ref)
  local S, C = X.S, X.C
  local w, thr = C.di_w, C.di_ips
  local n = 0
  for _, r in pairs(S.ip) do
    if r.l > ref - w and (r.f or r.l) <= ref then n = n + 1 end
  end
  if n < thr then
    w, thr, n = C.di_lw, C.di_lips, 0
    for _, r in pairs(S.ip) do
      if r.l > ref - w and (r.f or r.l) <= ref then n = n + 1 end
    end
  end
  if n < thr then return end
  fire(X, flush, 'distributed', 'distributed', 'high', t,
    lfirst(S.f, ref, w), llast(S.f, ref), X.name, '', '',
    n .. ' addresses failed to log in to this account within ' .. w ..
    ' s (threshold ' .. thr .. ')',
    kv('window', w) .. ',' .. kv('ips', n) .. ',' ..
    kv('failures', lsum(S.f, ref, w)) .. ',' .. kv('threshold', thr),
    dcross(S.ip, ref, w, thr, function(r) return r.f or r.l, r.l end))
end

local function acct_fail(X, e)
  local S, C = X.S, X.C
  local ip, t = e.ip, e.t
  ladd(S.f, t, e.n)
  if ip == '' then return end
  local r = S.ip[ip]
  local fresh = not r or r.l <= S.now - C.di_w
  if not r then
    r = {f = t, l = t, e = {}, c = 0}
    S.ip[ip] = r
  elseif t < (r.f or r.l) then
    r.f = t
  elseif t > r.l then
    r.l = t
  end
  r.c = r.c + e.n
  ladd(r.e, t, e.n)
  local mi = lgap(r.e)
  local known = knownip(S, ip, t)
  local stale = known and (mi < 0 or mi >= C.stale)
  local kind = stale and 'stale_password' or 'brute_force'
  check(X, kind .. '|' .. ip, t, C.bf_w, bf_eval, ip, t, S.now)
  if fresh then
    check(X, 'distributed', t, C.di_w, di_eval, t, S.now)
  else
    pend(X, 'distributed', di_eval, t, S.now)
  end
end

local function acct_success(X, e)
  local S, C = X.S, X.C
  local ip, t = e.ip, e.t
  local f = lsum(S.f, S.now, C.su_w, S.sfc)
  if f < C.su_f then return end
  -- from an address the account used before, it is the owner logging in
  -- (maybe while someone else guesses elsewhere): not this alert
  local known = ip ~= '' and knownip(S, ip, t)
  local n = 0
  for _, r in pairs(S.ip) do
    if r.l > S.now - C.su_w and (not S.sfc or r.l > S.sfc) then n = n + 1 end
  end
  S.sfc = t
  if known then return end
  fire(X, false, 'success_after_failures', 'success_after_failures|' .. ip,
    'critical', t, lfirst(S.f, S.now, C.su_w), t, X.name, ip, '',
    'login from ' .. (ip ~= '' and ip or 'an unknown address') ..
    ' after ' .. f .. ' failed attempts from ' .. n ..
    (n == 1 and ' address' or ' addresses') .. ' within ' .. C.su_w .. ' s (threshold ' .. C.su_f ..
    '): the password may be stolen',
    kv('window', C.su_w) .. ',' .. kv('failures', f) .. ',' ..
    kv('ips', n) .. ',' .. kv('threshold', C.su_f) .. ',' ..
    ks('service', e.svc))
end

local function place_json(p)
  return '{' .. ks('ip', p.ip) .. ',' .. ks('country', p.cc) .. ',' ..
    ks('city', p.ci) .. ',' .. kv('lat', p.la) .. ',' ..
    kv('lon', p.lo) .. ',' .. kv('accuracy_km', p.ac) .. ',' ..
    ks('time', fm_iso(p.t)) .. '}'
end

local function haversine(a, b)
  local r = math.pi / 180
  local dla, dlo = (b.la - a.la) * r, (b.lo - a.lo) * r
  local h = math.sin(dla / 2) ^ 2 + math.cos(a.la * r) * math.cos(b.la * r) *
    math.sin(dlo / 2) ^ 2
  return 2 * 6371.0088 * math.asin(fm_min(1, math.sqrt(h)))
end

local function travel(X, e)
  local S, C = X.S, X.C
  local p = {t = e.t, la = tonumber(e.lat), lo = tonumber(e.lon),
    ac = tonumber(e.acc) or 0, ip = e.ip, cc = e.cc, ci = e.city}
  local L = S.ll
  if not L or e.t >= L.t then S.ll = p end
  if not L then return end
  local d = haversine(L, p)
  local eff = d - L.ac - p.ac
  local hours = math.abs(e.t - L.t) / 3600
  if eff < C.travel_min or eff <= 0 then return end
  local speed = eff / fm_max(hours, 1 / 3600)
  if speed <= C.speed then return end
  local from, to = L, p
  if e.t < L.t then from, to = p, L end
  fire(X, false, 'impossible_travel', 'impossible_travel', 'high', e.t,
    from.t, to.t, X.name, e.ip, '',
    'logins from ' .. from.cc .. ' (' .. from.ip .. ') and ' .. to.cc ..
    ' (' .. to.ip .. ') ' .. fm_num(fm_floor(d)) .. ' km apart within ' ..
    (hours < 1 and string.format('%.0f min', hours * 60) or
      string.format('%.1f h', hours)) .. ': ' .. fm_num(fm_floor(speed)) ..
    ' km/h, above ' .. C.speed .. ' km/h',
    '"from":' .. place_json(from) .. ',"to":' .. place_json(to) .. ',' ..
    kv('distance_km', fm_num(fm_floor(d))) .. ',' ..
    kv('hours', string.format('%.4f', hours)) .. ',' ..
    kv('speed_kmh', fm_num(fm_floor(speed))) .. ',' ..
    kv('max_speed_kmh', C.speed))
end

local function known_list(M, quote)
  local k = {}
  for c in pairs(M) do k[#k + 1] = c end
  table.sort(k)
  if quote then
    for j = 1, #k do k[j] = '"' .. k[j] .. '"' end
  end
  return '[' .. table.concat(k, ',') .. ']'
end

-- seen - count a place in map M under key, and in the :geo hash
local function seen(X, M, key, field, t, name)
  local c = M[key]
  if not c then
    c = {n = 0, f = t, l = t, nm = name}
    M[key] = c
  end
  c.n = c.n + 1
  if t > c.l then c.l = t end
  if t < c.f then c.f = t end
  X.geo[#X.geo + 1] = field
  X.geo[#X.geo + 1] = c.n .. '|' .. fm_iso(c.f) .. '|' .. fm_iso(c.l) ..
    '|' .. name
end

local function mc_eval(X, flush, ip, t, ref)
  local S, C = X.S, X.C
  local list = {}
  for c, v in pairs(S.cc_t) do
    if v[2] > ref - C.cw and v[1] <= ref then
      list[#list + 1] = '"' .. c .. '"'
    end
  end
  local n = #list
  if n < C.countries then return end
  table.sort(list)
  fire(X, flush, 'many_countries', 'many_countries', 'high', t, t, t,
    X.name, ip, '', 'logins from ' .. n .. ' countries within ' .. C.cw ..
    ' s (threshold ' .. C.countries .. ')',
    kv('window', C.cw) .. ',' .. kv('countries', '[' ..
    table.concat(list, ',') .. ']') .. ',' .. kv('threshold', C.countries),
    dcross(S.cc_t, ref, C.cw, C.countries))
end

local function acct_geo(X, e, learned)
  local S, C = X.S, X.C
  local t = e.t
  local newp
  if e.cc ~= '' then
    if not S.cc[e.cc] and learned then
      newp = 'new_country'
      fire(X, false, 'new_country', 'new_country|' .. e.cc, 'medium', t, t,
        t, X.name, e.ip, '',
        'first login from ' .. e.cc .. (e.city ~= '' and ' (' .. e.city ..
        ')' or '') .. ' for this account, from ' .. e.ip,
        ks('country', e.cc) .. ',' .. ks('country_name', e.cname) .. ',' ..
        ks('city', e.city) .. ',' .. kv('asn', e.asn ~= '' and e.asn or 0) ..
        ',' .. kv('known', known_list(S.cc, true)) .. ',' ..
        kv('logins', S.gn - 1))
    end
    seen(X, S.cc, e.cc, 'cc:' .. e.cc, t, e.cname)
    if e.city ~= '' then
      seen(X, S.ci, e.cc .. ':' .. e.city, 'city:' .. e.cc .. ':' .. e.city,
        t, '')
    end
    local old = dtouch(S.cc_t, e.cc, t)
    if not old or old <= S.now - C.cw then
      check(X, 'many_countries', t, C.cw, mc_eval, e.ip, t, S.now)
    end
  end
  if e.asn ~= '' and e.asn ~= '0' then
    if not S.as[e.asn] and learned then
      newp = newp or 'new_asn'
      fire(X, false, 'new_asn', 'new_asn|' .. e.asn, 'low', t, t, t, X.name,
        e.ip, '', 'first login from AS' .. e.asn .. ' (' .. e.org ..
        ') for this account, from ' .. e.ip,
        kv('asn', e.asn) .. ',' .. ks('org', e.org) .. ',' ..
        ks('country', e.cc) .. ',' .. kv('known', known_list(S.as, false)) ..
        ',' .. kv('logins', S.gn - 1))
    end
    seen(X, S.as, e.asn, 'asn:' .. e.asn, t, e.org)
  end
  if newp then
    S.nl = {t = t, k = newp, ip = e.ip, cc = e.cc,
      as = e.asn ~= '' and e.asn or '0'}
  end
  if e.lat ~= '' and e.lon ~= '' then travel(X, e) end
end

local function acct_ok(X, e)
  local S, C = X.S, X.C
  acct_success(X, e)
  S.no = S.no + 1
  -- learning counts located logins only: logins from unlocated addresses
  -- (LAN, CGNAT, webmail) teach nothing about where the owner is
  if C.geo == 1 and (e.cc ~= '' or (e.asn ~= '' and e.asn ~= '0')) then
    S.gn = (S.gn or 0) + 1
    local learned = S.gn - 1 >= C.learn_logins or
      (S.gfo ~= nil and e.t - S.gfo >= C.learn_days * 86400)
    if not S.gfo or e.t < S.gfo then S.gfo = e.t end
    acct_geo(X, e, learned)
  end
  if e.ip ~= '' then dtouch(S.kn, e.ip, e.t) end
end

-- baseline - fold finished hours into the hourly average and maximum
local function baseline(S, t, C)
  local h = t - t % 3600
  local b = S.sb
  if not b then
    b = {h = h, m = 0, em = 0, mx = 0, mh = h, n = 0}
    S.sb = b
  end
  if h > b.h then
    local a = 2 / (24 * C.send_days + 1)
    local gap = (h - b.h) / 3600
    b.em = b.em + a * (b.m - b.em)
    if gap > 1 then b.em = b.em * (1 - a) ^ fm_min(gap - 1, 100000) end
    if b.m >= b.mx or b.h - b.mh > C.send_days * 86400 then
      b.mx, b.mh = b.m, b.h
    end
    b.n = b.n + gap
    b.h, b.m = h, 0
  end
  if h == b.h then b.m = b.m + 1 end
  return b
end

local function sv_eval(X, flush, t, ref)
  local S, C = X.S, X.C
  local b = S.sb
  local wm, wr = lsum(S.m, ref, C.sw), lsum(S.r, ref, C.sw)
  local why
  if wm >= C.send_msgs or wr >= C.send_rcpts then
    why = 'ceiling'
  elseif b.n >= 24 and wm >= C.send_min and wm > C.send_factor * b.em and
      wm > b.mx then
    why = 'baseline'
  end
  if not why then return end
  local sev, after, also = 'high', '', ''
  local nl = S.nl
  if nl and t >= nl.t and t - nl.t <= C.after then
    sev = 'critical'
    after = ',"after_login":{' .. ks('kind', nl.k) .. ',' ..
      ks('ip', nl.ip) .. ',' .. ks('country', nl.cc) .. ',' ..
      kv('asn', nl.as) .. ',' .. ks('time', fm_iso(nl.t)) .. '}'
    also = '; ' .. fm_num(fm_floor((t - nl.t) / 60)) ..
      ' min after a login from a new place (' .. nl.cc .. ', ' .. nl.ip .. ')'
  end
  fire(X, flush, 'send_volume', 'send_volume', sev, t,
    lfirst(S.m, ref, C.sw), llast(S.m, ref), X.name, '', '',
    wm .. ' messages to ' .. wr .. ' recipients within ' ..
    C.sw .. ' s (' .. why .. ')' .. also,
    kv('window', C.sw) .. ',' .. kv('messages', wm) .. ',' ..
    kv('recipients', wr) .. ',' .. ks('reason', why) .. ',' ..
    kv('ceiling_messages', C.send_msgs) .. ',' ..
    kv('ceiling_recipients', C.send_rcpts) .. ',' ..
    kv('baseline_messages', string.format('%.2f', b.em)) .. ',' ..
    kv('max_messages', b.mx) .. after,
    why == 'ceiling' and (wm >= C.send_msgs and
      lcross(S.m, ref, C.sw, C.send_msgs) or
      lcross(S.r, ref, C.sw, C.send_rcpts)) or nil)
end

local function acct_msg(X, e)
  local S, C = X.S, X.C
  if X.dupq[e.qn] then return end
  local t = e.t
  ladd(S.m, t, 1)
  ladd(S.r, t, e.n)
  baseline(S, t, C)
  check(X, 'send_volume', t, C.sw, sv_eval, t, S.now)
end

-- cs_eval - concurrent_sessions: each session start sessions.lua found
-- while the account held sessions from distinct countries (high) or, the
-- countries being too few, networks (low); its crossing time is the
-- newest start of the sessions involved, whatever order they came in
local function cs_eval(X)
  for _, e in ipairs(FM_SESS.ev) do
    local recs, first, ot = {}, e.t, e.t
    for j, s in ipairs(e.list) do
      recs[j] = s[3]
      if s[1] < first then first = s[1] end
      if s[1] > ot then ot = s[1] end
    end
    local cfg = FM_SESS.s.cfg
    local what = e.bycc and #e.cc .. ' countries (' ..
      table.concat(e.cc, ', ') .. ')' or #e.asn .. ' networks (AS' ..
      table.concat(e.asn, ', AS') .. ')'
    local cl = {}
    for j, c in ipairs(e.cc) do cl[j] = '"' .. c .. '"' end
    fire(X, false, 'concurrent_sessions', 'concurrent_sessions|' ..
      (e.bycc and 'cc' or 'asn'), e.bycc and 'high' or 'low', e.t, first,
      e.t, X.name, e.ip, '', #e.list .. ' sessions open at the same time ' ..
      'from ' .. what,
      kv('sessions', '[' .. table.concat(recs, ',') .. ']') .. ',' ..
      kv('countries', '[' .. table.concat(cl, ',') .. ']') .. ',' ..
      kv('asns', '[' .. table.concat(e.asn, ',') .. ']') .. ',' ..
      kv('threshold_countries', cfg.cc) .. ',' ..
      kv('threshold_asns', cfg.asn), ot)
  end
end

-- ---- address and network detectors ----

-- spraying - distinct accounts that failed from the source within w, or
-- nil when that is below thr or when the source is mostly used by its own
-- users (a webmail or proxy address: more than a third of the accounts
-- seen there logged in)
local function spraying(X, ref, w, thr)
  local S = X.S
  local n = dcount(S.a, ref, w)
  if n < thr then return nil end
  local ok = S.o and dcount(S.o, ref, w) or 0
  if 2 * ok >= n then return nil end
  if X.type == 'n' and dcount(S.ips, ref, w) < 2 then return nil end
  return n
end

local function sp_eval(X, flush, t, ref)
  local S, C = X.S, X.C
  local net = X.type == 'n'
  local kind = net and 'spray_net' or 'spray'
  local w, thr = C.sp_w, net and C.sp_net or C.sp_acc
  local n = spraying(X, ref, w, thr)
  if not n and not net then
    w, thr = C.sp_lw, C.sp_lacc
    n = spraying(X, ref, w, thr)
  end
  if not n then return end
  fire(X, flush, kind, kind, 'high', t, lfirst(S.f, ref, w),
    llast(S.f, ref), '', net and '' or X.name, net and X.name or '',
    (net and 'network ' or '') .. X.name .. ' failed to log in to ' ..
    n .. ' accounts within ' .. w .. ' s (threshold ' .. thr .. ')',
    kv('window', w) .. ',' .. kv('accounts', n) .. ',' ..
    kv('failures', lsum(S.f, ref, w)) .. ',' .. kv('threshold', thr),
    dcross(S.a, ref, w, thr))
end

local function uu_eval(X, flush, t, ref)
  local S, C = X.S, X.C
  local n = dcount(S.u, ref, C.uu_w)
  if n < C.uu_users then return end
  local first = ref
  for _, v in pairs(S.u) do
    if v[2] > ref - C.uu_w and v[1] < first then first = v[1] end
  end
  fire(X, flush, 'unknown_users', 'unknown_users', 'medium', t, first, ref,
    '', X.name, '', X.name .. ' tried ' .. n ..
    ' nonexistent accounts within ' .. C.uu_w .. ' s (threshold ' ..
    C.uu_users .. ')',
    kv('window', C.uu_w) .. ',' .. kv('users', n) .. ',' ..
    kv('threshold', C.uu_users), dcross(S.u, ref, C.uu_w, C.uu_users))
end

local function src_fail(X, e)
  local S, C = X.S, X.C
  local t, net = e.t, X.type == 'n'
  ladd(S.f, t, e.n)
  local old = dtouch(S.a, e.acct, t)
  if net then
    if not dtouch(S.ips, e.ip, t) then old = nil end
  end
  local kind = net and 'spray_net' or 'spray'
  if not old or old <= S.now - C.sp_w then
    check(X, kind, t, C.sp_w, sp_eval, t, S.now)
  else
    pend(X, kind, sp_eval, t, S.now)
  end
  if net or e.unk ~= '1' then return end
  old = dtouch(S.u, e.acct, t)
  if not old or old <= S.now - C.uu_w then
    check(X, 'unknown_users', t, C.uu_w, uu_eval, t, S.now)
  end
end

-- src_ok - a successful login from the source; true when it changed the
-- source's state (successes are remembered only where failures are: they
-- tell a busy shared address from a sprayer)
local function src_ok(X, e)
  local S, C = X.S, X.C
  local net = X.type == 'n'
  if next(S.a) == nil then return false end
  local w, thr = C.sp_w, net and C.sp_net or C.sp_acc
  local n = spraying(X, S.now, w, thr)
  if not n and not net then
    w, thr = C.sp_lw, C.sp_lacc
    n = spraying(X, S.now, w, thr)
  end
  S.o = S.o or {}
  dtouch(S.o, e.acct, e.t)
  if not n then return true end
  fire(X, false, 'success_from_sprayer', 'success_from_sprayer|' .. e.acct,
    'critical', e.t, e.t, e.t, e.acct, e.ip, net and X.name or '',
    'login to this account from ' .. e.ip .. ', ' ..
    (net and 'whose network ' .. X.name or 'which') .. ' failed against ' ..
    n .. ' accounts within ' .. w .. ' s: the password may be stolen',
    kv('window', w) .. ',' .. kv('accounts', n) .. ',' ..
    kv('threshold', thr) .. ',' .. ks('scope', net and 'net' or 'ip') ..
    ',' .. ks('service', e.svc))
  return true
end

-- ---- global ----

local function sg_eval(X, flush, t, ref)
  local S, C = X.S, X.C
  local b = S.bk
  local n = lsum(S.f, ref, C.sg_w)
  if n < C.sg_min or n < C.sg_factor * b.em then return end
  fire(X, flush, 'failure_surge', 'failure_surge', 'high', t,
    lfirst(S.f, ref, C.sg_w), llast(S.f, ref), '', '', '',
    n .. ' failed logins within ' .. C.sg_w .. ' s, ' ..
    string.format('%.1f', b.em) .. ' on average before',
    kv('window', C.sg_w) .. ',' .. kv('failures', n) .. ',' ..
    kv('baseline', string.format('%.1f', b.em)) .. ',' ..
    kv('factor', C.sg_factor) .. ',' .. kv('min_failures', C.sg_min),
    lcross(S.f, ref, C.sg_w, fm_max(C.sg_min, C.sg_factor * b.em)))
end

local function global_fail(X, e)
  local S, C = X.S, X.C
  local t = e.t
  ladd(S.f, t, e.n, FM_GLOBAL_CAP)
  local blk = t - t % C.sg_w
  local b = S.bk
  if not b then
    b = {h = blk, c = 0, em = 0, n = 0}
    S.bk = b
  end
  if blk > b.h then
    local gap = (blk - b.h) / C.sg_w
    local a = 2 / (144 + 1)
    b.em = b.em + a * (b.c - b.em)
    if gap > 1 then b.em = b.em * (1 - a) ^ fm_min(gap - 1, 100000) end
    b.n = b.n + gap
    b.h, b.c = blk, 0
  end
  if blk == b.h then b.c = b.c + e.n end
  check(X, 'failure_surge', t, C.sg_w, sg_eval, t, S.now)
end

-- ---- the D operation ----

local FM_CFG = {'cd', 'bf_w', 'bf_t', 'bf_lw', 'bf_lt', 'stale', 'di_w',
  'di_ips', 'di_lw', 'di_lips', 'su_w', 'su_f', 'sp_w', 'sp_acc', 'sp_lw',
  'sp_lacc', 'sp_net', 'uu_w', 'uu_users', 'sg_w', 'sg_factor', 'sg_min',
  'learn_days', 'learn_logins', 'speed', 'travel_min', 'countries', 'cw',
  'sw', 'send_msgs', 'send_rcpts', 'send_min', 'send_factor', 'send_days',
  'after', 'geo'}
local FM_AFIELDS = {'k', 't', 'n', 'unk', 'svc', 'ip', 'qn', 'cc', 'cname',
  'city', 'lat', 'lon', 'acc', 'asn', 'org'}
local FM_SFIELDS = {'k', 't', 'n', 'unk', 'svc', 'ip', 'acct'}
local FM_GFIELDS = {'k', 't', 'n'}

local function fm_state(key)
  local v = redis.call('GET', key)
  local S = v and cmsgpack.unpack(v) or {}
  S.al = S.al or {}
  S.ab = S.ab or {}
  return S
end

-- fm_prune - keep what the largest window needs, and bounded maps
local function fm_prune(X)
  local S, C, ref = X.S, X.C, X.S.now
  for k, a in pairs(S.al) do
    if a.u <= ref then S.al[k] = nil end
  end
  if X.type == 'a' then
    local wi = fm_max(C.bf_w, C.bf_lw, C.di_lw, C.su_w)
    mprune(S.ip, ref, wi, 1024, function(r) return r.l end)
    for _, r in pairs(S.ip) do lprune(r.e, ref, fm_max(C.bf_w, C.bf_lw)) end
    lprune(S.f, ref, fm_max(C.su_w, C.di_lw))
    lprune(S.m, ref, C.sw)
    lprune(S.r, ref, C.sw)
    mprune(S.kn, ref, X.ttl, 64, dlast)
    mprune(S.cc_t, ref, C.cw, 64, dlast)
    mprune(S.cc, ref, X.ttl, 64, function(c) return c.l end)
    mprune(S.as, ref, X.ttl, 64, function(c) return c.l end)
    mprune(S.ci, ref, X.ttl, 128, function(c) return c.l end)
  elseif X.type == 'g' then
    lprune(S.f, ref, C.sg_w)
  else
    local w = fm_max(C.sp_w, C.sp_lw)
    mprune(S.a, ref, w, 2048, dlast)
    mprune(S.u, ref, C.uu_w, 2048, dlast)
    if S.o then mprune(S.o, ref, w, 2048, dlast) end
    if S.ips then mprune(S.ips, ref, w, 512, dlast) end
    lprune(S.f, ref, w)
  end
end

local function fm_detect(A, i, base, stream, seq, ttl, dupq)
  local X = {type = A[i + 1], bare = A[i + 2], C = {}, out = {}, order = {},
    open = {}, geo = {}, dupq = dupq, ttl = tonumber(ttl), pend = {},
    porder = {}}
  local j = 0
  for v in string.gmatch(A[i + 3], '[^,]+') do
    j = j + 1
    X.C[FM_CFG[j]] = tonumber(v)
  end
  i = i + 4
  X.cd = X.C.cd
  X.name = A[i]
  local nev = tonumber(A[i + 1])
  i = i + 2
  local key = base .. ':det'
  local S = fm_state(key)
  X.S = S
  S.now = S.now or 0
  S.f = S.f or {}
  local F = X.type == 'a' and FM_AFIELDS or X.type == 'g' and FM_GFIELDS or
    FM_SFIELDS
  if X.type == 'a' then
    S.ip, S.kn, S.cc, S.cc_t = S.ip or {}, S.kn or {}, S.cc or {}, S.cc_t or {}
    S.as, S.ci, S.m, S.r = S.as or {}, S.ci or {}, S.m or {}, S.r or {}
    S.no = S.no or 0
  elseif X.type ~= 'g' then
    S.a, S.u = S.a or {}, S.u or {}
    if X.type == 'n' then S.ips = S.ips or {} end
  end
  local nf = #F
  -- an address or network that only saw successful logins keeps its state
  -- as it was: most of them, with no state at all, cost one GET
  local changed = X.type == 'a' or X.type == 'g'
  for _ = 1, nev do
    local e = {}
    for j = 1, nf do e[F[j]] = A[i + j - 1] end
    i = i + nf
    e.t, e.n = tonumber(e.t), tonumber(e.n)
    if e.qn then e.qn = tonumber(e.qn) end
    if e.t > S.now then S.now = e.t end
    if X.type == 'a' then
      if e.k == 'f' then acct_fail(X, e)
      elseif e.k == 'o' then acct_ok(X, e)
      else acct_msg(X, e) end
    elseif X.type == 'g' then
      global_fail(X, e)
    elseif e.k == 'f' then
      changed = true
      src_fail(X, e)
    elseif src_ok(X, e) then
      changed = true
    end
  end
  if X.type == 'a' and #FM_SESS.ev > 0 then cs_eval(X) end
  flush_pending(X)
  -- (the third value: whether anything was written)
  if not changed and #X.order == 0 then return {}, i, false end
  fm_prune(X)
  local res = {}
  for _, id in ipairs(X.order) do
    local o, n = X.out[id], #res
    res[n + 1], res[n + 2], res[n + 3] = id, o[1], o[2]
    res[n + 4], res[n + 5], res[n + 6] = o[3], o[4], o[5]
  end
  if #res > 0 then
    table.insert(S.ab, {s = stream, q = seq, r = res})
    while #S.ab > 8 do table.remove(S.ab, 1) end
    local h = {}
    for k, j in pairs(X.open) do h[#h + 1] = k; h[#h + 1] = j end
    redis.call('HSET', base .. ':alerts_open', unpack(h))
    redis.call('EXPIRE', base .. ':alerts_open', ttl)
  end
  if #X.geo > 0 then
    redis.call('HSET', base .. ':geo', unpack(X.geo))
    redis.call('EXPIRE', base .. ':geo', ttl)
  end
  redis.call('SET', key, cmsgpack.pack(S), 'EX', ttl)
  return res, i, true
end

-- fm_replayed - the alerts a batch this subject already applied raised
local function fm_replayed(base, stream, seq)
  local v = redis.call('GET', base .. ':det')
  if not v then return 0 end
  local S = cmsgpack.unpack(v)
  for _, b in ipairs(S.ab or {}) do
    if b.s == stream and b.q == seq then
      local out = {0}
      for j = 1, #b.r do out[j + 1] = b.r[j] end
      return out
    end
  end
  return 0
end
