-- tagmembers.lua: the entries of one tag that still exist, for an invalidation by tag; prunes the rest.
--
-- KEYS[1]  the tag index key          {ns}#tag:<tag>   set: entry keys written with the tag
-- Returns  the entry keys ({ns}:<key>) that exist; members whose entry is gone (expired, evicted, deleted) are
--          removed from the set. A member rewritten since without the tag is still listed: the invalidation then
--          removes more than it had to, never less.
local alive = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', member) == 1 then
    alive[#alive + 1] = member
  else
    redis.call('SREM', KEYS[1], member)
  end
end
return alive
