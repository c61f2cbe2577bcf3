// The Redis cache of interactive counters: hash `interactive:<biz>:<bizId>` with fields
// read_cnt, like_cnt, collect_cnt, as the Go service. Increments touch only cached keys; the
// read path fills a missing key from MongoDB with a TTL, so any lag or error ends at the TTL.
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import type { Config } from "../config.js";
import type { Counts } from "../store/interactives.js";

const incrIfPresentLua = readFileSync(new URL("./incr-if-present.lua", import.meta.url), "utf8");

/**
 * The cache's Redis (CACHE_REDIS_URL, else the queue's REDIS_URL). Commands fail fast when it is
 * away: a cache that cannot be reached is a miss, never a reason to hold reads back.
 */
export function cacheConnection(config: Pick<Config, "REDIS_URL" | "CACHE_REDIS_URL">): Redis {
  return new Redis(config.CACHE_REDIS_URL ?? config.REDIS_URL, {
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
  });
}

export function cacheKey(biz: string, bizId: bigint | string): string {
  return `interactive:${biz}:${bizId}`;
}

type WithScript = Redis & {
  incrIfPresent(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

export class ReadCache {
  private readonly redis: WithScript;

  constructor(redis: Redis) {
    if (!("incrIfPresent" in redis)) redis.defineCommand("incrIfPresent", { lua: incrIfPresentLua });
    this.redis = redis as WithScript;
  }

  /**
   * In one round trip: adds `increments` to read_cnt of the cached keys among them, and deletes
   * `invalidate` (keys whose cached value may already hold some of the events).
   * Returns how many keys were incremented.
   */
  async applyReads(increments: ReadonlyMap<string, number>, invalidate: readonly string[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    const keys = [...increments.keys()];
    if (keys.length > 0) {
      (pipeline as unknown as WithScript).incrIfPresent(
        keys.length,
        ...keys,
        "read_cnt",
        ...increments.values(),
      );
    }
    if (invalidate.length > 0) pipeline.del(...invalidate);
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    return keys.length > 0 ? Number(results[0]?.[1] ?? 0) : 0;
  }

  async get(key: string): Promise<Counts | null> {
    const h = await this.redis.hgetall(key);
    if (h.read_cnt === undefined && h.like_cnt === undefined && h.collect_cnt === undefined) return null;
    return {
      readCnt: Number(h.read_cnt ?? 0),
      likeCnt: Number(h.like_cnt ?? 0),
      collectCnt: Number(h.collect_cnt ?? 0),
    };
  }

  async fill(key: string, counts: Counts, ttlSeconds: number): Promise<void> {
    await this.redis
      .multi()
      .hset(key, { read_cnt: counts.readCnt, like_cnt: counts.likeCnt, collect_cnt: counts.collectCnt })
      .expire(key, ttlSeconds)
      .exec();
  }
}
