// The ingestor's view of its jobs, against the real Redis: a job is open until a worker settled
// it, and a settled job is read with its data and the range its worker applied.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Job, UnrecoverableError, Worker } from "bullmq";
import { dataDigest } from "../../src/queue/applied-events.js";
import { BullJobSink } from "../../src/queue/job-sink.js";
import { ReadJobBuilder, type ReadJobData } from "../../src/queue/read-job.js";
import { testConfig } from "../support/env.js";
import { queueFixture } from "../support/queues.js";

const config = testConfig();
const fixture = queueFixture(config);
const { redis, queues } = fixture;
const sink = new BullJobSink(queues.work, queues.dead, redis);

after(() => fixture.close());

test("a job is open until a worker settled it; then it is read with the range applied", async () => {
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 0);
  b.addEvent(100n, 7n, 1_700_000_000_000);
  const data = b.build();
  await sink.add("j", data);
  assert.equal(await sink.isOpen("j"), true, "waiting");
  assert.equal(await sink.isOpen("none"), false, "no such job");

  await fixture.completeNext({ firstOffset: "100", lastOffset: "100" });

  assert.equal(await sink.isOpen("j"), false, "completed");
  const job = await sink.inspect("j");
  assert.equal(job?.state, "completed");
  assert.deepEqual(job?.data, data);
  assert.deepEqual(job?.applied, { firstOffset: "100", lastOffset: "100" });
});

test("a job still listed whose data was removed is not open: the watch finds it gone", async () => {
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 1);
  b.addEvent(200n, 7n, 1_700_000_000_000);
  await sink.add("k", b.build());
  await redis.hdel(queues.work.toKey("k"), "data");
  assert.equal(await queues.work.getJobState("k"), "waiting");
  assert.equal(await sink.isOpen("k"), false);
  assert.equal(await sink.inspect("k"), undefined, "its remains are removed");
  await sink.add("k", b.build());
  assert.equal(await sink.isOpen("k"), true, "so that it can be added again");
});

test("a completed job's events are dropped, its range kept; an open, edited or failed job keeps them", async () => {
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 2);
  b.addEvent(300n, 7n, 1_700_000_000_000);
  b.addEvent(301n, 8n, 1_700_000_000_001);
  const data = b.build();
  await sink.add("d", data);
  assert.equal(await sink.dropAppliedEvents("d"), false, "waiting: kept");
  assert.equal(await sink.dropAppliedEvents("none"), false, "no such job");
  await fixture.completeNext({ firstOffset: "300", lastOffset: "301", dataSha1: dataDigest(data) });

  assert.equal(await sink.dropAppliedEvents("d"), true);
  const job = await sink.inspect("d");
  assert.equal(job?.state, "completed");
  assert.deepEqual(job?.data, { ...data, events: 0, articles: {} });
  assert.deepEqual(job?.applied, { firstOffset: "300", lastOffset: "301" });

  // Edited (same range, other events) while its worker applied the data it had read: the events
  // stored were never applied, and a retry by hand needs them.
  await queues.work.obliterate({ force: true });
  await sink.add("e", data);
  await fixture.completeNext({ firstOffset: "300", lastOffset: "301", dataSha1: dataDigest(data) });
  const e = new ReadJobBuilder(config.KAFKA_TOPIC, 2);
  e.addEvent(300n, 9n, 1_700_000_000_000);
  e.addEvent(301n, 9n, 1_700_000_000_001);
  await (await Job.fromId<ReadJobData>(queues.work, "e"))?.updateData(e.build());
  assert.equal(await sink.dropAppliedEvents("e"), false, "edited: kept");
  assert.deepEqual((await sink.inspect("e"))?.data, e.build());

  await queues.work.obliterate({ force: true });
  await sink.add("f", data);
  const worker = new Worker(
    config.WORK_QUEUE,
    async () => {
      throw new UnrecoverableError("no");
    },
    { connection: fixture.workerRedis, prefix: config.QUEUE_PREFIX },
  );
  await new Promise<void>((resolve) => worker.once("failed", () => resolve()));
  await worker.close();
  assert.equal(await queues.work.getJobState("f"), "failed");
  assert.equal(await sink.dropAppliedEvents("f"), false, "failed: kept for its retry");
  assert.deepEqual((await sink.inspect("f"))?.data, data);
});
