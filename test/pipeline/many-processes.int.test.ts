// Scaling out as production does: several ingestors share a 12-partition topic through Kafka's
// consumer group, several workers share the jobs through BullMQ. Ingestors join, leave gracefully
// and are killed mid-stream (each a rebalance), a worker is added mid-stream; every count must
// come out exact, and every process must have taken part of the work.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { testConfig } from "../support/env.js";
import {
  type Child,
  createTopic,
  Fixture,
  freePort,
  producerFor,
  sendRaw,
  startChild,
  until,
  waitForLog,
} from "../support/pipeline.js";

const PARTITIONS = 12;
const ARTICLES = 200;
const config = testConfig({
  JOB_MAX_EVENTS: "200",
  GROUP_MAX_JOBS: "8",
  GROUP_MAX_WAIT_MS: "5",
  KAFKA_SESSION_TIMEOUT_MS: "6000",
  WORKER_LOCK_MS: "4000",
});
const fx = new Fixture(config);
const children: Child[] = [];
const expected = new Map<string, number>();
let produced = 0;

async function start(kind: "ingestor" | "worker"): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const child = startChild(kind, config, {
    [kind === "ingestor" ? "INGESTOR_HTTP_PORT" : "WORKER_HTTP_PORT"]: String(port),
  });
  children.push(child);
  await waitForLog(child, kind === "ingestor" ? /joined consumer group/ : /worker running/, 60_000);
  return { child, port };
}

/** A counter or histogram count from a process's /metrics (summed over its labels). */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(" ").pop());
  }
  return sum;
}

async function produce(count: number): Promise<void> {
  const producer = producerFor(config);
  await producer.connect();
  try {
    for (let sent = 0; sent < count; sent += 600) {
      const batch = [];
      for (let i = 0; i < Math.min(600, count - sent); i++) {
        const n = produced + i;
        const aid = String(1 + ((n * 13) % ARTICLES));
        expected.set(aid, (expected.get(aid) ?? 0) + 1);
        batch.push({ value: encodeReadEvent(BigInt(aid), BigInt(n)), partition: n % PARTITIONS });
      }
      produced += batch.length;
      await sendRaw(producer, config.KAFKA_TOPIC, batch);
      await sleep(500);
    }
  } finally {
    await producer.disconnect();
  }
}

const counted = async (atLeast: number) => ((await fx.totalReads()) >= atLeast ? true : undefined);

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, PARTITIONS);
});

after(async () => {
  for (const c of children)
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await fx.close();
});

test("two ingestors and three workers on 12 partitions: joins, leaves and a worker added mid-stream, every read once", {
  timeout: 300_000,
}, async () => {
  const workers = [await start("worker"), await start("worker")];
  const first = await start("ingestor");
  const producing = produce(30_000);

  await until("reads flow", () => counted(3000), 60_000);
  const second = await start("ingestor"); // join: the 12 partitions are split between two
  await until("more reads", () => counted(8000), 60_000);
  workers.push(await start("worker")); // a third worker takes jobs from now on
  await until("even more reads", () => counted(13_000), 60_000);
  first.child.proc.kill("SIGTERM"); // graceful leave: its open jobs complete and commit first
  assert.equal(await first.child.exited, 0);
  const third = await start("ingestor"); // join again
  await until("still more reads", () => counted(20_000), 90_000);
  second.child.proc.kill("SIGKILL"); // a crash: its partitions move after the session timeout
  await second.child.exited;
  await producing;

  await until(`all ${produced} reads counted`, () => counted(produced), 120_000);
  await sleep(1500); // room for a duplicate to show
  assert.deepEqual(Object.fromEntries(await fx.readCounts()), Object.fromEntries(expected));

  // Every worker applied groups, and the surviving ingestor committed ranges of its own.
  for (const [i, w] of workers.entries()) {
    assert.ok((await metric(w.port, "interactive_group_jobs_count")) > 0, `worker ${i + 1} applied groups`);
  }
  assert.ok(
    (await metric(third.port, "interactive_offsets_committed_total")) > 0,
    "the last ingestor committed",
  );
});
