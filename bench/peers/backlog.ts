// Produces the one backlog every design drains: `count` ReadEvents in the Go producer's format
// (encodeReadEvent, no key), spread round robin over the partitions of a fresh topic.
import { type Admin, type Kafka, Partitioners } from "kafkajs";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { log } from "./services.js";
import type { BacklogPlan } from "./zipf.js";

const BATCH = 10_000;

export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
}

/** Sends the planned events; checks the topic holds exactly them. Returns seconds taken. */
export async function produceBacklog(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  partitions: number,
  plan: BacklogPlan,
  signal?: AbortSignal,
): Promise<number> {
  const started = performance.now();
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const count = plan.aids.length;
    let nextReport = 100_000;
    for (let sent = 0; sent < count; ) {
      if (signal?.aborted) throw new Error("interrupted while producing the backlog");
      const n = Math.min(BATCH, count - sent);
      const messages = Array.from({ length: n }, (_, j) => {
        const i = sent + j;
        return {
          partition: i % partitions,
          value: encodeReadEvent(BigInt(plan.aids[i] ?? 0), BigInt(i + 1)),
        };
      });
      await producer.send({ topic, messages, acks: -1 });
      sent += n;
      if (sent >= nextReport || sent === count) {
        log(`produced ${sent.toLocaleString("en-US")} / ${count.toLocaleString("en-US")}`);
        nextReport += 100_000;
      }
    }
  } finally {
    await producer.disconnect();
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  const inTopic = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  if (inTopic !== plan.aids.length) {
    throw new Error(`topic ${topic} holds ${inTopic} messages, expected ${plan.aids.length}`);
  }
  return (performance.now() - started) / 1000;
}
