-- Fills a cache hash with the counters of one version of its document, unless the hash holds
-- that version or a later one already (a fill that read MongoDB before a write must not replace
-- the hash that write brought forward).
--
-- KEYS[1]    cache key, e.g. interactive:article:42
-- ARGV[1]    the document's version read (its `v`, 0 when it had none or did not exist)
-- ARGV[2]    TTL in seconds
-- ARGV[3..]  field, value, field, value, ... (read_cnt, like_cnt, collect_cnt)
-- Returns    1 when the hash was written, 0 when it was left as it was

-- pcall: HGET fails on a key that is not a hash (WRONGTYPE); such a key, or a hash without a
-- numeric v, is replaced.
local raw = redis.pcall("HGET", KEYS[1], "v")
local have = type(raw) == "string" and tonumber(raw) or nil
if have ~= nil and have >= tonumber(ARGV[1]) then
  return 0
end
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "v", ARGV[1], unpack(ARGV, 3))
redis.call("EXPIRE", KEYS[1], ARGV[2])
return 1
