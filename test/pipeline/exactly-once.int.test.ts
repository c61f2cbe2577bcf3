// Exactly once under failure, with the real processes: ingestors and workers are killed with
// SIGKILL mid-stream and restarted, a second ingestor forces rebalances, a completed job is
// retried by hand, and a job that failed all its attempts holds its partition back until it is
// retried. Every count must come out exact.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import type { ReadJobData } from "../../src/queue/read-job.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { articleKey } from "../support/cache.js";
import { testConfig } from "../support/env.js";
import {
  type Child,
  createTopic,
  Fixture,
  producerFor,
  ROOT,
  sendRaw,
  startChild,
  until,
  waitForLog,
} from "../support/pipeline.js";

const ARTICLES = 40;
const config = testConfig({
  JOB_MAX_EVENTS: "150",
  GROUP_MAX_JOBS: "4",
  GROUP_MAX_WAIT_MS: "5",
  KAFKA_SESSION_TIMEOUT_MS: "6000",
  WORKER_LOCK_MS: "2000",
  JOB_ATTEMPTS: "50",
  JOB_BACKOFF_MS: "50",
  SHUTDOWN_TIMEOUT_MS: "5000",
});
const fx = new Fixture(config);
const children: Child[] = [];
const expected = new Map<string, number>();
let produced = 0;

function start(kind: "ingestor" | "worker", extra: Record<string, string> = {}): Child {
  const child = startChild(kind, config, extra);
  children.push(child);
  return child;
}

async function kill9(child: Child): Promise<void> {
  child.proc.kill("SIGKILL");
  await child.exited;
}

/** Produces `count` events in paced batches, so that failures land mid-stream. */
async function produce(count: number, perBatch = 200, pauseMs = 40): Promise<void> {
  const producer = producerFor(config);
  await producer.connect();
  try {
    for (let sent = 0; sent < count; sent += perBatch) {
      const batch = [];
      for (let i = 0; i < Math.min(perBatch, count - sent); i++) {
        const aid = BigInt(1 + ((produced * 7 + i) % ARTICLES));
        expected.set(aid.toString(), (expected.get(aid.toString()) ?? 0) + 1);
        batch.push({ value: encodeReadEvent(aid, BigInt(produced)), partition: (produced + i) % 4 });
      }
      produced += batch.length;
      await sendRaw(producer, config.KAFKA_TOPIC, batch);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
}

async function assertExact(): Promise<void> {
  try {
    await until(
      `all ${produced} reads counted`,
      async () => ((await fx.totalReads()) >= produced ? true : undefined),
      120_000,
    );
  } catch (err) {
    throw new Error(`${String(err)}\n${await diagnosis()}`);
  }
  await new Promise((r) => setTimeout(r, 1000)); // room for a duplicate to show
  assert.deepEqual(Object.fromEntries(await fx.readCounts()), Object.fromEntries(expected));
}

/** What an operator would look at when reads stop arriving: counts, jobs, the processes' logs. */
async function diagnosis(): Promise<string> {
  const work = new Queue<ReadJobData>(config.WORK_QUEUE, {
    connection: fx.redis,
    prefix: config.QUEUE_PREFIX,
  });
  try {
    const counts = await work.getJobCounts();
    const failed = (await work.getFailed(0, 5)).map((j) => `${j.id}: ${j.failedReason}`);
    const pending = (await work.getJobs(["waiting", "active", "delayed", "prioritized"], 0, 10)).map(
      (j) => `${j.id} attempts ${j.attemptsMade}`,
    );
    const per = new Map<string, number>(await fx.readCounts());
    const short = [...expected].filter(([aid, n]) => (per.get(aid) ?? 0) !== n).length;
    const state = (c: Child) =>
      c.proc.exitCode === null && c.proc.signalCode === null ? "running" : "exited";
    const tail = (c: Child) => c.output().split("\n").slice(-25).join("\n");
    return [
      `${await fx.totalReads()} of ${produced} counted, ${short} articles off; jobs ${JSON.stringify(counts)}`,
      `failed: ${failed.join("; ")}`,
      `pending: ${pending.join("; ")}`,
      ...children.map((c, i) => `child ${i} (${state(c)}):\n${tail(c)}`),
    ].join("\n");
  } finally {
    await work.close();
  }
}

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, 4);
});

after(async () => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await fx.close();
});

