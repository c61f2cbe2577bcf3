// `npm run produce -- --count N [--articles M] [--first-aid ID] [--topic T]`
// Publishes N ReadEvents spread round-robin over M articles (ids first-aid .. first-aid+M-1),
// in the Go producer's format, with a progress bar on a terminal.
import { parseArgs } from "node:util";
import { logLevel, Partitioners } from "kafkajs";
import { kafkaClient } from "../kafka/client.js";
import { produceReadEvents } from "../tools/read-event-producer.js";
import { configOrExit } from "./run-process.js";

const usage = "usage: npm run produce -- --count N [--articles M] [--first-aid ID] [--topic T]";

function positive(name: string, value: string | undefined, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(value)) {
    process.stderr.write(`--${name}: expected a positive integer, got ${JSON.stringify(value)}\n${usage}\n`);
    process.exit(2);
  }
  return BigInt(value);
}

const { values } = parseArgs({
  options: {
    count: { type: "string" },
    articles: { type: "string" },
    "first-aid": { type: "string" },
    topic: { type: "string" },
  },
});
const count = Number(positive("count", values.count, 0n));
if (count === 0) {
  process.stderr.write(`--count is required\n${usage}\n`);
  process.exit(2);
}
const articles = positive("articles", values.articles, 100n);
const firstAid = positive("first-aid", values["first-aid"], 1n);

const config = configOrExit("produce");
const topic = values.topic ?? config.KAFKA_TOPIC;

const kafka = kafkaClient({ clientId: "produce", brokers: config.KAFKA_BROKERS, logLevel: logLevel.ERROR });
const producer = kafka.producer({
  createPartitioner: Partitioners.DefaultPartitioner,
  allowAutoTopicCreation: true,
});
await producer.connect();
const started = performance.now();
const tty = process.stderr.isTTY === true && count >= 10_000;
const progress = (sent: number) => {
  if (!tty) return;
  const width = 30;
  const done = Math.round((sent / count) * width);
  const rate = Math.round(sent / ((performance.now() - started) / 1000));
  process.stderr.write(`\r[${"#".repeat(done)}${" ".repeat(width - done)}] ${sent}/${count} ${rate}/s`);
};
await produceReadEvents(producer, {
  topic,
  count,
  aidOf: (i) => firstAid + (BigInt(i) % articles),
  batchSize: 2000,
  onProgress: progress,
});
await producer.disconnect();
if (tty) process.stderr.write("\n");
const secs = (performance.now() - started) / 1000;
process.stdout.write(`sent ${count} events to ${topic} over ${articles} articles in ${secs.toFixed(1)} s\n`);
