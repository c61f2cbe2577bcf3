// The queue's Redis must never evict: BullMQ keeps jobs, their locks and the queue's lists as
// ordinary keys, and a Redis that evicts under memory pressure drops them silently (a job
// vanishes, a lock disappears and the job runs twice, a list loses entries). The cache's Redis
// may evict: a missing cache key is a miss, refilled from MongoDB by the read API.
import type { Config } from "../config.js";
import { commandConnection, type RedisClient, servers } from "../redis/connection.js";

/**
 * The maxmemory-policy of the Redis, or the first one found evicting among a cluster's masters,
 * from INFO (which works where CONFIG is disabled, as on managed Redis).
 */
async function maxmemoryPolicy(redis: RedisClient): Promise<string | undefined> {
  let found: string | undefined;
  for (const server of servers(redis)) {
    const policy = /^maxmemory_policy:(\S+)/m.exec(await server.info("memory"))?.[1];
    if (policy !== undefined && policy !== "noeviction") return policy;
    found ??= policy;
  }
  return found;
}

/** Refuses to go on with a queue Redis that may evict, saying what to change. */
export async function assertQueueRedisKeepsKeys(redis: RedisClient): Promise<void> {
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
export async function queueConnection(
  config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER">,
): Promise<RedisClient> {
  const redis = commandConnection(config);
  try {
    await assertQueueRedisKeepsKeys(redis);
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  }
}
