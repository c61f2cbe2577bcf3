// Turns Kafka batches into read jobs, one unfinished job per partition at most.
//
// For a partition's batch: the next contiguous range (at most JOB_MAX_EVENTS messages) is
// parsed; invalid messages go to the dead-letter queue; the range becomes one job of its valid
// events, naming its dead letters' offsets, whose id names the range's first message. The
// partition is then paused, and a JobWatch waits for the job to complete, commits the offset
// after the job's range, and hands the partition back to the Positioner, which fetches on from
// the job's last message. A redelivered range finds its job by
// id instead of adding a twin.
//
// The rule everything here keeps: a partition is resumed only once its job is known to be
// completed and committed. Jobs of a partition are therefore applied in offset order, which is
// what the per-document marks rely on (see counting/plan-increments.ts).
//
// The rooms: positioner.ts (where each partition is read from, and whether its log is the one its
// position came from), job-watch.ts (an open job, until it is committed), partition-status.ts
// (what each partition does, and why it is held back), timing.ts (waits and backoff).
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { DeadLetterData } from "../queue/dead-letter.js";
import type { JobSink } from "../queue/job-sink.js";
import { topicLife } from "../queue/message-id.js";
import { type ReadJobData, readJobId } from "../queue/read-job.js";
import type { IngestorReport } from "../status/process-reports.js";
import {
  type BatchControl,
  type BatchInput,
  bestEffort,
  type ConsumerControl,
  partitionId,
  type ReadPosition,
} from "./consumer-control.js";
import { JobWatch, submitJob } from "./job-watch.js";
import { HOLD_CAUSES, type HoldCause, type PartitionStatus } from "./partition-status.js";
import { encodeLastApplied, type SkipCause } from "./plan-position.js";
import { Positioner } from "./positioner.js";
import { splitRange } from "./split-range.js";
import { DEFAULT_TIMING, type ForwarderTiming } from "./timing.js";

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

