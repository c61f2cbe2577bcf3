// The Redis cache of interactive counters: hash `interactive:<biz>:<bizId>` with fields
// read_cnt, like_cnt, collect_cnt, as the Go service. Increments touch only cached keys; the
// read path fills a missing key from MongoDB with a TTL, so any lag or error ends at the TTL.
import { readFileSync } from "node:fs";
import { Cluster } from "ioredis";
import type { RedisClient } from "../redis/connection.js";
import { bySlot } from "../redis/key-slot.js";
import type { Counts } from "../store/interactives.js";

const incrIfPresentLua = readFileSync(new URL("./incr-if-present.lua", import.meta.url), "utf8");

export function cacheKey(biz: string, bizId: bigint | string): string {
  return `interactive:${biz}:${bizId}`;
}

type WithScript = RedisClient & {
  incrIfPresent(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

export class ReadCache {
  private readonly redis: WithScript;

  constructor(redis: RedisClient) {
    if (!("incrIfPresent" in redis)) redis.defineCommand("incrIfPresent", { lua: incrIfPresentLua });
    this.redis = redis as WithScript;
  }

  /**
   * Adds `increments` to read_cnt of the cached keys among them, and deletes `invalidate` (keys
   * whose cached value may already hold some of the events). One round trip on a single Redis; on
   * a cluster, one round trip per node, with a script call per hash slot (a call's keys must share
   * one). Returns how many keys were incremented.
   */
  async applyReads(increments: ReadonlyMap<string, number>, invalidate: readonly string[]): Promise<number> {
    if (this.redis instanceof Cluster) return this.applyReadsBySlot(this.redis, increments, invalidate);
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

  private async applyReadsBySlot(
    cluster: Cluster,
    increments: ReadonlyMap<string, number>,
    invalidate: readonly string[],
  ): Promise<number> {
    // One pipeline per node: each holds a script call and a DEL per slot of that node's keys.
    // (Slots not yet known, or moved meanwhile, are redirected by ioredis.)
    const pipelines = new Map<string, { pipeline: ReturnType<Cluster["pipeline"]>; scripts: number[] }>();
    const pipelineOf = (slot: number) => {
      const node = cluster.slots[slot]?.join(",") ?? "";
      let p = pipelines.get(node);
      if (p === undefined) {
        p = { pipeline: cluster.pipeline(), scripts: [] };
        pipelines.set(node, p);
      }
      return p;
    };
    for (const [slot, group] of bySlot(increments, ([key]) => key)) {
      const p = pipelineOf(slot);
      const keys = group.map(([key]) => key);
      p.scripts.push(p.pipeline.length);
      (p.pipeline as unknown as WithScript).incrIfPresent(
        keys.length,
        ...keys,
        "read_cnt",
        ...group.map(([, n]) => n),
      );
    }
    for (const [slot, keys] of bySlot(invalidate, (key) => key)) pipelineOf(slot).pipeline.del(...keys);
    let incremented = 0;
    await Promise.all(
      [...pipelines.values()].map(async ({ pipeline, scripts }) => {
        const results = (await pipeline.exec()) ?? [];
        for (const [err] of results) if (err) throw err;
        for (const i of scripts) incremented += Number(results[i]?.[1] ?? 0);
      }),
    );
    return incremented;
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
