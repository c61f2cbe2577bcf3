// The ingestor process's parts: a kafkajs consumer in group KAFKA_GROUP_ID feeding the
// forwarder, BullMQ queues, and the event stream that tells the forwarder a job finished.
import { QueueEvents } from "bullmq";
import type { Admin } from "kafkajs";
import type { Config } from "../config.js";
import { startProbeServer } from "../http/probe-server.js";
import { kafkaClient } from "../kafka/client.js";
import { consumerLag } from "../kafka/consumer-lag.js";
import { patchIdleFetchWait } from "../kafka/idle-fetch-wait.js";
import { patchOutOfRangeHandler } from "../kafka/offset-out-of-range.js";
import type { Logger } from "../logger.js";
import { createRegistry, ingestorGauges, ingestorMetrics, queueGauges } from "../metrics/metrics.js";
import { BullJobSink } from "../queue/job-sink.js";
import { openQueues } from "../queue/queues.js";
import { queueConnection } from "../queue/redis-policy.js";
import { blockingConnection } from "../redis/connection.js";
import { startReporting } from "../status/process-reports.js";
import { Forwarder } from "./forwarder.js";
import { kafkaLogCreator, kafkaLogLevel } from "./kafka-log.js";
import { positionReader } from "./read-position.js";

/**
 * Makes sure the topic exists: on a fresh setup nothing may have produced to it yet. A missing
 * topic is created with KAFKA_TOPIC_PARTITIONS partitions and the broker's default replication;
 * where that is not allowed, the error names the topic.
 */
async function ensureTopic(admin: Admin, topic: string, partitions: number, log: Logger): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
      waitForLeaders: true,
    });
    if (created) log.info({ topic, partitions }, "created the topic, which did not exist");
  } catch (err) {
    throw new Error(`topic ${topic} does not exist and could not be created: ${String(err)}`);
  }
}

export interface Ingestor {
  /** Stops taking ranges, lets open jobs finish and commit (up to the timeout), leaves the group. */
  stop(): Promise<void>;
}

/**
 * Starts the ingestor. `onFatal` is called when the Kafka consumer stopped for good (kafkajs gave
 * up restarting it): the process must then exit non-zero so that a supervisor starts it again.
 */
