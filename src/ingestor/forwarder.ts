// Turns Kafka batches into read jobs, one unfinished job per partition at most.
//
// For a partition's batch: the next contiguous range (at most JOB_MAX_EVENTS messages) is
// parsed; invalid messages go to the dead-letter queue; the valid events become one job whose
// id derives from (topic, partition, first offset). The partition is then paused, and a watcher
// waits for the job to complete, commits the offset after the range, and resumes the partition
// (kafkajs fetches on from there). A redelivered range finds its job by id instead of adding a
// twin. A job that failed all its attempts keeps the partition paused: later reads wait in Kafka.
import { Job, type QueueEvents } from "bullmq";
import type { Batch, KafkaMessage } from "kafkajs";
import type { Config } from "../config.js";
import { parseReadEvent } from "../events/parse-read-event.js";
import type { Logger } from "../logger.js";
import { deadLetterId, toDeadLetter } from "../queue/dead-letter.js";
import { type DeadLetterQueue, deadLetterJobName, type ReadQueue, readJobName } from "../queue/queues.js";
import { ReadJobBuilder, type ReadJobData, readJobId } from "../queue/read-job.js";

/** What the forwarder needs of a kafkajs consumer. */
export interface ConsumerControl {
  pause(topics: { topic: string; partitions: number[] }[]): void;
  resume(topics: { topic: string; partitions: number[] }[]): void;
  paused(): { topic: string; partitions: number[] }[];
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}

export interface BatchControl {
  resolveOffset(offset: string): void;
  isRunning(): boolean;
  isStale(): boolean;
}

export type PartitionState = "waiting" | "held-back" | "committing";

export interface PartitionStatus {
  topic: string;
  partition: number;
  jobId: string;
  firstOffset: string;
  lastOffset: string;
  state: PartitionState;
  since: number;
}

interface Watch {
  data: ReadJobData;
  jobId: string;
  state: PartitionState;
  since: number;
  cancelled: boolean;
  wake: () => void;
  done: Promise<void>;
}

export interface ForwarderEvents {
  consumed(valid: number, invalid: number): void;
  committed(topic: string, partition: number, offset: bigint): void;
}

type ForwarderConfig = Pick<Config, "JOB_MAX_EVENTS" | "MAX_MESSAGE_BYTES">;

const POLL_MS = 1000;
const HELD_BACK_LOG_EVERY_MS = 60_000;

const key = (topic: string, partition: number) => `${topic}|${partition}`;

