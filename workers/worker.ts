// The worker process's parts: MongoDB store, Redis cache, the read-job worker and the
// dead-letter worker.
import { ReadCache } from "../src/cache/read-cache.js";
import type { Config } from "../src/config.js";
import { startProbeServer } from "../src/http/probe-server.js";
import type { Logger } from "../src/logger.js";
import { createRegistry, queueGauges, workerMetrics } from "../src/metrics/metrics.js";
import { openQueues } from "../src/queue/queues.js";
import { queueConnection } from "../src/queue/redis-policy.js";
import { blockingConnection, cacheConnection } from "../src/redis/connection.js";
import { type GroupReport, startReporting } from "../src/status/process-reports.js";
import { InteractiveStore } from "../src/store/interactives.js";
import { connectMongo } from "../src/store/mongo-client.js";
import { ArticleStateCache } from "./article-state-cache.js";
import { startDeadLetterWorker } from "./dead-letter-worker.js";
import { startReadWorker } from "./read-worker.js";

export interface WorkerProcess {
  stop(): Promise<void>;
}

export async function startWorkerProcess(config: Config, log: Logger): Promise<WorkerProcess> {
  const queueRedis = await queueConnection(config);
  const mongo = await connectMongo(config.MONGO_URL);
  const registry = createRegistry("worker");
  const m = workerMetrics(registry);
  const store = new InteractiveStore(mongo.db(config.MONGO_DB), (op, documents) => {
    m.mongoCommands.inc({ op });
    m.mongoDocuments.inc({ op }, documents);
  });
  await store.ensureIndexes();
  const cacheRedis = cacheConnection(config);
  const cache = new ReadCache(cacheRedis);
  const workerRedis = blockingConnection(config);
  const queues = openQueues(config, queueRedis);
  queueGauges(registry, [queues.work, queues.dead]);
  const states =
    config.WORKER_STATE_CACHE_ARTICLES > 0
      ? new ArticleStateCache(config.WORKER_STATE_CACHE_ARTICLES)
      : undefined;
  let lastGroup: (Omit<GroupReport, "agoMs"> & { at: number }) | undefined;
  const reads = startReadWorker(
    config,
    workerRedis,
    { store, cache, ...(states ? { states } : {}) },
    log.child({ component: "reads" }),
    (o, ms, jobs) => {
      m.groupJobs.observe(o.jobs);
      m.groupEvents.observe(o.events);
      m.flushSeconds.observe(ms / 1000);
      m.readsAdded.inc(o.added);
      m.cacheIncremented.inc(o.cacheIncremented);
      m.cacheInvalidated.inc(o.cacheInvalidated);
      const now = Date.now();
      for (const j of jobs)
        if (j.events > 0) m.latencySeconds.observe(Math.max(0, now - j.earliestEventTimestamp) / 1000);
      lastGroup = { at: now, jobs: o.jobs, events: o.events, added: o.added, ms: Math.round(ms) };
    },
  );
  const deadLetters = startDeadLetterWorker(
    config,
    workerRedis,
    { store, cache },
    log.child({ component: "dead-letters" }),
  );
  const http = await startProbeServer({
    host: config.HTTP_HOST,
    port: config.WORKER_HTTP_PORT,
    log,
    registry,
    dependencies: {
      redis: () => queueRedis.ping(),
      cacheRedis: () => cacheRedis.ping(),
      mongodb: () => mongo.db("admin").command({ ping: 1 }),
    },
  });
  const stopReporting = startReporting(queueRedis, config, () => {
    if (lastGroup === undefined) return { kind: "worker" };
    const { at, ...group } = lastGroup;
    return { kind: "worker", lastGroup: { ...group, agoMs: Date.now() - at } };
  });
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
    async stop() {
      await Promise.all([reads.close(), deadLetters.close()]);
      await stopReporting();
      await http.close();
      await Promise.all([queues.work.close(), queues.dead.close()]);
      await mongo.close();
      cacheRedis.disconnect();
      queueRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}
