// The Redis cache of interactive counters: hash `interactive:<biz>:<bizId>` with fields
// read_cnt, like_cnt, collect_cnt, as the Go service, and `v`: the version of the MongoDB document
// whose counters the hash holds. The read path fills a missing key from MongoDB with a TTL;
// a group's write moves a hash at the version it wrote over to the next version, and drops a
// hash at an older one. So a hash is never ahead of its document and never holds a write twice
// (see docs/architecture.md, "The cache").
import { readFileSync } from "node:fs";
import { Cluster } from "ioredis";
import type { RedisClient } from "../redis/connection.js";
import { bySlot } from "../redis/key-slot.js";
import type { Counts } from "../store/interactives.js";

const incrIfCurrentLua = readFileSync(new URL("./incr-if-current.lua", import.meta.url), "utf8");
const fillIfNewerLua = readFileSync(new URL("./fill-if-newer.lua", import.meta.url), "utf8");

export function cacheKey(biz: string, bizId: bigint | string): string {
  return `interactive:${biz}:${bizId}`;
}

/**
 * One article of a group, as the cache follows it (see incr-if-current.lua). delta > 0: the
 * group's write took the document from `version` to `version` + 1. delta = 0: no write; the
 * document is at `version` or later.
 */
export interface CacheWrite {
  key: string;
  /** The document's version before the write (0 when it had none), or as last read. */
  version: number;
  /** Reads the write added; 0 for an article the group found applied already. */
  delta: number;
}

/** What a group's cache update did: hashes brought forward, hashes dropped as stale. */
export interface CacheApplied {
  incremented: number;
  dropped: number;
}

type WithScripts = RedisClient & {
  incrIfCurrent(...numKeysKeysAndArgs: (string | number)[]): Promise<[number, number]>;
  fillIfNewer(key: string, ...args: (string | number)[]): Promise<number>;
};

/**
 * Keys per script call. A group may write tens of thousands of articles: one call for all would
 * overflow the stack that spreads its arguments (about 40,000 keys), and hold Redis for the
 * whole loop. Each key's update stands alone (its version says), so calls need not be one.
 */
const KEYS_PER_CALL = 1000;

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += KEYS_PER_CALL) yield items.slice(i, i + KEYS_PER_CALL);
}

const scriptArgs = (writes: readonly CacheWrite[]): (string | number)[] => [
  writes.length,
  ...writes.map((w) => w.key),
  "read_cnt",
  ...writes.flatMap((w) => [w.version, w.delta]),
];

export class ReadCache {
  private readonly redis: WithScripts;

  constructor(redis: RedisClient) {
    if (!("incrIfCurrent" in redis)) redis.defineCommand("incrIfCurrent", { lua: incrIfCurrentLua });
    if (!("fillIfNewer" in redis))
      redis.defineCommand("fillIfNewer", { numberOfKeys: 1, lua: fillIfNewerLua });
    this.redis = redis as WithScripts;
  }

  /**
   * Follows a group's MongoDB writes in the cache (incr-if-current.lua), KEYS_PER_CALL keys per
   * script call: on a single Redis, the calls sent at once; on a cluster, one pipeline per node,
   * with calls per hash slot (a call's keys must share one). Running it again changes nothing:
   * the hashes it moved are at the new version.
   */
  async applyWrites(writes: readonly CacheWrite[]): Promise<CacheApplied> {
    const applied: CacheApplied = { incremented: 0, dropped: 0 };
    if (writes.length === 0) return applied;
    const add = (result: unknown) => {
      const [incremented, dropped] = result as [number, number];
      applied.incremented += Number(incremented);
      applied.dropped += Number(dropped);
    };
    if (!(this.redis instanceof Cluster)) {
      const redis = this.redis;
      for (const result of await Promise.all(
        [...chunks(writes)].map((c) => redis.incrIfCurrent(...scriptArgs(c))),
      ))
        add(result);
      return applied;
    }
    // One pipeline per node, with a script call per slot of that node's keys. (Slots not yet
    // known, or moved meanwhile, are redirected by ioredis.)
    const cluster = this.redis;
    const pipelines = new Map<string, ReturnType<Cluster["pipeline"]>>();
    for (const [slot, group] of bySlot(writes, (w) => w.key)) {
      const node = cluster.slots[slot]?.join(",") ?? "";
      let pipeline = pipelines.get(node);
      if (pipeline === undefined) {
        pipeline = cluster.pipeline();
        pipelines.set(node, pipeline);
      }
      for (const c of chunks(group)) (pipeline as unknown as WithScripts).incrIfCurrent(...scriptArgs(c));
    }
    await Promise.all(
      [...pipelines.values()].map(async (pipeline) => {
        for (const [err, result] of (await pipeline.exec()) ?? []) {
          if (err) throw err;
          add(result);
        }
      }),
    );
    return applied;
  }

  /** Deletes a key whose hash may no longer hold its document's counters. */
  async drop(key: string): Promise<void> {
    await this.redis.del(key);
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

  /**
   * Fills a key with the counters of its document at `version`, unless it holds that version or
   * a later one (fill-if-newer.lua). True when it wrote the key.
   */
  async fill(key: string, counts: Counts, version: number, ttlSeconds: number): Promise<boolean> {
    const written = await this.redis.fillIfNewer(
      key,
      version,
      ttlSeconds,
      "read_cnt",
      counts.readCnt,
      "like_cnt",
      counts.likeCnt,
      "collect_cnt",
      counts.collectCnt,
    );
    return written === 1;
  }
}