export class Forwarder {
  private readonly watches = new Map<string, Watch>();
  /** Offsets already covered by a completed job that reached beyond the batch that found it. */
  private readonly coveredThrough = new Map<string, bigint>();
  private stopping = false;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly work: ReadQueue,
    private readonly dead: DeadLetterQueue,
    private readonly consumer: ConsumerControl,
    private readonly log: Logger,
    private readonly events?: ForwarderEvents,
  ) {}

  /** Wires completion and failure notices from BullMQ's event stream to the watchers. */
  listen(queueEvents: QueueEvents): void {
    const wake = ({ jobId }: { jobId: string }) => {
      for (const w of this.watches.values()) if (w.jobId === jobId) w.wake();
    };
    queueEvents.on("completed", wake);
    queueEvents.on("failed", wake);
  }

  async handleBatch(batch: Batch, control: BatchControl): Promise<void> {
    const { topic, partition } = batch;
    const k = key(topic, partition);
    if (this.stopping) return;
    if (this.watches.has(k)) {
      // Fetched while a job of this partition is still open (e.g. right after a rebalance):
      // leave the messages unresolved; they are fetched again after the job completes.
      this.consumer.pause([{ topic, partitions: [partition] }]);
      return;
    }
    let messages: KafkaMessage[] = batch.messages;
    const covered = this.coveredThrough.get(k);
    if (covered !== undefined) {
      messages = messages.filter((m) => BigInt(m.offset) > covered);
      const last = batch.messages[batch.messages.length - 1];
      if (last !== undefined && BigInt(last.offset) <= covered) control.resolveOffset(last.offset);
      if (messages.length === 0) return;
      this.coveredThrough.delete(k);
    }

    let i = 0;
    while (i < messages.length) {
      if (this.stopping || !control.isRunning() || control.isStale()) return;
      const chunk = messages.slice(i, i + this.config.JOB_MAX_EVENTS);
      const builder = new ReadJobBuilder(topic, partition);
      const deadLetters = [];
      for (const m of chunk) {
        const offset = BigInt(m.offset);
        const parsed = parseReadEvent(m.value, this.config.MAX_MESSAGE_BYTES);
        if (parsed.ok) {
          builder.addEvent(offset, parsed.event.aid, Number(m.timestamp));
        } else {
          builder.cover(offset);
          deadLetters.push(
            toDeadLetter(
              { topic, partition, offset: m.offset, timestamp: m.timestamp },
              m.value,
              parsed.reason,
            ),
          );
        }
      }
      this.events?.consumed(builder.eventCount, deadLetters.length);
      if (deadLetters.length > 0) {
        // Before the range's offset can be committed, every dead letter in it is stored.
        await this.dead.addBulk(
          deadLetters.map((d) => ({
            name: deadLetterJobName(d),
            data: d,
            opts: { jobId: deadLetterId(d.topic, d.partition, d.offset) },
          })),
        );
        this.log.warn(
          { partition, count: deadLetters.length, first: deadLetters[0]?.reason },
          "dead letters",
        );
      }
      const chunkLast = builder.lastOffset as bigint;
      if (builder.eventCount === 0) {
        await this.commit(topic, partition, chunkLast + 1n);
        control.resolveOffset(chunkLast.toString());
        i += chunk.length;
        continue;
      }
      const { id, data } = await this.submit(builder.build());
      // The job found may be an earlier one for the same start, covering more or less.
      const jobLast = BigInt(data.lastOffset);
      const batchLast = BigInt(messages[messages.length - 1]?.offset ?? "0");
      control.resolveOffset((jobLast < batchLast ? jobLast : batchLast).toString());
      if (jobLast > batchLast) this.coveredThrough.set(k, jobLast);
      this.consumer.pause([{ topic, partitions: [partition] }]);
      this.watch(id, data);
      return;
    }
  }

  /** Adds the job, or finds the one already there with that id; returns the job's real data. */
  private async submit(data: ReadJobData): Promise<{ id: string; data: ReadJobData }> {
    const id = readJobId(data.topic, data.partition, data.firstOffset);
    for (;;) {
      await this.work.add(readJobName(data), data, { jobId: id });
      const job = await Job.fromId<ReadJobData, unknown, string>(this.work, id);
      if (job !== undefined) {
        if (job.data.lastOffset !== data.lastOffset) {
          this.log.info(
            { jobId: id, found: job.data.lastOffset, fetched: data.lastOffset },
            "range already has a job; following it",
          );
        }
        return { id, data: job.data };
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
    w.done = this.follow(w).then(
      () => undefined,
      (err: unknown) => {
        this.log.error({ err, jobId }, "watcher failed; partition resumes from its committed offset");
        this.release(w);
      },
    );
  }

  private async follow(w: Watch): Promise<void> {
    const { jobId } = w;
    const { topic, partition } = w.data;
    let lastHeldBackLog = 0;
    for (;;) {
      if (w.cancelled) return;
      const state = await this.work.getJobState(jobId);
      if (w.cancelled) return;
      if (state === "completed") break;
      if (state === "unknown") {
        // Redis lost the job (flushed, restored from an old snapshot): add it again.
        this.log.warn({ jobId }, "job vanished from Redis; adding it again");
        await this.work.add(readJobName(w.data), w.data, { jobId });
        continue;
      }
      if (state === "failed") {
        if (w.state !== "held-back") w.since = Date.now();
        w.state = "held-back";
        if (Date.now() - lastHeldBackLog >= HELD_BACK_LOG_EVERY_MS) {
          lastHeldBackLog = Date.now();
          this.log.error(
            { jobId, partition, since: new Date(w.since).toISOString() },
            "partition held back: its job failed all attempts; retry it (dashboard) and the partition resumes",
          );
        }
      } else if (w.state === "held-back") {
        w.state = "waiting";
        this.log.info({ jobId, partition }, "held-back job was retried");
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        w.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    w.state = "committing";
    const next = BigInt(w.data.lastOffset) + 1n;
    await this.commit(topic, partition, next);
    this.release(w);
  }

  private async commit(topic: string, partition: number, offset: bigint): Promise<void> {
    await this.consumer.commitOffsets([{ topic, partition, offset: offset.toString() }]);
    this.events?.committed(topic, partition, offset);
  }

  private release(w: Watch): void {
    const { topic, partition } = w.data;
    const k = key(topic, partition);
    if (this.watches.get(k) === w) this.watches.delete(k);
    if (!w.cancelled && !this.stopping) this.consumer.resume([{ topic, partitions: [partition] }]);
  }

  /**
   * After a rebalance: forget the partitions no longer ours (without committing: the new owner
   * finds the job by its id), and resume assigned partitions left paused without a job.
   */
  onAssignment(assigned: Record<string, number[]>): void {
    const mine = new Set(Object.entries(assigned).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    for (const [k, w] of this.watches) {
      if (!mine.has(k)) {
        w.cancelled = true;
        w.wake();
        this.watches.delete(k);
        this.log.info({ jobId: w.jobId }, "partition revoked while its job was open; not committing");
      }
    }
    for (const k of [...this.coveredThrough.keys()]) if (!mine.has(k)) this.coveredThrough.delete(k);
    const toResume = this.consumer
      .paused()
      .map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.filter((p) => !this.watches.has(key(topic, p))),
      }))
      .filter((tp) => tp.partitions.length > 0);
    if (toResume.length > 0) this.consumer.resume(toResume);
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

  status(): PartitionStatus[] {
    return [...this.watches.values()].map((w) => ({
      topic: w.data.topic,
      partition: w.data.partition,
      jobId: w.jobId,
      firstOffset: w.data.firstOffset,
      lastOffset: w.data.lastOffset,
      state: w.state,
      since: w.since,
    }));
  }
}
