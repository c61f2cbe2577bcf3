// Connections to the local (or configured) services and the small operations on them the
// benchmark shares: names per design, Redis memory sampling, cache keys, MongoDB totals.
import { Redis } from "ioredis";
import { type Kafka, logLevel } from "kafkajs";
import { type Db, MongoClient } from "mongodb";
import { type Config, loadConfig } from "../../src/config.js";
import { kafkaClient } from "../../src/kafka/client.js";
import { COLLECTION } from "../../src/store/interactives.js";
import type { DesignName, PeersOptions } from "./options.js";
import type { BacklogPlan } from "./zipf.js";

export const ROOT = new URL("../../", import.meta.url).pathname;
/** The service locations are taken from the environment; every other setting is the default. */
export const SERVICE_VARIABLES = ["KAFKA_BROKERS", "REDIS_URL", "MONGO_URL"] as const;

export function serviceConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, string | undefined> = {};
  for (const key of SERVICE_VARIABLES) picked[key] = env[key];
  return loadConfig(picked);
}

export function log(message: string): void {
  process.stderr.write(`[peers ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export interface Services {
  config: Config;
  kafka: Kafka;
  /** For polling totals and reading counts: not monitored, so never counted. */
  poll: MongoClient;
  redis: Redis;
  close(): Promise<void>;
}

export async function openServices(config: Config): Promise<Services> {
  const kafka = kafkaClient({
    clientId: "bench-peers",
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.ERROR,
  });
  const poll = await new MongoClient(config.MONGO_URL).connect();
  const redis = new Redis(config.REDIS_URL);
  return {
    config,
    kafka,
    poll,
    redis,
    async close() {
      await poll.close();
      redis.disconnect();
    },
  };
}

export interface Backlog {
  topic: string;
  plan: BacklogPlan;
  /** The hottest article ids whose cache keys are filled before each design. */
  hot: string[];
}

/** Names of one design's consumer group, database, Redis key prefix and queues. */
export interface DesignNames {
  design: DesignName;
  group: string;
  db: string;
  /** Prefix of its cache keys: `<prefix>interactive:article:<id>`. */
  prefix: string;
  queue: string;
  deadQueue: string;
}

export function designNames(run: string, design: DesignName): DesignNames {
  return {
    design,
    group: `${run}-${design}`,
    db: `${run}-${design}`.replace(/-/g, "_"),
    // The pipeline's worker writes the project's fixed keys `interactive:article:<id>`.
    prefix: design === "pipeline" ? "" : `${run}:${design}:`,
    queue: `${run}-${design}-work`,
    deadQueue: `${run}-${design}-dead`,
  };
}

export function cacheKeyOf(prefix: string, aid: string): string {
  return `${prefix}interactive:article:${aid}`;
}

export interface DesignContext {
  options: PeersOptions;
  services: Services;
  backlog: Backlog;
  names: DesignNames;
}

/** Samples Redis `used_memory` every 200 ms on its own connection; keeps the peak. */
export class RedisMemorySampler {
  private readonly redis: Redis;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  baseline = 0;
  peak = 0;

  constructor(url: string) {
    this.redis = new Redis(url);
  }

  async usedMemory(): Promise<number> {
    const info = await this.redis.info("memory");
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  }

  async start(): Promise<void> {
    this.baseline = await this.usedMemory();
    this.peak = this.baseline;
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      this.usedMemory()
        .then((m) => {
          this.peak = Math.max(this.peak, m);
        })
        .catch(() => {})
        .finally(() => {
          this.busy = false;
        });
    }, 200);
  }

  /** Stops sampling; returns peak minus baseline. */
  stop(): number {
    clearInterval(this.timer);
    return this.peak - this.baseline;
  }

  close(): void {
    clearInterval(this.timer);
    this.redis.disconnect();
  }
}

/**
 * Fills the cache hashes of the given articles as the Go read path would for a missing row
 * (all three counters 0), with a TTL past the design's timeout. A key that already exists is
 * left alone (it is someone else's); returns the keys this call created, with their article.
 */
export async function fillCacheKeys(
  redis: Redis,
  prefix: string,
  aids: readonly string[],
  ttlSeconds: number,
): Promise<[key: string, aid: string][]> {
  const keys = aids.map((aid): [string, string] => [cacheKeyOf(prefix, aid), aid]);
  const exists = (await keys.reduce((p, [key]) => p.exists(key), redis.pipeline()).exec()) ?? [];
  const missing = keys.filter((_, i) => exists[i]?.[1] === 0);
  const fill = redis.pipeline();
  for (const [key] of missing) {
    fill.hset(key, { read_cnt: 0, like_cnt: 0, collect_cnt: 0, v: 0 }); // v: the version before a first write
    fill.expire(key, ttlSeconds);
  }
  await fill.exec();
  return missing;
}

/**
 * The filled keys whose read_cnt is not the article's expected count (off), and those gone
 * (dropped: the pipeline deletes a hash it cannot bring exactly to the document's version, and
 * the read path fills it again).
 */
export async function cacheKeysOff(
  redis: Redis,
  keys: readonly [key: string, aid: string][],
  expected: ReadonlyMap<string, number>,
): Promise<{ off: number; dropped: number }> {
  const values = (await keys.reduce((p, [key]) => p.hget(key, "read_cnt"), redis.pipeline()).exec()) ?? [];
  let off = 0;
  let dropped = 0;
  keys.forEach(([, aid], i) => {
    const value = values[i]?.[1];
    if (typeof value !== "string") dropped++;
    else if (Number(value) !== (expected.get(aid) ?? 0)) off++;
  });
  return { off, dropped };
}

export async function deleteKeys(redis: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
}

export async function deleteKeysMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) {
      await redis.unlink(...keys);
      deleted += keys.length;
    }
  } while (cursor !== "0");
  return deleted;
}

/** Sum of read_cnt over the design's collection. */
export async function totalReads(db: Db): Promise<number> {
  const [sum] = await db
    .collection(COLLECTION)
    .aggregate<{ n: unknown }>([{ $group: { _id: null, n: { $sum: "$read_cnt" } } }])
    .toArray();
  return Number(String(sum?.n ?? 0));
}

/** read_cnt per article id (decimal string). */
export async function readCounts(db: Db): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const docs = db
    .collection(COLLECTION)
    .find({}, { projection: { _id: 0, biz_id: 1, read_cnt: 1 }, promoteLongs: false, batchSize: 10_000 });
  for await (const d of docs) {
    const id = String(d.biz_id);
    out.set(id, (out.get(id) ?? 0) + Number(String(d.read_cnt)));
  }
  return out;
}
