// `npm run status`: per partition its owner, lag, open job and hold (why, what to do); queues;
// dead letters by reason; workers and their last group.
import { logLevel } from "kafkajs";
import { kafkaClient } from "../kafka/client.js";
import { openQueues } from "../queue/queues.js";
import { commandConnection } from "../redis/connection.js";
import { collectStatus, formatStatus } from "../status/collect-status.js";
import { configOrExit } from "./run-process.js";

const config = configOrExit("status");
const redis = commandConnection(config);
const { work, dead } = openQueues(config, redis);
const admin = kafkaClient({
  clientId: "status",
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.NOTHING,
}).admin();
try {
  await admin.connect();
  process.stdout.write(formatStatus(await collectStatus(config, { work, dead, redis }, admin)));
} finally {
  await admin.disconnect().catch(() => undefined);
  await work.close();
  await dead.close();
  redis.disconnect();
}
