-- SPDX-License-Identifier: BSD-2-Clause
-- lz.lua - FMZ.unlz(s), the decoder of "FZ1" and "FZ2" blobs (archived
-- history days) in Redis Lua, which has no zlib; monitor/lz.c describes
-- the formats and holds the compressor.  The build joins this file first,
-- before history.lua, sessions.lua and detect.lua, into one chunk
-- (scripts.c); it defines one local, FMZ.  FMZ.unlz returns the raw
-- string, or nil and the message lz_decompress would give.
--
-- Growing a string byte by byte would copy it each time, so the output is
-- a table of byte numbers holding at most 192 Ki of them: past that, the
-- oldest 128 Ki become strings (string.char of 4096 at a time) and the
-- last 64 Ki, where copies reach, move to its front.
--
-- FZ2's tokens are decoded first, into a string of FZ1 tokens, through a
-- table indexed by the next W bits (W: the longest code) built once per
-- blob.  The bits are LSB-first and held in a number, acc, with cap =
-- 2 ^ (bits held): peeking is acc % 2 ^ W, and dropping a code of d =
-- 2 ^ length is (acc - acc % d) / d: Lua arithmetic, no call per code.
--
-- SECURITY: a blob is not trusted: every length and distance is checked
-- against the blob and the output so far, and a bad one gives nil and a
-- message, never a Lua error; every token and every code moves the loop
-- on, and an FZ2 token count is at most 8 per byte of the blob.

local FMZ = {}

