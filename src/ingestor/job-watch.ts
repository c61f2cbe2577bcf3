// The watch of one partition's open job: it waits for the job to complete with its own range
// applied, then commits the offset after that range (naming the range's last message and the
// partition ledger's max_ts in the metadata), and hands the partition back to be read on.
// Errors while watching or committing (Redis or Kafka away) are retried with backoff, never taken
// as completion; a job that vanished from Redis is added again; a job that failed all its
// attempts, or completed with another range than its data, holds the partition back until a
// person retries it. A partition is resumed only by a watch that committed.
import type { Logger } from "../logger.js";
import type { DeadLetterData } from "../queue/dead-letter.js";
import type { JobSink } from "../queue/job-sink.js";
import { topicLife } from "../queue/message-id.js";
import { isDecimal, type ReadJobData, sameRange } from "../queue/read-job.js";
import type { ConsumerControl } from "./consumer-control.js";
import { type HoldCause, type PartitionState, type PartitionStatus, WHAT_TO_DO } from "./partition-status.js";
import { encodeLastApplied } from "./plan-position.js";
import { Backoff, type ForwarderTiming, wait } from "./timing.js";

/** What a watch needs of the forwarder. */
export interface WatchContext {
  readonly sink: JobSink;
  readonly timing: ForwarderTiming;
  readonly log: Logger;
  readonly consumer: Pick<ConsumerControl, "commitOffsets">;
  /** An offset was committed (whether or not the watch was cancelled meanwhile). */
  committed(topic: string, partition: number, offset: bigint): void;
  /** The job's range is applied and committed: read the partition on after it. */
  readOn(watch: JobWatch): void;
}

export class JobWatch {
  state: PartitionState = "waiting";
  cause: HoldCause | undefined;
  reason: string | undefined;
  since = Date.now();
  cancelled = false;
  readonly done: Promise<void>;
  /** Ends the current sleep; undefined while the watch is not sleeping. */
  private endSleep: (() => void) | undefined;
  /** Woken while not sleeping (reading the job): the next sleep ends at once, to read it again. */
  private wokenAwake = false;
  /** Ends the wait for a completed job's events to be dropped; only cancel() calls it. */
  private endDropWait: (() => void) | undefined;

  constructor(
    readonly jobId: string,
    /** The job's data as last found: a job replaced under its id is followed. */
    public data: ReadJobData,
    private readonly ctx: WatchContext,
  ) {
    this.done = this.follow().catch((err: unknown) => {
      // follow() handles its errors itself; this is a bug. The partition stays paused (never
      // resumed without a completed job): an operator sees it held back and restarts.
      this.holdBack("watcher-stopped", `watcher stopped: ${String(err)}`);
      ctx.log.error({ err, jobId }, "watcher stopped; partition held back until the ingestor restarts");
    });
  }

  /** Looks at the job now (it completed or failed: BullMQ's event stream said so). */
  wake(): void {
    if (this.endSleep !== undefined) this.endSleep();
    else this.wokenAwake = true;
  }

  /** Stops watching, without committing (the partition is another's now, or the ingestor stops). */
  cancel(): void {
    this.cancelled = true;
    this.endDropWait?.();
    this.wake();
  }

  status(): PartitionStatus {
    return {
      partition: this.data.partition,
      state: this.state,
      jobId: this.jobId,
      ...(this.cause !== undefined ? { cause: this.cause } : {}),
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
    };
  }

