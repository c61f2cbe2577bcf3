// `seed`: the Go service's read consumer, one event at a time. A kafkajs consumer with
// eachMessage (one message after the other within a partition, all partitions at once, offsets
// auto-committed every second as sarama does) that parses each event with the project's Go-rules
// parser and runs the Go per-event write: Lua on the cache key, then one upsert.
import { Redis } from "ioredis";
import { parseReadEvent } from "../../../src/events/parse-read-event.js";
import { countedFigures, GoReadPath, openMeasuredMongo } from "../go-path.js";
import type { Design } from "../harness.js";
import { log } from "../services.js";

export const seed: Design = {
  name: "seed",
  cache: true,
  writes: true,
  async prepare(ctx) {
    const { config } = ctx.services;
    const mongo = await openMeasuredMongo(config.MONGO_URL, ctx.names.db);
    const redis = new Redis(config.REDIS_URL);
    const path = new GoReadPath(redis, mongo.collection, ctx.names.prefix);
    const consumer = ctx.services.kafka.consumer({ groupId: ctx.names.group });
    let errors = 0;
    // Events handled (written, or failed and skipped as the Go handler does): its progress.
    let done = 0;
    return {
      async start() {
        mongo.counter.reset();
        await consumer.connect();
        await consumer.subscribe({ topics: [ctx.backlog.topic], fromBeginning: true });
        await consumer.run({
          partitionsConsumedConcurrently: ctx.options.partitions,
          autoCommitInterval: 1000,
          eachMessage: async ({ message }) => {
            // As the Go handler: a bad event or a failed write is logged and skipped.
            try {
              const parsed = parseReadEvent(message.value, config.MAX_MESSAGE_BYTES);
              if (!parsed.ok) throw new Error(parsed.reason);
              await path.write(parsed.event.aid.toString());
            } catch (err) {
              if (errors++ < 5) log(`seed: offset ${message.offset}: ${String(err)}`);
            }
            done++;
          },
        });
        return {
          progress: () => done,
          errors: () => errors,
          mongo: async (counted) => countedFigures(mongo.counter, counted),
          details: async () => ({ duplicateKeyRetries: path.duplicateKeyRetries }),
          stop: () => consumer.disconnect(),
        };
      },
      async cleanup() {
        await consumer.disconnect();
        redis.disconnect();
        await mongo.client.close();
      },
    };
  },
};
