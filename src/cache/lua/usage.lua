-- usage.lua: the namespace's byte and entry counts, after dropping the accounting of entries Redis expired.
--
-- KEYS[1]  the namespace's counters   {ns}#meta        hash: bytes, entries, evictions
-- KEYS[2]  the expiry index           {ns}#expiry      zset: entry key -> Redis time (ms) it expires
-- KEYS[3]  the size index             {ns}#sizes       hash: entry key -> sizeBytes
-- ARGV[1]  most expired index members to sweep in this call
-- ARGV[2]  index members to check for keys Redis evicted on its own (maxmemory), from the cursor set.lua also moves
-- Returns  { bytes, entries, evictions, lost }: lost = entries found gone before their expiry (Redis evicted them);
--          one found gone past its expiry (more expired than ARGV[1] sweeps) expired, and is not counted
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local freed, count = 0, 0

local function forget(member)
  local size = redis.call('HGET', KEYS[3], member)
  if size then
    freed = freed + tonumber(size)
    count = count + 1
    redis.call('HDEL', KEYS[3], member)
  end
  redis.call('ZREM', KEYS[2], member)
end

local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(gone) do forget(member) end
local check = tonumber(ARGV[2] or '0')
if check > 0 then
  local card = redis.call('ZCARD', KEYS[2])
  local at = tonumber(redis.call('HGET', KEYS[1], 'cursor') or '0')
  if at >= card then at = 0 end
  local lost, removed = 0, 0
  local range = redis.call('ZRANGE', KEYS[2], at, at + check - 1, 'WITHSCORES')
  for i = 1, #range, 2 do
    if redis.call('EXISTS', range[i]) == 0 then
      forget(range[i])
      removed = removed + 1
      if tonumber(range[i + 1]) > now then lost = lost + 1 end
    end
  end
  redis.call('HSET', KEYS[1], 'cursor', at + check - removed)
  if lost > 0 then redis.call('HINCRBY', KEYS[1], 'lost', lost) end
end
if count > 0 then
  -- Not HINCRBY: an older version may have charged fractional sizes, which HINCRBY refuses.
  local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
  redis.call('HSET', KEYS[1], 'bytes', bytes - freed)
  redis.call('HINCRBY', KEYS[1], 'entries', -count)
end
local m = redis.call('HMGET', KEYS[1], 'bytes', 'entries', 'evictions', 'lost')
return { tonumber(m[1] or '0'), tonumber(m[2] or '0'), tonumber(m[3] or '0'), tonumber(m[4] or '0') }
