-- SPDX-License-Identifier: BSD-2-Clause
-- history.lua - the stored form of an account's history records
-- (doc/redis.md): the apply script's M operation (message records) and U
-- operation (login roll-ups) keep them compact, and monitor/cmd_history.c
-- (history_expand_*) expands them back to the documented JSON for every
-- reader.  The build joins this file with sessions.lua and detect.lua into
-- one chunk before the apply script (scripts.c); it defines one local, FMH.
--
-- A stored record is a list of slots separated by \31 (trailing empty slots
-- left out); a message's recipients follow its slots, each after a \30.
-- Text is kept as JSON string contents (escaped as the JSON record would
-- hold it: control bytes, '"' and '\' escaped), so no slot holds a byte
-- below 32, and expanding a slot is copying it between quotes.  A slot is
--   ""            absent (or, for a derived slot, the derived value)
--   "\28"         absent, for a derived slot whose derived value exists
--   "\29" text    the string text, literally (empty strings, times that are
--                 not "YYYY-MM-DDTHH:MM:SSZ", one-letter statuses)
--   text          the slot's own form: string text, a decimal number, a
--                 time as seconds from its base, a status letter
-- Message slots: time (from the day's start), msgid (ending in "@": the
-- sender's domain follows), from (derived: the account name), subject, size, nrcpt, ip, service, qid and host (derived:
-- the hash field "<host>|<qid>"), then the login: time (from the
-- message's time; "" no login, "\28" a login without time), ip and service
-- (derived: the message's), mech, inferred ("1"/"0"), accounts,
-- confidence (derived: "low" when accounts > 1, else "high", for an
-- inferred login).  Recipient slots: to, status (s d b e: sent deferred
-- bounced expired), time (from the message's time), relay, dsn (derived:
-- "2.0.0" when sent).
-- A roll-up is n, first, last (seconds from the day's start), mech, host,
-- reason, cc, city, asn, asorg: model.c writes it so, the script merges.
-- The same record always gives the same bytes.
--
-- The chunk runs again at every call, so the memo tables below (times,
-- day starts, the account name of a tag) last one call: a message's times
-- and names are converted once however often its record is decoded and
-- encoded.
--
-- SECURITY: every string is attacker-controlled; it is only escaped,
-- compared and stored, never interpreted.

local FMH = {}
local fmh_memo = {secs = {}, iso = {}, day = {}, acct = {}}

local function fmh_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function fmh_iso_calc(t)
  local z = math.floor(t / 86400)
  local s = t - z * 86400
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) +
    math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', y, m, d,
    math.floor(s / 3600), math.floor(s / 60) % 60, s % 60)
end

local function fmh_iso(t)
  if t ~= t then return fmh_iso_calc(t) end
  local v = fmh_memo.iso[t]
  if not v then
    v = fmh_iso_calc(t)
    fmh_memo.iso[t] = v
  end
  return v
end

-- the time "YYYY-MM-DDTHH:MM:SSZ" v in Unix seconds, when it is exactly so
local function fmh_secs_calc(v)
  local y, mo, d, h, mi, s = string.match(v,
    '^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$')
  if not y then return nil end
  local t = fmh_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 +
    tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
  if fmh_iso(t) ~= v then return nil end
  return t
end

local function fmh_secs(v)
  if type(v) ~= 'string' then return nil end
  local t = fmh_memo.secs[v]
  if t == nil then
    t = fmh_secs_calc(v) or false
    fmh_memo.secs[v] = t
  end
  return t or nil
end

function FMH.daystart(day)
  local t = fmh_memo.day[day]
  if not t then
    t = fmh_civil(tonumber(string.sub(day, 1, 4)),
      tonumber(string.sub(day, 5, 6)), tonumber(string.sub(day, 7, 8))) * 86400
    fmh_memo.day[day] = t
  end
  return t
end

local function fmh_jesc(c)
  if c == '"' then return '\\"' elseif c == '\\' then return '\\\\' end
  return string.format('\\u%04x', string.byte(c))
end

local function fmh_esc(v)
  if type(v) == 'string' and not string.find(v, '[%c"\\]') then return v end
  return (string.gsub(tostring(v), '[%c"\\]', fmh_jesc))
end

local function fmh_unesc(s)
  if string.find(s, '\\', 1, true) then return cjson.decode('"' .. s .. '"') end
  return s
end

-- slot encoders: nil is absent
local function e_str(v)
  if v == nil then return '' end
  if type(v) ~= 'string' or v == '' then return '\29' .. fmh_esc(v) end
  return fmh_esc(v)
end

local function e_der(v, dv)
  if v == dv then return '' end
  if v == nil then return '\28' end
  return e_str(v)
end

local function e_num(v)
  if v == nil then return '' end
  if type(v) == 'number' then return string.format('%d', v) end
  return '\29' .. fmh_esc(v)
end

local function e_time(v, base)
  if v == nil then return '' end
  local t = fmh_secs(v)
  if t then return string.format('%d', t - base) end
  return '\29' .. fmh_esc(v)
end

local ST_ENC = {sent = 's', deferred = 'd', bounced = 'b', expired = 'e'}
local ST_DEC = {s = 'sent', d = 'deferred', b = 'bounced', e = 'expired'}

-- slot decoders ('' absent)
local function d_str(s)
  if s == nil or s == '' then return nil end
  if string.byte(s) == 29 then return fmh_unesc(string.sub(s, 2)) end
  return fmh_unesc(s)
end

local function d_der(s, dv)
  if s == nil or s == '' then return dv end
  if s == '\28' then return nil end
  return d_str(s)
end

local function d_num(s)
  if s == nil or s == '' or string.byte(s) == 29 then return d_str(s) end
  return tonumber(s)
end

local function d_time(s, base)
  if s == nil or s == '' or string.byte(s) == 29 then return d_str(s) end
  return fmh_iso(base + tonumber(s))
end

local function fmh_split(s, sep)
  local t, p = {}, 1
  while true do
    local q = string.find(s, sep, p, true)
    if not q then
      t[#t + 1] = string.sub(s, p)
      return t
    end
    t[#t + 1] = string.sub(s, p, q - 1)
    p = q + 1
  end
end

local function fmh_join(t)
  local n = #t
  while n > 0 and t[n] == '' do n = n - 1 end
  return table.concat(t, '\31', 1, n)
end

local function fmh_unhex(h)
  return string.char(tonumber(h, 16))
end

-- what the field "<host>|<qid>" and the account's tag give
local function fmh_derived(base, field)
  local host, qid = string.match(field, '^(.*)|([^|]*)$')
  local acct = fmh_memo.acct[base]
  if acct == nil then
    local hex = string.match(base, '{a:(%x*)}$')
    acct = hex and string.gsub(hex, '%x%x', fmh_unhex) or false
    fmh_memo.acct[base] = acct
  end
  if host == '' then host = nil end
  return host, qid, acct or nil
end

-- the sender's domain (after its last "@"), which a Message-ID often ends in
local function fmh_domain(from)
  if type(from) ~= 'string' then return nil end
  local d = string.match(from, '@([^@]+)$')
  return d
end

local function e_msgid(v, from)
  local d = fmh_domain(from)
  if type(v) == 'string' and d and #v > #d + 1 and
      string.sub(v, -#d - 1) == '@' .. d then
    return fmh_esc(string.sub(v, 1, -#d - 1))
  end
  if type(v) == 'string' and string.sub(v, -1) == '@' then
    return '\29' .. fmh_esc(v)
  end
  return e_str(v)
end

local function d_msgid(s, from)
  local v = d_str(s)
  local d = fmh_domain(from)
  if v and d and string.byte(s) ~= 29 and string.sub(v, -1) == '@' then
    return v .. d
  end
  return v
end

local function fmh_dsn(st)
  if st == 'sent' then return '2.0.0' end
  return nil
end

local function fmh_conf(l)
  if l.inferred == true and type(l.accounts) == 'number' then
    return l.accounts > 1 and 'low' or 'high'
  end
  return nil
end

-- FMH.msg_enc - the stored form of message record rec (a table)
function FMH.msg_enc(rec, day, base, field)
  local host, qid, acct = fmh_derived(base, field)
  local d0 = FMH.daystart(day)
  local mt = fmh_secs(rec.time)
  local tb = mt or d0
  local s = {e_time(rec.time, d0), e_msgid(rec.msgid, rec.from),
    e_der(rec.from, acct),
    e_str(rec.subject), e_num(rec.size), e_num(rec.nrcpt), e_str(rec.ip),
    e_str(rec.service), e_der(rec.qid, qid), e_der(rec.host, host)}
  local l = rec.login
  if type(l) == 'table' then
    s[11] = l.time == nil and '\28' or e_time(l.time, tb)
    s[12], s[13] = e_der(l.ip, rec.ip), e_der(l.service, rec.service)
    s[14] = e_str(l.mech)
    s[15] = l.inferred == nil and '' or (l.inferred and '1' or '0')
    s[16], s[17] = e_num(l.accounts), e_der(l.confidence, fmh_conf(l))
  end
  local out = {fmh_join(s)}
  if type(rec.rcpt) == 'table' then
    for _, r in ipairs(rec.rcpt) do
      local st = r.status
      if ST_ENC[st] then st = ST_ENC[st]
      elseif type(st) == 'string' and #st > 1 then st = fmh_esc(st)
      elseif st ~= nil then st = '\29' .. fmh_esc(st)
      else st = '' end
      out[#out + 1] = fmh_join({e_str(r.to), st, e_time(r.time, tb),
        e_str(r.relay), e_der(r.dsn, fmh_dsn(r.status))})
    end
  end
  return table.concat(out, '\30')
end

-- FMH.msg_dec - the record (a table) of a stored message
function FMH.msg_dec(v, day, base, field)
  if string.sub(v, 1, 1) == '{' then return cjson.decode(v) end
  local host, qid, acct = fmh_derived(base, field)
  local d0 = FMH.daystart(day)
  local parts = fmh_split(v, '\30')
  local s = fmh_split(parts[1], '\31')
  local rec = {time = d_time(s[1], d0), from = d_der(s[3], acct), subject = d_str(s[4]), size = d_num(s[5]),
    nrcpt = d_num(s[6]), ip = d_str(s[7]), service = d_str(s[8]),
    qid = d_der(s[9], qid), host = d_der(s[10], host)}
  rec.msgid = d_msgid(s[2], rec.from)
  local tb = fmh_secs(rec.time) or d0
  if s[11] and s[11] ~= '' then
    local l = {}
    if s[11] ~= '\28' then l.time = d_time(s[11], tb) end
    l.ip, l.service = d_der(s[12], rec.ip), d_der(s[13], rec.service)
    l.mech = d_str(s[14])
    if s[15] == '1' then l.inferred = true
    elseif s[15] == '0' then l.inferred = false end
    l.accounts = d_num(s[16])
    l.confidence = d_der(s[17], fmh_conf(l))
    rec.login = l
  end
  if #parts > 1 then
    rec.rcpt = {}
    for j = 2, #parts do
      local r = fmh_split(parts[j], '\31')
      local st = r[2]
      if st and ST_DEC[st] then st = ST_DEC[st] else st = d_str(st) end
      rec.rcpt[j - 1] = {to = d_str(r[1]), status = st,
        time = d_time(r[3], tb), relay = d_str(r[4]),
        dsn = d_der(r[5], fmh_dsn(st))}
    end
  end
  return rec
end

-- FMH.ru_merge - roll-up r (from a batch) merged into the stored o:
-- n added, first the earlier, last the later, the rest from the later
local RU = '^(%d+)\31(%-?%d+)\31(%-?%d+)(.*)$'
function FMH.ru_merge(o, r)
  if not o then return r end
  local on, of, ol, orest = string.match(o, RU)
  local rn, rf, rl, rrest = string.match(r, RU)
  if not on or not rn then return r end
  of, ol, rf, rl = tonumber(of), tonumber(ol), tonumber(rf), tonumber(rl)
  if ol > rl then rrest = orest end
  return string.format('%d\31%d\31%d', tonumber(on) + tonumber(rn),
    math.min(of, rf), math.max(ol, rl)) .. rrest
end
