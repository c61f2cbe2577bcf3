// Turns Kafka batches into read jobs, one unfinished job per partition at most.
//
// For a partition's batch: the next contiguous range (at most JOB_MAX_EVENTS messages) is
// parsed; invalid messages go to the dead-letter queue; the valid events become one job whose
// id names the range's first message. The partition is then paused, and a watcher waits for the
// job to complete, commits the offset after the job's range, seeks there and resumes the
// partition. A redelivered range finds its job by id instead of adding a twin.
//
// The rule everything here keeps: a partition is resumed only once its job is known to be
// completed. Jobs of a partition are therefore applied in offset order, which is what the
// per-document marks rely on (see counting/plan-increments.ts). Errors while watching or
// committing (Redis or Kafka away) are retried with backoff, never taken as completion; a job
// that vanished from Redis is added again; a job that failed all its attempts holds the
// partition back until a person retries it.
import { setTimeout as sleep } from "node:timers/promises";
import type { KafkaMessage } from "kafkajs";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { DeadLetterData } from "../queue/dead-letter.js";
import type { JobSink } from "../queue/job-sink.js";
import { topicLife } from "../queue/message-id.js";
import { type ReadJobData, readJobId, sameRange } from "../queue/read-job.js";
import {
  encodeLastApplied,
  type LastApplied,
  type PartitionPosition,
  planPosition,
  RECREATED_HINT,
  type SkipCause,
  type Skipped,
} from "./plan-position.js";
import { splitRange } from "./split-range.js";

/** What the forwarder needs of a kafkajs consumer. */
export interface ConsumerControl {
  pause(topics: { topic: string; partitions: number[] }[]): void;
  resume(topics: { topic: string; partitions: number[] }[]): void;
  paused(): { topic: string; partitions: number[] }[];
  seek(target: { topic: string; partition: number; offset: string }): void;
  commitOffsets(
    offsets: { topic: string; partition: number; offset: string; metadata: string | null }[],
  ): Promise<void>;
}

/** The group's committed offset of a partition, with its metadata, and the log's range. */
export type ReadPosition = (topic: string, partition: number) => Promise<PartitionPosition>;

/**
 * Where a partition's next batch must start: at `last` (the last message applied, to check it
 * is still there and skip it) when the position names it, else at `at`.
 */
interface ResumeCheck {
  at: bigint;
  last?: LastApplied;
}

/** What the forwarder needs of one kafkajs batch. */
export interface BatchInput {
  topic: string;
  partition: number;
  messages: Pick<KafkaMessage, "offset" | "value" | "timestamp">[];
}

export interface BatchControl {
  resolveOffset(offset: string): void;
  isRunning(): boolean;
  isStale(): boolean;
}

/**
 * waiting: the job is queued, running or backing off; held-back: the partition waits, for a
 * person or for Kafka (see HoldCause); committing: completed, its offset being committed.
 */
type PartitionState = "waiting" | "held-back" | "committing";

/**
 * Why a partition is held back, the one value every report (log line, the
 * interactive_partitions_held_back gauge's label, /readyz, status) shows:
 * - job-failed: its job failed all its attempts; retry it in the dashboard;
 * - job-vanished: its job keeps vanishing from Redis (evicted, flushed, KEEP_COMPLETED_* too low);
 * - job-range: its job completed having applied another range than its data (data edited?);
 *   retry it;
 * - log-replaced: the log is not the one its position came from (topic re-created or replaced);
 * - positioning: its position cannot be read (Kafka's admin calls fail); retried by itself;
 * - watcher-stopped: a bug stopped the watch of its job; restart the ingestor.
 */
const HOLD_CAUSES = [
  "job-failed",
  "job-vanished",
  "job-range",
  "log-replaced",
  "positioning",
  "watcher-stopped",
] as const;
export type HoldCause = (typeof HOLD_CAUSES)[number];

export interface PartitionStatus {
  partition: number;
  state: PartitionState;
  /** Why the partition is held back, and what was seen. */
  cause?: HoldCause;
  reason?: string;
}