  /** Waits for the watched job to complete, then commits past it and hands the partition back. */
  private async follow(): Promise<void> {
    const { jobId, ctx } = this;
    const { partition } = this.data;
    const { sink, timing, log } = ctx;
    const errors = new Backoff(timing);
    let maxTimestamp: number | undefined;
    let lastHeldBackLog = 0;
    let vanished = 0;
    for (;;) {
      if (this.cancelled) return;
      let job: Awaited<ReturnType<JobSink["inspect"]>>;
      try {
        // An open job is only waited for, taken as holding the watched range: its data, with all
        // its events, is read once it settled, and a range replaced meanwhile is followed then.
        job = (await sink.isOpen(jobId)) ? { state: "waiting", data: this.data } : await sink.inspect(jobId);
        if (job === undefined) {
          // Redis lost the job (flushed, restored from an old snapshot, removed by hand): add it
          // again. Its events above the marks are applied; those below are skipped.
          vanished++;
          log.warn({ jobId, times: vanished }, "job vanished from Redis; adding it again");
          if (vanished >= timing.vanishedLimit) {
            this.holdBack(
              "job-vanished",
              `job vanished ${vanished} times in a row (is KEEP_COMPLETED_* too low?)`,
            );
          }
          if (!this.cancelled) await sink.add(jobId, this.data);
          errors.reset();
          await this.sleepUnlessWoken(timing.pollMs / 4);
          continue;
        }
      } catch (err) {
        errors.note(err, log, { jobId, partition }, "cannot read the job's state; retrying");
        await this.sleepUnlessWoken(errors.next());
        continue;
      }
      errors.reset();
      if (this.cancelled) return;
      vanished = 0;
      // Data naming another partition or first message, or no range (written by hand), is not this
      // range's job: committing what it says could move another partition past reads never applied.
      const foreign = !followable(job.data, this.data);
      if (!foreign && !sameRange(job.data, this.data)) {
        // Someone replaced the job under this id with another range: its range is what will
        // be applied, so it is what gets committed.
        log.warn(
          { jobId, watched: this.data.lastOffset, found: job.data.lastOffset },
          "the job under this id covers another range; following it",
        );
        this.data = job.data;
      }
      // Completed, the job says which range its worker applied: only that range, when it is the
      // job's own, may be committed.
      if (
        !foreign &&
        job.state === "completed" &&
        job.applied !== undefined &&
        sameRange(job.applied, this.data)
      ) {
        maxTimestamp = job.applied.ledgerMaxTimestamp;
        break;
      }
      const held: [HoldCause, string] | undefined = foreign
        ? [
            "job-data",
            `its data names ${describeRange(job.data)}, not a range of ${describeRange(this.data, false)}`,
          ]
        : job.state === "failed"
          ? ["job-failed", job.failedReason ?? "failed all its attempts"]
          : job.state === "completed"
            ? [
                "job-range",
                `completed having applied ${job.applied ? `${job.applied.firstOffset}-${job.applied.lastOffset}` : "no range it names"}, ` +
                  `while its data covers ${this.data.firstOffset}-${this.data.lastOffset} (was its data edited?); retry it`,
              ]
            : undefined;
      if (held !== undefined) {
        this.holdBack(...held);
        if (Date.now() - lastHeldBackLog >= timing.repeatLogMs) {
          lastHeldBackLog = Date.now();
          log.error(
            {
              jobId,
              partition,
              since: new Date(this.since).toISOString(),
              cause: this.cause,
              reason: this.reason,
            },
            `partition held back: its job did not apply its range; ${WHAT_TO_DO[held[0]]}`,
          );
        }
      } else if (this.state === "held-back") {
        this.state = "waiting";
        this.cause = undefined;
        this.reason = undefined;
        log.info({ jobId, partition }, "held-back job was retried");
      }
      await this.sleepUnlessWoken(timing.pollMs);
    }

    this.state = "committing";
    this.cause = undefined;
    this.reason = undefined;
    // Nobody reads the job's events any more. Its worker drops them too, but nothing orders that
    // drop before this partition's next job is queued: dropped here first, Redis holds the events
    // of one job per partition. Best effort, and waited for only timing.dropWaitMs (Redis away
    // must not hold the commit back): a job that keeps them is bounded by KEEP_COMPLETED_*.
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.endDropWait = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        log.warn(
          { jobId, waitedMs: timing.dropWaitMs },
          "dropping a completed job's events takes longer than the wait for it; committing meanwhile",
        );
        finish();
      }, timing.dropWaitMs);
      this.endDropWait = finish;
      void sink
        .dropAppliedEvents(jobId)
        .catch((err: unknown) => log.warn({ err, jobId }, "could not drop a completed job's events"))
        .finally(finish);
    });
    for (;;) {
      if (this.cancelled) return;
      try {
        const commit = commitAfter(this.data, maxTimestamp);
        await ctx.consumer.commitOffsets([commit]);
        ctx.committed(commit.topic, commit.partition, BigInt(commit.offset));
        break;
      } catch (err) {
        // Not yet committed: the partition must stay paused. A rebalance that took the partition
        // away cancels this watch; otherwise the commit goes through later.
        errors.note(err, log, { jobId, partition }, "offset commit failed; retrying");
        await this.sleepUnlessWoken(errors.next());
      }
    }
    if (this.cancelled) return;
    ctx.readOn(this);
  }

  private holdBack(cause: HoldCause, reason: string): void {
    if (this.state !== "held-back") this.since = Date.now();
    this.state = "held-back";
    this.cause = cause;
    this.reason = reason;
  }

  /**
   * Sleeps `ms`, or less when woken (the job settled, the watch was cancelled), also when woken
   * since the last sleep: what was read meanwhile may predate what woke it.
   */
  private sleepUnlessWoken(ms: number): Promise<void> {
    if (this.wokenAwake) {
      this.wokenAwake = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.endSleep = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.endSleep = end;
    });
  }
}

