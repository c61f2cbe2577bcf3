// The five designs `bench:peers` drains the backlog with. Each sets up what is not timed
// (clients, indexes), then starts (the drain time runs from there) and counts its progress
// itself or asks Kafka, never the MongoDB it is measured on: polling it would load what is
// measured.
import { readFileSync } from "node:fs";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { ConsumerRunConfig } from "kafkajs";
import { type AnyBulkWriteOperation, type Collection, Long, MongoClient, MongoServerError } from "mongodb";
import { parseReadEvent } from "../../src/events/parse-read-event.js";
import { COLLECTION, type InteractiveDoc } from "../../src/store/interactives.js";
import { type PipelineNames, startPipeline } from "../lib/children.js";
import * as measure from "../lib/measure.js";
import type { DesignName, DesignResult, ExactCheck } from "../lib/render.js";
import { committed, deleteKeysMatching, removeRun, type Services } from "../lib/services.js";
import type { BacklogPlan } from "../lib/zipf.js";

export interface DesignContext {
  services: Services;
  plan: BacklogPlan;
  partitions: number;
  /** Its topic, consumer group, database, queues, and its cache keys' prefix. */
  names: PipelineNames & { design: DesignName; prefix: string };
  log: (m: string) => void;
}

/** A design's figures over the drain; `exact` for one that writes nothing (the others' are read back). */
type Figures = Pick<
  DesignResult,
  "mongoDocOpsPer1k" | "mongoRoundTripsPer1k" | "mongoNote" | "errors" | "details"
>;

export interface Design {
  /** Writes MongoDB: gets an exact count check and a dropped database. */
  writes: boolean;
  /** Follows the cache as the Go service does: gets filled hot keys, checked at the end. */
  cache: boolean;
  prepare(ctx: DesignContext): Promise<{
    start(): Promise<void>;
    /** Events done so far. */
    progress(): number | Promise<number>;
    /** When the last event was done (performance.now()), for a design that knows it exactly. */
    finishedAt?(): number | undefined;
    /** A problem that ends the design (a process exited). */
    failure?(): string | undefined;
    figures(counted: number): Promise<Figures & { exact?: ExactCheck }>;
    /** Stops it, closes its clients, removes its queues; may be called twice. */
    stop(): Promise<void>;
  }>;
}

export const cacheKeyOf = (prefix: string, aid: string) => `${prefix}interactive:article:${aid}`;

/** A kafkajs consumer of the design's group, from the backlog's start, all partitions at once. */
function consumerOf(ctx: DesignContext) {
  const consumer = ctx.services.kafka.consumer({ groupId: ctx.names.group });
  return {
    async run(config: ConsumerRunConfig) {
      await consumer.connect();
      await consumer.subscribe({ topics: [ctx.names.topic], fromBeginning: true });
      await consumer.run({ partitionsConsumedConcurrently: ctx.partitions, ...config });
    },
    stop: () => consumer.disconnect(),
  };
}

/** The Go table's row as a document: the pipeline's document without its own bookkeeping. */
type GoRow = Omit<InteractiveDoc, "_id" | "offsets" | "v" | "dead_letters">;

/** A MongoClient whose data commands are counted, on the design's collection with the Go table's index. */
async function measuredMongo(ctx: DesignContext) {
  const counter = new measure.MongoCommandCounter();
  const client = new MongoClient(ctx.services.config.MONGO_URL, { monitorCommands: true });
  client.on("commandStarted", (e) => counter.started(e));
  client.on("commandSucceeded", (e) => counter.succeeded(e));
  await client.connect();
  const collection = client.db(ctx.names.db).collection<GoRow>(COLLECTION);
  await collection.createIndex({ biz: 1, biz_id: 1 }, { unique: true, name: "biz_biz_id" });
  return {
    client,
    collection,
    /** Counts from here on: the drain's commands only. */
    reset: () => Object.assign(counter, { roundTrips: 0, documentOps: 0 }),
    per1k: (counted: number) => ({
      mongoDocOpsPer1k: measure.per1k(counter.documentOps, counted),
      mongoRoundTripsPer1k: measure.per1k(counter.roundTrips, counted),
      mongoNote: null,
    }),
  };
}

