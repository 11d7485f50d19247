-- delete.lua: remove one entry unless a newer version than the caller's is held.
--
-- KEYS[1]  the entry's key            {ns}:<key>
-- KEYS[2]  the namespace's counters   {ns}#meta        hash: bytes, entries
-- KEYS[3]  the expiry index           {ns}#expiry      zset: entry key -> expiry
-- KEYS[4]  the size index             {ns}#sizes       hash: entry key -> sizeBytes
-- ARGV[1]  highest version that may be removed (decimal), or '' to remove whatever is held
-- Returns  1 when an entry was removed, 0 when none was held, -1 when a newer version was held and kept
--
-- A value whose header holds no version this codec writes (a finite decimal >= 0) is foreign: it is removed.

-- The version a value's header holds, or nil when it is not one this codec writes (as in set.lua).
local function heldVersion(head)
  local space = string.find(head, ' ', 1, true)
  if string.sub(head, 1, 1) ~= 'm' or not space then return nil end
  local text = string.sub(head, 2, space - 1)
  if not string.find(text, '^%d[%d.e+-]*$') then return nil end
  local held = tonumber(text)
  if held == nil or held ~= held or held == math.huge then return nil end
  return held
end

if ARGV[1] ~= '' then
  local held = heldVersion(redis.call('GETRANGE', KEYS[1], 0, 31))
  if held and held > tonumber(ARGV[1]) then return -1 end
end
local removed = redis.call('UNLINK', KEYS[1])
local size = redis.call('HGET', KEYS[4], KEYS[1])
if size then
  redis.call('HDEL', KEYS[4], KEYS[1])
  -- Not HINCRBY: an older version may have charged a fractional size, which HINCRBY refuses (after the UNLINK).
  local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0')
  redis.call('HSET', KEYS[2], 'bytes', bytes - tonumber(size))
  redis.call('HINCRBY', KEYS[2], 'entries', -1)
end
redis.call('ZREM', KEYS[3], KEYS[1])
return removed
