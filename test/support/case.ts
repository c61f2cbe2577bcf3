// One scenario of the real pipeline, for the tests that run its processes and break things: its
// own topic, group, queues and database, its ingestor and worker processes, the reads it produced
// and their expected per-article totals, and an exact check of MongoDB against them, and of the
// cache keys that exist against MongoDB.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import type { Config } from "../../src/config.js";
import type { ReadJobData } from "../../src/queue/read-job.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { articleKey, cacheMismatches, fillAbsent } from "./cache.js";
import { testConfig } from "./env.js";
import {
  type Child,
  createTopic,
  Fixture,
  messagesInTopic,
  producerFor,
  ROOT,
  sendRaw,
  startChild,
  until,
  waitForLog,
} from "./pipeline.js";

export const PARTITIONS = 4;
export const ARTICLES = 60;
/** Recovery times measured by Case.recovered, by label. */
export const recoveries: Record<string, number> = {};

/** Stops or starts one of the local services (scripts/services). */
export async function services(action: "up" | "down", which: string): Promise<void> {
  const proc = spawn("bash", [`scripts/services/${action}.sh`, which], { cwd: ROOT, stdio: "ignore" });
  const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
  assert.equal(code, 0, `services ${action} ${which}`);
}

/** Writes the recovery times measured so far to test-artifacts/fault-recovery.json, and prints them. */
export function writeRecoveries(): void {
  const file = `${ROOT}test-artifacts/fault-recovery.json`;
  let previous: Record<string, number> = {};
  try {
    previous = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    previous = {};
  }
  writeFileSync(file, `${JSON.stringify({ ...previous, ...recoveries }, null, 2)}\n`);
  for (const [name, ms] of Object.entries(recoveries)) process.stdout.write(`# recovery ${name}: ${ms} ms\n`);
}

/** The pid of a local service that scripts/services started (redis, mongo, kafka, ...). */
export function servicePid(name: string): number {
  return Number(readFileSync(`${ROOT}.local/run/${name}.pid`, "utf8"));
}

/**
 * Pauses a local service for `ms` (SIGSTOP: it keeps its sockets and accepts connections, but
 * answers nothing), then resumes it.
 */
export async function pauseService(name: string, ms: number): Promise<void> {
  await pauseProcess(servicePid(name), ms);
}