/** Naive jobs are removed once completed. */
const REMOVE = { removeOnComplete: true };
const GO_LUA = readFileSync(new URL("./go-incr-if-present.lua", import.meta.url), "utf8");

/**
 * The Go service's per-event write, as `seed` and `naive` run it: go-incr-if-present.lua on the
 * article's one cache key, then one upsert on (biz, biz_id). An upsert that loses the insert race
 * for a new article (E11000) is retried, as MySQL and MongoDB 4.2+ do by themselves and the test
 * server does not. (The Go repository writes the database first; the order changes nothing
 * measured, and cache first means the cache is final once the last write is.)
 */
function goWriter(redis: Redis, collection: Collection<GoRow>, prefix: string) {
  redis.defineCommand("incrIfPresentOne", { lua: GO_LUA, numberOfKeys: 1 });
  const lua = redis as Redis & {
    incrIfPresentOne(key: string, field: string, delta: number): Promise<number>;
  };
  const retries = { duplicateKeyRetries: 0 };
  const write = async (aid: string): Promise<void> => {
    await lua.incrIfPresentOne(cacheKeyOf(prefix, aid), "read_cnt", 1);
    for (let attempt = 1; ; attempt++) {
      const now = Long.fromNumber(Date.now());
      const filter = { biz: "article", biz_id: Long.fromString(aid) };
      const $setOnInsert = { ctime: now, like_cnt: Long.ZERO, collect_cnt: Long.ZERO };
      try {
        await collection.updateOne(
          filter,
          { $inc: { read_cnt: Long.ONE }, $set: { utime: now }, $setOnInsert },
          { upsert: true },
        );
        return;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000) || attempt === 3) throw err;
        retries.duplicateKeyRetries++;
      }
    }
  };
  return { write, retries };
}

/** `ceiling`: what reading the backlog costs before any write: eachBatch, JSON.parse, nothing else. */
const ceiling: Design = {
  writes: false,
  cache: false,
  async prepare(ctx) {
    const consumer = consumerOf(ctx);
    let [parsed, checksum, t0] = [0, 0, 0];
    let firstAt: number | undefined;
    let finishedAt: number | undefined;
    return {
      async start() {
        t0 = performance.now();
        await consumer.run({
          eachBatch: async ({ batch }) => {
            firstAt ??= performance.now();
            for (const message of batch.messages) {
              const event = JSON.parse(message.value?.toString() ?? "null") as { Aid?: unknown } | null;
              if (typeof event?.Aid === "number") checksum = (checksum + event.Aid) >>> 0;
              parsed++;
            }
            if (parsed >= ctx.plan.aids.length) finishedAt ??= performance.now();
          },
        });
      },
      progress: () => parsed,
      finishedAt: () => finishedAt,
      async figures() {
        // From the first batch: without the consumer's connect and group join, parsing alone.
        const secs = ((finishedAt ?? performance.now()) - (firstAt ?? t0)) / 1000;
        const details = {
          secondsToFirstBatch: Math.round(((firstAt ?? t0) - t0) / 10) / 100,
          eventsPerSecondFromFirstBatch: secs > 0 ? Math.round(parsed / secs) : 0,
        };
        const exact: ExactCheck = { kind: "parsed", parsed, checksumOk: checksum === ctx.plan.aidChecksum };
        return { mongoDocOpsPer1k: 0, mongoRoundTripsPer1k: 0, mongoNote: null, errors: 0, details, exact };
      },
      stop: consumer.stop,
    };
  },
};

/**
 * `oracle`: the limit the issue set (docs/benchmarks.md says where a design passes it). A consumer reads every event and sums
 * per article in memory; then each distinct article is written once, `$inc` upserts on (biz,
 * biz_id) in unordered bulks of 5,000, in biz_id order (on the test server keys in order cost a
 * third less per document than in the order the events came). No cache, no marks, no versions.
 * Done when the last bulk is acknowledged.
 */