export async function startIngestor(
  config: Config,
  log: Logger,
  onFatal: (err: unknown) => void,
): Promise<Ingestor> {
  const kafka = kafkaClient({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logLevel: kafkaLogLevel(config.LOG_LEVEL),
    logCreator: kafkaLogCreator(log),
  });
  const consumer = kafka.consumer({
    groupId: config.KAFKA_GROUP_ID,
    sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatInterval: config.KAFKA_HEARTBEAT_MS,
    maxWaitTimeInMs: config.KAFKA_MAX_WAIT_MS,
    maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
    maxBytes: Math.max(config.KAFKA_MAX_BYTES, config.KAFKA_MAX_BYTES_PER_PARTITION),
  });
  const redis = await queueConnection(config);
  const { work, dead } = openQueues(config, redis);
  const eventsRedis = blockingConnection(config);
  const queueEvents = new QueueEvents(config.WORK_QUEUE, {
    connection: eventsRedis,
    prefix: config.QUEUE_PREFIX,
  });
  const admin = kafka.admin();
  const registry = createRegistry("ingestor");
  queueGauges(registry, [work, dead]);
  const metrics = ingestorMetrics(registry);
  const readPosition = positionReader(admin, config.KAFKA_GROUP_ID);
  const forwarder = new Forwarder(config, new BullJobSink(work, dead, redis), consumer, readPosition, log, {
    consumed(valid, invalid) {
      metrics.consumed.inc({ result: "valid" }, valid);
      metrics.consumed.inc({ result: "dead_letter" }, invalid);
    },
    committed(_topic, partition) {
      metrics.committed.inc({ partition: String(partition) });
    },
    skipped(_topic, partition, count, cause) {
      metrics.skipped.inc({ partition: String(partition), cause }, Number(count));
    },
  });
  // Fetches wait KAFKA_IDLE_WAIT_MS while no paused partition of this forwarder is expected back.
  const withdrawIdleWait = patchIdleFetchWait(config.KAFKA_IDLE_WAIT_MS, (topic, partition) =>
    forwarder.resumeExpected(topic, partition),
  );
  ingestorGauges(registry, {
    heldBack: () => forwarder.heldBack(),
    openJobs: () => forwarder.openJobs(),
    lag: () => consumerLag(admin, config.KAFKA_TOPIC, config.KAFKA_GROUP_ID),
  });
  // This consumer's member id in the group (from its last join): out-of-range answers to its own
  // fetches are its forwarder's.
  let memberId: string | undefined;
  const withdrawOutOfRange = patchOutOfRangeHandler(
    (member, topic, partition) =>
      member.groupId === config.KAFKA_GROUP_ID &&
      member.memberId === memberId &&
      forwarder.outOfRange(topic, partition),
  );
  queueEvents.on("completed", ({ jobId }) => forwarder.jobSettled(jobId));
  queueEvents.on("failed", ({ jobId }) => forwarder.jobSettled(jobId));
  // Readiness follows the consumer: not ready until it joined the group, nor after a crash
  // until kafkajs restarted it and it joined again.
  let consumerProblem: string | undefined = "not yet joined the consumer group";
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    consumerProblem = undefined;
    memberId = payload.memberId;
    log.info({ assignment: payload.memberAssignment }, "joined consumer group");
    forwarder.onAssignment(payload.memberAssignment);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    consumerProblem = `kafka consumer crashed: ${payload.error.message}`;
    if (payload.restart) {
      log.error({ err: payload.error }, "kafka consumer crashed; kafkajs restarts it");
      return;
    }
    log.fatal({ err: payload.error }, "kafka consumer crashed and will not restart; exiting");
    onFatal(payload.error);
  });

  await queueEvents.waitUntilReady();
  await admin.connect();
  const http = await startProbeServer({
    host: config.HTTP_HOST,
    port: config.INGESTOR_HTTP_PORT,
    log,
    registry,
    // Held-back partitions do not make the ingestor unready (its dependencies answer), but
    // /readyz lists them with their cause.
    details: () => ({
      heldBack: forwarder
        .status()
        .filter((p) => p.state === "held-back")
        .map(({ partition, cause, reason }) => ({ partition, cause, reason })),
    }),
    dependencies: {
      consumer: async () => {
        if (consumerProblem !== undefined) throw new Error(consumerProblem);
      },
      redis: () => redis.ping(),
      kafka: () => admin.describeCluster(),
    },
  });
  await ensureTopic(admin, config.KAFKA_TOPIC, config.KAFKA_TOPIC_PARTITIONS, log);
  await consumer.connect();
  // From the beginning, whatever KAFKA_FROM_BEGINNING says: then kafkajs answers a position outside
  // the log with the log's start, never its end (which would skip what is left). A new group's
  // start is the forwarder's to apply (planPosition).
  await consumer.subscribe({ topic: config.KAFKA_TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 64,
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      await forwarder.handleBatch(batch, { resolveOffset, isRunning, isStale });
    },
  });
  const stopReporting = startReporting(redis, config, () => forwarder.report());
  log.info({ topic: config.KAFKA_TOPIC, group: config.KAFKA_GROUP_ID }, "ingestor running");

  return {
    async stop() {
      const left = await forwarder.drain(config.SHUTDOWN_TIMEOUT_MS);
      if (left > 0)
        log.warn({ open: left }, "jobs still open at shutdown; left uncommitted for the next owner");
      await consumer.disconnect();
      await stopReporting();
      withdrawIdleWait();
      withdrawOutOfRange();
      await http.close();
      await admin.disconnect();
      await queueEvents.close();
      await work.close();
      await dead.close();
      redis.disconnect();
      eventsRedis.disconnect();
    },
  };
}
