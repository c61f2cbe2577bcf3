// The exactly-once arithmetic, free of I/O. Each MongoDB document remembers, per Kafka
// topic-partition, the highest offset applied to it (its "mark"). A partition's jobs apply in
// order, so what a document has received from a partition is always a prefix of it: the events
// to add are exactly those above the mark, whatever was applied, retried or re-created before.
// The write that adds them also moves the marks, and applies only if the document's version is
// still the one the plan was made from (compare-and-set), so two workers can never both add.
import { parseMessageId, topicLife } from "../queue/message-id.js";
import type { ReadJobData } from "../queue/read-job.js";

/** Field-safe name of a topic-partition (of one topic life) inside a document's `offsets` map. */
export function partitionKey(topic: string, partition: number, incarnation?: string): string {
  // Field names may not contain '.' or start with '$'; topic names may contain '.'.
  const life = topicLife(topic, incarnation);
  return `${life.replace(/%/g, "%25").replace(/\./g, "%2E").replace(/^\$/, "%24")}:${partition}`;
}

/** article id -> partition key -> ascending offsets of the article's events in the group. */
export type GroupEvents = Map<string, Map<string, bigint[]>>;

/**
 * Gathers the events of a group of jobs per article and partition. One (partition, offset) is one
 * read however many jobs of the group carry it (a re-added job beside its original, a stalled
 * job picked up twice, a duplicated job): offsets are kept once each.
 */
export function aggregateGroup(jobs: readonly ReadJobData[]): GroupEvents {
  const sets = new Map<string, Map<string, Set<bigint>>>();
  for (const job of jobs) {
    const key = partitionKey(job.topic, job.partition, job.incarnation);
    const first = BigInt(job.firstOffset);
    for (const [aid, deltas] of Object.entries(job.articles)) {
      let perPartition = sets.get(aid);
      if (perPartition === undefined) {
        perPartition = new Map();
        sets.set(aid, perPartition);
      }
      let offsets = perPartition.get(key);
      if (offsets === undefined) {
        offsets = new Set();
        perPartition.set(key, offsets);
      }
      for (const d of deltas) offsets.add(first + BigInt(d));
    }
  }
  const out: GroupEvents = new Map();
  for (const [aid, perPartition] of sets) {
    const sorted = new Map<string, bigint[]>();
    for (const [key, offsets] of perPartition) {
      sorted.set(
        key,
        [...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    out.set(aid, sorted);
  }
  return out;
}

/** What a document holds of the pipeline's state: its version and per-partition marks. */
export interface StoredState {
  /** Bumped by every write of the pipeline; null when the document is absent or has none. */
  version: number | null;
  /** Partition key -> highest applied offset. */
  marks: ReadonlyMap<string, bigint>;
  /**
   * Messages counted as dead letters (valid after a retry), as messageOffsetKey: counted out of
   * offset order, so the marks do not cover them, and never counted again as events.
   */
  deadLetters?: ReadonlySet<string>;
}

/** One message of a partition, as a counted dead letter and an event are matched. */
function messageOffsetKey(partitionKeyOfMessage: string, offset: bigint | string): string {
  return `${partitionKeyOfMessage}@${offset}`;
}

/** The message a dead letter id names (see queue/message-id.ts) as messageOffsetKey. */
export function deadLetterOffsetKey(id: string): string | undefined {
  const m = parseMessageId(id);
  return m === undefined ? undefined : messageOffsetKey(partitionKey(m.life, m.partition), m.offset);
}

export interface ArticlePlan {
  aid: string;
  /** Events to add to read_cnt now (those above the marks). */
  delta: number;
  /** The version the write expects to find: it applies only if nobody wrote in between. */
  expectedVersion: number | null;
  /** Marks the write sets, per partition key; empty when delta is 0. */
  nextMarks: Map<string, bigint>;
}

/** Plans the update of each article given the state currently stored. */
export function planIncrements(events: GroupEvents, stored: ReadonlyMap<string, StoredState>): ArticlePlan[] {
  const plans: ArticlePlan[] = [];
  for (const [aid, perPartition] of events) {
    const state = stored.get(aid);
    const plan: ArticlePlan = {
      aid,
      delta: 0,
      expectedVersion: state?.version ?? null,
      nextMarks: new Map(),
    };
    const counted = state?.deadLetters;
    for (const [key, offsets] of perPartition) {
      const mark = state?.marks.get(key);
      // Above the mark, and not counted already as a dead letter.
      const fresh = offsets.filter(
        (o) =>
          (mark === undefined || o > mark) &&
          (counted === undefined || !counted.has(messageOffsetKey(key, o))),
      ).length;
      if (fresh > 0) {
        plan.delta += fresh;
        plan.nextMarks.set(key, offsets[offsets.length - 1] as bigint);
      }
    }
    plans.push(plan);
  }
  return plans;
}
