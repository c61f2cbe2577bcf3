// The BullMQ worker for read jobs. Each job's processor parks the job in the group buffer and
// settles with its group: BullMQ's own concurrency (group size x groups in flight) decides how
// many jobs are held at once, renews their locks meanwhile, and retries a failed job with
// backoff, each on its own. A job fails alone when the fault is its own (its partition's offsets
// restarted, a document of its articles refused); an outage fails the whole group.
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Config } from "../src/config.js";
import { jobPartitionKey } from "../src/counting/plan-increments.js";
import type { Logger } from "../src/logger.js";
import { dataDigest, dropAppliedEvents } from "../src/queue/applied-events.js";
import { isIncarnationOf } from "../src/queue/message-id.js";
import { type ReadJobData, readJobIdentity, validateReadJobData } from "../src/queue/read-job.js";
import type { RedisClient } from "../src/redis/connection.js";
import { type ApplyDeps, applyReadGroup, type GroupOutcome } from "./apply-read-group.js";
import { ExpectedJobs } from "./expected-jobs.js";
import { GroupBuffer } from "./group-buffer.js";

/**
 * What a completed read job reports. The range is the one applied: the ingestor commits a job's
 * range only when it equals this.
 */
export interface ReadJobResult {
  /** The range applied. */
  firstOffset: string;
  lastOffset: string;
  events: number;
  groupJobs: number;
  groupAdded: number;
  /** The partition ledger's max_ts after this job (see GroupOutcome.ledgerMaxTimestamps). */
  ledgerMaxTimestamp?: number;
  /**
   * SHA-1 of the job's data as stored when this worker read it: names the events applied, so that
   * only that data loses them once completed (see queue/applied-events.ts).
   */
  dataSha1: string;
}

export interface ReadWorker {
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
  | "KAFKA_TOPIC_INCARNATION"
>;

export function startReadWorker(
  config: WorkerConfig,
  connection: RedisClient,
  deps: ApplyDeps,
  log: Logger,
  onGroup?: (outcome: GroupOutcome, ms: number, jobs: readonly ReadJobData[]) => void,
): ReadWorker {
  const expected = new ExpectedJobs();
  // The digest of the data parked under each identity, with how many runs share it: a job handed
  // over again while parked shares the parked data's outcome, so it names that data, not its own
  // copy (which an edit in the dashboard could have changed).
  const parked = new Map<string, { dataSha1: string; runs: number }>();
  const buffer = new GroupBuffer<ReadJobData, GroupOutcome>(
    {
      maxItems: config.GROUP_MAX_JOBS,
      maxWeight: config.GROUP_MAX_EVENTS,
      maxWaitMs: config.GROUP_MAX_WAIT_MS,
      maxInFlight: config.WORKER_CONCURRENCY,
    },
    async (jobs) => {
      const started = performance.now();
      let appliedMs: number | undefined;
      expected.applyStarted(jobs);
      try {
        const { outcome, failed } = await applyReadGroup(deps, jobs);
        appliedMs = performance.now() - started;
        const { ledgerMaxTimestamps: _, ...counts } = outcome;
        log.debug({ ...counts, failed: failed.size, ms: Math.round(appliedMs) }, "group applied");
        onGroup?.(outcome, appliedMs, jobs);
        return { result: outcome, failed };
      } catch (err) {
        log.warn({ err, jobs: jobs.length }, "group failed; its jobs will be retried");
        throw err;
      } finally {
        expected.applyEnded(jobs, appliedMs);
      }
    },
    expected,
  );

  const worker = new Worker<ReadJobData, ReadJobResult, string>(
    config.WORK_QUEUE,
    async (job: Job<ReadJobData, ReadJobResult, string>) => {
      const data = validateReadJobData(job.data);
      const incarnation = data.incarnation ?? "";
      if (!isIncarnationOf(incarnation, config.KAFKA_TOPIC_INCARNATION)) {
        // Read from another life of the topic than this worker counts: applying it would count
        // its reads under that life's marks, again. After a re-creation the ingestors re-read
        // what is still to count under the new incarnation. (A partition whose log was truncated
        // is read under `<incarnation>~<start>`: the same life, see truncatedIncarnation.)
        throw new UnrecoverableError(
          `job of topic incarnation "${incarnation}", this worker counts incarnation ` +
            `"${config.KAFKA_TOPIC_INCARNATION}" (KAFKA_TOPIC_INCARNATION): not applied`,
        );
      }
      // Shared only with a held job of the same identity (the same events): BullMQ handing this
      // job over again while it is parked. The range returned is the range applied.
      expected.seen(data);
      const identity = readJobIdentity(data);
      const held = parked.get(identity) ?? { dataSha1: dataDigest(job.data), runs: 0 };
      held.runs++;
      parked.set(identity, held);
      let outcome: GroupOutcome;
      try {
        outcome = await buffer.add(data, data.events, identity);
      } finally {
        if (--held.runs === 0 && parked.get(identity) === held) parked.delete(identity);
      }
      const ledgerMaxTimestamp = outcome.ledgerMaxTimestamps.get(jobPartitionKey(data));
      return {
        firstOffset: data.firstOffset,
        lastOffset: data.lastOffset,
        events: data.events,
        groupJobs: outcome.jobs,
        groupAdded: outcome.added,
        ...(ledgerMaxTimestamp === undefined ? {} : { ledgerMaxTimestamp }),
        dataSha1: held.dataSha1,
      };
    },
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.GROUP_MAX_JOBS * config.WORKER_CONCURRENCY,
      // A worker that dies holding jobs: they go back to waiting once their lock expires.
      lockDuration: config.WORKER_LOCK_MS,
      // Checked twice per lock period: a dead worker's jobs return within 1.5 locks.
      stalledInterval: Math.ceil(config.WORKER_LOCK_MS / 2),
      maxStalledCount: config.JOB_MAX_STALLS,
    },
  );
  // A completed job's events are read by nobody: drop them, so that the queue holds events only
  // of open jobs. The ingestor's watch drops them too, before it queues the partition's next job;
  // this drop covers an ingestor that stopped first. Best effort: a job that keeps its events is
  // still bounded by KEEP_COMPLETED_*.
  worker.on("completed", (job, result) => {
    if (job.id === undefined || job.finishedOn === undefined) return;
    dropAppliedEvents(connection, (type) => worker.toKey(type), {
      id: job.id,
      finishedOn: job.finishedOn,
      returnvalue: result,
      data: job.data,
    }).catch((err: unknown) => log.warn({ err, jobId: job.id }, "could not drop a completed job's events"));
  });
  worker.on("failed", (job, err) => {
    if (job === undefined) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === "UnrecoverableError";
    log[final ? "error" : "warn"](
      {
        jobId: job.id,
        partition: job.data?.partition,
        range: job.data ? `${job.data.firstOffset}-${job.data.lastOffset}` : undefined,
        attempt: job.attemptsMade,
        err,
      },
      final
        ? "job failed all its attempts: its partition is held back until it is retried"
        : "job attempt failed",
    );
  });
  worker.on("error", (err) => log.error({ err }, "worker error"));

  return {
    async close() {
      // Stop taking jobs, flush what is parked, let BullMQ finish the active ones.
      const closing = worker.close();
      await buffer.drain();
      await closing;
    },
  };
}
