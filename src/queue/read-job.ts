// The work job: the valid read events of one contiguous offset range of one Kafka partition.
// Events are stored per article as offset deltas from the range's first offset, which keeps a
// 5000-event job around 20-30 KB and lets the worker skip exactly the events already applied.
import { UnrecoverableError } from "bullmq";

export interface ReadJobData {
  topic: string;
  partition: number;
  /** First and last Kafka offset the job covers (decimal int64), invalid messages included. */
  firstOffset: string;
  lastOffset: string;
  /** Number of valid events. */
  events: number;
  /** Article id (decimal int64) -> ascending offset deltas (offset - firstOffset) of its events. */
  articles: Record<string, number[]>;
  /** Earliest Kafka message timestamp in the job (Unix ms), for end-to-end latency. */
  firstTimestamp: number;
}

/** Job ids derive from the range's start, so a redelivered range finds the job already added. */
export function readJobId(topic: string, partition: number, firstOffset: bigint | string): string {
  return `${topic}-p${partition}-o${firstOffset}`;
}

/** Collects the valid events of one range, in offset order. */
export class ReadJobBuilder {
  private readonly articles = new Map<string, number[]>();
  private events = 0;
  private first: bigint | undefined;
  private last: bigint | undefined;
  private firstTimestamp = Number.POSITIVE_INFINITY;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Records that the range covers `offset` (valid or not). Offsets must ascend. */
  cover(offset: bigint): void {
    if (this.last !== undefined && offset <= this.last) throw new Error(`offset ${offset} does not ascend`);
    this.first ??= offset;
    this.last = offset;
  }

  addEvent(offset: bigint, aid: bigint, timestamp: number): void {
    this.cover(offset);
    const key = aid.toString();
    let deltas = this.articles.get(key);
    if (deltas === undefined) {
      deltas = [];
      this.articles.set(key, deltas);
    }
    deltas.push(Number(offset - (this.first as bigint)));
    this.events++;
    if (timestamp < this.firstTimestamp) this.firstTimestamp = timestamp;
  }

  get eventCount(): number {
    return this.events;
  }

  get lastOffset(): bigint | undefined {
    return this.last;
  }

  build(): ReadJobData {
    if (this.first === undefined || this.last === undefined) throw new Error("empty range");
    return {
      topic: this.topic,
      partition: this.partition,
      firstOffset: this.first.toString(),
      lastOffset: this.last.toString(),
      events: this.events,
      articles: Object.fromEntries(this.articles),
      firstTimestamp: Number.isFinite(this.firstTimestamp) ? this.firstTimestamp : Date.now(),
    };
  }
}

const decimal = /^(0|[1-9]\d{0,18})$/;

/**
 * Checks job data taken from Redis (a person can add or edit jobs through the dashboard).
 * Data that can never be applied fails the job at once, without retries.
 */
export function validateReadJobData(data: unknown): ReadJobData {
  const fail = (why: string): never => {
    throw new UnrecoverableError(`malformed read job data: ${why}`);
  };
  if (typeof data !== "object" || data === null) return fail("not an object");
  const d = data as Record<string, unknown>;
  if (typeof d.topic !== "string" || d.topic === "") fail("topic");
  if (typeof d.partition !== "number" || !Number.isInteger(d.partition) || d.partition < 0) fail("partition");
  if (typeof d.firstOffset !== "string" || !decimal.test(d.firstOffset)) fail("firstOffset");
  if (typeof d.lastOffset !== "string" || !decimal.test(d.lastOffset)) fail("lastOffset");
  const span = BigInt(d.lastOffset as string) - BigInt(d.firstOffset as string);
  if (span < 0n) fail("lastOffset before firstOffset");
  if (typeof d.articles !== "object" || d.articles === null) return fail("articles");
  let events = 0;
  for (const [aid, deltas] of Object.entries(d.articles)) {
    if (!decimal.test(aid) || aid === "0") fail(`article id ${aid}`);
    if (!Array.isArray(deltas) || deltas.length === 0) fail(`offsets of article ${aid}`);
    let previous = -1;
    for (const delta of deltas as unknown[]) {
      if (
        typeof delta !== "number" ||
        !Number.isInteger(delta) ||
        delta <= previous ||
        BigInt(delta) > span
      ) {
        fail(`offsets of article ${aid}`);
      }
      previous = delta as number;
    }
    events += (deltas as number[]).length;
  }
  if (d.events !== events) fail(`events is ${String(d.events)} but articles hold ${events}`);
  if (typeof d.firstTimestamp !== "number") fail("firstTimestamp");
  return d as unknown as ReadJobData;
}
