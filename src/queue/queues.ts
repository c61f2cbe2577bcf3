// BullMQ queues: job options, and the read and dead-letter queues on a connection from
// src/redis/connection.ts.
import { type JobsOptions, Queue, type QueueOptions } from "bullmq";
import type { Config } from "../config.js";
import type { RedisClient } from "../redis/connection.js";
import type { DeadLetterData } from "./dead-letter.js";
import type { ReadJobData } from "./read-job.js";

type QueueConfig = Pick<
  Config,
  "QUEUE_PREFIX" | "JOB_ATTEMPTS" | "JOB_BACKOFF_MS" | "KEEP_COMPLETED_JOBS" | "KEEP_COMPLETED_SECONDS"
>;

/**
 * Options every job gets: retries with exponential backoff and jitter; failed jobs stay until a
 * person retries them. Completed jobs are kept so a redelivered range finds its job; correctness
 * does not depend on that (MongoDB's per-partition marks do), only efficiency.
 */
function jobOptions(config: QueueConfig): JobsOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: "exponential", delay: config.JOB_BACKOFF_MS, jitter: 0.5 },
    removeOnComplete: { age: config.KEEP_COMPLETED_SECONDS, count: config.KEEP_COMPLETED_JOBS },
    removeOnFail: false,
  };
}

export type ReadQueue = Queue<ReadJobData, unknown, string>;
export type DeadLetterQueue = Queue<DeadLetterData, unknown, string>;

export function openQueues(
  config: QueueConfig & Pick<Config, "WORK_QUEUE" | "DEAD_LETTER_QUEUE">,
  connection: RedisClient,
): { work: ReadQueue; dead: DeadLetterQueue } {
  const base: QueueOptions = { connection, prefix: config.QUEUE_PREFIX };
  return {
    work: new Queue<ReadJobData, unknown, string>(config.WORK_QUEUE, {
      ...base,
      defaultJobOptions: jobOptions(config),
    }),
    dead: new Queue<DeadLetterData, unknown, string>(config.DEAD_LETTER_QUEUE, {
      ...base,
      defaultJobOptions: jobOptions(config),
    }),
  };
}