/** Pauses a process (SIGSTOP: a long GC, a frozen VM) for `ms`, then resumes it. */
async function pauseProcess(pid: number | undefined, ms: number): Promise<void> {
  assert.ok(pid !== undefined, "a process to pause");
  process.kill(pid, "SIGSTOP");
  try {
    await sleep(ms);
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

/** One case: its own topic, group, queues and database, its processes, its expected counts. */
export class Case {
  readonly config: Config;
  readonly fx: Fixture;
  readonly children: Child[] = [];
  readonly expected = new Map<string, number>();
  produced = 0;
  /** Added to article ids, so that a case's later reads differ from its earlier ones. */
  aidBase = 1;

  constructor(
    readonly name: string,
    overrides: Record<string, string> = {},
  ) {
    this.config = testConfig({
      JOB_MAX_EVENTS: "150",
      GROUP_MAX_JOBS: "4",
      GROUP_MAX_WAIT_MS: "5",
      JOB_BACKOFF_MS: "500",
      SHUTDOWN_TIMEOUT_MS: "5000",
      ...overrides,
    });
    this.fx = new Fixture(this.config);
  }

  /** The articles whose cache keys the case fills before it starts: every other one. */
  readonly cachedArticles: string[] = [];

  async open(): Promise<void> {
    await this.fx.mongo.connect();
    await createTopic(this.config, PARTITIONS);
    for (let i = 0; i < ARTICLES; i += 2) this.cachedArticles.push(String(this.aidBase + i));
    for (const aid of this.cachedArticles) await fillAbsent(this.fx.redis, aid);
  }

  start(kind: "ingestor" | "worker", extra: Record<string, string> = {}): Child {
    const child = startChild(kind, this.config, extra);
    this.children.push(child);
    return child;
  }

  async running(kind: "ingestor" | "worker", extra: Record<string, string> = {}): Promise<Child> {
    const child = this.start(kind, extra);
    await waitForLog(child, kind === "ingestor" ? /joined consumer group/ : /worker running/, 60_000);
    return child;
  }

  async kill9(child: Child): Promise<void> {
    child.proc.kill("SIGKILL");
    await child.exited;
  }

  /** Pauses one of the case's processes (see pauseProcess). */
  async pause(child: Child, ms: number): Promise<void> {
    await pauseProcess(child.proc.pid, ms);
  }

  async stop(child: Child): Promise<void> {
    child.proc.kill("SIGTERM");
    await child.exited;
  }

  /** Produces `count` reads in paced batches over all partitions (so faults land mid-stream). */
  async produce(count: number, perBatch = 100, pauseMs = 50): Promise<void> {
    const producer = producerFor(this.config);
    await producer.connect();
    try {
      for (let sent = 0; sent < count; sent += perBatch) {
        const batch = [];
        for (let i = 0; i < Math.min(perBatch, count - sent); i++) {
          const n = this.produced + i;
          const aid = BigInt(this.aidBase + ((n * 7) % ARTICLES));
          this.expected.set(aid.toString(), (this.expected.get(aid.toString()) ?? 0) + 1);
          batch.push({ value: encodeReadEvent(aid, BigInt(n)), partition: n % PARTITIONS });
        }
        this.produced += batch.length;
        await sendRaw(producer, this.config.KAFKA_TOPIC, batch);
        if (pauseMs > 0) await sleep(pauseMs);
      }
    } finally {
      await producer.disconnect();
    }
  }

  /** The case's work queue, to look at or act on jobs as a person would in Bull Board. */
  queue(): Queue<ReadJobData> {
    return new Queue<ReadJobData>(this.config.WORK_QUEUE, {
      connection: this.fx.redis,
      prefix: this.config.QUEUE_PREFIX,
    });
  }

  /** Resolves once workers hold at least `atLeast` jobs (active): the moment to kill or pause one. */
  async jobsActive(atLeast = 1): Promise<void> {
    const work = this.queue();
    try {
      await until(
        `workers hold ${atLeast} jobs`,
        async () => ((await work.getActiveCount()) >= atLeast ? true : undefined),
        60_000,
        10,
      );
    } finally {
      await work.close();
    }
  }

  /** Waits until every partition has a job waiting (no worker takes them). */
  async jobPerPartitionWaits(work: Queue<ReadJobData>): Promise<void> {
    await until("a job per partition waits", async () =>
      (await work.getWaitingCount()) >= PARTITIONS ? true : undefined,
    );
  }

  async counted(): Promise<number> {
    return this.fx.totalReads();
  }

  async waitCounted(atLeast: number, timeoutMs = 120_000): Promise<void> {
    try {
      await until(
        `${this.name}: ${atLeast} reads counted`,
        async () => ((await this.counted()) >= atLeast ? true : undefined),
        timeoutMs,
      );
    } catch (err) {
      throw new Error(
        `${String(err)}; ${await this.counted().catch(() => "?")} counted\n\nlast logs:\n${this.logs()}`,
      );
    }
  }

  logs(): string {
    return this.children.map((c) => c.output().split("\n").slice(-15).join("\n")).join("\n---\n");
  }

  /** The fault is over: produce a few more reads and time until everything so far is counted. */
  async recovered(label = this.name): Promise<number> {
    const started = Date.now();
    await this.produce(100, 100, 0);
    await this.waitCounted(this.produced, 180_000);
    const ms = Date.now() - started;
    recoveries[label] = ms;
    return ms;
  }

  /** Every article's total is exact; on a mismatch, names the articles that are off and by how much. */
  async assertExact(): Promise<void> {
    await this.waitCounted(this.produced, 180_000).catch(() => undefined);
    await sleep(1500); // room for a duplicate to show
    const actual = await this.fx.readCounts();
    const off: string[] = [];
    for (const aid of new Set([...actual.keys(), ...this.expected.keys()])) {
      const want = this.expected.get(aid) ?? 0;
      const got = actual.get(aid) ?? 0;
      if (got !== want)
        off.push(`article ${aid}: ${got} counted, ${want} read (${got > want ? "+" : ""}${got - want})`);
    }
    if (off.length === 0) {
      // The cache keys that exist hold exactly their documents (a key may be gone: Redis lost it).
      const aids = new Set([...this.cachedArticles, ...actual.keys()]);
      assert.deepEqual(await cacheMismatches(this.fx.redis, this.fx.db, aids), [], `${this.name}: cache`);
      return;
    }
    // Tells a duplicate in Kafka (a producer's retry) from one of the pipeline's.
    const inKafka = await messagesInTopic(this.config).catch((err: unknown) => String(err));
    const logs = this.children.map((c) => c.output().split("\n").slice(-15).join("\n")).join("\n---\n");
    assert.deepEqual(
      off,
      [],
      `${this.name}: ${off.length} articles off (Kafka holds ${inKafka} messages; ${this.produced} produced):\n` +
        `${off.join("\n")}\n\nlast logs:\n${logs}`,
    );
  }

  async close(): Promise<void> {
    for (const c of this.children)
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await Promise.all(this.children.map((c) => c.exited));
    for (const aid of this.cachedArticles) await this.fx.redis.del(articleKey(aid));
    await this.fx.close();
  }
}

/** Runs a case: opens it, runs the body, checks every count exactly, and closes it. */
export async function withCase(
  name: string,
  overrides: Record<string, string>,
  body: (c: Case) => Promise<void>,
): Promise<void> {
  const c = new Case(name, overrides);
  try {
    await c.open();
    await body(c);
    await c.assertExact();
  } finally {
    await c.close();
  }
}
