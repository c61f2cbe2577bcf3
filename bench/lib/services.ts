// The services a benchmark runs against: the local ones, or those KAFKA_BROKERS, REDIS_URL and
// MONGO_URL name (every other setting is the default); and the few operations on them both
// benchmarks share: topics, offsets, Redis keys, the counts read back for the exact check.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { Redis } from "ioredis";
import { type Admin, type Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { type Db, MongoClient } from "mongodb";
import { type Config, loadConfig } from "../../src/config.js";
import { kafkaClient } from "../../src/kafka/client.js";
import { COLLECTION } from "../../src/store/interactives.js";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The settings taken from this shell's environment; every other one is the default. */
export const SERVICE_VARIABLES = ["KAFKA_BROKERS", "REDIS_URL", "MONGO_URL"];

/** The service locations from the environment, `own` settings, defaults for the rest. */
export function serviceConfig(own: Record<string, string> = {}): Config {
  const env: Record<string, string | undefined> = {};
  for (const key of SERVICE_VARIABLES) env[key] = process.env[key];
  return loadConfig({ ...env, ...own });
}

export type Services = Awaited<ReturnType<typeof openServices>>;

export async function openServices(clientId: string) {
  const config = serviceConfig();
  const kafka = kafkaClient({ clientId, brokers: config.KAFKA_BROKERS, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const poll = await new MongoClient(config.MONGO_URL).connect();
  const redis = new Redis(config.REDIS_URL);
  return {
    config,
    kafka,
    /** Connected; used between measurements and for the pipeline's committed offsets. */
    admin,
    /** For the exact-count check after a drain and for cleaning up: never counted. */
    poll,
    redis,
    async close() {
      await admin.disconnect().catch(() => {});
      await poll.close();
      redis.disconnect();
    },
  };
}

export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
}

/** A producer that sends each message to the partition it names (none is left to a partitioner). */
export function producerOf(kafka: Kafka): Producer {
  return kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** Messages the topic holds (end minus start offsets, summed over partitions). */
export async function messagesIn(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
}

/** The group's committed offsets on the topic, summed: the pipeline commits a range once applied. */
export async function committed(admin: Admin, group: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

export async function deleteKeysMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

/** Removes what a run made, each that is named: database, queues, consumer groups, topic. */
export async function removeRun(
  s: Services,
  made: { db?: string; queues?: string[]; groups?: string[]; topic?: string },
  log: (m: string) => void,
): Promise<void> {
  const warn = (what?: string) => (err: unknown) => log(`removing ${what}: ${String(err)}`);
  if (made.db) await s.poll.db(made.db).dropDatabase().catch(warn(made.db));
  for (const queue of made.queues ?? []) {
    await deleteKeysMatching(s.redis, `${s.config.QUEUE_PREFIX}:${queue}:*`).catch(warn(queue));
  }
  if (made.groups) await s.admin.deleteGroups(made.groups).catch(warn(made.groups.join(", ")));
  if (made.topic) await s.admin.deleteTopics({ topics: [made.topic] }).catch(warn(made.topic));
}

/** read_cnt per article id (decimal string) in the database's collection. */
export async function readCounts(db: Db): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const docs = db
    .collection(COLLECTION)
    .find({}, { projection: { _id: 0, biz_id: 1, read_cnt: 1 }, promoteLongs: false, batchSize: 10_000 });
  for await (const d of docs) {
    const id = String(d.biz_id);
    out.set(id, (out.get(id) ?? 0) + Number(String(d.read_cnt)));
  }
  return out;
}

export function sumOf(counts: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}

/** When, where and at which commit a run was made, for its report. */
export function runInfo(command: string) {
  let commit = null as string | null;
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
    const head = git("rev-parse", "--short", "HEAD");
    commit = git("status", "--porcelain").length > 0 ? `${head} (with uncommitted changes)` : head;
  } catch {
    // not a git checkout: no commit named
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
    commit,
    command,
  };
}
