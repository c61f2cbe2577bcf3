// The queue's Redis must never evict: BullMQ keeps jobs, their locks and the queue's lists as
// ordinary keys, and a Redis that evicts under memory pressure drops them silently (a job
// vanishes, a lock disappears and the job runs twice, a list loses entries). The cache's Redis
// may evict: a missing cache key is a miss, refilled from MongoDB by the read API.
import type { Redis } from "ioredis";
import type { Config } from "../config.js";
import { commandConnection } from "./queues.js";

/** The Redis's maxmemory-policy, from INFO (works where CONFIG is disabled, as on managed Redis). */
export async function maxmemoryPolicy(redis: Redis): Promise<string | undefined> {
  const info = await redis.info("memory");
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

/** Refuses to go on with a queue Redis that may evict, saying what to change. */
export async function assertQueueRedisKeepsKeys(redis: Redis): Promise<void> {
  const policy = await maxmemoryPolicy(redis);
  if (policy === undefined || policy === "noeviction") return;
  throw new Error(
    `the queue's Redis (REDIS_URL) runs maxmemory-policy ${policy}: it would evict BullMQ's jobs and ` +
      `locks under memory pressure, losing or repeating work. Set maxmemory-policy noeviction on it ` +
      `(redis.conf, or CONFIG SET maxmemory-policy noeviction), or point REDIS_URL at a Redis that ` +
      `runs it. The cache can stay on a Redis that evicts: set CACHE_REDIS_URL to it.`,
  );
}

/** The queue's command connection, once its Redis is known to keep every key. */
export async function queueConnection(config: Pick<Config, "REDIS_URL">): Promise<Redis> {
  const redis = commandConnection(config);
  try {
    await assertQueueRedisKeepsKeys(redis);
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
