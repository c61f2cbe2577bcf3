// Pauses of the pipeline's own processes (SIGSTOP: a long GC, a frozen VM): a paused process
// keeps its sockets and its state and wakes up believing it still holds its jobs or partitions,
// after another took them over. Each case ends with every article's total exact in MongoDB and
// every cache key that exists holding exactly its document (see support/case.ts), and records
// its recovery time: from the end of the pause until every read produced so far is counted.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { servicePid, withCase, writeRecoveries } from "../support/case.js";
import { waitForLog } from "../support/pipeline.js";

after(writeRecoveries);

/** Short locks and sessions, so that a pause outlives them in a few seconds. */
const QUICK = {
  WORKER_LOCK_MS: "2000",
  KAFKA_SESSION_TIMEOUT_MS: "6000",
  JOB_BACKOFF_MS: "200",
};

test("a worker paused past its lock while a second takes its jobs, then resumed", {
  timeout: 200_000,
}, async () => {
  await withCase("worker paused past its lock", QUICK, async (c) => {
    await c.running("ingestor");
    const first = await c.running("worker");
    const second = await c.running("worker");
    const producing = c.produce(8000, 100, 50);
    await c.waitCounted(500);
    await c.jobsActive();
    const counted = await c.counted();
    const pausing = c.pause(first, 8000); // four locks
    // The other worker goes on, with the jobs the paused one held once their locks expired.
    await c.waitCounted(counted + 300, 60_000);
    await pausing;
    await producing;
    await c.recovered("worker paused past its lock");
    assert.match(second.output(), /worker running/);
  });
});

test("an ingestor paused past its session while a second takes its partitions, then resumed", {
  timeout: 200_000,
}, async () => {
  await withCase("ingestor paused past its session", QUICK, async (c) => {
    await c.running("worker");
    const first = await c.running("ingestor");
    const second = await c.running("ingestor");
    const producing = c.produce(3000, 100, 40);
    await c.waitCounted(500);
    // 15 s: the session (6 s) expires, the second takes every partition and follows the open jobs.
    await c.pause(first, 15_000);
    await producing;
    await c.recovered("ingestor paused past its session");
    await waitForLog(second, /joined consumer group/);
  });
});

test("both workers paused 20 s", { timeout: 200_000 }, async () => {
  await withCase("both workers paused", QUICK, async (c) => {
    await c.running("ingestor");
    const workers = [await c.running("worker"), await c.running("worker")];
    const producing = c.produce(3000, 100, 40);
    await c.waitCounted(500);
    await c.jobsActive();
    await Promise.all(workers.map((w) => c.pause(w, 20_000)));
    await producing;
    await c.recovered("both workers paused 20 s");
  });
});

test("a job lost by Redis while parked in a group, re-added longer by the partition's next owner, is applied whole", {
  timeout: 240_000,
}, async () => {
  // Issue 15, hole 1, with the real processes: job J covers a partition's next range and sits in a
  // group whose MongoDB write hangs; Redis loses J; the partition's next ingestor reads from the
  // same offset, fetches more, and adds J' under J's id. J' must be applied for its whole range.
  await withCase("job lost in a group, re-added longer", { ...QUICK, GROUP_MAX_WAIT_MS: "50" }, async (c) => {
    await c.running("worker", { WORKER_CONCURRENCY: "2", GROUP_MAX_JOBS: "8" });
    const first = await c.running("ingestor");
    await c.produce(400, 400, 0);
    await c.waitCounted(c.produced);
    // MongoDB hangs (one group's write waits), and the next ranges become jobs in that group.
    const mongo = servicePid("mongo");
    process.kill(mongo, "SIGSTOP");
    try {
      await c.produce(400, 400, 0);
      await c.jobsActive(4);
      await c.kill9(first); // nobody re-adds J with its own range
      await c.fx.redis.flushall(); // Redis loses J (and the cache keys)
      await c.produce(800, 400, 0);
      // The next owner reads each partition from the committed offset: J' = J's first message,
      // more messages, the same id. The worker takes them while J's group still hangs.
      await c.running("ingestor");
      await c.jobsActive(4);
    } finally {
      process.kill(mongo, "SIGCONT");
    }
    await c.recovered("job lost in a group, re-added longer");
  });
});
