// The work job: the valid read events of one contiguous offset range of one Kafka partition.
// Events are stored per article as offset deltas from the range's first offset, which keeps a
// job's data near 9 bytes per event and lets the worker skip exactly the events already applied.

import { UnrecoverableError } from "bullmq";
import { messageId } from "./message-id.js";

export interface ReadJobData {
  topic: string;
  /** KAFKA_TOPIC_INCARNATION of the ingestor that read it ("" or absent: the topic's first life). */
  incarnation?: string;
  partition: number;
  /** First and last Kafka offset the job covers (decimal int64), invalid messages included. */
  firstOffset: string;
  lastOffset: string;
  /** Number of valid events. */
  events: number;
  /** Article id (decimal int64) -> ascending offset deltas (offset - firstOffset) of its events. */
  articles: Record<string, number[]>;
  /**
   * Earliest Kafka message timestamp of the valid events (Unix ms), for end-to-end latency.
   * validateReadJobData also takes it as `firstTimestamp`, the name older ingestors write, so
   * their queued jobs still apply.
   */
  earliestEventTimestamp: number;
  /**
   * Latest Kafka timestamp among the range's messages, events and dead letters (Unix ms): the
   * partition ledger's.
   */
  maxTimestamp?: number;
  /**
   * Kafka timestamp of the message at firstOffset, valid or not. With the offset it names that
   * message, so the first range of a re-created topic does not find the old topic's job.
   */
  originTimestamp?: number;
  /** Kafka timestamp of the message at lastOffset, valid or not: names the range's last message. */
  lastTimestamp?: number;
  /**
   * Messages the partition held past this range when it was fetched (Kafka's high watermark
   * then): above 0, the partition's next job comes as soon as this one is committed, and a
   * worker's group waits for it (see workers/expected-jobs.ts). Not part of the job's identity.
   */
  backlog?: number;
  /**
   * How many partitions the topic had when this partition was positioned: a worker's first group
   * waits for a job of each (see workers/expected-jobs.ts). Not part of the job's identity.
   */
  partitions?: number;
  /**
   * Ascending offset deltas of the range's messages left to the dead-letter queue. The first job
   * applied for a range records them (dead-letter-offsets), and only those are ever counted as
   * dead letters: one message is counted once, as an event or as a dead letter, whatever
   * MAX_MESSAGE_BYTES the ingestors that read it had.
   */
  deadLetters?: number[];
}

/**
 * A job's id names the range's first message (see message-id.ts), so a redelivered range finds
 * the job already added, and a re-created topic's range does not.
 */
export function readJobId(
  d: Pick<ReadJobData, "topic" | "incarnation" | "partition" | "firstOffset" | "originTimestamp">,
): string {
  return messageId({
    topic: d.topic,
    incarnation: d.incarnation,
    partition: d.partition,
    offset: d.firstOffset,
    timestamp: d.originTimestamp,
  });
}

/** The part of a job that names its events: the range of offsets it covers. */
export type JobRange = Pick<ReadJobData, "firstOffset" | "lastOffset">;

export function sameRange(a: JobRange, b: JobRange): boolean {
  return a.firstOffset === b.firstOffset && a.lastOffset === b.lastOffset;
}

/**
 * A job's identity: its id (the range's first message) and its last offset. Two jobs of one
 * identity carry the same events of the same log. One id may come back with another last offset
 * (a range read again after Redis lost its job, with more or fewer messages fetched): that is
 * another job, with other events, and nothing of the first one's outcome is its own.
 */
export function readJobIdentity(
  d: Pick<
    ReadJobData,
    "topic" | "incarnation" | "partition" | "firstOffset" | "originTimestamp" | "lastOffset"
  >,
): string {
  return `${readJobId(d)}..${d.lastOffset}`;
}

/**
 * A completed job's data without its events (see applied-events.ts): range, timestamps and dead
 * letters stay, so the ingestor still commits the range, and a retry by hand applies nothing
 * (every event of an applied range is at or below its article's mark). The job's name and
 * return value still say how many events it held.
 */
export function withoutEvents(d: ReadJobData): ReadJobData {
  return { ...d, events: 0, articles: {} };
}

/** A job's name says what a person needs at a glance in the dashboard: partition and range. */
export function readJobName(
  d: Pick<ReadJobData, "partition" | "firstOffset" | "lastOffset" | "events">,
): string {
  return `p${d.partition} ${d.firstOffset}-${d.lastOffset} (${d.events} events)`;
}

