-- delete.lua: remove one entry unless a newer version than the caller's is held.
--
-- KEYS[1]  the entry's key            {ns}:<key>
-- KEYS[2]  the namespace's counters   {ns}#meta        hash: bytes, entries
-- KEYS[3]  the expiry index           {ns}#expiry      zset: entry key -> expiry
-- KEYS[4]  the size index             {ns}#sizes       hash: entry key -> sizeBytes
-- ARGV[1]  highest version that may be removed (decimal), or '' to remove whatever is held
-- Returns  1 when an entry was removed, 0 when none was held, -1 when a newer version was held and kept
local head = redis.call('GETRANGE', KEYS[1], 0, 31)
if head ~= '' and ARGV[1] ~= '' then
  local space = string.find(head, ' ', 1, true)
  local held = space and tonumber(string.sub(head, 2, space - 1))
  if held and held > tonumber(ARGV[1]) then return -1 end
end
local removed = redis.call('UNLINK', KEYS[1])
local size = redis.call('HGET', KEYS[4], KEYS[1])
if size then
  redis.call('HDEL', KEYS[4], KEYS[1])
  redis.call('HINCRBY', KEYS[2], 'bytes', -tonumber(size))
  redis.call('HINCRBY', KEYS[2], 'entries', -1)
end
redis.call('ZREM', KEYS[3], KEYS[1])
return removed
