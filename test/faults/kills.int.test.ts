// Faults of the pipeline's own processes: kill -9 of workers and ingestors, a rebalance while a
// job is in flight, and jobs duplicated by hand. As in every file of test/faults/,
// the real ingestor and worker processes (default settings unless a case says otherwise) count
// reads while faults are injected, then every article's total in MongoDB must be exact and every
// cache key that exists must hold exactly its document (support/case.ts). Each case records its
// recovery time: from the end of the fault until every read produced so far is counted
// (test-artifacts/fault-recovery.json; docs/reliability.md quotes a run).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readJobName } from "../../src/queue/read-job.js";
import { recoveries, withCase, writeRecoveries } from "../support/case.js";
import { waitForLog } from "../support/pipeline.js";

after(writeRecoveries);

test("kill -9 of the worker, at start and while it holds jobs", { timeout: 300_000 }, async () => {
  await withCase("worker kill -9", {}, async (c) => {
    await c.running("ingestor");
    let worker = c.start("worker");
    const producing = c.produce(4000);
    await sleep(300);
    await c.kill9(worker); // while it starts
    worker = c.start("worker");
    await c.waitCounted(1000);
    await c.jobsActive();
    await c.kill9(worker); // holding jobs: they return to the queue when their lock expires
    worker = c.start("worker");
    await producing;
    await c.recovered();
  });
});

test("kill -9 of the ingestor: another takes its partitions within 15 s", { timeout: 300_000 }, async () => {
  await withCase("ingestor kill -9", {}, async (c) => {
    await c.running("worker");
    const victim = await c.running("ingestor");
    const survivor = await c.running("ingestor");
    const producing = c.produce(3000);
    await c.waitCounted(800);
    await c.kill9(victim);
    const killedAt = Date.now();
    await producing;
    await c.waitCounted(c.produced, 60_000);
    recoveries["ingestor kill -9 (partitions flow again)"] = Date.now() - killedAt;
    assert.match(survivor.output(), /joined consumer group/);
    await c.recovered();
  });
});

test("kill -9 of ingestor and worker together, then restart", { timeout: 300_000 }, async () => {
  await withCase("ingestor + worker kill -9", {}, async (c) => {
    let worker = await c.running("worker");
    let ingestor = await c.running("ingestor");
    const producing = c.produce(4000);
    await c.waitCounted(1000);
    await Promise.all([c.kill9(ingestor), c.kill9(worker)]);
    worker = c.start("worker");
    ingestor = c.start("ingestor");
    await producing;
    await c.recovered();
  });
});

test("rebalance while a job is in flight; the new owner fetches other batch sizes", {
  timeout: 300_000,
}, async () => {
  await withCase("rebalance mid-job", {}, async (c) => {
    const first = await c.running("ingestor");
    await c.produce(2000, 200, 20);
    // No worker yet: every partition has a job in flight, waiting.
    const work = c.queue();
    try {
      await c.jobPerPartitionWaits(work);
    } finally {
      await work.close();
    }
    const second = c.start("ingestor", { JOB_MAX_EVENTS: "70", KAFKA_MAX_BYTES_PER_PARTITION: "4096" });
    await waitForLog(second, /joined consumer group/, 60_000);
    await c.running("worker");
    const producing = c.produce(2000);
    await c.waitCounted(2500);
    await c.kill9(first); // its partitions move to the second, mid-job
    await producing;
    await c.recovered();
  });
});

test("a completed job duplicated by hand, and waiting jobs duplicated, count nothing twice", {
  timeout: 300_000,
}, async () => {
  await withCase("duplicate jobs", {}, async (c) => {
    const ingestor = await c.running("ingestor");
    let worker = await c.running("worker");
    await c.produce(1500, 150, 20);
    await c.waitCounted(c.produced);
    await c.stop(worker);
    await c.produce(1500, 150, 20);
    const work = c.queue();
    try {
      await c.jobPerPartitionWaits(work);
      // Bull Board's "Duplicate": the same name and data under a new id.
      const completed = await work.getCompleted(0, 3);
      const waiting = await work.getWaiting();
      assert.ok(completed.length > 0 && waiting.length > 0);
      for (const job of [...completed, ...waiting]) await work.add(readJobName(job.data), job.data);
      worker = await c.running("worker");
      await c.recovered();
      assert.ok(!/partition held back/.test(ingestor.output()));
    } finally {
      await work.close();
    }
  });
});
