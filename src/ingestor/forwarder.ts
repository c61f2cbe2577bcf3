// Turns Kafka batches into read jobs, one unfinished job per partition at most.
//
// For a partition's batch: the next contiguous range (at most JOB_MAX_EVENTS messages) is
// parsed; invalid messages go to the dead-letter queue; the range becomes one job of its valid
// events, naming its dead letters' offsets, whose id names the range's first message. The
// partition is then paused, and a JobWatch waits for the job to complete, commits the offset
// after the job's range, and hands the partition back to the Positioner, which fetches on from
// the job's last message. A redelivered range finds its job by id instead of adding a twin.
//
// The rule everything here keeps: a partition is resumed only once its job is known to be
// completed and committed. Jobs of a partition are therefore applied in offset order, which is
// what the per-document marks rely on (see counting/plan-increments.ts).
//
// The rooms: partitions.ts (each partition's phase, in one map), positioner.ts (where each
// partition is read from, and whether its log is the one its position came from), job-watch.ts
// (an open job, until it is committed), partition-status.ts (what reports show of a partition,
// and why it is held back), timing.ts (waits and backoff).
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { JobSink } from "../queue/job-sink.js";
import { readJobId } from "../queue/read-job.js";
import type { IngestorReport } from "../status/process-reports.js";
import {
  type BatchControl,
  type BatchInput,
  bestEffort,
  type ConsumerControl,
  type ReadPosition,
} from "./consumer-control.js";
import { JobWatch, submitJob, type WatchContext } from "./job-watch.js";
import { HOLD_CAUSES, type HoldCause, type PartitionStatus } from "./partition-status.js";
import { Partitions } from "./partitions.js";
import type { SkipCause } from "./plan-position.js";
import { Positioner } from "./positioner.js";
import { splitRange } from "./split-range.js";
import { DEFAULT_TIMING, type ForwarderTiming, wait } from "./timing.js";

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
  private readonly partitions = new Partitions();
  private readonly positioner: Positioner;
  /** Counts assignments: work begun under an earlier one stops when it sees a newer one. */
  private generation = 0;
  private stopping = false;
  private readonly timing: ForwarderTiming;
  private readonly watchContext: WatchContext;

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
    });
    // What a job's watch needs: it commits, then hands the partition back to be read on.
    this.watchContext = {
      sink: this.sink,
      timing: this.timing,
      log: this.log,
      consumer: this.consumer,
      committed: (topic, partition, offset) => this.events?.committed(topic, partition, offset),
      readOn: (watch) => {
        const { topic, partition, lastOffset, lastTimestamp } = watch.data;
        const entry = this.partitions.get(topic, partition);
        if (entry === undefined || entry.phase.kind !== "job-open" || entry.phase.watch !== watch) return;
        this.positioner.readOnAfter(entry, BigInt(lastOffset), lastTimestamp?.toString());
        if (!this.stopping)
          bestEffort(this.log, () => this.consumer.resume([{ topic, partitions: [partition] }]));
      },
    };
  }

  /** What the status page shows of this ingestor (see status/process-reports.ts). */
  report(): IngestorReport {
    const assigned = this.partitions.all().map((e) => e.partition);
    return { kind: "ingestor", assigned: assigned.sort((a, b) => a - b), partitions: this.status() };
  }

  /**
   * A fetch of ours was outside the log: see Positioner.outOfRange. False for a partition not
   * assigned to this ingestor.
   */
  outOfRange(topic: string, partition: number): boolean {
    const entry = this.partitions.get(topic, partition);
    if (entry !== undefined) this.positioner.outOfRange(entry);
    return entry !== undefined;
  }

  /** Wakes the watch of a job that completed or failed (from BullMQ's event stream). */
  jobSettled(jobId: string): void {
    for (const w of this.partitions.watches()) if (w.jobId === jobId) w.wake();
  }

  async handleBatch(batch: BatchInput, control: BatchControl): Promise<void> {
    const { topic, partition } = batch;
    const generation = this.generation;
    if (this.stopping || control.isStale()) return;
    // A partition no assignment named yet is positioned like one that was.
    const entry = this.partitions.get(topic, partition) ?? this.partitions.add(topic, partition);
    if (entry.phase.kind !== "reading") {
      // Fetched while a job of this partition is still open (e.g. right after a rebalance), held
      // back, or not positioned since the assignment: the partition waits, its messages left
      // unresolved; they are fetched again from where it is read on. Positioning (of a partition
      // not positioned) is not awaited: kafkajs's fetcher (and a rebalance) would wait for it.
      this.consumer.pause([{ topic, partitions: [partition] }]);
      void this.positioner.position(generation, entry);
      return;
    }
    const batchLast = batch.messages[batch.messages.length - 1]?.offset;
    if (batchLast === undefined) return;
    const messages = this.positioner.checkContinuity(entry, batch.messages, control);
    if (messages === undefined) return;

    // One job per fetch: the rest of the batch is fetched again after the job completes.
    const chunk = messages.slice(0, this.config.JOB_MAX_EVENTS);
    if (chunk.length === 0 || this.stopping || !control.isRunning() || control.isStale()) return;
    const { job: data, deadLetters } = splitRange(
      {
        topic,
        partition,
        incarnation: this.positioner.incarnationOf(entry),
        maxMessageBytes: this.config.MAX_MESSAGE_BYTES,
        highWatermark: batch.highWatermark,
        partitions: entry.topicPartitions,
      },
      chunk,
    );
    this.events?.consumed(data.events, deadLetters.length);
    try {
      const id = readJobId(data);
      const found = await submitJob(this.watchContext, id, data, deadLetters);
      // A rebalance meanwhile (the partition may be another's now), or the partition positioned
      // again (a fetch outside the log): leave it; it is read again from its position and the
      // range finds this job by its id.
      if (generation !== this.generation || entry.phase.kind !== "reading") return;
      // The job found may be an earlier one for the same first message, covering more or
      // less. Resolve no further than both; on completion the watch seeks past the job.
      const jobLast = BigInt(found.lastOffset);
      const last = BigInt(batchLast);
      control.resolveOffset((jobLast < last ? jobLast : last).toString());
      this.consumer.pause([{ topic, partitions: [partition] }]);
      entry.phase = { kind: "job-open", watch: new JobWatch(id, found, this.watchContext) };
    } catch (err) {
      // Redis or Kafka away: nothing of this chunk is resolved, so Kafka hands the same
      // messages over again and they rebuild the same ids. Wait a little before that.
      this.log.warn({ err, partition }, "could not hand the range to the queue; will fetch it again");
      await wait(this.timing.retryMaxMs / 5);
    }
  }

  /**
   * After a rebalance: forget the partitions no longer ours (without committing: the new owner
   * finds the job by its id), and position every assigned partition without an open job before
   * it is fetched (paused until then). A partition held back for its log is checked again.
   */
  onAssignment(assigned: Record<string, number[]>): void {
    this.generation++;
    for (const { phase } of this.partitions.assign(assigned)) {
      if (phase.kind !== "job-open") continue;
      phase.watch.cancel();
      this.log.info({ jobId: phase.watch.jobId }, "partition revoked while its job was open; not committing");
    }
    for (const [topic, partitions] of Object.entries(assigned)) {
      // Every assigned partition is paused: those with an open job until it completes (after a
      // kafkajs crash and restart they come back unpaused), the others until positioned.
      if (partitions.length > 0) this.consumer.pause([{ topic, partitions }]);
    }
    for (const entry of this.partitions.all()) void this.positioner.position(this.generation, entry);
  }

  /** Stops taking new ranges and waits (up to timeoutMs) for open jobs to complete and commit. */
  async drain(timeoutMs: number): Promise<number> {
    this.stopping = true;
    const open = this.partitions.watches();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open.map((w) => w.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const left = this.partitions.watches();
    for (const w of left) w.cancel();
    return left.length;
  }

  /**
   * Whether a paused partition of ours should be back soon: its job is open (not held back for a
   * person) or its position is being read. The ingestor's fetches wait long only while none is
   * (see kafka/idle-fetch-wait.ts); a partition held back may wait that long once when it resumes.
   */
  resumeExpected(topic: string, partition: number): boolean {
    const phase = this.partitions.get(topic, partition)?.phase;
    return phase?.kind === "job-open" ? phase.watch.state !== "held-back" : phase?.kind === "positioning";
  }

  /** Every partition of ours that has an open job or is held back, with the cause of a hold. */
  status(): PartitionStatus[] {
    return this.partitions.status();
  }

  /** Partitions with a job submitted and not yet completed and committed. */
  openJobs(): number {
    return this.partitions.watches().length;
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
