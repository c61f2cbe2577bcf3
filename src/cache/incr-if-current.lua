-- Follows a group's MongoDB writes in cached interactive hashes. A hash holds the counters of
-- one version of its document (field v); this moves it to the next version or drops it, and
-- never creates one: the Go service's check-then-increment (a missing key stays missing, the
-- read path fills it), made exact by the version.
--
-- KEYS[1..n]   cache keys, e.g. interactive:article:42
-- ARGV[1]      counter field, e.g. read_cnt
-- ARGV[2i], ARGV[2i+1]  for KEYS[i]: a version of the document and a delta.
--              delta > 0: the group's write took the document from that version (0 when it had
--              none) to the next, adding delta. A hash at that version gets delta and the next
--              version; one at an older version missed a write and is dropped; one at the next
--              version or later holds the write already (filled after it, or this call run a
--              second time) and is left as it is.
--              delta = 0: nothing written; the document is at that version or later (a replay
--              read it). A hash at an older version missed a write (its writer died before
--              its cache update) and is dropped.
--              A key without a numeric v (a hash filled by something that did not say what it
--              read, or not a hash at all) is dropped.
-- Returns      {incremented, dropped}
local field = ARGV[1]
local incremented = 0
local dropped = 0
for i, key in ipairs(KEYS) do
  -- pcall: HGET fails on a key that is not a hash (WRONGTYPE); such a key has no version.
  local raw = redis.pcall("HGET", key, "v")
  local have = type(raw) == "string" and tonumber(raw) or nil
  if have == nil then
    -- No version: a missing key stays missing; any other key cannot say what it holds.
    if redis.call("EXISTS", key) == 1 then
      redis.call("DEL", key)
      dropped = dropped + 1
    end
  else
    local from = tonumber(ARGV[2 * i])
    local delta = tonumber(ARGV[2 * i + 1])
    if delta > 0 and have == from then
      redis.call("HINCRBY", key, field, delta)
      redis.call("HSET", key, "v", from + 1)
      incremented = incremented + 1
    elseif have < from then
      redis.call("DEL", key)
      dropped = dropped + 1
    end
  end
end
return {incremented, dropped}
