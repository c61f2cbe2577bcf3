// `npm run status` reads real queues and the real broker: lag per partition, held-back
// partitions (failed work jobs) and dead letters.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UnrecoverableError, Worker } from "bullmq";
import { openQueues } from "../../src/queue/queues.js";
import { ReadJobBuilder, readJobId } from "../../src/queue/read-job.js";
import { blockingConnection } from "../../src/redis/connection.js";
import { collectStatus, formatStatus } from "../../src/status/collect-status.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { testConfig } from "../support/env.js";
import { createTopic, Fixture, kafkaFor, producerFor, sendRaw, until } from "../support/pipeline.js";

const config = testConfig();
const fx = new Fixture(config);

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, 2);
});

after(() => fx.close());

test("status shows queue counts, lag per partition, held-back partitions and dead letters", async () => {
  const producer = producerFor(config);
  await producer.connect();
  await sendRaw(producer, config.KAFKA_TOPIC, [
    { value: encodeReadEvent(1n, 1n), partition: 0 },
    { value: encodeReadEvent(1n, 2n), partition: 0 },
    { value: encodeReadEvent(1n, 3n), partition: 1 },
  ]);
  await producer.disconnect();

  const { work, dead } = openQueues({ ...config, JOB_ATTEMPTS: 1 }, fx.redis);
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 1);
  b.addEvent(0n, 1n, Date.now());
  await work.add("p1 0-0 (1 events)", b.build(), { jobId: readJobId(b.build()) });
  await dead.add("bad", {
    topic: config.KAFKA_TOPIC,
    partition: 0,
    offset: "7",
    timestamp: "0",
    value: "nope",
    encoding: "utf8",
    size: 4,
    truncated: false,
    reason: "invalid JSON at byte 1",
  });
  const connection = blockingConnection(config);
  const failing = [work.name, dead.name].map(
    (name) =>
      new Worker(
        name,
        async () => {
          throw new UnrecoverableError("MongoDB said no");
        },
        { connection, prefix: config.QUEUE_PREFIX },
      ),
  );
  await until("both failed", async () =>
    (await work.getFailedCount()) === 1 && (await dead.getFailedCount()) === 1 ? true : undefined,
  );
  await Promise.all(failing.map((w) => w.close()));
  connection.disconnect();

  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    const status = await collectStatus(config, work, dead, admin);
    assert.deepEqual("error" in status.lag ? status.lag : status.lag.map((p) => [p.partition, p.lag]), [
      [0, 2],
      [1, 1],
    ]);
    assert.equal(status.heldBack.length, 1);
    assert.equal(status.heldBack[0]?.partition, 1);
    assert.equal(status.deadLetters.total, 1);
    const text = formatStatus(status);
    assert.match(
      text,
      /Held back by a failed job .*: 1 .*\n {2}partition 1 {2}job-failed {2}offsets 0-0 {2}attempts 1 .*MongoDB said no/,
    );
    assert.match(text, /Dead letters: 1\n {2}partition 0 offset 7: invalid JSON at byte 1/);
    assert.match(text, /total lag 3/);
  } finally {
    await admin.disconnect();
    await work.close();
    await dead.close();
  }
});
