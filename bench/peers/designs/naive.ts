// `naive`: BullMQ the obvious way. A kafkajs consumer adds one job per event (one addBulk per
// Kafka batch, jobs removed on completion); a BullMQ Worker at concurrency 50 runs the Go
// per-event write for each job: Lua on the cache key, then one upsert. Both in this process.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { parseReadEvent } from "../../../src/events/parse-read-event.js";
import { countedFigures, GoReadPath, openMeasuredMongo } from "../go-path.js";
import type { Design } from "../harness.js";
import { deleteKeysMatching, log } from "../services.js";

const CONCURRENCY = 50;

interface NaiveJob {
  aid: string;
}

export const naive: Design = {
  name: "naive",
  cache: true,
  writes: true,
  async prepare(ctx) {
    const { config } = ctx.services;
    const { names } = ctx;
    const prefix = config.QUEUE_PREFIX;
    const mongo = await openMeasuredMongo(config.MONGO_URL, names.db);
    const cacheRedis = new Redis(config.REDIS_URL);
    const queueRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    const workerRedis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    const path = new GoReadPath(cacheRedis, mongo.collection, names.prefix);
    const queue = new Queue<NaiveJob, void, string>(names.queue, { connection: queueRedis, prefix });
    const consumer = ctx.services.kafka.consumer({ groupId: names.group });
    let worker: Worker<NaiveJob, void, string> | undefined;
    let errors = 0;
    // Jobs finished (written, or failed): its progress; and events the consumer could not parse.
    let done = 0;
    const fail = (what: string) => {
      if (errors++ < 5) log(`naive: ${what}`);
    };
    return {
      async start() {
        mongo.counter.reset();
        worker = new Worker<NaiveJob, void, string>(names.queue, (job) => path.write(job.data.aid), {
          connection: workerRedis,
          prefix,
          concurrency: CONCURRENCY,
        });
        worker.on("completed", () => {
          done++;
        });
        worker.on("failed", (job, err) => {
          done++;
          fail(`job ${job?.id}: ${err.message}`);
        });
        worker.on("error", (err) => fail(`worker: ${err.message}`));
        await consumer.connect();
        await consumer.subscribe({ topics: [ctx.backlog.topic], fromBeginning: true });
        await consumer.run({
          partitionsConsumedConcurrently: ctx.options.partitions,
          eachBatch: async ({ batch, heartbeat }) => {
            const jobs: { name: string; data: NaiveJob; opts: { removeOnComplete: true } }[] = [];
            for (const message of batch.messages) {
              const parsed = parseReadEvent(message.value, config.MAX_MESSAGE_BYTES);
              if (parsed.ok) {
                jobs.push({
                  name: "read",
                  data: { aid: parsed.event.aid.toString() },
                  opts: { removeOnComplete: true },
                });
              } else {
                done++;
                fail(`offset ${message.offset}: ${parsed.reason}`);
              }
            }
            if (jobs.length > 0) await queue.addBulk(jobs);
            await heartbeat();
          },
        });
        return {
          progress: () => done,
          errors: () => errors,
          mongo: async (counted) => countedFigures(mongo.counter, counted),
          details: async () => {
            const left = await queue.getJobCounts("waiting", "active", "failed");
            return {
              jobsWaiting: left.waiting ?? 0,
              jobsActive: left.active ?? 0,
              jobsFailed: left.failed ?? 0,
              duplicateKeyRetries: path.duplicateKeyRetries,
            };
          },
          async stop() {
            await consumer.disconnect();
            await worker?.close();
          },
        };
      },
      async cleanup() {
        await consumer.disconnect();
        await worker?.close();
        await queue.obliterate({ force: true });
        await queue.close();
        await deleteKeysMatching(cacheRedis, `${prefix}:${names.queue}:*`);
        for (const r of [cacheRedis, queueRedis, workerRedis]) r.disconnect();
        await mongo.client.close();
      },
    };
  },
};