const oracle: Design = {
  writes: true,
  cache: false,
  async prepare(ctx) {
    const { MAX_MESSAGE_BYTES } = ctx.services.config;
    const mongo = await measuredMongo(ctx);
    const consumer = consumerOf(ctx);
    const sums = new Map<string, number>();
    let [read, written, errors] = [0, 0, 0];
    let finishedAt: number | undefined;
    let writing: Promise<void> | undefined;
    let failure: string | undefined;
    const writeAll = async () => {
      const now = Long.fromNumber(Date.now());
      const $setOnInsert = { ctime: now, utime: now, like_cnt: Long.ZERO, collect_cnt: Long.ZERO };
      const entries = [...sums].sort(([a], [b]) => Number(a) - Number(b));
      for (let i = 0; i < entries.length; i += 5000) {
        const bulk = entries.slice(i, i + 5000);
        const ops = bulk.map(([aid, n]): AnyBulkWriteOperation<GoRow> => {
          const update = { $inc: { read_cnt: Long.fromNumber(n) }, $setOnInsert };
          return {
            updateOne: { filter: { biz: "article", biz_id: Long.fromString(aid) }, update, upsert: true },
          };
        });
        await mongo.collection.bulkWrite(ops, { ordered: false });
        written += bulk.reduce((a, [, n]) => a + n, 0);
      }
      finishedAt = performance.now();
    };
    return {
      async start() {
        mongo.reset();
        await consumer.run({
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const parsed = parseReadEvent(message.value, MAX_MESSAGE_BYTES);
              if (!parsed.ok) {
                errors++;
                continue;
              }
              const aid = parsed.event.aid.toString();
              sums.set(aid, (sums.get(aid) ?? 0) + 1);
              read++;
            }
            if (read + errors >= ctx.plan.aids.length) {
              writing ??= writeAll().catch((err: unknown) => {
                failure = `writing: ${String(err)}`;
              });
            }
          },
        });
      },
      progress: () => written,
      finishedAt: () => finishedAt,
      failure: () => failure,
      figures: async (counted) => ({ ...mongo.per1k(counted), errors, details: {} }),
      async stop() {
        await writing;
        await consumer.stop();
        await mongo.client.close();
      },
    };
  },
};

/**
 * `seed`: the Go service's read consumer, one event at a time: eachMessage (one message after
 * the other within a partition, all partitions at once, offsets auto-committed every second as
 * sarama does), the project's Go-rules parser, then the Go per-event write. As the Go handler, a
 * bad event or a failed write is logged and skipped.
 */
const seed: Design = {
  writes: true,
  cache: true,
  async prepare(ctx) {
    const { MAX_MESSAGE_BYTES, REDIS_URL } = ctx.services.config;
    const mongo = await measuredMongo(ctx);
    const redis = new Redis(REDIS_URL);
    const go = goWriter(redis, mongo.collection, ctx.names.prefix);
    const consumer = consumerOf(ctx);
    let [done, errors] = [0, 0];
    return {
      async start() {
        mongo.reset();
        await consumer.run({
          autoCommitInterval: 1000,
          eachMessage: async ({ message }) => {
            try {
              const parsed = parseReadEvent(message.value, MAX_MESSAGE_BYTES);
              if (!parsed.ok) throw new Error(parsed.reason);
              await go.write(parsed.event.aid.toString());
            } catch (err) {
              if (errors++ < 5) ctx.log(`seed: offset ${message.offset}: ${String(err)}`);
            }
            done++;
          },
        });
      },
      progress: () => done,
      figures: async (counted) => ({ ...mongo.per1k(counted), errors, details: { ...go.retries } }),
      async stop() {
        await consumer.stop();
        redis.disconnect();
        await mongo.client.close();
      },
    };
  },
};

/**
 * `naive`: BullMQ the obvious way. A consumer adds one job per event (one addBulk per Kafka
 * batch, jobs removed on completion); a BullMQ Worker at concurrency 50 runs the Go per-event
 * write for each. Both in this process. Its progress: jobs finished (written or failed) and
 * events that could not be parsed.
 */
