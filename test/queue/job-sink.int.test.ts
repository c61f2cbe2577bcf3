// The ingestor's view of its jobs, against the real Redis: a job is open until a worker settled
// it, and a settled job is read with its data and the range its worker applied.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { BullJobSink } from "../../src/queue/job-sink.js";
import { ReadJobBuilder } from "../../src/queue/read-job.js";
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