do
  local byte, char, sub = string.byte, string.char, string.sub
  local concat, unpack = table.concat, unpack
  local KEEP, SPAN, CHUNK = 65536, 131072, 4096
  local P2 = {}
  for k = 0, 12 do P2[k] = 2 ^ k end

  -- fmz_emit - t[1..n] as strings appended to parts
  local function fmz_emit(t, n, parts)
    for a = 1, n, CHUNK do
      local b = a + CHUNK - 1
      if b > n then b = n end
      parts[#parts + 1] = char(unpack(t, a, b))
    end
  end

  -- fmz_varint - the varint at s[i] and the index after it; what names it
  -- in the message
  local function fmz_varint(s, i, what)
    local v, mul = 0, 1
    for k = 0, 4 do
      local c = byte(s, i + k)
      if c == nil then return nil, "truncated " .. what end
      if (k == 4 and c > 15) or (k > 0 and c == 0) then
        return nil, "overlong " .. what
      end
      if c < 128 then return v + c * mul, i + k + 1 end
      v = v + (c - 128) * mul
      mul = mul * 128
    end
  end

  -- fmz_tokens - run the FZ1 tokens of s[i..] into raw bytes
  local function fmz_tokens(s, i, raw)
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

  -- fmz_table - the code lengths (value -> length) of the table at s[i]
  -- and the index after it; a bad one is named by the byte of its last
  -- nibble read
  local function fmz_table(s, i)
    local lens, sym, cur, half = {}, 0, 0, false
    local function nibble()
      if half then
        half = false
        return cur % 16
      end
      cur = byte(s, i)
      if cur == nil then return nil end
      i, half = i + 1, true
      return (cur - cur % 16) / 16
    end
    while sym < 256 do
      local v = nibble()
      if v == nil then return nil, "truncated table" end
      if v >= 1 and v <= 12 then lens[sym] = v end
      if v <= 12 then
        sym = sym + 1
      elseif v ~= 15 then
        local r, r2 = nibble(), 0
        if v == 14 and r then r2 = nibble() end
        if r == nil or r2 == nil then return nil, "truncated table" end
        if v == 13 then sym = sym + r + 2 else sym = sym + 16 * r + r2 + 18 end
      end
      if v == 15 or sym > 256 then
        return nil, "bad table at byte " .. (i - 2)
      end
    end
    if half and cur % 16 ~= 0 then return nil, "bad table at byte " .. (i - 2) end
    return lens, i
  end

  -- fmz_code - the decoding tables of lens: value and 2 ^ length by the
  -- next W bits, W; or nil and the message
  local function fmz_code(lens)
    local count, kraft, w, n = {}, 0, 0, 0
    for l = 0, 12 do count[l] = 0 end
    for v = 0, 255 do
      local l = lens[v]
      if l then
        count[l], n = count[l] + 1, n + 1
        kraft = kraft + P2[12 - l]
        if l > w then w = l end
      end
    end
    if w == 0 then return nil, "empty code" end
    if kraft > 4096 then return nil, "over-subscribed code" end
    if kraft < 4096 and not (kraft == 2048 and n == 1) then
      return nil, "incomplete code"
    end
    local nextc, c, sym, div, top = {}, 0, {}, {}, P2[w]
    for l = 1, 12 do
      c = (c + count[l - 1]) * 2
      nextc[l] = c
    end
    for v = 0, 255 do
      local l = lens[v]
      if l then
        local x, r = nextc[l], 0
        nextc[l] = x + 1
        for _ = 1, l do
          local b = x % 2
          r, x = r * 2 + b, (x - b) / 2
        end
        local d = P2[l]
        for k = r, top - 1, d do
          sym[k], div[k] = v, d
        end
      end
    end
    return sym, div, w
  end

  -- fmz_bits - the n token bytes coded in s[i..] as a string
  local function fmz_bits(s, i, n, sym, div, w)
    local len, top, acc, cap, k = #s, P2[w], 0, 1, 0
    local t, parts = {}, {}
    while k < n do
      local m = n - k
      if m > CHUNK then m = CHUNK end
      for q = 1, m do
        if cap < top then
          if i + 3 <= len then
            local a, b, c, e = byte(s, i, i + 3)
            acc = acc + (((e * 256 + c) * 256 + b) * 256 + a) * cap
            cap, i = cap * 4294967296, i + 4
          else
            while i <= len and cap < 4294967296 do
              acc, cap, i = acc + byte(s, i) * cap, cap * 256, i + 1
            end
          end
        end
        local x = acc % top
        local d = div[x]
        if d == nil then return nil, "bad code at token " .. (k + q - 1) end
        t[q] = sym[x]
        acc, cap = (acc - x % d) / d, cap / d
      end
      parts[#parts + 1] = char(unpack(t, 1, m))
      k = k + m
    end
    if cap < 1 then return nil, "bitstream ends early" end
    local whole = 0
    while cap >= 256 do
      cap, whole = cap / 256, whole + 1
    end
    local at = i - 1 - whole
    if at < len then return nil, "trailing bytes at byte " .. at end
    if acc ~= 0 then return nil, "nonzero padding" end
    return concat(parts)
  end

  -- fmz_fz2 - the FZ1 tokens of the FZ2 blob s, its count at s[i]
  local function fmz_fz2(s, i)
    local n, sym, div, w, lens
    n, i = fmz_varint(s, i, "count")
    if n == nil then return nil, i end
    if n > 0 then
      lens, i = fmz_table(s, i)
      if lens == nil then return nil, i end
      sym, div, w = fmz_code(lens)
      if sym == nil then return nil, div end
    end
    if n > (#s - i + 1) * 8 then
      return nil, "token count " .. n .. " past the blob"
    end
    if n == 0 then sym, div, w = {}, {}, 0 end
    return fmz_bits(s, i, n, sym, div, w)
  end

  function FMZ.unlz(s)
    if type(s) ~= "string" then return nil, "not a string" end
    local magic = sub(s, 1, 3)
    if magic ~= "FZ1" and magic ~= "FZ2" then return nil, "bad magic" end
    local raw, i = fmz_varint(s, 4, "length")
    if raw == nil then return nil, i end
    if magic == "FZ1" then return fmz_tokens(s, i, raw) end
    local tok, err = fmz_fz2(s, i)
    if tok == nil then return nil, err end
    local out
    out, err = fmz_tokens(tok, 1, raw)
    if out == nil then return nil, "tokens: " .. err end
    return out
  end
end
