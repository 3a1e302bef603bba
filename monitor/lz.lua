-- SPDX-License-Identifier: BSD-2-Clause
-- lz.lua - FMZ.unlz(s), the decoder of "FZ1" blobs (archived history days)
-- in Redis Lua, which has no zlib; monitor/lz.c describes the format and
-- holds the compressor.  The build joins this file first, before
-- history.lua, sessions.lua and detect.lua, into one chunk (scripts.c); it
-- defines one local, FMZ.  FMZ.unlz returns the raw string, or nil and the
-- message lz_decompress would give.
--
-- Growing a string byte by byte would copy it each time, so the output is
-- a table of byte numbers holding at most 192 Ki of them: past that, the
-- oldest 128 Ki become strings (string.char of 4096 at a time) and the
-- last 64 Ki, where copies reach, move to its front.
--
-- SECURITY: a blob is not trusted: every length and distance is checked
-- against the blob and the output so far, and a bad one gives nil and a
-- message, never a Lua error; every token moves the loop on.

local FMZ = {}

do
  local byte, char, sub = string.byte, string.char, string.sub
  local concat, unpack = table.concat, unpack
  local KEEP, SPAN, CHUNK = 65536, 131072, 4096

  -- fmz_emit - t[1..n] as strings appended to parts
  local function fmz_emit(t, n, parts)
    for a = 1, n, CHUNK do
      local b = a + CHUNK - 1
      if b > n then b = n end
      parts[#parts + 1] = char(unpack(t, a, b))
    end
  end

  -- fmz_header - the announced length and where the tokens start
  local function fmz_header(s)
    if sub(s, 1, 3) ~= "FZ1" then return nil, "bad magic" end
    local v, mul = 0, 1
    for i = 4, 8 do
      local c = byte(s, i)
      if c == nil then return nil, "truncated length" end
      if (i == 8 and c > 15) or (i > 4 and c == 0) then
        return nil, "overlong length"
      end
      if c < 128 then return v + c * mul, i + 1 end
      v = v + (c - 128) * mul
      mul = mul * 128
    end
  end

  function FMZ.unlz(s)
    if type(s) ~= "string" then return nil, "not a string" end
    local raw, i = fmz_header(s)
    if raw == nil then return nil, i end
    local n, t, p, done, parts = #s, {}, 0, 0, {}
    while i <= n do
      local at = i - 1
      if done == raw then return nil, "trailing bytes at byte " .. at end
      local c, len = byte(s, i)
      if c < 128 then
        len = c + 1
        if n - i < len then return nil, "truncated literal at byte " .. at end
        if len > raw - done then
          return nil, "output past length " .. raw .. " at byte " .. at
        end
        for k = i + 1, i + len do
          p = p + 1
          t[p] = byte(s, k)
        end
        i = i + len + 1
      else
        if n - i < 2 then return nil, "truncated copy at byte " .. at end
        local hi, lo = byte(s, i + 1, i + 2)
        local d = hi * 256 + lo
        if d == 0 or d > done then
          return nil, "bad distance " .. d .. " at byte " .. at
        end
        len = c - 124
        if len > raw - done then
          return nil, "output past length " .. raw .. " at byte " .. at
        end
        for k = p + 1, p + len do
          t[k] = t[k - d]
        end
        p = p + len
        i = i + 3
      end
      done = done + len
      if p >= KEEP + SPAN then
        fmz_emit(t, SPAN, parts)
        for k = 1, p - SPAN do t[k] = t[k + SPAN] end
        p = p - SPAN
      end
    end
    if done < raw then
      return nil, "output short of length " .. raw .. ": " .. done .. " bytes"
    end
    fmz_emit(t, p, parts)
    return concat(parts)
  end
end
