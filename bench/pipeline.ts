// End-to-end benchmark: a backlog of N ReadEvents in Kafka, then one ingestor and one worker
// process (as `npm run ingestor` / `npm run worker`) drain it. Reports events/s from ingestor
// start to the last read in MongoDB, and Redis memory at its peak over the run.
//
// npm run bench -- [--events 1000000] [--articles 10000] [--partitions 6] [--hot 0]
//   --hot P: P% of events go to 10 hot articles, the rest spread evenly (0: all even).
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { loadConfig } from "../src/config.js";
import { kafkaClient } from "../src/kafka/client.js";
import { COLLECTION } from "../src/store/interactives.js";
import { produceReadEvents } from "../src/tools/read-event-producer.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    articles: { type: "string", default: "10000" },
    partitions: { type: "string", default: "6" },
    hot: { type: "string", default: "0" },
  },
});
const events = Number(values.events);
const articles = Number(values.articles);
const partitions = Number(values.partitions);
const hot = Number(values.hot);
const run = `bench-${Date.now().toString(36)}`;
const env: Record<string, string> = {
  KAFKA_TOPIC: run,
  KAFKA_GROUP_ID: run,
  WORK_QUEUE: `${run}-work`,
  DEAD_LETTER_QUEUE: `${run}-dead`,
  MONGO_DB: run.replace(/-/g, "_"),
  LOG_LEVEL: "warn",
  LOG_PRETTY: "false",
};
const config = loadConfig({ ...process.env, ...env });

const kafka = kafkaClient({ clientId: "bench", brokers: config.KAFKA_BROKERS, logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: run, numPartitions: partitions }], waitForLeaders: true });
const producer = kafka.producer();
await producer.connect();
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const t0 = performance.now();
await produceReadEvents(producer, {
  topic: run,
  count: events,
  batchSize: 5000,
  aidOf: (i) => BigInt(random() * 100 < hot ? 1 + (i % 10) : 1 + (i % articles)),
});
await producer.disconnect();
const produceSecs = (performance.now() - t0) / 1000;

const redis = new Redis(config.REDIS_URL);
const mongo = await new MongoClient(config.MONGO_URL).connect();
const coll = mongo.db(config.MONGO_DB).collection(COLLECTION);
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
const baseline = await usedMemory();

const children = ["workers/main.ts", "src/main/ingestor.ts"].map((entry) =>
  spawn(process.execPath, ["--import", "tsx", entry], { env: { ...process.env, ...env }, stdio: "inherit" }),
);
const started = performance.now();
let peak = baseline;
const sampler = setInterval(() => {
  void usedMemory().then((m) => {
    peak = Math.max(peak, m);
  });
}, 200);
let total = 0;
while (total < events) {
  await new Promise((r) => setTimeout(r, 500));
  const [sum] = await coll
    .aggregate<{ n: number }>([{ $group: { _id: null, n: { $sum: "$read_cnt" } } }])
    .toArray();
  total = Number(sum?.n ?? 0);
}
const secs = (performance.now() - started) / 1000;
clearInterval(sampler);
for (const c of children) c.kill("SIGTERM");
await Promise.all(children.map((c) => new Promise((r) => c.on("exit", r))));

const distinct = await coll.countDocuments();
console.log(
  JSON.stringify({
    events,
    articles,
    distinctArticles: distinct,
    hotPercent: hot,
    partitions,
    produceSeconds: Number(produceSecs.toFixed(1)),
    drainSeconds: Number(secs.toFixed(1)),
    eventsPerSecond: Math.round(events / secs),
    counted: total,
    redisPeakMiB: Number(((peak - baseline) / 2 ** 20).toFixed(1)),
  }),
);

await mongo.db(config.MONGO_DB).dropDatabase();
await mongo.close();
for (const q of [env.WORK_QUEUE, env.DEAD_LETTER_QUEUE]) {
  const keys = await redis.keys(`${config.QUEUE_PREFIX}:${q}:*`);
  if (keys.length > 0) await redis.del(...keys);
}
redis.disconnect();
await admin.deleteTopics({ topics: [run] });
await admin.disconnect();