test("kill -9 of ingestor and worker mid-stream, and rebalances, lose and double nothing", {
  timeout: 240_000,
}, async () => {
  await fx.redis.hset(articleKey(1), { read_cnt: 0, like_cnt: 0, collect_cnt: 0 });
  let worker = start("worker");
  let ingestor = start("ingestor");
  await waitForLog(ingestor, /ingestor running/);

  const producing = produce(12_000);
  await until("some reads counted", async () => ((await fx.totalReads()) > 1500 ? true : undefined));
  await kill9(ingestor);
  await kill9(worker);
  worker = start("worker");
  ingestor = start("ingestor");

  await until("more reads counted", async () => ((await fx.totalReads()) > 5000 ? true : undefined), 60_000);
  const second = start("ingestor"); // rebalance: partitions are shared by two ingestors
  await waitForLog(second, /joined consumer group/);
  await kill9(worker);
  worker = start("worker");
  await until(
    "even more reads counted",
    async () => ((await fx.totalReads()) > 8000 ? true : undefined),
    60_000,
  );
  second.proc.kill("SIGTERM"); // graceful leave: another rebalance
  assert.equal(await second.exited, 0);
  await producing;
  await assertExact();

  // The cache key that existed followed every read, as MongoDB did (no replay touched it, or
  // a replay deleted it: either way it is never above the truth).
  const cached = await fx.redis.hget(articleKey(1), "read_cnt");
  assert.ok(cached === null || Number(cached) <= (expected.get("1") ?? 0), `cache ${cached} above the truth`);
});

test("retrying a completed job by hand counts nothing twice and invalidates its cache keys", async () => {
  const work = new Queue<ReadJobData>(config.WORK_QUEUE, {
    connection: fx.redis,
    prefix: config.QUEUE_PREFIX,
  });
  try {
    const [job] = await work.getCompleted(0, 0);
    assert.ok(job?.id, "a completed job to retry");
    const aid = Object.keys(job.data.articles)[0] as string;
    await fx.redis.hset(articleKey(aid), { read_cnt: 1, like_cnt: 0, collect_cnt: 0 });
    const before = await fx.readCounts();
    await job.retry("completed");
    await until("the retried job completes", async () =>
      (await work.getJobState(job.id as string)) === "completed" ? true : undefined,
    );
    assert.deepEqual(await fx.readCounts(), before);
    assert.equal(await fx.redis.exists(articleKey(aid)), 0, "replayed article's cache key deleted");
  } finally {
    await work.close();
  }
});

test("a job that failed all attempts holds its partition back until retried; MongoDB restarts lose nothing", {
  timeout: 180_000,
  skip: process.env.MONGO_URL ? "needs the local MongoDB-compatible server to stop it" : false,
}, async () => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
  const quick = { JOB_ATTEMPTS: "2", MONGO_URL: `${config.MONGO_URL}&serverSelectionTimeoutMS=500` };
  const worker = start("worker", quick);
  const ingestor = start("ingestor", quick);
  await waitForLog(worker, /worker running/);
  await waitForLog(ingestor, /ingestor running/);
  const work = new Queue<ReadJobData>(config.WORK_QUEUE, {
    connection: fx.redis,
    prefix: config.QUEUE_PREFIX,
  });
  try {
    await services("down", "mongo");
    const countedBefore = produced;
    await produce(400, 100, 0);
    await until("jobs failed all attempts", async () =>
      (await work.getFailedCount()) > 0 ? true : undefined,
    );
    await waitForLog(ingestor, /partition held back/);
    await services("up", "mongo");
    // Held back: nothing after the failed ranges is applied while MongoDB is back.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok((await fx.totalReads()) < produced, "reads of held-back partitions wait");
    assert.ok((await fx.totalReads()) >= countedBefore);
    await produce(200, 100, 0); // more reads arrive while held back: they wait in Kafka
    // A person retries the failed jobs, and again any that fail once more: the worker's driver
    // may not have seen MongoDB come back yet, and a job whose attempts were running out while
    // it was away can fail after the first round of retries. Each retry is one more attempt.
    try {
      await until(
        "every held-back job retried and applied",
        async () => {
          for (const job of await work.getFailed()) await job.retry("failed");
          return (await fx.totalReads()) >= produced ? true : undefined;
        },
        120_000,
        1000,
      );
    } catch (err) {
      const counts = await work.getJobCounts();
      const tail = (c: Child) => c.output().split("\n").slice(-12).join("\n");
      throw new Error(
        `${String(err)}: ${await fx.totalReads()} of ${produced} counted; jobs ${JSON.stringify(counts)}\n` +
          `ingestor:\n${tail(ingestor)}\nworker:\n${tail(worker)}`,
      );
    }
    await assertExact();
  } finally {
    await work.close();
  }
});

async function services(action: "up" | "down", which: string): Promise<void> {
  const proc = spawn("bash", [`scripts/services/${action}.sh`, which], { cwd: ROOT, stdio: "ignore" });
  const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
  assert.equal(code, 0, `services ${action} ${which}`);
}
