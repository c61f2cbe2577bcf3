-- The Go service's cache update, as the seed path of bench:peers runs it: adds to one counter
-- field of cached interactive hashes, only where the hash exists (no version check).
--
-- KEYS[1..n]     cache keys, e.g. interactive:article:42
-- ARGV[1]        hash field, e.g. read_cnt
-- ARGV[2..n+1]   integer delta for KEYS[i], in the same order
-- Returns        the number of keys that existed and were incremented
local field = ARGV[1]
local incremented = 0
for i, key in ipairs(KEYS) do
  if redis.call("EXISTS", key) == 1 then
    redis.call("HINCRBY", key, field, tonumber(ARGV[i + 1]))
    incremented = incremented + 1
  end
end
return incremented