interface Watch {
  data: ReadJobData;
  jobId: string;
  state: PartitionState;
  cause?: HoldCause;
  reason?: string;
  since: number;
  cancelled: boolean;
  wake: () => void;
  done: Promise<void>;
}

export interface ForwarderEvents {
  consumed(valid: number, invalid: number): void;
  committed(topic: string, partition: number, offset: bigint): void;
  /** Messages this group will never read, and why (see SkipCause). */
  skipped(topic: string, partition: number, count: bigint, cause: SkipCause): void;
}

type ForwarderConfig = Pick<
  Config,
  "JOB_MAX_EVENTS" | "MAX_MESSAGE_BYTES" | "KAFKA_TOPIC_INCARNATION" | "KAFKA_FROM_BEGINNING"
>;

export interface ForwarderTiming {
  /** How often a watcher looks at its job when no event woke it. */
  pollMs: number;
  /** First and longest wait after an error (doubling in between). */
  retryMinMs: number;
  retryMaxMs: number;
  /** How often a held-back partition (or a repeated error) is logged again. */
  repeatLogMs: number;
  /** A job found missing this many times in a row counts as held back. */
  vanishedLimit: number;
}

const DEFAULT_TIMING: ForwarderTiming = {
  pollMs: 1000,
  retryMinMs: 100,
  retryMaxMs: 5000,
  repeatLogMs: 60_000,
  vanishedLimit: 3,
};

const key = (topic: string, partition: number) => `${topic}|${partition}`;

