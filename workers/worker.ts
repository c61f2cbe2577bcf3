// The worker process's parts: MongoDB store, Redis cache, the read-job worker and the
// dead-letter worker.
import { MongoClient } from "mongodb";
import { ReadCache } from "../src/cache/read-cache.js";
import type { Config } from "../src/config.js";
import type { Logger } from "../src/logger.js";
import { redisConnection } from "../src/queue/queues.js";
import { InteractiveStore } from "../src/store/interactives.js";
import type { GroupOutcome } from "./apply-read-group.js";
import { startDeadLetterWorker } from "./dead-letter-worker.js";
import { startReadWorker } from "./read-worker.js";

export interface WorkerProcess {
  store: InteractiveStore;
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  config: Config,
  log: Logger,
  onGroup?: (outcome: GroupOutcome, ms: number) => void,
): Promise<WorkerProcess> {
  const mongo = await new MongoClient(config.MONGO_URL).connect();
  const store = new InteractiveStore(mongo.db(config.MONGO_DB));
  await store.ensureIndexes();
  const cacheRedis = redisConnection(config, false);
  const cache = new ReadCache(cacheRedis);
  const workerRedis = redisConnection(config, true);
  const reads = startReadWorker(
    config,
    workerRedis,
    { store, cache },
    log.child({ component: "reads" }),
    onGroup,
  );
  const deadLetters = startDeadLetterWorker(
    config,
    workerRedis,
    { store, cache },
    log.child({ component: "dead-letters" }),
  );
  log.info(
    {
      queue: config.WORK_QUEUE,
      groupMaxJobs: config.GROUP_MAX_JOBS,
      groupMaxEvents: config.GROUP_MAX_EVENTS,
      groupMaxWaitMs: config.GROUP_MAX_WAIT_MS,
      concurrency: config.WORKER_CONCURRENCY,
    },
    "worker running",
  );
  return {
    store,
    async stop() {
      await Promise.all([reads.close(), deadLetters.close()]);
      await mongo.close();
      cacheRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}
