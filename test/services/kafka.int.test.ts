// Proves the pinned Kafka broker works with kafkajs for everything the ingestor relies on:
// produce, consume in a consumer group, commit, restart, resume from the committed offset.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Admin, type Consumer, logLevel } from "kafkajs";
import { kafkaClient } from "../../src/kafka/client.js";
import { testConfig } from "../support/env.js";

const config = testConfig();
const kafka = kafkaClient({
  clientId: "kafka-test",
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
});
let admin: Admin;

before(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: config.KAFKA_TOPIC, numPartitions: 2 }],
    waitForLeaders: true,
  });
});

after(async () => {
  await admin.deleteTopics({ topics: [config.KAFKA_TOPIC] }).catch(() => undefined);
  await admin.disconnect();
});

/** Consumes until `count` messages arrived, committing each batch by hand, then stops. */
async function consume(count: number): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId: config.KAFKA_GROUP_ID });
  await consumer.connect();
  await consumer.subscribe({ topic: config.KAFKA_TOPIC, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          for (const message of batch.messages) {
            if (seen.length >= count) break;
            seen.push(message.value?.toString() ?? "");
            resolveOffset(message.offset);
            await consumer.commitOffsets([
              {
                topic: batch.topic,
                partition: batch.partition,
                offset: (BigInt(message.offset) + 1n).toString(),
              },
            ]);
          }
          await heartbeat();
          if (seen.length >= count) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return seen;
}

test("kafkajs produces, consumes in a group, commits, and resumes from the committed offset", async () => {
  const producer = kafka.producer();
  await producer.connect();
  const first = Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, partition: 0 }));
  await producer.send({ topic: config.KAFKA_TOPIC, messages: first });

  const seenFirst = await consume(10);
  assert.deepEqual(
    seenFirst,
    first.map((m) => m.value),
  );

  const second = Array.from({ length: 5 }, (_, i) => ({ value: `n${i}`, partition: 0 }));
  await producer.send({ topic: config.KAFKA_TOPIC, messages: second });
  await producer.disconnect();

  // A new consumer in the same group starts after the committed offset: only the new messages.
  const seenSecond = await consume(5);
  assert.deepEqual(
    seenSecond,
    second.map((m) => m.value),
  );

  const offsets = await admin.fetchOffsets({ groupId: config.KAFKA_GROUP_ID, topics: [config.KAFKA_TOPIC] });
  const p0 = offsets[0]?.partitions.find((p) => p.partition === 0);
  assert.equal(p0?.offset, "15");
});
