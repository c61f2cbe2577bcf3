-- Drops the events of a completed read job, keeping the rest of its data (its range above all):
-- once applied, a job's events are read by nobody (the ingestor needs its range and return
-- value; a retry by hand finds every event at or below the marks), and they are nearly all of
-- the queue's memory. Only the completion the caller saw, of the data its worker applied, is
-- touched: BullMQ clears finishedOn and returnvalue when a job is retried, a job added again
-- under its id has its own, and data edited since the worker read it has another digest. Such a
-- job keeps its data.
--
-- KEYS[1]  the job's hash (<prefix>:<queue>:<job id>)
-- ARGV[1]  finishedOn of the completion seen (Unix ms, as BullMQ stored it)
-- ARGV[2]  returnvalue of that completion (JSON, as BullMQ stored it)
-- ARGV[3]  SHA-1 (hex) of the data the worker applied, as BullMQ stored it (its return value's
--          dataSha1)
-- ARGV[4]  the same data without its events (JSON)
-- Returns  1 when the data was replaced, 0 when it was left as it was

local job = redis.call("HMGET", KEYS[1], "finishedOn", "returnvalue", "data")
if job[1] ~= ARGV[1] or job[2] ~= ARGV[2] or not job[3] or redis.sha1hex(job[3]) ~= ARGV[3] then
  return 0
end
redis.call("HSET", KEYS[1], "data", ARGV[4])
return 1