export class Forwarder {
  private readonly watches = new Map<string, Watch>();
  /**
   * Per partition, since its assignment: where the next batch must start (checked, then the
   * message there skipped when it is the last one applied), or null once checked. No entry: the
   * partition is not positioned yet (see position()).
   */
  private readonly resumeAt = new Map<string, ResumeCheck | null>();
  /** Counts assignments: work begun under an earlier one stops when it sees a newer one. */
  private generation = 0;
  /**
   * Partitions being positioned, with the assignment that started it, and the error of the last
   * attempt while Kafka's answers fail (shown as held back: cause positioning).
   */
  private readonly positioning = new Map<string, { generation: number; partition: number; error?: string }>();
  /** Partitions held back without a job: their log is not the one their position came from. */
  private readonly blocked = new Map<string, { partition: number; reason: string }>();
  private stopping = false;
  private readonly timing: ForwarderTiming;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly sink: JobSink,
    private readonly consumer: ConsumerControl,
    private readonly readPosition: ReadPosition,
    private readonly log: Logger,
    private readonly events?: ForwarderEvents,
    timing: Partial<ForwarderTiming> = {},
  ) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
  }

  private life(topic: string): string {
    return topicLife(topic, this.config.KAFKA_TOPIC_INCARNATION);
  }

  /** Wakes the watcher of a job that completed or failed (from BullMQ's event stream). */
  jobSettled(jobId: string): void {
    for (const w of this.watches.values()) if (w.jobId === jobId) w.wake();
  }

  async handleBatch(batch: BatchInput, control: BatchControl): Promise<void> {
    const { topic, partition } = batch;
    let { messages } = batch;
    const k = key(topic, partition);
    const generation = this.generation;
    if (this.stopping || control.isStale()) return;
    if (this.watches.has(k) || this.blocked.has(k)) {
      // Fetched while a job of this partition is still open (e.g. right after a rebalance), or
      // held back: leave the messages unresolved; they are fetched again after the job completes.
      this.consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }
    const batchLast = messages[messages.length - 1]?.offset;
    if (batchLast === undefined) return;
    if (!this.resumeAt.has(k)) {
      // Not positioned since the assignment (its positioning has not run, or is under way): the
      // partition waits, and is fetched again from the planned position. Not awaited: kafkajs's
      // fetcher (and a rebalance) would wait for it.
      this.consumer.pause([{ topic, partitions: [partition] }]);
      void this.position(generation, topic, partition);
      return;
    }
    const checked = this.checkContinuity(topic, partition, messages, control);
    if (checked === undefined) return;
    messages = checked;

    let i = 0;
    while (i < messages.length) {
      if (this.stopping || !control.isRunning() || control.isStale()) return;
      const chunk = messages.slice(i, i + this.config.JOB_MAX_EVENTS);
      const {
        job: data,
        deadLetters,
        lastOffset,
        lastTimestamp,
      } = splitRange(
        {
          topic,
          partition,
          incarnation: this.config.KAFKA_TOPIC_INCARNATION,
          maxMessageBytes: this.config.MAX_MESSAGE_BYTES,
        },
        chunk,
      );
      this.events?.consumed(data?.events ?? 0, deadLetters.length);
      try {
        // Before anything of the range can be committed, every dead letter in it is stored: a job
        // exists only once its range's dead letters do, whoever follows it later.
        await this.storeDeadLetters(partition, deadLetters);
        if (data === undefined) {
          await this.commit(topic, partition, lastOffset, lastTimestamp);
          control.resolveOffset(lastOffset.toString());
          i += chunk.length;
          continue;
        }
        const id = readJobId(data);
        const found = await this.submit(id, data);
        // A rebalance meanwhile: the partition may be another's now. Leave it; whoever owns it
        // reads the range again and finds this job by its id.
        if (generation !== this.generation) return;
        // The job found may be an earlier one for the same first message, covering more or
        // less. Resolve no further than both; on completion the watcher seeks past the job.
        const jobLast = BigInt(found.lastOffset);
        const last = BigInt(batchLast);
        control.resolveOffset((jobLast < last ? jobLast : last).toString());
        this.consumer.pause([{ topic, partitions: [partition] }]);
        this.watch(id, found);
        return;
      } catch (err) {
        // Redis or Kafka away: nothing of this chunk is resolved, so Kafka hands the same
        // messages over again and they rebuild the same ids. Wait a little before that.
        this.log.warn({ err, partition }, "could not hand the range to the queue; will fetch it again");
        await sleep(this.timing.retryMaxMs / 5);
        return;
      }
    }
  }

  private async storeDeadLetters(partition: number, letters: readonly DeadLetterData[]): Promise<void> {
    if (letters.length === 0) return;
    await this.sink.addDeadLetters(letters);
    this.log.warn({ partition, count: letters.length, first: letters[0]?.reason }, "dead letters");
  }

  /**
   * The messages of a batch that are new, after checking that the log is the one the partition's
   * position came from (see LastApplied). Undefined: nothing to read now (only the last applied
   * message was there, or the partition is held back).
   */
  private checkContinuity(
    topic: string,
    partition: number,
    messages: BatchInput["messages"],
    control: BatchControl,
  ): BatchInput["messages"] | undefined {
    const k = key(topic, partition);
    const expected = this.resumeAt.get(k);
    if (expected === undefined || expected === null) return messages;
    this.resumeAt.set(k, null);
    const first = messages[0] as BatchInput["messages"][number];
    const firstOffset = BigInt(first.offset);
    if (firstOffset === expected.at) {
      if (expected.last === undefined) return messages;
      if (first.timestamp === expected.last.timestamp) {
        // The last message applied, still there: skip it.
        control.resolveOffset(first.offset);
        const rest = messages.slice(1);
        return rest.length > 0 ? rest : undefined;
      }
    }
    if (firstOffset <= expected.at && expected.last !== undefined) {
      // Another message at the last applied one's offset, or the fetch reset to an earlier start
      // (the log changed between planning the position and this fetch).
      const found =
        firstOffset === expected.at
          ? `the message there was sent at ${first.timestamp}, not ${expected.last.timestamp}`
          : `the log now starts at offset ${firstOffset}`;
      this.block(
        topic,
        partition,
        `the log is not the one this partition was read from (topic re-created or replaced?): ` +
          `the last message applied was offset ${expected.at}, sent at ${expected.last.timestamp}; ${found}. ` +
          RECREATED_HINT,
      );
      return undefined;
    }
    const next = expected.last === undefined ? expected.at : expected.at + 1n;
    if (firstOffset > next)
      this.reportSkipped(topic, partition, { from: next, count: firstOffset - next, cause: "retention" });
    return messages;
  }

  /** Messages of the partition this group will never read (see SkipCause): counted and logged. */
  private reportSkipped(topic: string, partition: number, { from, count, cause }: Skipped): void {
    this.events?.skipped(topic, partition, count, cause);
    const range = {
      partition,
      from: from.toString(),
      to: (from + count - 1n).toString(),
      lost: count.toString(),
    };
    if (cause === "retention") {
      this.log.error(
        range,
        "messages were removed from Kafka before they were read (retention shorter than a hold-back?); they are lost",
      );
    } else {
      this.log.warn(
        range,
        "no position for this partition (a new partition, or the group's offsets expired) and " +
          "KAFKA_FROM_BEGINNING=false: reading from the log's end; the messages before it are not counted",
      );
    }
  }

  /**
   * Positions a newly assigned (and paused) partition before anything of it is fetched: reads
   * the group's committed offset and the log's range, seeks where planPosition says (or holds
   * the partition back), and resumes it. Kafka errors are retried with backoff; a newer
   * assignment ends it. One at a time per partition and assignment.
   */
  private async position(generation: number, topic: string, partition: number): Promise<void> {
    const k = key(topic, partition);
    if (this.positioning.get(k)?.generation === generation) return;
    const entry: { generation: number; partition: number; error?: string } = { generation, partition };
    this.positioning.set(k, entry);
    try {
      const errors = new Backoff(this.timing);
      for (;;) {
        if (generation !== this.generation || this.stopping) return;
        let position: PartitionPosition;
        try {
          position = await this.readPosition(topic, partition);
        } catch (err) {
          entry.error = `cannot read the partition's position: ${err instanceof Error ? err.message : String(err)}`;
          errors.note(
            err,
            this.log,
            { partition, cause: "positioning" },
            "cannot read the partition's position; retrying",
          );
          await sleep(errors.next());
          continue;
        }
        if (generation !== this.generation || this.stopping) return;
        const plan = planPosition(this.life(topic), this.config.KAFKA_FROM_BEGINNING, position);
        if (plan.kind === "hold") {
          this.block(topic, partition, plan.reason ?? "held back");
          return;
        }
        if (plan.reason !== undefined) {
          this.log.warn({ partition, committed: position.committed, at: plan.at.toString() }, plan.reason);
        }
        if (plan.lost !== undefined) this.reportSkipped(topic, partition, plan.lost);
        this.resumeAt.set(k, plan.last === undefined ? { at: plan.at } : { at: plan.at, last: plan.last });
        this.bestEffort(() => this.consumer.seek({ topic, partition, offset: plan.at.toString() }));
        if (!this.watches.has(k) && !this.blocked.has(k)) {
          this.bestEffort(() => this.consumer.resume([{ topic, partitions: [partition] }]));
        }
        return;
      }
    } finally {
      if (this.positioning.get(k) === entry) this.positioning.delete(k);
    }
  }

  /**
   * Holds a partition back because of its log. It is checked again (positioned anew) every
   * repeatLogMs, and at the next assignment: a log that turns out fine (a high watermark briefly
   * low after a leader change) is read on; one that is not is held back again, and logged again.
   */
  private block(topic: string, partition: number, reason: string): void {
    const k = key(topic, partition);
    const entry = { partition, reason };
    this.blocked.set(k, entry);
    this.bestEffort(() => this.consumer.pause([{ topic, partitions: [partition] }]));
    this.log.error({ partition, cause: "log-replaced", reason }, "partition held back");
    const generation = this.generation;
    setTimeout(() => {
      if (this.stopping || generation !== this.generation || this.blocked.get(k) !== entry) return;
      this.blocked.delete(k);
      this.resumeAt.delete(k);
      void this.position(generation, topic, partition);
    }, this.timing.repeatLogMs).unref();
  }

  /** Adds the job, or finds the one already there with that id; returns the job's real data. */
  private async submit(id: string, data: ReadJobData): Promise<ReadJobData> {
    for (let attempt = 0; ; attempt++) {
      if (attempt === 5) throw new Error(`job ${id} disappears as soon as it is added`);
      if (attempt > 0) await sleep(this.timing.retryMinMs * 2 ** attempt);
      await this.sink.add(id, data);
      const job = await this.sink.inspect(id);
      if (job !== undefined) {
        if (job.data.lastOffset !== data.lastOffset) {
          this.log.info(
            { jobId: id, found: job.data.lastOffset, fetched: data.lastOffset },
            "range already has a job; following it",
          );
        }
        return job.data;
      }
      // Removed between add and read (retention): add again.
    }
  }

  private watch(jobId: string, data: ReadJobData): void {
    const w: Watch = {
      data,
      jobId,
      state: "waiting",
      since: Date.now(),
      cancelled: false,
      wake: () => {},
      done: Promise.resolve(),
    };
    this.watches.set(key(data.topic, data.partition), w);
    w.done = this.follow(w).catch((err: unknown) => {
      // follow() handles its errors itself; this is a bug. The partition stays paused (never
      // resumed without a completed job): an operator sees it held back and restarts.
      this.holdBack(w, "watcher-stopped", `watcher stopped: ${String(err)}`);
      this.log.error({ err, jobId }, "watcher stopped; partition held back until the ingestor restarts");
    });
  }

  /** Waits for the watched job to complete, then commits past it and resumes the partition. */
  private async follow(w: Watch): Promise<void> {
    const { jobId } = w;
    const { topic, partition } = w.data;
    const errors = new Backoff(this.timing);
    let lastHeldBackLog = 0;
    let vanished = 0;
    for (;;) {
      if (w.cancelled) return;
      let job: Awaited<ReturnType<JobSink["inspect"]>>;
      try {
        job = await this.sink.inspect(jobId);
        if (job === undefined) {
          // Redis lost the job (flushed, restored from an old snapshot, removed by hand): add it
          // again. Its events above the marks are applied; those below are skipped.
          vanished++;
          this.log.warn({ jobId, times: vanished }, "job vanished from Redis; adding it again");
          if (vanished >= this.timing.vanishedLimit) {
            this.holdBack(
              w,
              "job-vanished",
              `job vanished ${vanished} times in a row (is KEEP_COMPLETED_* too low?)`,
            );
          }
          if (!w.cancelled) await this.sink.add(jobId, w.data);
          errors.reset();
          await this.sleepUnlessWoken(w, this.timing.pollMs / 4);
          continue;
        }
      } catch (err) {
        errors.note(err, this.log, { jobId, partition }, "cannot read the job's state; retrying");
        await this.sleepUnlessWoken(w, errors.next());
        continue;
      }
      errors.reset();
      if (w.cancelled) return;
      vanished = 0;
      if (job.data.firstOffset !== w.data.firstOffset || job.data.lastOffset !== w.data.lastOffset) {
        // Someone replaced the job under this id with another range: its range is what will
        // be applied, so it is what gets committed.
        this.log.warn(
          { jobId, watched: w.data.lastOffset, found: job.data.lastOffset },
          "the job under this id covers another range; following it",
        );
        w.data = job.data;
      }
      // Completed, the job says which range its worker applied: only that range, when it is the
      // job's own, may be committed.
      if (job.state === "completed" && job.applied !== undefined && sameRange(job.applied, w.data)) break;
      const held: [HoldCause, string] | undefined =
        job.state === "failed"
          ? ["job-failed", job.failedReason ?? "failed all its attempts"]
          : job.state === "completed"
            ? [
                "job-range",
                `completed having applied ${job.applied ? `${job.applied.firstOffset}-${job.applied.lastOffset}` : "no range it names"}, ` +
                  `while its data covers ${w.data.firstOffset}-${w.data.lastOffset} (was its data edited?); retry it`,
              ]
            : undefined;
      if (held !== undefined) {
        this.holdBack(w, ...held);
        if (Date.now() - lastHeldBackLog >= this.timing.repeatLogMs) {
          lastHeldBackLog = Date.now();
          this.log.error(
            { jobId, partition, since: new Date(w.since).toISOString(), cause: w.cause, reason: w.reason },
            "partition held back: its job did not apply its range; retry it (dashboard) and the partition resumes",
          );
        }
      } else if (w.state === "held-back") {
        w.state = "waiting";
        w.cause = undefined;
        w.reason = undefined;
        this.log.info({ jobId, partition }, "held-back job was retried");
      }
      await this.sleepUnlessWoken(w, this.timing.pollMs);
    }

    w.state = "committing";
    w.cause = undefined;
    w.reason = undefined;
    const last = BigInt(w.data.lastOffset);
    const lastTimestamp = w.data.lastTimestamp === undefined ? undefined : String(w.data.lastTimestamp);
    for (;;) {
      if (w.cancelled) return;
      try {
        await this.commit(topic, partition, last, lastTimestamp);
        break;
      } catch (err) {
        // Not yet committed: the partition must stay paused. A rebalance that took the partition
        // away cancels this watch (onAssignment); otherwise the commit goes through later.
        errors.note(err, this.log, { jobId, partition }, "offset commit failed; retrying");
        await this.sleepUnlessWoken(w, errors.next());
      }
    }
    if (w.cancelled) return;
    // Fetch on from the job's last message, whatever was resolved before: the next batch must
    // find it there (same timestamp) before anything after it is read.
    const k = key(topic, partition);
    if (lastTimestamp === undefined) {
      this.resumeAt.set(k, null);
      this.bestEffort(() => this.consumer.seek({ topic, partition, offset: (last + 1n).toString() }));
    } else {
      const applied = { life: this.life(topic), offset: last, timestamp: lastTimestamp };
      this.resumeAt.set(k, { at: last, last: applied });
      this.bestEffort(() => this.consumer.seek({ topic, partition, offset: last.toString() }));
    }
    this.release(w);
  }

  /** Seek and resume are in-memory; they throw only while kafkajs restarts the consumer, which then
   * starts over from the committed offsets anyway. */
  private bestEffort(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.log.warn({ err }, "consumer not running; it resumes from the committed offsets");
    }
  }

  private holdBack(w: Watch, cause: HoldCause, reason: string): void {
    if (w.state !== "held-back") w.since = Date.now();
    w.state = "held-back";
    w.cause = cause;
    w.reason = reason;
  }

  /** Sleeps `ms`, or less when the watch is woken (job settled, cancelled). */
  private sleepUnlessWoken(w: Watch, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      w.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Commits the offset after `last`, naming the message at `last` in the metadata. */
  private async commit(
    topic: string,
    partition: number,
    last: bigint,
    lastTimestamp?: string,
  ): Promise<void> {
    const metadata =
      lastTimestamp === undefined
        ? null
        : encodeLastApplied({ life: this.life(topic), offset: last, timestamp: lastTimestamp });
    const offset = last + 1n;
    await this.consumer.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }]);
    this.events?.committed(topic, partition, offset);
  }

  private release(w: Watch): void {
    const { topic, partition } = w.data;
    const k = key(topic, partition);
    if (this.watches.get(k) === w) this.watches.delete(k);
    if (!w.cancelled && !this.stopping) {
      this.bestEffort(() => this.consumer.resume([{ topic, partitions: [partition] }]));
    }
  }

  /**
   * After a rebalance: forget the partitions no longer ours (without committing: the new owner
   * finds the job by its id), and position every assigned partition without an open job before
   * it is fetched (paused until then; see position()). A partition held back is checked again.
   */
  onAssignment(assigned: Record<string, number[]>): void {
    this.generation++;
    const generation = this.generation;
    const mine = new Set(Object.entries(assigned).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    this.resumeAt.clear();
    this.blocked.clear();
    for (const [k, w] of this.watches) {
      if (!mine.has(k)) {
        w.cancelled = true;
        w.wake();
        this.watches.delete(k);
        this.log.info({ jobId: w.jobId }, "partition revoked while its job was open; not committing");
      }
    }
    for (const [topic, partitions] of Object.entries(assigned)) {
      // Every assigned partition is paused: those with an open job until it completes (after a
      // kafkajs crash and restart they come back unpaused), the others until positioned.
      if (partitions.length > 0) this.consumer.pause([{ topic, partitions }]);
      for (const p of partitions)
        if (!this.watches.has(key(topic, p))) void this.position(generation, topic, p);
    }
  }

  /** Stops taking new ranges and waits (up to timeoutMs) for open jobs to complete and commit. */
  async drain(timeoutMs: number): Promise<number> {
    this.stopping = true;
    const open = [...this.watches.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open.map((w) => w.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const left = [...this.watches.values()];
    for (const w of left) {
      w.cancelled = true;
      w.wake();
    }
    return left.length;
  }

  /**
   * Whether a paused partition of ours should be back soon: its job is open (not held back for a
   * person) or its position is being read. The ingestor's fetches wait long only while none is
   * (see kafka/idle-fetch-wait.ts); a partition held back may wait that long once when it resumes.
   */
  resumeExpected(topic: string, partition: number): boolean {
    const k = key(topic, partition);
    const w = this.watches.get(k);
    return w !== undefined ? w.state !== "held-back" : this.positioning.has(k);
  }

  /** Every partition of ours that has an open job or is held back, with the cause of a hold. */
  status(): PartitionStatus[] {
    const watched: PartitionStatus[] = [...this.watches.values()].map((w) => ({
      partition: w.data.partition,
      state: w.state,
      ...(w.cause !== undefined ? { cause: w.cause } : {}),
      ...(w.reason !== undefined ? { reason: w.reason } : {}),
    }));
    const blocked: PartitionStatus[] = [...this.blocked.values()].map((b) => ({
      partition: b.partition,
      state: "held-back",
      cause: "log-replaced",
      reason: b.reason,
    }));
    // Only this assignment's: a revoked partition's positioning ends when its loop wakes.
    const unpositioned: PartitionStatus[] = [...this.positioning.values()].flatMap((p) =>
      p.generation !== this.generation || p.error === undefined
        ? []
        : [{ partition: p.partition, state: "held-back", cause: "positioning", reason: p.error }],
    );
    return [...watched, ...blocked, ...unpositioned];
  }

  /** Partitions with a job submitted and not yet completed and committed. */
  openJobs(): number {
    return this.watches.size;
  }

  /** How many partitions are held back, per cause (every cause, 0 when none). */
  heldBack(): Map<HoldCause, number> {
    const counts = new Map<HoldCause, number>(HOLD_CAUSES.map((c) => [c, 0]));
    for (const s of this.status())
      if (s.state === "held-back" && s.cause !== undefined)
        counts.set(s.cause, (counts.get(s.cause) ?? 0) + 1);
    return counts;
  }
}

/** Exponential backoff for a repeated error, logging it once per repeatLogMs. */
class Backoff {
  private delay = 0;
  private lastLog = 0;

  constructor(private readonly timing: ForwarderTiming) {}

  next(): number {
    this.delay = this.delay === 0 ? this.timing.retryMinMs : Math.min(this.delay * 2, this.timing.retryMaxMs);
    return this.delay;
  }

  reset(): void {
    this.delay = 0;
  }

  note(err: unknown, log: Logger, fields: Record<string, unknown>, msg: string): void {
    if (this.delay !== 0 && Date.now() - this.lastLog < this.timing.repeatLogMs) return;
    this.lastLog = Date.now();
    log.warn({ ...fields, err }, msg);
  }
}
