// The read worker against the real Redis and MongoDB-compatible server: a job is identified by
// its id and its range, so a job re-added under the same id with another range is applied for
// itself, never completed with the outcome of the job parked before it; completed, it keeps its
// range and drops its events.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Job } from "bullmq";
import { MongoClient } from "mongodb";
import { pino } from "pino";
import { ReadCache } from "../../src/cache/read-cache.js";
import { ReadJobBuilder, type ReadJobData, readJobId } from "../../src/queue/read-job.js";
import { InteractiveStore } from "../../src/store/interactives.js";
import { type ReadJobResult, startReadWorker } from "../../workers/read-worker.js";
import { testConfig } from "../support/env.js";
import { queueFixture } from "../support/queues.js";

const config = testConfig({ GROUP_MAX_WAIT_MS: "10", GROUP_MAX_JOBS: "4", WORKER_CONCURRENCY: "2" });
const mongo = new MongoClient(config.MONGO_URL);
const fixture = queueFixture(config);
const { redis, workerRedis, queues } = fixture;
const store = new InteractiveStore(mongo.db(config.MONGO_DB));

/** One article per offset from `first` to `last`, all sent at one time. */
function range(first: number, last: number): ReadJobData {
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 0);
  for (let o = first; o <= last; o++) b.addEvent(BigInt(o), 7n, 1_700_000_000_000);
  return { ...b.build(), originTimestamp: 1_700_000_000_000 };
}

before(async () => {
  await mongo.connect();
  await store.ensureIndexes();
});

after(async () => {
  await fixture.close();
  await mongo.db(config.MONGO_DB).dropDatabase();
  await mongo.close();
});

test("a job re-added under its id with a longer range, while the first is parked in a group, is applied for its whole range", async () => {
  // The first group's MongoDB write waits until released: job J is parked in a group being written.
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let writes = 0;
  const gated = Object.create(store) as InteractiveStore;
  gated.applyPlans = async (...args) => {
    writes++;
    if (writes === 1) await released;
    return store.applyPlans(...args);
  };
  const worker = startReadWorker(
    config,
    workerRedis,
    { store: gated, cache: new ReadCache(redis) },
    pino({ level: "silent" }),
  );
  try {
    const j = range(100, 199);
    const id = readJobId(j);
    await queues.work.add("J", j, { jobId: id });
    while (writes === 0) await sleep(10);

    // Redis loses J; the partition's next owner reads from 100 again, fetches more, and adds J'
    // under the same id (the same first message).
    await queues.work.obliterate({ force: true });
    const longer = range(100, 399);
    assert.equal(readJobId(longer), id);
    await queues.work.add("J'", longer, { jobId: id });
    await sleep(200);
    release();

    let done: Job<ReadJobData, ReadJobResult, string> | undefined;
    for (let i = 0; i < 200 && done?.finishedOn === undefined; i++) {
      await sleep(50);
      done = await Job.fromId<ReadJobData, ReadJobResult, string>(queues.work, id);
    }
    assert.ok(done?.finishedOn !== undefined, "J' completed");
    assert.equal(done.failedReason, undefined);
    assert.deepEqual(
      [done.returnvalue.firstOffset, done.returnvalue.lastOffset],
      ["100", "399"],
      "J' reports the range it applied",
    );
    // Every offset 100..399 counted once: J's 100 and J''s 200 more.
    assert.equal((await store.find("article", 7n))?.readCnt, 300);

    // Completed, J' keeps its range and drops its events (see queue/applied-events.ts).
    let stored = done.data;
    for (let i = 0; i < 100 && stored.events > 0; i++) {
      await sleep(50);
      stored = (await Job.fromId<ReadJobData, ReadJobResult, string>(queues.work, id))?.data ?? stored;
    }
    assert.deepEqual(stored, { ...longer, events: 0, articles: {} });
  } finally {
    release();
    await worker.close();
  }
});