/**
 * The offset after a job's range, with metadata naming its last message, in the life the job was
 * read in, and the partition ledger's max_ts (see LastApplied).
 */
function commitAfter(job: ReadJobData, maxTimestamp: number | undefined) {
  const { topic, partition } = job;
  const last = BigInt(job.lastOffset);
  const metadata =
    job.lastTimestamp === undefined
      ? null
      : encodeLastApplied({
          life: topicLife(topic, job.incarnation ?? ""),
          offset: last,
          timestamp: String(job.lastTimestamp),
          ...(maxTimestamp === undefined ? {} : { maxTimestamp: String(maxTimestamp) }),
        });
  return { topic, partition, offset: (last + 1n).toString(), metadata };
}

/**
 * Stores the range's dead letters, then adds the job, or finds the one already there with that
 * id; returns the job's real data. A job exists only once its range's dead letters do, so
 * nothing of a range is committed before they are stored, whoever follows the job later.
 */
export async function submitJob(
  ctx: Pick<WatchContext, "sink" | "timing" | "log">,
  id: string,
  data: ReadJobData,
  deadLetters: readonly DeadLetterData[],
): Promise<ReadJobData> {
  if (deadLetters.length > 0) {
    await ctx.sink.addDeadLetters(deadLetters);
    ctx.log.warn(
      { partition: data.partition, count: deadLetters.length, first: deadLetters[0]?.reason },
      "dead letters",
    );
  }
  for (let attempt = 0; ; attempt++) {
    if (attempt === 5) throw new Error(`job ${id} disappears as soon as it is added`);
    if (attempt > 0) await wait(ctx.timing.retryMinMs * 2 ** attempt);
    await ctx.sink.add(id, data);
    const job = await ctx.sink.inspect(id);
    if (job !== undefined) {
      if (!followable(job.data, data)) {
        // Its watch holds the partition back (job-data) until the job is removed and added again.
        ctx.log.error(
          { jobId: id, found: describeRange(job.data) },
          "the job under this id names another range",
        );
        return data;
      }
      if (job.data.lastOffset !== data.lastOffset) {
        ctx.log.info(
          { jobId: id, found: job.data.lastOffset, fetched: data.lastOffset },
          "range already has a job; following it",
        );
      }
      return job.data;
    }
    // Removed between add and read (retention): add again.
  }
}

/**
 * Whether a job found under an id may be followed by the watch of `own`: it names the same first
 * message (topic, its life, partition, offset) and a range from it (a re-read of the range may
 * have fetched more or fewer messages).
 */
function followable(found: ReadJobData, own: ReadJobData): boolean {
  return (
    found.topic === own.topic &&
    (found.incarnation ?? "") === (own.incarnation ?? "") &&
    found.partition === own.partition &&
    found.firstOffset === own.firstOffset &&
    isDecimal(found.lastOffset) &&
    BigInt(found.lastOffset) >= BigInt(own.firstOffset)
  );
}

function describeRange(d: ReadJobData, withLast = true): string {
  const life = d.incarnation ? `(${d.incarnation})` : "";
  const last = withLast ? `-${String(d.lastOffset)}` : "";
  return `${String(d.topic)}${life} partition ${String(d.partition)} offsets ${String(d.firstOffset)}${last}`;
}
