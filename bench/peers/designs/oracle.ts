// `oracle`: the limit of any exact counter on this MongoDB. It knows the whole backlog before it
// writes: a kafkajs consumer reads every event and sums per article in memory; then each distinct
// article is written once, `$inc` upserts filtered on (biz, biz_id) (set on insert from the
// filter) with `$setOnInsert` of the other fields, in unordered bulks of 5,000 on the unique
// (biz, biz_id) index. No cache, no marks, no versions, no retries of its own.
// Timed from the start until the last bulk is acknowledged.
import type { AnyBulkWriteOperation } from "mongodb";
import { Long } from "mongodb";
import { parseReadEvent } from "../../../src/events/parse-read-event.js";
import { countedFigures, type GoInteractive, openMeasuredMongo } from "../go-path.js";
import type { Design } from "../harness.js";

const BULK = 5000;

export const oracle: Design = {
  name: "oracle",
  cache: false,
  writes: true,
  async prepare(ctx) {
    const { config } = ctx.services;
    const mongo = await openMeasuredMongo(config.MONGO_URL, ctx.names.db);
    const consumer = ctx.services.kafka.consumer({ groupId: ctx.names.group });
    const count = ctx.options.count;
    const sums = new Map<string, number>();
    let read = 0;
    let written = 0;
    let errors = 0;
    let finishedAt: number | undefined;
    let writing: Promise<void> | undefined;
    let failure: string | undefined;
    const writeAll = async () => {
      const now = Long.fromNumber(Date.now());
      const ops: AnyBulkWriteOperation<GoInteractive>[] = [];
      const events: number[] = [];
      for (const [aid, n] of sums) {
        ops.push({
          updateOne: {
            filter: { biz: "article", biz_id: Long.fromString(aid) },
            update: {
              $inc: { read_cnt: Long.fromNumber(n) },
              $setOnInsert: { ctime: now, utime: now, like_cnt: Long.ZERO, collect_cnt: Long.ZERO },
            },
            upsert: true,
          },
        });
        events.push(n);
      }
      for (let i = 0; i < ops.length; i += BULK) {
        await mongo.collection.bulkWrite(ops.slice(i, i + BULK), { ordered: false });
        written += events.slice(i, i + BULK).reduce((a, b) => a + b, 0);
      }
      finishedAt = performance.now();
    };
    return {
      async start() {
        mongo.counter.reset();
        await consumer.connect();
        await consumer.subscribe({ topics: [ctx.backlog.topic], fromBeginning: true });
        await consumer.run({
          partitionsConsumedConcurrently: ctx.options.partitions,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const parsed = parseReadEvent(message.value, config.MAX_MESSAGE_BYTES);
              if (!parsed.ok) {
                errors++;
                continue;
              }
              const aid = parsed.event.aid.toString();
              sums.set(aid, (sums.get(aid) ?? 0) + 1);
              read++;
            }
            if (read + errors >= count)
              writing ??= writeAll().catch((err: unknown) => {
                failure = `writing: ${String(err)}`;
              });
          },
        });
        return {
          progress: () => written,
          finishedAt: () => finishedAt,
          failure: () => failure,
          errors: () => errors,
          mongo: async (counted) => countedFigures(mongo.counter, counted),
          details: async () => ({ distinctArticles: sums.size }),
          stop: async () => {
            await writing;
            await consumer.disconnect();
          },
        };
      },
      async cleanup() {
        await consumer.disconnect();
        await mongo.client.close();
      },
    };
  },
};