/** Collects the valid events of one range, in offset order. */
export class ReadJobBuilder {
  private readonly articles = new Map<string, number[]>();
  private events = 0;
  private first: bigint | undefined;
  private last: bigint | undefined;
  private earliestEventTimestamp = Number.POSITIVE_INFINITY;
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  private originTimestamp: number | undefined;
  private lastTimestamp: number | undefined;
  private readonly deadLetters: number[] = [];

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly incarnation = "",
  ) {}

  /** Records that the range covers `offset` (valid or not), sent at `timestamp`. Offsets ascend. */
  private cover(offset: bigint, timestamp: number): void {
    if (this.last !== undefined && offset <= this.last) throw new Error(`offset ${offset} does not ascend`);
    if (this.first === undefined) {
      this.first = offset;
      this.originTimestamp = timestamp;
    }
    this.last = offset;
    this.lastTimestamp = timestamp;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  addEvent(offset: bigint, aid: bigint, timestamp: number): void {
    this.cover(offset, timestamp);
    const key = aid.toString();
    let deltas = this.articles.get(key);
    if (deltas === undefined) {
      deltas = [];
      this.articles.set(key, deltas);
    }
    deltas.push(Number(offset - (this.first as bigint)));
    this.events++;
    if (timestamp < this.earliestEventTimestamp) this.earliestEventTimestamp = timestamp;
  }

  /** The message at `offset` is not a valid event: the dead-letter queue has it. */
  addDeadLetter(offset: bigint, timestamp: number): void {
    this.cover(offset, timestamp);
    this.deadLetters.push(Number(offset - (this.first as bigint)));
  }

  get eventCount(): number {
    return this.events;
  }

  get lastOffset(): bigint | undefined {
    return this.last;
  }

  build(): ReadJobData {
    if (this.first === undefined || this.last === undefined) throw new Error("empty range");
    const now = Date.now();
    return {
      topic: this.topic,
      ...(this.incarnation ? { incarnation: this.incarnation } : {}),
      partition: this.partition,
      firstOffset: this.first.toString(),
      lastOffset: this.last.toString(),
      events: this.events,
      articles: Object.fromEntries(this.articles),
      earliestEventTimestamp: Number.isFinite(this.earliestEventTimestamp)
        ? this.earliestEventTimestamp
        : now,
      maxTimestamp: Number.isFinite(this.maxTimestamp) ? this.maxTimestamp : now,
      originTimestamp: this.originTimestamp ?? now,
      lastTimestamp: this.lastTimestamp ?? now,
      ...(this.deadLetters.length > 0 ? { deadLetters: [...this.deadLetters] } : {}),
    };
  }
}

const decimal = /^(0|[1-9]\d{0,18})$/;

/** Whether a value has the form of job data's offsets and article ids: a decimal int64 string. */
export function isDecimal(value: unknown): value is string {
  return typeof value === "string" && decimal.test(value);
}

/**
 * Checks job data taken from Redis (a person can add or edit jobs through the dashboard).
 * Data that can never be applied fails the job at once, without retries.
 */
export function validateReadJobData(data: unknown): ReadJobData {
  const fail = (why: string): never => {
    throw new UnrecoverableError(`malformed read job data: ${why}`);
  };
  if (typeof data !== "object" || data === null) return fail("not an object");
  // Older ingestors name the earliest event's time firstTimestamp.
  const { firstTimestamp: earlierName, ...d } = data as Record<string, unknown>;
  if (d.earliestEventTimestamp === undefined) d.earliestEventTimestamp = earlierName;
  if (typeof d.topic !== "string" || d.topic === "") fail("topic");
  if (
    d.incarnation !== undefined &&
    (typeof d.incarnation !== "string" || !/^[A-Za-z0-9_-]{0,32}(~\d{1,19})*$/.test(d.incarnation))
  )
    fail("incarnation");
  if (typeof d.partition !== "number" || !Number.isInteger(d.partition) || d.partition < 0) fail("partition");
  if (!isDecimal(d.firstOffset)) fail("firstOffset");
  if (!isDecimal(d.lastOffset)) fail("lastOffset");
  const span = BigInt(d.lastOffset as string) - BigInt(d.firstOffset as string);
  if (span < 0n) fail("lastOffset before firstOffset");
  if (typeof d.articles !== "object" || d.articles === null) return fail("articles");
  const ascendingWithin = (deltas: unknown, what: string) => {
    if (!Array.isArray(deltas) || deltas.length === 0) fail(what);
    let previous = -1;
    for (const delta of deltas as unknown[]) {
      if (typeof delta !== "number" || !Number.isInteger(delta) || delta <= previous || BigInt(delta) > span)
        fail(what);
      previous = delta as number;
    }
  };
  let events = 0;
  for (const [aid, deltas] of Object.entries(d.articles)) {
    if (!decimal.test(aid) || aid === "0") fail(`article id ${aid}`);
    ascendingWithin(deltas, `offsets of article ${aid}`);
    events += (deltas as number[]).length;
  }
  if (d.deadLetters !== undefined) ascendingWithin(d.deadLetters, "deadLetters");
  if (d.events !== events) fail(`events is ${String(d.events)} but articles hold ${events}`);
  if (typeof d.earliestEventTimestamp !== "number") fail("earliestEventTimestamp");
  // Hints for grouping (see backlog, partitions): one that is not a count is dropped, not failed.
  for (const [hint, least] of [
    ["backlog", 0],
    ["partitions", 1],
  ] as const) {
    const v = d[hint];
    if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v >= least)) delete d[hint];
  }
  for (const field of ["maxTimestamp", "originTimestamp", "lastTimestamp"] as const) {
    if (d[field] !== undefined && typeof d[field] !== "number") fail(field);
  }
  return d as unknown as ReadJobData;
}
