// A completed read job drops its events against the real Redis, and only the completion seen, of
// the data its worker applied: a job retried since, finished another time or with another result,
// whose data was written since, or whose result names no digest of the data applied, keeps its data.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Job } from "bullmq";
import { dataDigest, dropAppliedEvents } from "../../src/queue/applied-events.js";
import { ReadJobBuilder, type ReadJobData, validateReadJobData } from "../../src/queue/read-job.js";
import { testConfig } from "../support/env.js";
import { queueFixture } from "../support/queues.js";

const config = testConfig();
const fixture = queueFixture(config);
const { redis, queues } = fixture;
const toKey = (type: string) => queues.work.toKey(type);

function range(first: number, last: number): ReadJobData {
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 0);
  for (let o = first; o <= last; o++) b.addEvent(BigInt(o), BigInt(1 + (o % 5)), 1_700_000_000_000);
  return b.build();
}

/** Adds a job and completes it with `result`, as a worker does; returns it as stored. */
async function completed(id: string, data: ReadJobData, result: unknown): Promise<Job<ReadJobData>> {
  await queues.work.add("j", data, { jobId: id });
  await fixture.completeNext(result);
  const job = await Job.fromId<ReadJobData>(queues.work, id);
  assert.ok(job?.finishedOn !== undefined);
  return job;
}

after(() => fixture.close());

test("a completed job keeps its range and drops its events; the data stays valid and empty", async () => {
  const data = range(100, 199);
  const result = { firstOffset: "100", lastOffset: "199", events: 100, dataSha1: dataDigest(data) };
  const job = await completed("a", data, result);
  const seen = { id: "a", finishedOn: job.finishedOn as number, returnvalue: result, data };

  assert.equal(await dropAppliedEvents(redis, toKey, { ...seen, finishedOn: seen.finishedOn + 1 }), false);
  assert.equal(
    await dropAppliedEvents(redis, toKey, { ...seen, returnvalue: { ...result, lastOffset: "299" } }),
    false,
  );
  assert.equal(
    (await Job.fromId<ReadJobData>(queues.work, "a"))?.data.events,
    100,
    "another completion's drop changes nothing",
  );

  assert.equal(await dropAppliedEvents(redis, toKey, seen), true);
  const after = await Job.fromId<ReadJobData>(queues.work, "a");
  const stored = validateReadJobData(after?.data);
  assert.deepEqual(stored, { ...data, events: 0, articles: {} });
  assert.equal(after?.returnvalue.events, 100, "the return value still says what was applied");
});

test("a job retried by hand since its completion keeps its events", async () => {
  const data = range(200, 249);
  const result = { firstOffset: "200", lastOffset: "249", events: 50, dataSha1: dataDigest(data) };
  const job = await completed("b", data, result);
  await job.retry("completed");
  const seen = { id: "b", finishedOn: job.finishedOn as number, returnvalue: result, data };
  assert.equal(await dropAppliedEvents(redis, toKey, seen), false);
  assert.equal((await Job.fromId<ReadJobData>(queues.work, "b"))?.data.events, 50);
});

test("a job removed, or added again under its id and not completed, keeps its events", async () => {
  const data = range(300, 349);
  const result = { firstOffset: "300", lastOffset: "349", events: 50, dataSha1: dataDigest(data) };
  const job = await completed("c", data, result);
  const seen = { id: "c", finishedOn: job.finishedOn as number, returnvalue: result, data };
  await queues.work.remove("c");
  assert.equal(await dropAppliedEvents(redis, toKey, seen), false);
  assert.equal(await Job.fromId<ReadJobData>(queues.work, "c"), undefined, "nothing is created");

  const longer = range(300, 399);
  await queues.work.add("c'", longer, { jobId: "c" });
  assert.equal(await dropAppliedEvents(redis, toKey, seen), false);
  assert.equal((await Job.fromId<ReadJobData>(queues.work, "c"))?.data.events, 100);
});

test("a job whose data was written since the worker read it keeps that data", async () => {
  const data = range(400, 449);
  const result = { firstOffset: "400", lastOffset: "449", events: 50, dataSha1: dataDigest(data) };
  const job = await completed("d", data, result);
  const edited = range(400, 459);
  await job.updateData(edited);
  const seen = { id: "d", finishedOn: job.finishedOn as number, returnvalue: result, data };
  assert.equal(await dropAppliedEvents(redis, toKey, seen), false, "the worker's copy");
  assert.equal(await dropAppliedEvents(redis, toKey, { ...seen, data: edited }), false, "a fresh read");
  assert.deepEqual((await Job.fromId<ReadJobData>(queues.work, "d"))?.data, edited);
});

test("a completion that names no digest of the data applied keeps its events", async () => {
  const data = range(500, 549);
  const result = { firstOffset: "500", lastOffset: "549", events: 50 };
  const job = await completed("e", data, result);
  const seen = { id: "e", finishedOn: job.finishedOn as number, returnvalue: result, data };
  assert.equal(await dropAppliedEvents(redis, toKey, seen), false);
  assert.equal((await Job.fromId<ReadJobData>(queues.work, "e"))?.data.events, 50);
});
