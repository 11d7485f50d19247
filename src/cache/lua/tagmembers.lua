-- tagmembers.lua: one step of listing a tag's entries that still exist, for an invalidation by tag; prunes the rest.
--
-- KEYS[1]  the tag index key          {ns}#tag:<tag>   set: entry keys written with the tag
-- ARGV[1]  the SSCAN cursor ('0' to start)
-- ARGV[2]  members to look at in this step (SSCAN's COUNT)
-- Returns  { next cursor ('0' when done), entry keys ({ns}:<key>) of this step that exist... }; members whose entry
--          is gone (expired, evicted, deleted) are removed from the set. Steps keep each call short on a large tag
--          (one SMEMBERS of 100,000 members took ~200 ms inside Redis). A member rewritten since without the tag
--          is still listed: the invalidation then removes more than it had to, never less.
local step = redis.call('SSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local reply = { step[1] }
for _, member in ipairs(step[2]) do
  if redis.call('EXISTS', member) == 1 then
    reply[#reply + 1] = member
  else
    redis.call('SREM', KEYS[1], member)
  end
end
return reply
