// Retrying dead letters: still invalid, a dead letter fails again with its reason; valid now
// (here: after MAX_MESSAGE_BYTES was raised), it is counted exactly once, however often retried.
// One message is counted once, as an event or as a dead letter, even when ingestors with
// different MAX_MESSAGE_BYTES read its range.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { startIngestor } from "../../src/ingestor/ingestor.js";
import { createLogger } from "../../src/logger.js";
import type { DeadLetterData } from "../../src/queue/dead-letter.js";
import { startWorkerProcess } from "../../workers/worker.js";
import { testConfig } from "../support/env.js";
import { createTopic, Fixture, producerFor, sendRaw, until } from "../support/pipeline.js";

const strict = testConfig({ MAX_MESSAGE_BYTES: "64" });
const relaxed = { ...strict, MAX_MESSAGE_BYTES: 65536 };
const fx = new Fixture(strict);
// Its own topic and queues, for ingestors of both limits over one range.
const mixedLax = testConfig({ SHUTDOWN_TIMEOUT_MS: "500" });
const mixedStrict = { ...mixedLax, MAX_MESSAGE_BYTES: 64 };
const mixed = new Fixture(mixedLax);
const stops: (() => Promise<void>)[] = [];
const big = `{"Aid":31,"Uid":1,"note":"${"x".repeat(80)}"}`;

before(async () => {
  await Promise.all([fx.mongo.connect(), mixed.mongo.connect()]);
  await Promise.all([createTopic(strict, 1), createTopic(mixedLax, 1)]);
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
  await Promise.all([fx.close(), mixed.close()]);
});

test("a retried dead letter is validated again: still invalid it fails, valid now it counts once", async () => {
  const log = createLogger(strict, "test");
  const ingestor = await startIngestor(strict, log, (err) => {
    throw err;
  });
  stops.push(() => ingestor.stop());
  let worker = await startWorkerProcess(strict, log);
  const producer = producerFor(strict);
  await producer.connect();
  await sendRaw(producer, strict.KAFKA_TOPIC, [
    { value: big, partition: 0 },
    { value: '{"Aid":"31"}', partition: 0 },
    { value: '{"Aid":32}', partition: 0 },
  ]);
  await producer.disconnect();

  const dead = new Queue<DeadLetterData>(strict.DEAD_LETTER_QUEUE, {
    connection: fx.redis,
    prefix: strict.QUEUE_PREFIX,
  });
  stops.push(() => dead.close());
  const failed = await until("two dead letters failed", async () => {
    const jobs = await dead.getFailed();
    return jobs.length === 2 ? jobs : undefined;
  });
  const oversized = failed.find((j) => j.data.value === big);
  const wrongType = failed.find((j) => j.data.value === '{"Aid":"31"}');
  assert.ok(oversized && wrongType);
  assert.match(oversized.failedReason, /over the limit of 64/);
  assert.equal(oversized.attemptsMade, 1, "an invalid message is not retried automatically");

  // The limit is raised; a worker with the new configuration takes over, and a person retries.
  await worker.stop();
  worker = await startWorkerProcess(relaxed, log);
  stops.push(() => worker.stop());
  await oversized.retry("failed");
  await wrongType.retry("failed");
  await until("the oversized one is counted", async () =>
    (await dead.getJobState(oversized.id as string)) === "completed" ? true : undefined,
  );
  await until("the wrong-type one failed again", async () =>
    (await dead.getJobState(wrongType.id as string)) === "failed" ? true : undefined,
  );
  const again = await dead.getJob(wrongType.id as string);
  assert.match(again?.failedReason ?? "", /Aid is a JSON string, expected an integer/);
  assert.deepEqual(Object.fromEntries(await fx.readCounts()), { "31": 1, "32": 1 });

  // Retrying the counted one again counts nothing more.
  const done = await dead.getJob(oversized.id as string);
  const finishedBefore = done?.finishedOn ?? 0;
  await done?.retry("completed");
  await until("retried again and finished", async () => {
    const job = await dead.getJob(oversized.id as string);
    return (await job?.getState()) === "completed" && (job?.finishedOn ?? 0) > finishedBefore
      ? true
      : undefined;
  });
  assert.deepEqual((await dead.getJob(oversized.id as string))?.returnvalue, {
    aid: "31",
    counted: false,
    fate: "dead-letter",
  });
  assert.deepEqual(Object.fromEntries(await fx.readCounts()), { "31": 1, "32": 1 });
});

test("a message read as an event by one ingestor and as a dead letter by another is counted once", async () => {
  const log = createLogger(mixedLax, "test");
  const producer = producerFor(mixedLax);
  await producer.connect();
  await sendRaw(producer, mixedLax.KAFKA_TOPIC, [
    { value: big.replace("31", "51"), partition: 0 },
    { value: '{"Aid":52}', partition: 0 },
  ]);
  await producer.disconnect();
  const work = new Queue(mixedLax.WORK_QUEUE, { connection: mixed.redis, prefix: mixedLax.QUEUE_PREFIX });
  const dead = new Queue<DeadLetterData>(mixedLax.DEAD_LETTER_QUEUE, {
    connection: mixed.redis,
    prefix: mixedLax.QUEUE_PREFIX,
  });
  stops.push(() => Promise.all([work.close(), dead.close()]).then(() => undefined));

  // An ingestor with the default limit reads both messages as events; no worker runs yet, so
  // its job stays open and nothing is committed when it stops.
  const lax = await startIngestor(mixedLax, log, (err) => {
    throw err;
  });
  await until("the job of both events", async () =>
    (await work.getJobCounts("waiting")).waiting === 1 ? true : undefined,
  );
  await lax.stop();

  // An ingestor with a limit of 64 bytes reads the same range: the first message is a dead
  // letter to it. It stores the dead letter, then finds the job already there and follows it.
  const stricter = await startIngestor(mixedStrict, log, (err) => {
    throw err;
  });
  stops.push(() => stricter.stop());
  await until("its dead letter", async () =>
    (await dead.getJobCounts("waiting")).waiting === 1 ? true : undefined,
  );

  // A worker that takes the message as valid applies the job and looks at the dead letter.
  const worker = await startWorkerProcess(mixedLax, log);
  stops.push(() => worker.stop());
  const [letter] = await dead.getJobs(["waiting", "delayed", "active", "completed"]);
  assert.ok(letter?.id);
  await until(
    "the dead letter done",
    async () => ((await dead.getJobState(letter.id as string)) === "completed" ? true : undefined),
    60_000,
  );
  assert.deepEqual((await dead.getJob(letter.id as string))?.returnvalue, {
    aid: "51",
    counted: false,
    fate: "event",
  });
  assert.deepEqual(Object.fromEntries(await mixed.readCounts()), { "51": 1, "52": 1 });
});
