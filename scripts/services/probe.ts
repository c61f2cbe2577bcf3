// Waits until a service answers its own protocol (not merely an open port), or times out.
// Usage: node --import tsx scripts/services/probe.ts <kafka|mongo|mysql> <brokers|url> <timeout-seconds>
// Exit 0 when it answered, 1 when it did not within the timeout.
import { Kafka, logLevel } from "kafkajs";
import { MongoClient } from "mongodb";
import { createConnection } from "mysql2/promise";

const [kind, target, timeoutArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg ?? "60") * 1000;

async function kafkaAnswers(brokers: string): Promise<void> {
  const admin = new Kafka({
    clientId: "probe",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (cluster.controller === null || cluster.controller < 0) throw new Error("no active controller yet");
  } finally {
    await admin.disconnect();
  }
}

async function mongoAnswers(url: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1000 });
  try {
    await client.db("admin").command({ ping: 1 });
  } finally {
    await client.close();
  }
}

// A login and a query over TCP: the port alone would not show that the user exists.
async function mysqlAnswers(url: string): Promise<void> {
  const conn = await createConnection({ uri: url, connectTimeout: 1000 });
  try {
    await conn.query("SELECT 1");
  } finally {
    await conn.end();
  }
}

const probes = new Map<string, (target: string) => Promise<void>>([
  ["kafka", kafkaAnswers],
  ["mongo", mongoAnswers],
  ["mysql", mysqlAnswers],
]);

async function main(): Promise<number> {
  const answers = kind === undefined ? undefined : probes.get(kind);
  if (target === undefined || answers === undefined) {
    console.error("usage: probe.ts <kafka|mongo|mysql> <brokers|url> <timeout-seconds>");
    return 2;
  }
  let lastError = "";
  while (Date.now() < deadline) {
    try {
      await answers(target);
      return 0;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  console.error(`${kind} at ${target} did not answer in time: ${lastError}`);
  return 1;
}

process.exitCode = await main();
