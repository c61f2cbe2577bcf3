// Helpers for tests that run the real pipeline: topics, producing raw values, running the
// ingestor and worker in this process or as child processes, waiting for counts, cleaning up.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type Kafka, logLevel, type Producer } from "kafkajs";
import { type Db, MongoClient } from "mongodb";
import type { Config } from "../../src/config.js";
import { kafkaClient } from "../../src/kafka/client.js";
import { commandConnection, type RedisClient, servers } from "../../src/redis/connection.js";
import { COLLECTION } from "../../src/store/interactives.js";

export const ROOT = new URL("../../", import.meta.url).pathname;

export function kafkaFor(config: Config): Kafka {
  return kafkaClient({ clientId: "test", brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
}

/**
 * A producer that writes each message once even when it retries a send (the broker restarted,
 * a request timed out): without idempotence a retried batch can land twice, and a test would
 * take Kafka's duplicates for the pipeline's.
 */
export function producerFor(config: Config): Producer {
  return kafkaFor(config).producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** How many messages the topic's partitions hold (high minus low watermark, summed). */
export async function messagesInTopic(config: Config): Promise<number> {
  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(config.KAFKA_TOPIC);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(config: Config, partitions: number): Promise<void> {
  const admin = kafkaFor(config).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: config.KAFKA_TOPIC, numPartitions: partitions }],
    waitForLeaders: true,
  });
  await admin.disconnect();
}

/** Sends raw values (string, Buffer or null) to given partitions, in order. */
export async function sendRaw(
  producer: Producer,
  topic: string,
  values: { value: string | Buffer | null; partition: number }[],
): Promise<void> {
  for (let i = 0; i < values.length; i += 1000) {
    await producer.send({ topic, messages: values.slice(i, i + 1000), acks: -1 });
  }
}

/** A TCP port free on loopback right now (for a process's HTTP port the test must know). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no free port");
  return address.port;
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(everyMs);
  }
}

/**
 * Waits until every partition's committed offset is its end: the group has applied and
 * committed everything the topic holds, and nothing is left to redeliver. Returns those ends.
 */
export async function untilCommittedToEnd(
  config: Config,
  timeoutMs?: number,
): Promise<{ partition: number; high: string }[]> {
  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(config.KAFKA_TOPIC);
    await until(
      "offsets committed to the end",
      async () => {
        const [group] = await admin.fetchOffsets({
          groupId: config.KAFKA_GROUP_ID,
          topics: [config.KAFKA_TOPIC],
        });
        return ends.every(
          (e) => group?.partitions.find((p) => p.partition === e.partition)?.offset === e.high,
        )
          ? true
          : undefined;
      },
      timeoutMs,
    );
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/** MongoDB, Redis and Kafka handles a test uses to look at results and clean up. */
export class Fixture {
  readonly mongo: MongoClient;
  readonly db: Db;
  /** The queue's Redis (a cluster under REDIS_CLUSTER), which also holds the cache by default. */
  readonly redis: RedisClient;

  constructor(readonly config: Config) {
    this.mongo = new MongoClient(config.MONGO_URL);
    this.db = this.mongo.db(config.MONGO_DB);
    this.redis = commandConnection(config);
  }

  /** read_cnt per article id (decimal string). */
  async readCounts(): Promise<Map<string, number>> {
    const docs = await this.db
      .collection(COLLECTION)
      .find({}, { projection: { biz_id: 1, read_cnt: 1 }, promoteLongs: false })
      .toArray();
    return new Map(docs.map((d) => [String(d.biz_id), Number(String(d.read_cnt))]));
  }

  async totalReads(): Promise<number> {
    let n = 0;
    for (const v of (await this.readCounts()).values()) n += v;
    return n;
  }

  async close(): Promise<void> {
    await this.db.dropDatabase().catch(() => undefined);
    const prefix = `${this.config.QUEUE_PREFIX}:`;
    for (const queue of [this.config.WORK_QUEUE, this.config.DEAD_LETTER_QUEUE]) {
      for (const server of servers(this.redis)) {
        const keys = await server.keys(`${prefix}${queue}:*`);
        for (const key of keys) await this.redis.del(key);
      }
    }
    const admin = kafkaFor(this.config).admin();
    await admin.connect();
    // Only a topic that exists: kafkajs retries the deletion of a missing one for seconds.
    if ((await admin.listTopics()).includes(this.config.KAFKA_TOPIC))
      await admin.deleteTopics({ topics: [this.config.KAFKA_TOPIC] }).catch(() => undefined);
    await admin.disconnect();
    await this.mongo.close();
    this.redis.disconnect();
  }
}

/** Environment variables that make a child process use the same Config. */
export function envOf(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    env[k] = Array.isArray(v) ? v.join(",") : String(v);
  }
  return { ...env, LOG_PRETTY: "false", ...extra };
}

export interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const ENTRIES = {
  ingestor: "src/main/ingestor.ts",
  worker: "workers/main.ts",
  dashboard: "src/main/dashboard.ts",
} as const;

/** Starts `npm run ingestor|worker|dashboard` as a child process (node directly, to own the pid). */
export function startChild(
  kind: keyof typeof ENTRIES,
  config: Config,
  extra: Record<string, string> = {},
): Child {
  const entry = ENTRIES[kind];
  const proc = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    env: envOf(config, { LOG_LEVEL: "info", ...extra }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

/** The base URL of a child's HTTP server (probes, metrics), from its "http server listening" line. */
export async function httpUrl(child: Child): Promise<string> {
  await waitForLog(child, /"msg":"http server listening"/);
  const address = /"address":"([^"]+)","msg":"http server listening"/.exec(child.output())?.[1];
  if (address === undefined) throw new Error("no http server address in the child's log");
  return `http://${address}`;
}

export async function waitForLog(child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  await until(
    `log line ${pattern}`,
    async () => (pattern.test(child.output()) ? true : undefined),
    timeoutMs,
    50,
  );
}
