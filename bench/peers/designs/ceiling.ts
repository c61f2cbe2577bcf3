// `ceiling`: what reading the backlog costs before any write. A kafkajs consumer (eachBatch,
// default fetch sizes, all partitions at once) that JSON.parses every value and nothing else.
import type { Design } from "../harness.js";

export const ceiling: Design = {
  name: "ceiling",
  cache: false,
  writes: false,
  async prepare(ctx) {
    const consumer = ctx.services.kafka.consumer({ groupId: ctx.names.group });
    const count = ctx.options.count;
    let parsed = 0;
    let checksum = 0;
    let firstAt: number | undefined;
    let finishedAt: number | undefined;
    let t0 = 0;
    return {
      async start() {
        t0 = performance.now();
        await consumer.connect();
        await consumer.subscribe({ topics: [ctx.backlog.topic], fromBeginning: true });
        await consumer.run({
          partitionsConsumedConcurrently: ctx.options.partitions,
          eachBatch: async ({ batch }) => {
            firstAt ??= performance.now();
            for (const message of batch.messages) {
              const event = JSON.parse(message.value?.toString() ?? "null") as { Aid?: unknown } | null;
              if (typeof event?.Aid === "number") checksum = (checksum + event.Aid) >>> 0;
              parsed++;
            }
            if (parsed >= count) finishedAt ??= performance.now();
          },
        });
        return {
          progress: () => parsed,
          finishedAt: () => finishedAt,
          exact: () => ({ kind: "parsed", parsed, checksumOk: checksum === ctx.backlog.plan.aidChecksum }),
          errors: () => 0,
          mongo: async () => ({ docOpsPer1k: 0, roundTripsPer1k: 0, note: null }),
          // Without the consumer's connect and group join: parsing alone.
          details: async () => {
            const secs = ((finishedAt ?? performance.now()) - (firstAt ?? t0)) / 1000;
            return {
              secondsToFirstBatch: Math.round(((firstAt ?? t0) - t0) / 10) / 100,
              eventsPerSecondFromFirstBatch: secs > 0 ? Math.round(parsed / secs) : 0,
            };
          },
          stop: () => consumer.disconnect(),
        };
      },
      cleanup: () => consumer.disconnect(),
    };
  },
};
