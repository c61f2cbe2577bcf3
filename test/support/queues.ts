// A test file's read and dead-letter queues on the real Redis, with the command connection they
// use and the blocking one a worker takes; close() removes the queues' keys and disconnects.
import { Worker } from "bullmq";
import type { Config } from "../../src/config.js";
import { openQueues } from "../../src/queue/queues.js";
import { blockingConnection, commandConnection, type RedisClient } from "../../src/redis/connection.js";

export interface QueueFixture {
  redis: RedisClient;
  workerRedis: RedisClient;
  queues: ReturnType<typeof openQueues>;
  /** Completes the next job of the read queue with `result`, as a worker does. */
  completeNext(result: unknown): Promise<void>;
  close(): Promise<void>;
}

export function queueFixture(config: Config): QueueFixture {
  const redis = commandConnection(config);
  const workerRedis = blockingConnection(config);
  const queues = openQueues(config, redis);
  return {
    redis,
    workerRedis,
    queues,
    async completeNext(result) {
      const worker = new Worker(config.WORK_QUEUE, async () => result, {
        connection: workerRedis,
        prefix: config.QUEUE_PREFIX,
      });
      await new Promise<void>((resolve) => worker.once("completed", () => resolve()));
      await worker.close();
    },
    async close() {
      await queues.work.obliterate({ force: true });
      await Promise.all([queues.work.close(), queues.dead.close()]);
      redis.disconnect();
      workerRedis.disconnect();
    },
  };
}
