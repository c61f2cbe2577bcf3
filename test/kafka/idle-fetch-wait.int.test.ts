// A real kafkajs consumer on the real broker with the idle fetch wait: it asks once a second
// while nothing is paused, yet a message produced meanwhile arrives at once; with a partition
// paused it is back to its own short wait.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer, Producer } from "kafkajs";
import { patchIdleFetchWait } from "../../src/kafka/idle-fetch-wait.js";
import { testConfig } from "../support/env.js";
import { createTopic, kafkaFor, producerFor, until } from "../support/pipeline.js";

const IDLE_MS = 1000;
const CONFIGURED_MS = 100;
const config = testConfig();
let consumer: Consumer;
let producer: Producer;
/** Durations of the consumer's fetches, in the order they ended. */
const fetches: number[] = [];
/** Per message received: its arrival minus its Kafka timestamp, in ms. */
const delays: number[] = [];

before(async () => {
  patchIdleFetchWait(IDLE_MS);
  await createTopic(config, 2);
  producer = producerFor(config);
  await producer.connect();
  consumer = kafkaFor(config).consumer({ groupId: config.KAFKA_GROUP_ID, maxWaitTimeInMs: CONFIGURED_MS });
  consumer.on(consumer.events.FETCH, (e) => fetches.push(e.payload.duration));
  await consumer.connect();
  await consumer.subscribe({ topic: config.KAFKA_TOPIC, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) delays.push(Date.now() - Number(m.timestamp));
    },
  });
});

after(async () => {
  await consumer?.disconnect();
  await producer?.disconnect();
  const admin = kafkaFor(config).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [config.KAFKA_TOPIC] }).catch(() => undefined);
  await admin.disconnect();
});

/** The durations of the next `n` fetches that end from now on. */
async function nextFetches(n: number): Promise<number[]> {
  const from = fetches.length;
  return until(
    `${n} more fetches`,
    async () => (fetches.length >= from + n ? fetches.slice(from, from + n) : undefined),
    30_000,
    50,
  );
}

test("idle, nothing paused: each fetch waits the idle wait, not the configured one", async () => {
  await nextFetches(1); // the first may have started before the group settled
  for (const d of await nextFetches(3)) assert.ok(d >= IDLE_MS * 0.8, `an idle fetch took ${d} ms`);
});

test("a message produced during an idle fetch arrives without waiting for the fetch's end", async () => {
  await nextFetches(1);
  await sleep(IDLE_MS / 4); // well inside the next idle fetch
  await producer.send({ topic: config.KAFKA_TOPIC, messages: [{ value: "x", partition: 1 }], acks: -1 });
  const [delay] = await until(
    "the message",
    async () => (delays.length > 0 ? delays : undefined),
    10_000,
    10,
  );
  assert.ok(delay !== undefined && delay < IDLE_MS / 2, `the message arrived ${delay} ms after it was sent`);
});

test("a partition paused: fetches use the configured wait again, and the idle wait after its resume", async () => {
  consumer.pause([{ topic: config.KAFKA_TOPIC, partitions: [0] }]);
  await nextFetches(1); // the one in flight when it was paused
  for (const d of await nextFetches(3))
    assert.ok(d < IDLE_MS / 2, `a fetch with a partition paused took ${d} ms`);
  consumer.resume([{ topic: config.KAFKA_TOPIC, partitions: [0] }]);
  await nextFetches(1);
  for (const d of await nextFetches(3))
    assert.ok(d >= IDLE_MS * 0.8, `an idle fetch after the resume took ${d} ms`);
});

test("a message waiting on a paused partition is fetched soon after the partition is resumed", async () => {
  const before = delays.length;
  consumer.pause([{ topic: config.KAFKA_TOPIC, partitions: [0] }]);
  await nextFetches(2); // the paused partition is out of the fetches from now on
  await producer.send({ topic: config.KAFKA_TOPIC, messages: [{ value: "y", partition: 0 }], acks: -1 });
  await nextFetches(2);
  assert.equal(delays.length, before, "not fetched while paused");
  const resumedAt = Date.now();
  consumer.resume([{ topic: config.KAFKA_TOPIC, partitions: [0] }]);
  await until("the message", async () => (delays.length > before ? true : undefined), 10_000, 5);
  const waited = Date.now() - resumedAt;
  assert.ok(waited < IDLE_MS / 2, `fetched ${waited} ms after the resume`);
});
