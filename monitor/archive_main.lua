-- fumidai archive v1: read or fold one archived day of one account.
-- (monitor/compact.c; the build puts lz.lua and archive.lua before this)
-- KEYS   the day's :c:<day>, :lr:<day> and :m:<day> hashes, then its
--        :h:<day> archive (one account: one Cluster slot)
-- ARGV   "raw" kind      {archive or "", HGETALL of the day hash of kind
--                        ("c", "l" or "m")}: the readers merge them
--        "get" kind      the day hash of kind merged with the archive, in
--                        HGETALL's shape (the same merge, done in Lua)
--        "read"          {token, c, l, m, live, bad}: the three merged
--                        hashes, the fields the live hashes hold, 1 when
--                        an archive is there but cannot be read (else 0),
--                        and a token naming the day's present state
--        "write" token blob
--                        if the day is still as "read" saw it, the archive
--                        becomes blob (kept as long as the longest TTL of
--                        the four keys) and the live hashes go: 1; else 0
--                        (something was written meanwhile: read again)
local KS = {c = 1, l = 2, m = 3}
local mode, call = ARGV[1], redis.call

if mode == 'raw' then
  -- what readers merge themselves (compact.c): no decoding in Redis, so a
  -- huge archived day costs Redis a GET, not a decompression
  local j = KS[ARGV[2]]
  if not j then return redis.error_reply('fumidai: bad archive kind') end
  local blob = redis.pcall('GET', KEYS[4])
  if type(blob) ~= 'string' then blob = '' end
  return {blob, call('HGETALL', KEYS[j])}
end

if mode == 'get' then
  local j = KS[ARGV[2]]
  if not j then return redis.error_reply('fumidai: bad archive kind') end
  return FMA.merged(KEYS[j], KEYS[4], ARGV[2])
end

-- token - a digest of the four keys' contents (hash fields sorted)
local function token()
  local parts = {}
  for j = 1, 3 do
    local a = call('HGETALL', KEYS[j])
    local idx = {}
    for q = 1, #a, 2 do idx[#idx + 1] = q end
    table.sort(idx, function(x, y) return a[x] < a[y] end)
    parts[#parts + 1] = tostring(#idx)
    for _, q in ipairs(idx) do
      parts[#parts + 1] = #a[q] .. ':' .. a[q] .. #a[q + 1] .. ':' .. a[q + 1]
    end
  end
  local h = call('GET', KEYS[4])
  parts[#parts + 1] = h and (#h .. ':' .. h) or '-'
  return redis.sha1hex(table.concat(parts, ','))
end

if mode == 'read' then
  local live = 0
  for j = 1, 3 do live = live + call('HLEN', KEYS[j]) end
  local bad = call('EXISTS', KEYS[4]) == 1 and not FMA.load(KEYS[4])
  return {token(), FMA.merged(KEYS[1], KEYS[4], 'c'),
    FMA.merged(KEYS[2], KEYS[4], 'l'), FMA.merged(KEYS[3], KEYS[4], 'm'),
    live, bad and 1 or 0}
end

if mode == 'write' then
  if token() ~= ARGV[2] then return 0 end
  local ttl = 0		-- the longest TTL in ms; -1 when a key has none
  for j = 1, 4 do
    local t = call('PTTL', KEYS[j])
    if t == -1 then ttl = -1
    elseif t > ttl and ttl ~= -1 then ttl = t end
  end
  if ARGV[3] == '' then
    call('DEL', KEYS[4])
  elseif ttl > 0 then
    call('SET', KEYS[4], ARGV[3], 'PX', ttl)
  else
    call('SET', KEYS[4], ARGV[3])
  end
  call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 1
end
return redis.error_reply('fumidai: bad archive mode')
