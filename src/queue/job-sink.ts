// What the ingestor needs of the queues, as an interface: the forwarder is tested with a fake,
// and runs on BullMQ through BullJobSink.
import { Job } from "bullmq";
import type { RedisClient } from "../redis/connection.js";
import { dropAppliedEvents } from "./applied-events.js";
import { type DeadLetterData, deadLetterId, deadLetterJobName } from "./dead-letter.js";
import type { DeadLetterQueue, ReadQueue } from "./queues.js";
import { type JobRange, type ReadJobData, readJobName } from "./read-job.js";

type SinkJobState = "waiting" | "active" | "delayed" | "completed" | "failed";

export interface SinkJob {
  state: SinkJobState;
  data: ReadJobData;
  /** Why the last attempt failed, when it did. */
  failedReason?: string;
  /**
   * The range a completed job's worker applied (its return value), when it says one, with the
   * partition ledger's max_ts after it, when it says that.
   */
  applied?: JobRange & { ledgerMaxTimestamp?: number };
}

type AppliedRange = NonNullable<SinkJob["applied"]>;

/** Whether a job's stored data names a range (data removed from its hash reads as none). */
function namesRange(data: unknown): boolean {
  if (typeof data !== "object" || data === null) return false;
  const { firstOffset, lastOffset } = data as Record<string, unknown>;
  return typeof firstOffset === "string" && typeof lastOffset === "string";
}

/** The range a completed job's return value names, if it names one. */
function appliedRange(returnvalue: unknown): AppliedRange | undefined {
  if (typeof returnvalue !== "object" || returnvalue === null) return undefined;
  const { firstOffset, lastOffset, ledgerMaxTimestamp } = returnvalue as Record<string, unknown>;
  if (typeof firstOffset !== "string" || typeof lastOffset !== "string") return undefined;
  return {
    firstOffset,
    lastOffset,
    ...(typeof ledgerMaxTimestamp === "number" ? { ledgerMaxTimestamp } : {}),
  };
}

export interface JobSink {
  /** Adds the job under `id` unless one with that id exists (then it is left as it is). */
  add(id: string, data: ReadJobData): Promise<void>;
  /** The job stored under `id`, or undefined when there is none. */
  inspect(id: string): Promise<SinkJob | undefined>;
  /**
   * Whether the job under `id` is still to be applied (waiting, active or delayed) with its data:
   * without reading that data, which holds all its events.
   */
  isOpen(id: string): Promise<boolean>;
  /**
   * Drops the events of the completed job under `id`, with the checks of applied-events.ts (a job
   * retried, replaced or edited since keeps them). True when they were dropped.
   */
  dropAppliedEvents(id: string): Promise<boolean>;
  /** Stores dead letters, each under its own id (adding one twice keeps the first). */
  addDeadLetters(letters: readonly DeadLetterData[]): Promise<void>;
}

const knownStates = new Set<string>(["waiting", "active", "delayed", "completed", "failed"]);
/** BullMQ's states of a job nobody has finished. */
const openStates = new Set<string>(["waiting", "active", "delayed", "prioritized", "waiting-children"]);

export class BullJobSink implements JobSink {
  constructor(
    private readonly work: ReadQueue,
    private readonly dead: DeadLetterQueue,
    /** The queues' Redis (commands). */
    private readonly redis: RedisClient,
  ) {}

  async add(id: string, data: ReadJobData): Promise<void> {
    await this.work.add(readJobName(data), data, { jobId: id });
  }

  async inspect(id: string): Promise<SinkJob | undefined> {
    const job = await Job.fromId<ReadJobData, unknown, string>(this.work, id);
    if (job === undefined) return undefined;
    const state = await job.getState();
    if (state === "unknown" || !namesRange(job.data)) {
      // The job's hash is there but it is in no list, or holds no range (Redis lost part of
      // BullMQ's keys, or its data was removed by hand): add() would find the hash and do nothing,
      // and no worker can apply it. Remove the remains so that it can be added again.
      await this.work.remove(id);
      return undefined;
    }
    let applied: AppliedRange | undefined;
    if (state === "completed") {
      // The hash was read before the state: a job that completed in between has its return
      // value only in a fresh read (BullMQ writes both in one step).
      applied =
        appliedRange(job.returnvalue) ??
        appliedRange((await Job.fromId<ReadJobData, unknown, string>(this.work, id))?.returnvalue);
    }
    return {
      // prioritized / waiting-children count as waiting: nobody has taken them yet.
      state: knownStates.has(state) ? (state as SinkJobState) : "waiting",
      data: job.data,
      ...(job.failedReason ? { failedReason: job.failedReason } : {}),
      ...(applied ? { applied } : {}),
    };
  }

  async isOpen(id: string): Promise<boolean> {
    // A job listed whose hash lost its data (removed by hand, a partial restore) is not open:
    // inspect() finds it gone and the watch adds it again.
    const [state, hasData] = await Promise.all([
      this.work.getJobState(id),
      this.redis.hexists(this.work.toKey(id), "data"),
    ]);
    return openStates.has(state) && hasData === 1;
  }

  async dropAppliedEvents(id: string): Promise<boolean> {
    const job = await Job.fromId<ReadJobData, unknown, string>(this.work, id);
    if (job?.finishedOn === undefined) return false;
    return dropAppliedEvents(this.redis, (jobId) => this.work.toKey(jobId), {
      id,
      finishedOn: job.finishedOn,
      returnvalue: job.returnvalue,
      data: job.data,
    });
  }

  async addDeadLetters(letters: readonly DeadLetterData[]): Promise<void> {
    await this.dead.addBulk(
      letters.map((d) => ({ name: deadLetterJobName(d), data: d, opts: { jobId: deadLetterId(d) } })),
    );
  }
}
