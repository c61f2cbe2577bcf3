// The Go service's per-event write, as the `seed` and `naive` designs run it: the cache script
// "HINCRBY if the key exists" on the article's one key (go-incr-if-present.lua with a
// single key), then one upsert on (biz, biz_id) with a unique index, as the Go table has.
// (The Go repository writes the database first and the cache second; the order changes nothing
// measured here, and cache-first means the cache is final once MongoDB's total is reached.)
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { type Collection, Long, MongoClient, MongoServerError } from "mongodb";
import { COLLECTION, type InteractiveDoc } from "../../src/store/interactives.js";
import type { MongoFigures } from "./harness.js";
import { MongoCommandCounter, per1k } from "./measure.js";
import { cacheKeyOf } from "./services.js";

const LUA = readFileSync(new URL("./go-incr-if-present.lua", import.meta.url), "utf8");

/** The Go table's row as a document: the pipeline's document without its own bookkeeping. */
export type GoInteractive = Omit<InteractiveDoc, "_id" | "offsets" | "v" | "dead_letters">;

type ScriptedRedis = Redis & {
  incrIfPresentOne(key: string, field: string, delta: number): Promise<number>;
};

/** A MongoClient whose data commands are counted, and the design's collection with its index. */
export interface MeasuredMongo {
  client: MongoClient;
  counter: MongoCommandCounter;
  collection: Collection<GoInteractive>;
}

/** A design's MongoDB figures from the commands its own client counted. */
export function countedFigures(counter: MongoCommandCounter, counted: number): MongoFigures {
  const c = counter.snapshot();
  return {
    docOpsPer1k: per1k(c.documentOps, counted),
    roundTripsPer1k: per1k(c.roundTrips, counted),
    note: null,
  };
}

export async function openMeasuredMongo(url: string, db: string): Promise<MeasuredMongo> {
  const counter = new MongoCommandCounter();
  const client = new MongoClient(url, { monitorCommands: true });
  client.on("commandStarted", (e) => counter.started(e));
  client.on("commandSucceeded", (e) => counter.succeeded(e));
  await client.connect();
  const collection = client.db(db).collection<GoInteractive>(COLLECTION);
  await collection.createIndex({ biz: 1, biz_id: 1 }, { unique: true, name: "biz_biz_id" });
  return { client, counter, collection };
}

const DUPLICATE_KEY = 11000;
const MAX_UPSERT_TRIES = 3;

/** The per-event write: Lua on the cache key, then the upsert. */
export class GoReadPath {
  /**
   * Upserts retried because a concurrent upsert of the same new article inserted it first
   * (E11000). MySQL's INSERT ... ON DUPLICATE KEY UPDATE and MongoDB 4.2+ (for an equality
   * filter on the unique index's keys) resolve that race themselves; the test server does not.
   */
  duplicateKeyRetries = 0;
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly collection: Collection<GoInteractive>,
    private readonly prefix: string,
  ) {
    if (!("incrIfPresentOne" in redis))
      redis.defineCommand("incrIfPresentOne", { lua: LUA, numberOfKeys: 1 });
    this.redis = redis as ScriptedRedis;
  }

  async write(aid: string): Promise<void> {
    await this.redis.incrIfPresentOne(cacheKeyOf(this.prefix, aid), "read_cnt", 1);
    for (let attempt = 1; ; attempt++) {
      const now = Long.fromNumber(Date.now());
      try {
        await this.collection.updateOne(
          { biz: "article", biz_id: Long.fromString(aid) },
          {
            $inc: { read_cnt: Long.ONE },
            $set: { utime: now },
            $setOnInsert: { ctime: now, like_cnt: Long.ZERO, collect_cnt: Long.ZERO },
          },
          { upsert: true },
        );
        return;
      } catch (err) {
        if (
          !(err instanceof MongoServerError && err.code === DUPLICATE_KEY) ||
          attempt === MAX_UPSERT_TRIES
        ) {
          throw err;
        }
        this.duplicateKeyRetries++;
      }
    }
  }
}
