// Services that hang instead of refusing (SIGSTOP: connections accepted, nothing answered), and a
// cache connection whose replies are lost. While a service hangs, the processes that need it say
// so within seconds (log line, /readyz, interactive_dependency_up); once it resumes, the pipeline
// goes on by itself. Each case ends with every article's total exact in MongoDB and every cache
// key that exists holding exactly its document (see support/case.ts), and records its recovery
// time: from the end of the hang until every read produced so far is counted.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { CACHE_CONNECTION_NAME } from "../../src/redis/connection.js";
import { pauseService, withCase, writeRecoveries } from "../support/case.js";
import { type Child, httpUrl, waitForLog } from "../support/pipeline.js";

after(writeRecoveries);

const QUICK = { JOB_BACKOFF_MS: "200" };

/** Resolves once `child` logged that `dependency` does not answer; returns how long that took. */
async function noticed(child: Child, dependency: string, since: number): Promise<number> {
  await waitForLog(
    child,
    new RegExp(`"dependency":"${dependency}".*"msg":"dependency not answering"`),
    30_000,
  );
  return Date.now() - since;
}

test("MongoDB paused 40 s: the worker says so within seconds; counts exact once it resumes", {
  timeout: 240_000,
}, async () => {
  await withCase("mongodb paused", QUICK, async (c) => {
    await c.running("ingestor");
    const worker = await c.running("worker");
    const producing = c.produce(3000, 100, 40);
    await c.waitCounted(500);
    const pausedAt = Date.now();
    const pausing = pauseService("mongo", 40_000);
    const ms = await noticed(worker, "mongodb", pausedAt);
    assert.ok(ms < 10_000, `noticed after ${ms} ms`);
    const readyz = await fetch(`${await httpUrl(worker)}/readyz`);
    assert.equal(readyz.status, 503);
    assert.match(
      ((await readyz.json()) as { error: string }).error,
      /mongodb: did not answer within 2000 ms/,
    );
    await pausing;
    await producing;
    await waitForLog(worker, /"dependency":"mongodb".*"msg":"dependency answers again"/, 30_000);
    await c.recovered("MongoDB paused 40 s");
  });
});

test("Redis paused 25 s: ingestor and worker say so; counts exact once it resumes", {
  timeout: 240_000,
}, async () => {
  await withCase("redis paused", QUICK, async (c) => {
    const ingestor = await c.running("ingestor");
    const worker = await c.running("worker");
    const producing = c.produce(3000, 100, 40);
    await c.waitCounted(500);
    const pausedAt = Date.now();
    const pausing = pauseService("redis", 25_000);
    const ms = await noticed(ingestor, "redis", pausedAt);
    await noticed(worker, "redis", pausedAt);
    assert.ok(ms < 10_000, `noticed after ${ms} ms`);
    await pausing;
    await producing;
    await c.recovered("Redis paused 25 s");
  });
});

test("Kafka paused 25 s: the ingestor says so; counts exact once it resumes", {
  timeout: 240_000,
}, async () => {
  await withCase("kafka paused", QUICK, async (c) => {
    const ingestor = await c.running("ingestor");
    await c.running("worker");
    const producing = c.produce(2000, 100, 40);
    await c.waitCounted(500);
    await producing; // the producer needs Kafka too
    const pausedAt = Date.now();
    const pausing = pauseService("kafka", 25_000);
    const ms = await noticed(ingestor, "kafka", pausedAt);
    assert.ok(ms < 10_000, `noticed after ${ms} ms`);
    await pausing;
    await c.recovered("Kafka paused 25 s");
  });
});

test("the worker's cache connection killed again and again while groups apply: the cache stays exact", {
  timeout: 200_000,
}, async () => {
  await withCase("cache connection killed", { ...QUICK, GROUP_MAX_JOBS: "2" }, async (c) => {
    await c.running("ingestor");
    await c.running("worker");
    const admin = new Redis(c.config.REDIS_URL);
    let kills = 0;
    let killing = true;
    const killer = (async () => {
      while (killing) {
        const clients = (await admin.client("LIST")) as string;
        for (const line of clients.split("\n")) {
          if (!line.includes(` name=${CACHE_CONNECTION_NAME} `)) continue;
          const id = /\bid=(\d+)/.exec(line)?.[1];
          if (id !== undefined) kills += Number(await admin.client("KILL", "ID", id));
        }
        await sleep(25);
      }
    })();
    try {
      await c.produce(3000, 50, 20);
      await c.waitCounted(c.produced);
    } finally {
      killing = false;
      await killer;
      admin.disconnect();
    }
    assert.ok(kills >= 10, `the cache connection was killed ${kills} times`);
    await c.recovered("cache connection killed");
  });
});
