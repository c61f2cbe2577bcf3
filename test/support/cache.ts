// The cache as tests see it: keys named as the worker and the read API name them (and the Go
// service does: test/cache/cache-key.test.ts holds the literal form), filled as the read path
// fills them, and checked against MongoDB.
import type { Db } from "mongodb";
import { cacheKey } from "../../src/cache/read-cache.js";
import type { RedisClient } from "../../src/redis/connection.js";
import { COLLECTION } from "../../src/store/interactives.js";

export function articleKey(aid: bigint | number | string): string {
  return cacheKey("article", String(aid));
}

/**
 * Fills an article's key as the read path does for an article with no document yet: zeros, at
 * version 0 (the version its first write starts from).
 */
export async function fillAbsent(redis: RedisClient, aid: bigint | number | string): Promise<void> {
  const key = articleKey(aid);
  await redis.del(key);
  await redis.hset(key, { read_cnt: 0, like_cnt: 0, collect_cnt: 0, v: 0 });
  await redis.expire(key, 3600);
}

/**
 * The cache keys among `aids`'s that exist but do not hold exactly their document (read_cnt and
 * version), each with what it holds and what MongoDB holds; empty when the cache is exact.
 */
export async function cacheMismatches(redis: RedisClient, db: Db, aids: Iterable<string>): Promise<string[]> {
  const off: string[] = [];
  for (const aid of aids) {
    const [readCnt, v] = await redis.hmget(articleKey(aid), "read_cnt", "v");
    if (readCnt === null && v === null) continue;
    const doc = await db
      .collection(COLLECTION)
      .findOne(
        { _id: `article:${aid}` as never },
        { projection: { read_cnt: 1, v: 1 }, promoteLongs: false },
      );
    const want = [String(doc?.read_cnt ?? 0), String(doc?.v ?? 0)];
    if (readCnt !== want[0] || v !== want[1])
      off.push(`cache of article ${aid}: read_cnt ${readCnt} at v${v}, MongoDB ${want[0]} at v${want[1]}`);
  }
  return off;
}