export class Forwarder {
  private readonly watches = new Map<string, JobWatch>();
  private readonly positioner: Positioner;
  /** Counts assignments: work begun under an earlier one stops when it sees a newer one. */
  private generation = 0;
  private stopping = false;
  private readonly timing: ForwarderTiming;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly sink: JobSink,
    private readonly consumer: ConsumerControl,
    readPosition: ReadPosition,
    private readonly log: Logger,
    private readonly events?: ForwarderEvents,
    timing: Partial<ForwarderTiming> = {},
  ) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.positioner = new Positioner({
      config,
      consumer,
      readPosition,
      log,
      timing: this.timing,
      skipped: (topic, partition, count, cause) => events?.skipped(topic, partition, count, cause),
      generation: () => this.generation,
      stopping: () => this.stopping,
      hasJob: (id) => this.watches.has(id),
    });
  }

  /** What the status page shows of this ingestor (see status/process-reports.ts). */
  report(): IngestorReport {
    return { kind: "ingestor", assigned: this.positioner.assignedPartitions(), partitions: this.status() };
  }

  /** A fetch of ours was outside the log: see Positioner.outOfRange. */
  outOfRange(topic: string, partition: number): boolean {
    return this.positioner.outOfRange(topic, partition);
  }

  /** Wakes the watch of a job that completed or failed (from BullMQ's event stream). */
  jobSettled(jobId: string): void {
    for (const w of this.watches.values()) if (w.jobId === jobId) w.wake();
  }

  async handleBatch(batch: BatchInput, control: BatchControl): Promise<void> {
    const { topic, partition } = batch;
    const k = partitionId(topic, partition);
    const generation = this.generation;
    if (this.stopping || control.isStale()) return;
    if (this.watches.has(k) || this.positioner.isBlocked(k)) {
      // Fetched while a job of this partition is still open (e.g. right after a rebalance), or
      // held back: leave the messages unresolved; they are fetched again after the job completes.
      this.consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }
    const batchLast = batch.messages[batch.messages.length - 1]?.offset;
    if (batchLast === undefined) return;
    if (!this.positioner.isPositioned(k)) {
      // Not positioned since the assignment (its positioning has not run, or is under way): the
      // partition waits, and is fetched again from the planned position. Not awaited: kafkajs's
      // fetcher (and a rebalance) would wait for it.
      this.consumer.pause([{ topic, partitions: [partition] }]);
      void this.positioner.position(generation, topic, partition);
      return;
    }
    const messages = this.positioner.checkContinuity(topic, partition, batch.messages, control);
    if (messages === undefined) return;

    // One job per fetch: the rest of the batch is fetched again after the job completes.
    const chunk = messages.slice(0, this.config.JOB_MAX_EVENTS);
    if (chunk.length === 0 || this.stopping || !control.isRunning() || control.isStale()) return;
    const { job: data, deadLetters } = splitRange(
      {
        topic,
        partition,
        incarnation: this.positioner.incarnationOf(topic, partition),
        maxMessageBytes: this.config.MAX_MESSAGE_BYTES,
      },
      chunk,
    );
    this.events?.consumed(data.events, deadLetters.length);
    try {
      // Before anything of the range can be committed, every dead letter in it is stored: a job
      // exists only once its range's dead letters do, whoever follows it later.
      await this.storeDeadLetters(partition, deadLetters);
      const id = readJobId(data);
      const found = await submitJob({ sink: this.sink, timing: this.timing, log: this.log }, id, data);
      // A rebalance meanwhile: the partition may be another's now. Leave it; whoever owns it
      // reads the range again and finds this job by its id.
      if (generation !== this.generation) return;
      // The job found may be an earlier one for the same first message, covering more or
      // less. Resolve no further than both; on completion the watch seeks past the job.
      const jobLast = BigInt(found.lastOffset);
      const last = BigInt(batchLast);
      control.resolveOffset((jobLast < last ? jobLast : last).toString());
      this.consumer.pause([{ topic, partitions: [partition] }]);
      this.watch(id, found);
    } catch (err) {
      // Redis or Kafka away: nothing of this chunk is resolved, so Kafka hands the same
      // messages over again and they rebuild the same ids. Wait a little before that.
      this.log.warn({ err, partition }, "could not hand the range to the queue; will fetch it again");
      await sleep(this.timing.retryMaxMs / 5);
    }
  }

  /**
   * After a rebalance: forget the partitions no longer ours (without committing: the new owner
   * finds the job by its id), and position every assigned partition without an open job before
   * it is fetched (paused until then). A partition held back for its log is checked again.
   */
  onAssignment(assigned: Record<string, number[]>): void {
    this.generation++;
    const generation = this.generation;
    const mine = new Set(Object.entries(assigned).flatMap(([t, ps]) => ps.map((p) => partitionId(t, p))));
    this.positioner.reset(mine);
    for (const [k, w] of this.watches) {
      if (!mine.has(k)) {
        w.cancel();
        this.watches.delete(k);
        this.log.info({ jobId: w.jobId }, "partition revoked while its job was open; not committing");
      }
    }
    for (const [topic, partitions] of Object.entries(assigned)) {
      // Every assigned partition is paused: those with an open job until it completes (after a
      // kafkajs crash and restart they come back unpaused), the others until positioned.
      if (partitions.length > 0) this.consumer.pause([{ topic, partitions }]);
      for (const p of partitions)
        if (!this.watches.has(partitionId(topic, p))) void this.positioner.position(generation, topic, p);
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
    for (const w of left) w.cancel();
    return left.length;
  }

  /**
   * Whether a paused partition of ours should be back soon: its job is open (not held back for a
   * person) or its position is being read. The ingestor's fetches wait long only while none is
   * (see kafka/idle-fetch-wait.ts); a partition held back may wait that long once when it resumes.
   */
  resumeExpected(topic: string, partition: number): boolean {
    const k = partitionId(topic, partition);
    const w = this.watches.get(k);
    return w !== undefined ? w.state !== "held-back" : this.positioner.isPositioning(k);
  }

  /** Every partition of ours that has an open job or is held back, with the cause of a hold. */
  status(): PartitionStatus[] {
    return [...[...this.watches.values()].map((w) => w.status()), ...this.positioner.status()];
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

  private watch(jobId: string, data: ReadJobData): void {
    const k = partitionId(data.topic, data.partition);
    const w = new JobWatch(jobId, data, {
      sink: this.sink,
      timing: this.timing,
      log: this.log,
      commit: (job, maxTimestamp) => this.commit(job, maxTimestamp),
      committed: (watch) => {
        const { topic, partition, lastOffset, lastTimestamp } = watch.data;
        this.positioner.readOnAfter(
          topic,
          partition,
          BigInt(lastOffset),
          lastTimestamp === undefined ? undefined : String(lastTimestamp),
        );
        if (this.watches.get(k) === watch) this.watches.delete(k);
        if (!watch.cancelled && !this.stopping) {
          bestEffort(this.log, () => this.consumer.resume([{ topic, partitions: [partition] }]));
        }
      },
    });
    this.watches.set(k, w);
  }

  private async storeDeadLetters(partition: number, letters: readonly DeadLetterData[]): Promise<void> {
    if (letters.length === 0) return;
    await this.sink.addDeadLetters(letters);
    this.log.warn({ partition, count: letters.length, first: letters[0]?.reason }, "dead letters");
  }

  /**
   * Commits the offset after a job's range, naming in the metadata its last message, in the life
   * the job was read in, and the partition ledger's max_ts (see LastApplied).
   */
  private async commit(job: ReadJobData, maxTimestamp: number | undefined): Promise<void> {
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
    const offset = last + 1n;
    await this.consumer.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }]);
    this.events?.committed(topic, partition, offset);
  }
}
