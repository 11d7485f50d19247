-- set.lua: store one entry if no newer version is held, keeping the namespace's byte budget.
--
-- KEYS[1]  the entry's key            {ns}:<key>       string: 'm<version> <payload>'
-- KEYS[2]  the namespace's counters   {ns}#meta        hash: bytes, entries, evictions
-- KEYS[3]  the expiry index           {ns}#expiry      zset: entry key -> Redis time (ms) it expires, +inf if never
-- KEYS[4]  the size index             {ns}#sizes       hash: entry key -> sizeBytes charged
-- ARGV[1]  the encoded value
-- ARGV[2]  the entry's version (decimal)
-- ARGV[3]  time to live in ms (an integer > 0), or 0 for no expiry
-- ARGV[4]  bytes charged for the entry (an integer <= maxBytes, checked by the caller)
-- ARGV[5]  maxBytes, the namespace's budget
-- ARGV[6]  most expired index members to sweep in this call
-- ARGV[7]  index members to check for keys Redis evicted on its own (maxmemory), from a cursor kept in the counters;
--          a member gone whose expiry has passed expired (it is dropped, not counted lost)
-- ARGV[8]  '1' to store the entry as the newest (a write that named no version): when the version held is the
--          same or newer, the entry is stored one above it instead, its value's head rewritten to say so
-- KEYS[5..] the tag index keys of the entry's tags ({ns}#tag:<tag>, sets of entry keys): the entry key joins each,
--          which lives at least as long as its longest-lived member (a member without expiry makes it persistent);
--          two random members of each are checked and removed when their entry is gone (the index is pruned as it
--          is written, and by tagmembers.lua)
-- Returns  { stored (1, or 0 when a newer version is held), entries evicted for the budget, bytes, entries,
--          the version stored (decimal string) }
--
-- All keys share the namespace's hash tag, so they live in one slot and the evictions below (keys taken from
-- the index, not from KEYS) stay on this node in a cluster. Eviction takes the entry nearest its expiry first
-- (Redis's volatile-ttl order), ties in key order.
local value = ARGV[1]
local version = ARGV[2]

-- The version a value's header holds (its text and number), or nil when the header is not one this codec writes: a
-- finite decimal >= 0 (redis-codec.ts refuses the rest too). A foreign value is replaced like an older one.
local function heldVersion(head)
  local space = string.find(head, ' ', 1, true)
  if string.sub(head, 1, 1) ~= 'm' or not space then return nil end
  local text = string.sub(head, 2, space - 1)
  if not string.find(text, '^%d[%d.e+-]*$') then return nil end
  local held = tonumber(text)
  if held == nil or held ~= held or held == math.huge then return nil end
  return held, text
end

local held, heldText = heldVersion(redis.call('GETRANGE', KEYS[1], 0, 31))
if held and ARGV[8] == '1' and held >= tonumber(version) then
  local above = math.floor(held) + 1
  -- Past 2^53 one more is the same double: the write takes the held version, in its own text (an equal version
  -- replaces, as below; '%.0f' would spell a large one in hundreds of digits, past the header's 32 bytes).
  if above <= held then version = heldText else version = string.format('%.0f', above) end
  local mine = string.find(value, ' ', 1, true)
  value = 'm' .. version .. string.sub(value, mine)
elseif held and held > tonumber(version) then
  return { 0, 0 }
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0')
local entries = tonumber(redis.call('HGET', KEYS[2], 'entries') or '0')

local function forget(member)
  local size = redis.call('HGET', KEYS[4], member)
  if size then
    bytes = bytes - tonumber(size)
    entries = entries - 1
    redis.call('HDEL', KEYS[4], member)
  end
  redis.call('ZREM', KEYS[3], member)
end

-- Entries Redis expired on its own: drop their accounting (bounded per call).
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))
for _, member in ipairs(gone) do forget(member) end

-- Entries Redis evicted under its maxmemory (no expiry to find them by): a few index members a call, from a cursor
-- that walks the index by rank and wraps, are checked for existence. One gone past its expiry expired (more than
-- one call sweeps had): not lost.
local check = tonumber(ARGV[7])
if check > 0 then
  local card = redis.call('ZCARD', KEYS[3])
  local at = tonumber(redis.call('HGET', KEYS[2], 'cursor') or '0')
  if at >= card then at = 0 end
  local lost, removed = 0, 0
  local range = redis.call('ZRANGE', KEYS[3], at, at + check - 1, 'WITHSCORES')
  for i = 1, #range, 2 do
    local member = range[i]
    if member ~= KEYS[1] and redis.call('EXISTS', member) == 0 then
      forget(member)
      removed = removed + 1
      if tonumber(range[i + 1]) > now then lost = lost + 1 end
    end
  end
  redis.call('HSET', KEYS[2], 'cursor', at + check - removed)
  if lost > 0 then redis.call('HINCRBY', KEYS[2], 'lost', lost) end
end

forget(KEYS[1])
local size = tonumber(ARGV[4])
local max = tonumber(ARGV[5])
local evicted = 0
while bytes + size > max do
  local victim = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  if not victim then break end
  forget(victim)
  redis.call('UNLINK', victim)
  evicted = evicted + 1
end

local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], value, 'PX', ttl)
  redis.call('ZADD', KEYS[3], now + ttl, KEYS[1])
else
  redis.call('SET', KEYS[1], value)
  redis.call('ZADD', KEYS[3], '+inf', KEYS[1])
end
redis.call('HSET', KEYS[4], KEYS[1], size)
for i = 5, #KEYS do
  local index = KEYS[i]
  for _, member in ipairs(redis.call('SRANDMEMBER', index, 2)) do
    if member ~= KEYS[1] and redis.call('EXISTS', member) == 0 then redis.call('SREM', index, member) end
  end
  -- Before the SADD: -2 (no set yet) takes this entry's TTL, -1 (a member without expiry) keeps none.
  local left = redis.call('PTTL', index)
  redis.call('SADD', index, KEYS[1])
  if ttl > 0 then
    if left == -2 or (left >= 0 and left < ttl) then redis.call('PEXPIRE', index, ttl) end
  else
    redis.call('PERSIST', index)
  end
end
bytes = bytes + size
entries = entries + 1
redis.call('HSET', KEYS[2], 'bytes', bytes, 'entries', entries)
if evicted > 0 then redis.call('HINCRBY', KEYS[2], 'evictions', evicted) end
return { 1, evicted, bytes, entries, version }
