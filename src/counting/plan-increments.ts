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

/** The partition key of the partition (of its topic life) a job's range was read from. */
export function jobPartitionKey(job: Pick<ReadJobData, "topic" | "partition" | "incarnation">): string {
  return partitionKey(job.topic, job.partition, job.incarnation);
}

/** article id -> partition key -> ascending offsets of the article's events in the group. */
export type GroupEvents = Map<string, Map<string, bigint[]>>;

/** One message of a partition, as `dead_letter_offsets` names it: `<partition key>@<offset>`. */
export function messageOffsetKey(partitionKeyOfMessage: string, offset: bigint | string): string {
  return `${partitionKeyOfMessage}@${offset}`;
}

/** The message a dead letter's id names (see queue/message-id.ts): its partition key and offset. */
export function deadLetterMessage(id: string): { key: string; offset: bigint } | undefined {
  const m = parseMessageId(id);
  return m === undefined ? undefined : { key: partitionKey(m.life, m.partition), offset: BigInt(m.offset) };
}

/**
 * Gathers the events of a group of jobs per article and partition. One (partition, offset) is one
 * read however many jobs of the group carry it (a re-added job beside its original, a stalled
 * job picked up twice, a duplicated job): offsets are kept once each. A message an earlier job
 * of its range left to the dead-letter queue (`deadLetters`, as messageOffsetKey) is not an
 * event, whatever this job's ingestor made of it.
 */
export function aggregateGroup(
  jobs: readonly ReadJobData[],
  deadLetters: ReadonlySet<string> = new Set(),
): GroupEvents {
  const sets = new Map<string, Map<string, Set<bigint>>>();
  for (const job of jobs) {
    const key = jobPartitionKey(job);
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
      for (const d of deltas) {
        const offset = first + BigInt(d);
        if (!deadLetters.has(messageOffsetKey(key, offset))) offsets.add(offset);
      }
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
}

export interface ArticlePlan {
  aid: string;
  /** Events to add to read_cnt now (those above the marks). */
  delta: number;
  /** The version the write expects to find: it applies only if nobody wrote in between. */
  expectedVersion: number | null;
  /**
   * No document was found (or none is known): the write creates it, and collides with one another
   * writer made meanwhile, as a write expecting a version does with a document that moved on.
   */
  creates: boolean;
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
      creates: state === undefined,
      nextMarks: new Map(),
    };
    for (const [key, offsets] of perPartition) {
      const mark = state?.marks.get(key);
      const fresh = offsets.filter((o) => mark === undefined || o > mark).length;
      if (fresh > 0) {
        plan.delta += fresh;
        plan.nextMarks.set(key, offsets[offsets.length - 1] as bigint);
      }
    }
    plans.push(plan);
  }
  return plans;
}
