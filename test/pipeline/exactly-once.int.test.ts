// Exactly once under failure, with the real processes: ingestors and workers are killed with
// SIGKILL mid-stream and restarted, a second ingestor forces rebalances, a completed job is
// retried by hand, and a job that failed all its attempts holds its partition back until it is
// retried. Every count must come out exact. Each test is its own case (topic, queues, database,
// processes), so any one of them runs alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ReadCache } from "../../src/cache/read-cache.js";
import { InteractiveStore } from "../../src/store/interactives.js";
import { articleKey } from "../support/cache.js";
import { services, withCase } from "../support/case.js";
import { httpUrl, until } from "../support/pipeline.js";

/** Small jobs and groups, so that failures land between many of them; quick retries and locks. */
const SETTINGS = {
  JOB_MAX_EVENTS: "150",
  GROUP_MAX_JOBS: "4",
  GROUP_MAX_WAIT_MS: "5",
  KAFKA_SESSION_TIMEOUT_MS: "6000",
  WORKER_LOCK_MS: "2000",
  JOB_ATTEMPTS: "50",
  JOB_BACKOFF_MS: "50",
  SHUTDOWN_TIMEOUT_MS: "5000",
};

test("kill -9 of ingestor and worker mid-stream, and rebalances, lose and double nothing", {
  timeout: 240_000,
}, async () => {
  await withCase("kill -9 and rebalances", SETTINGS, async (c) => {
    let worker = c.start("worker");
    let ingestor = await c.running("ingestor");
    const producing = c.produce(12_000, 200, 40);
    await c.waitCounted(1500, 60_000);
    await c.kill9(ingestor);
    await c.kill9(worker);
    worker = c.start("worker");
    ingestor = c.start("ingestor");
    await c.waitCounted(5000, 60_000);
    const second = await c.running("ingestor"); // rebalance: partitions shared by two ingestors
    await c.kill9(worker);
    worker = c.start("worker");
    await c.waitCounted(8000, 60_000);
    second.proc.kill("SIGTERM"); // graceful leave: another rebalance
    assert.equal(await second.exited, 0);
    await producing;
  });
});

test("retrying completed jobs by hand counts nothing twice, in MongoDB or the cache", {
  timeout: 120_000,
}, async () => {
  await withCase("retry a completed job", SETTINGS, async (c) => {
    await c.running("worker");
    await c.running("ingestor");
    await c.produce(600, 200, 0);
    await c.waitCounted(c.produced);
    const work = c.queue();
    try {
      // Completed jobs hold their ranges, not their events (queue/applied-events.ts): a retry
      // must apply nothing and leave the cache alone. (Replays of jobs that still hold their events
      // are test/faults/kills.int.test.ts's duplicated waiting jobs.)
      const jobs = await work.getCompleted();
      assert.ok(jobs.length > 0, "completed jobs to retry");
      const aid = c.cachedArticles[0] as string;
      // The read path fills its key: the document's counters at its version.
      const found = await new InteractiveStore(c.fx.db).find("article", BigInt(aid));
      assert.ok(found);
      // (It may hold that version already: the case filled every other article's key.)
      await new ReadCache(c.fx.redis).fill(articleKey(aid), found, found.version, 600);
      const cached = await c.fx.redis.hgetall(articleKey(aid));
      assert.deepEqual([cached.read_cnt, cached.v], [String(found.readCnt), String(found.version)]);
      const before = await c.fx.readCounts();
      for (const job of jobs) await job.retry("completed");
      await until("the retried jobs complete", async () =>
        (await work.getCompletedCount()) === jobs.length ? true : undefined,
      );
      assert.deepEqual(await c.fx.readCounts(), before);
      assert.deepEqual(await c.fx.redis.hgetall(articleKey(aid)), cached, "its cache key is untouched");
    } finally {
      await work.close();
    }
  });
});

test("a job that failed all attempts holds its partition back until retried; MongoDB restarts lose nothing", {
  timeout: 240_000,
  skip: process.env.MONGO_URL ? "needs the local MongoDB-compatible server to stop it" : false,
}, async () => {
  await withCase("held back by an outage", { ...SETTINGS, JOB_ATTEMPTS: "2" }, async (c) => {
    const quick = { MONGO_URL: `${c.config.MONGO_URL}&serverSelectionTimeoutMS=500` };
    await c.running("worker", quick);
    const ingestor = await c.running("ingestor", quick);
    await c.produce(400, 100, 0);
    await c.waitCounted(c.produced);
    const work = c.queue();
    try {
      await services("down", "mongo");
      const countedBefore = c.produced;
      await c.produce(400, 100, 0);
      await until("jobs failed all attempts", async () =>
        (await work.getFailedCount()) > 0 ? true : undefined,
      );
      await until("partition held back", async () =>
        /partition held back/.test(ingestor.output()) ? true : undefined,
      );
      // The ingestor's /readyz lists it with its cause (the ingestor itself is ready).
      const readyz = (await (await fetch(`${await httpUrl(ingestor)}/readyz`)).json()) as {
        status: string;
        heldBack: { cause: string }[];
      };
      assert.equal(readyz.status, "ready");
      assert.ok(
        readyz.heldBack.length > 0 && readyz.heldBack.every((h) => h.cause === "job-failed"),
        JSON.stringify(readyz),
      );
      await services("up", "mongo");
      // Held back: nothing after the failed ranges is applied while MongoDB is back.
      await sleep(1500);
      assert.ok((await c.counted()) < c.produced, "reads of held-back partitions wait");
      assert.ok((await c.counted()) >= countedBefore);
      await c.produce(200, 100, 0); // more reads arrive while held back: they wait in Kafka
      // A person retries the failed jobs, and again any that fail once more: the worker's driver
      // may not have seen MongoDB come back yet, and a job whose attempts were running out while
      // it was away can fail after the first round of retries. Each retry is one more attempt.
      try {
        await until(
          "every held-back job retried and applied",
          async () => {
            for (const job of await work.getFailed()) await job.retry("failed");
            return (await c.counted()) >= c.produced ? true : undefined;
          },
          120_000,
          1000,
        );
      } catch (err) {
        const counts = await work.getJobCounts();
        throw new Error(
          `${String(err)}: ${await c.counted()} of ${c.produced} counted; jobs ${JSON.stringify(counts)}\n` +
            `last logs:\n${c.logs()}`,
        );
      }
    } finally {
      await work.close();
    }
  });
});
