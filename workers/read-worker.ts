// The BullMQ worker for read jobs. Each job's processor parks the job in the group buffer and
// settles with its group: BullMQ's own concurrency (group size x groups in flight) decides how
// many jobs are held at once, renews their locks meanwhile, and retries a failed group's jobs
// with backoff, each on its own.
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { MongoBulkWriteError } from "mongodb";
import type { Config } from "../src/config.js";
import type { Logger } from "../src/logger.js";
import { type ReadJobData, validateReadJobData } from "../src/queue/read-job.js";
import { type ApplyDeps, applyReadGroup, type GroupOutcome } from "./apply-read-group.js";
import { GroupBuffer } from "./group-buffer.js";

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface ReadJobResult {
  events: number;
  groupJobs: number;
  groupAdded: number;
}

export interface ReadWorker {
  worker: Worker<ReadJobData, ReadJobResult, string>;
  close(): Promise<void>;
}

type WorkerConfig = Pick<
  Config,
  | "WORK_QUEUE"
  | "QUEUE_PREFIX"
  | "GROUP_MAX_JOBS"
  | "GROUP_MAX_EVENTS"
  | "GROUP_MAX_WAIT_MS"
  | "WORKER_CONCURRENCY"
  | "WORKER_LOCK_MS"
  | "JOB_MAX_STALLS"
>;

export function startReadWorker(
  config: WorkerConfig,
  connection: Redis,
  deps: ApplyDeps,
  log: Logger,
  onGroup?: (outcome: GroupOutcome, ms: number, jobs: readonly ReadJobData[]) => void,
): ReadWorker {
  const outcomes = new WeakMap<ReadJobData, GroupOutcome>();
  const buffer = new GroupBuffer<ReadJobData>(
    {
      maxItems: config.GROUP_MAX_JOBS,
      maxWeight: config.GROUP_MAX_EVENTS,
      maxWaitMs: config.GROUP_MAX_WAIT_MS,
      maxInFlight: config.WORKER_CONCURRENCY,
    },
    async (jobs) => {
      const started = performance.now();
      try {
        record(await applyReadGroup(deps, jobs), jobs, started);
        return undefined;
      } catch (err) {
        // Only a document MongoDB refused (a write error) can be one job's fault; an outage or a
        // timeout fails the whole group, to be retried as a whole.
        if (jobs.length === 1 || !(err instanceof MongoBulkWriteError)) {
          log.warn({ err: errorText(err), jobs: jobs.length }, "group failed; its jobs will be retried");
          throw err;
        }
        // One bad article must not fail the whole group and hold back every partition in it:
        // apply each job alone, so each succeeds or fails on its own. Whatever the group wrote
        // before failing is in the marks, so nothing is added twice.
        log.warn({ err: errorText(err), jobs: jobs.length }, "group failed; applying its jobs one by one");
        const failures = new Map<ReadJobData, unknown>();
        for (const job of jobs) {
          const alone = performance.now();
          try {
            record(await applyReadGroup(deps, [job]), [job], alone);
          } catch (jobErr) {
            failures.set(job, jobErr);
          }
        }
        return failures;
      }
    },
  );

  function record(outcome: GroupOutcome, jobs: readonly ReadJobData[], started: number): void {
    const ms = performance.now() - started;
    for (const j of jobs) outcomes.set(j, outcome);
    log.debug({ ...outcome, ms: Math.round(ms) }, "group applied");
    onGroup?.(outcome, ms, jobs);
  }

  const worker = new Worker<ReadJobData, ReadJobResult, string>(
    config.WORK_QUEUE,
    async (job: Job<ReadJobData, ReadJobResult, string>) => {
      const data = validateReadJobData(job.data);
      await buffer.add(data, data.events);
      const outcome = outcomes.get(data);
      return { events: data.events, groupJobs: outcome?.jobs ?? 0, groupAdded: outcome?.added ?? 0 };
    },
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.GROUP_MAX_JOBS * config.WORKER_CONCURRENCY,
      // A worker that dies holding jobs: they go back to waiting once their lock expires.
      lockDuration: config.WORKER_LOCK_MS,
      stalledInterval: config.WORKER_LOCK_MS,
      maxStalledCount: config.JOB_MAX_STALLS,
    },
  );
  worker.on("failed", (job, err) => {
    if (job === undefined) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === "UnrecoverableError";
    log[final ? "error" : "warn"](
      {
        jobId: job.id,
        partition: job.data?.partition,
        range: job.data ? `${job.data.firstOffset}-${job.data.lastOffset}` : undefined,
        attempt: job.attemptsMade,
        err: err.message,
      },
      final
        ? "job failed all its attempts: its partition is held back until it is retried"
        : "job attempt failed",
    );
  });
  worker.on("error", (err) => log.error({ err }, "worker error"));

  return {
    worker,
    async close() {
      // Stop taking jobs, flush what is parked, let BullMQ finish the active ones.
      const closing = worker.close();
      await buffer.drain();
      await closing;
    },
  };
}
