// The ingestor process's parts: a kafkajs consumer in group KAFKA_GROUP_ID feeding the
// forwarder, BullMQ queues, and the event stream that tells the forwarder a job finished.
import { QueueEvents } from "bullmq";
import { type Consumer, Kafka } from "kafkajs";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { type DeadLetterQueue, openQueues, type ReadQueue, redisConnection } from "../queue/queues.js";
import { Forwarder, type ForwarderEvents } from "./forwarder.js";
import { kafkaLogCreator, kafkaLogLevel } from "./kafka-log.js";

export interface Ingestor {
  consumer: Consumer;
  forwarder: Forwarder;
  work: ReadQueue;
  dead: DeadLetterQueue;
  /** Stops taking ranges, lets open jobs finish and commit (up to the timeout), leaves the group. */
  stop(): Promise<void>;
}

export async function startIngestor(
  config: Config,
  log: Logger,
  events?: ForwarderEvents,
): Promise<Ingestor> {
  const kafka = new Kafka({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logLevel: kafkaLogLevel(config.LOG_LEVEL),
    logCreator: kafkaLogCreator(log),
  });
  const consumer = kafka.consumer({
    groupId: config.KAFKA_GROUP_ID,
    sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
    maxWaitTimeInMs: config.KAFKA_MAX_WAIT_MS,
    maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
  });
  const redis = redisConnection(config, false);
  const { work, dead } = openQueues(config, redis);
  const eventsRedis = redisConnection(config, true);
  const queueEvents = new QueueEvents(config.WORK_QUEUE, {
    connection: eventsRedis,
    prefix: config.QUEUE_PREFIX,
  });
  const forwarder = new Forwarder(config, work, dead, consumer, log, events);
  forwarder.listen(queueEvents);
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    log.info({ assignment: payload.memberAssignment }, "joined consumer group");
    forwarder.onAssignment(payload.memberAssignment);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    log.error({ err: payload.error, restart: payload.restart }, "kafka consumer crashed");
  });

  await queueEvents.waitUntilReady();
  await consumer.connect();
  await consumer.subscribe({ topic: config.KAFKA_TOPIC, fromBeginning: config.KAFKA_FROM_BEGINNING });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 64,
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      await forwarder.handleBatch(batch, { resolveOffset, isRunning, isStale });
    },
  });
  log.info({ topic: config.KAFKA_TOPIC, group: config.KAFKA_GROUP_ID }, "ingestor running");

  return {
    consumer,
    forwarder,
    work,
    dead,
    async stop() {
      const left = await forwarder.drain(config.SHUTDOWN_TIMEOUT_MS);
      if (left > 0)
        log.warn({ open: left }, "jobs still open at shutdown; left uncommitted for the next owner");
      await consumer.disconnect();
      await queueEvents.close();
      await work.close();
      await dead.close();
      redis.disconnect();
      eventsRedis.disconnect();
    },
  };
}