const naive: Design = {
  writes: true,
  cache: true,
  async prepare(ctx) {
    const { MAX_MESSAGE_BYTES, REDIS_URL, QUEUE_PREFIX: prefix } = ctx.services.config;
    const mongo = await measuredMongo(ctx);
    const [cache, queueRedis, workerRedis] = [
      new Redis(REDIS_URL),
      new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
      new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    ];
    const go = goWriter(cache, mongo.collection, ctx.names.prefix);
    const queue = new Queue<{ aid: string }>(ctx.names.queue, { connection: queueRedis, prefix });
    const consumer = consumerOf(ctx);
    let worker: Worker<{ aid: string }> | undefined;
    let [done, errors] = [0, 0];
    const fail = (what: string) => {
      if (errors++ < 5) ctx.log(`naive: ${what}`);
    };
    return {
      async start() {
        mongo.reset();
        const options = { connection: workerRedis, prefix, concurrency: 50 };
        worker = new Worker<{ aid: string }>(ctx.names.queue, (job) => go.write(job.data.aid), options);
        worker.on("completed", () => done++);
        worker.on("failed", (job, err) => {
          done++;
          fail(`job ${job?.id}: ${err.message}`);
        });
        worker.on("error", (err) => fail(`worker: ${err.message}`));
        await consumer.run({
          eachBatch: async ({ batch, heartbeat }) => {
            const jobs = [];
            for (const message of batch.messages) {
              const parsed = parseReadEvent(message.value, MAX_MESSAGE_BYTES);
              if (parsed.ok)
                jobs.push({ name: "read", data: { aid: parsed.event.aid.toString() }, opts: REMOVE });
              else {
                done++;
                fail(`offset ${message.offset}: ${parsed.reason}`);
              }
            }
            if (jobs.length > 0) await queue.addBulk(jobs);
            await heartbeat();
          },
        });
      },
      progress: () => done,
      figures: async (counted) => ({ ...mongo.per1k(counted), errors, details: { ...go.retries } }),
      async stop() {
        await consumer.stop();
        await worker?.close();
        await queue.obliterate({ force: true });
        await queue.close();
        await deleteKeysMatching(cache, `${prefix}:${ctx.names.queue}:*`);
        for (const r of [cache, queueRedis, workerRedis]) r.disconnect();
        await mongo.client.close();
      },
    };
  },
};

/**
 * `pipeline`: this project as it runs, its ingestor and worker processes with default settings
 * (bench/lib/children.ts). Progress: the group's committed offsets, asked of Kafka (a range is
 * committed once applied). Its MongoDB work happens in the worker, whose own counters give the
 * figures.
 */
const pipeline: Design = {
  writes: true,
  cache: true,
  async prepare(ctx) {
    const { names, services } = ctx;
    let running: Awaited<ReturnType<typeof startPipeline>> | undefined;
    // Kafka is asked at most every 250 ms (the harness polls every 20 ms): the broker the pipeline
    // commits to shares this machine. The drain's end is known to within that.
    let [askedAt, done] = [0, 0];
    return {
      async start() {
        running = await startPipeline(names, ctx.log);
      },
      async progress() {
        if (performance.now() - askedAt < 250) return done;
        askedAt = performance.now();
        done = await committed(services.admin, names.group, names.topic);
        return done;
      },
      failure: () => running?.failure(),
      async figures(counted) {
        const text = await running
          ?.scrape("worker")
          .catch((err: unknown) => ctx.log(`pipeline: ${String(err)}`));
        const samples = measure.parsePrometheus(text ?? "");
        const documents = measure.sumMetric(samples, "interactive_mongo_documents_total");
        const commands = measure.sumMetric(samples, "interactive_mongo_commands_total");
        const g = measure.groupStats(samples);
        const groups = g
          ? ` (${g.groups.toLocaleString("en-US")} groups; per group on average ${g.jobsPerGroup} jobs, ` +
            `${g.eventsPerGroup.toLocaleString("en-US")} events, ${g.flushSecondsMean} s to apply)`
          : "";
        return {
          mongoDocOpsPer1k: documents === undefined ? null : measure.per1k(documents, counted),
          mongoRoundTripsPer1k: commands === undefined ? null : measure.per1k(commands, counted),
          mongoNote: `from the worker's own counters (interactive_mongo_documents_total, interactive_mongo_commands_total: reads, writes and the partition ledger)${groups}`,
          // Jobs that failed for good and dead letters, as the worker's queue gauges saw them.
          errors: measure.failedJobs(samples, names.deadQueue),
          details: { ...g },
        };
      },
      async stop() {
        await running?.stop();
        await removeRun(services, { queues: [names.queue, names.deadQueue] }, ctx.log);
      },
    };
  },
};

export const DESIGN_RUNS: Record<DesignName, Design> = { ceiling, oracle, seed, naive, pipeline };
