-- SPDX-License-Identifier: BSD-2-Clause
-- archive.lua - an account's archived history days (doc/redis.md,
-- "Archived days").  Once a day is archive_after_days old, `fumidai
-- compact` (monitor/compact.c) folds its three hashes, the counters
-- `:c:<day>`, the login roll-ups `:lr:<day>` and the messages `:m:<day>`,
-- into one string `:h:<day>`: the entries below, compressed by monitor/lz.c
-- (the "FZ1" format, decoded by lz.lua's FMZ.unlz).
--
-- The raw archive is a list of entries, sorted by kind then field bytes:
--   kind   one byte: "c" a counter, "l" a login roll-up, "m" a message
--   field  varint length, then the hash field's bytes
--   value  varint length, then the stored value (as the hash held it)
-- (varints are LEB128, as in lz.lua).
--
-- A write that reaches an archived day later (a delivery a week after the
-- message, a replay of an older log) goes to the live hash again: the
-- apply script starts from the archived value (FMA.value) so the live one
-- is complete, and readers (FMA.merged) take the live value over the
-- archived one, except counters, which add up.  The next `compact` folds
-- the live hash into the archive again.
--
-- SECURITY: fields and values are attacker-controlled bytes; they are only
-- compared and copied.  A damaged archive reads as absent, never as an
-- error that would stop the apply script.

local FMA = {}

local function fma_varint(s, p)
  local v, mul = 0, 1
  for k = 0, 4 do
    local b = string.byte(s, p + k)
    if not b then return nil end
    if b < 128 then return v + b * mul, p + k + 1 end
    v, mul = v + (b - 128) * mul, mul * 128
  end
  return nil
end

local FMA_KIND = {c = 'c', l = 'l', m = 'm'}

-- FMA.parse - the raw archive as {c = {}, l = {}, m = {}} (field -> value)
function FMA.parse(raw)
  local t = {c = {}, l = {}, m = {}}
  local p, n = 1, #raw
  while p <= n do
    local k = FMA_KIND[string.sub(raw, p, p)]
    local fl, q = fma_varint(raw, p + 1)
    if not k or not fl or q + fl - 1 > n then return nil end
    local f = string.sub(raw, q, q + fl - 1)
    local vl, r = fma_varint(raw, q + fl)
    if not vl or r + vl - 1 > n then return nil end
    t[k][f] = string.sub(raw, r, r + vl - 1)
    p = r + vl
  end
  return t
end

-- the parsed archives this script call has read, by key (false: none)
local fma_seen = {}

-- FMA.load - the parsed archive at key hkey, or nil
function FMA.load(hkey)
  local t = fma_seen[hkey]
  if t == nil then
    local blob = redis.pcall('GET', hkey)
    if type(blob) ~= 'string' then blob = nil end	-- none, or not a string
    local raw = blob and FMZ.unlz(blob)
    t = raw and FMA.parse(raw) or false
    fma_seen[hkey] = t
  end
  return t or nil
end

-- FMA.value - the archived value of field f of kind k on day of subject
-- base, for a write that found no live value (nil when none is archived)
function FMA.value(base, day, k, f)
  if not string.find(base, '{a:%x*}$') then return nil end
  local t = FMA.load(base .. ':h:' .. day)
  return t and t[k][f]
end

-- FMA.expire - give a day hash the apply script has just created the
-- remaining lifetime of the day's archive, if the day has one (a late
-- write does not extend the day); else ttl seconds
function FMA.expire(key, base, day, ttl)
  local p = -1
  if string.find(base, '{a:%x*}$') then
    p = redis.call('PTTL', base .. ':h:' .. day)	-- -2: no archive
  end
  if p > 0 then
    redis.call('PEXPIRE', key, p)
  else
    redis.call('EXPIRE', key, ttl)
  end
end

-- FMA.merged - HGETALL of day hash key (kind k) with its archive: the live
-- value over the archived one, counters added
function FMA.merged(key, hkey, k)
  local live = redis.call('HGETALL', key)
  local t = FMA.load(hkey)
  if not t then return live end
  local v, out, n = {}, {}, 0
  for f, x in pairs(t[k]) do v[f] = x end
  for j = 1, #live, 2 do
    local f, x = live[j], live[j + 1]
    if k == 'c' and v[f] then
      x = string.format('%d', (tonumber(v[f]) or 0) + (tonumber(x) or 0))
    end
    v[f] = x
  end
  for f, x in pairs(v) do
    out[n + 1], out[n + 2], n = f, x, n + 2
  end
  return out
end
