// Every partition an ingestor reads and what it is doing: one entry per partition, in one map,
// whose phase says what happens to the partition's next batch. Entries are the partitions of the
// current assignment (and one kafkajs handed over a batch of before the assignment named it).
//
//   unpositioned --position--> positioning --> reading --batch--> job-open --committed--> reading
//                                   |             |                              (or held back in
//                                   v             v                                  its watch)
//                               log-replaced <----+ (the log is not the one the position came from)
//
// A new assignment puts every partition without an open job back to unpositioned; a partition
// that is no longer ours leaves the map (its open job's watch is cancelled, never committed).
import type { JobWatch } from "./job-watch.js";
import type { PartitionStatus } from "./partition-status.js";
import type { LastApplied } from "./plan-position.js";

/**
 * Where a reading partition's next batch must start: at `last` (the last message applied, to
 * check it is still there and skip it) when the position names it, else at `at`; for a log found
 * truncated, at `at` with a message sent after `newerThan`.
 */
interface ResumeCheck {
  at: bigint;
  last?: LastApplied;
  newerThan?: string;
}

/**
 * - unpositioned: its position not read yet; paused.
 * - positioning: its position is being read; `error` while Kafka's answers fail (shown as held
 *   back, cause positioning).
 * - reading: fetched; `check` until its first batch has been checked against it.
 * - job-open: a job of its range is open; paused until the watch has committed it.
 * - log-replaced: held back, its log not the one its position came from; paused, checked again.
 */
export type Phase =
  | { kind: "unpositioned" }
  | { kind: "positioning"; error?: string }
  | { kind: "reading"; check?: ResumeCheck }
  | { kind: "job-open"; watch: JobWatch }
  | { kind: "log-replaced"; reason: string };

export interface PartitionEntry {
  readonly topic: string;
  readonly partition: number;
  /**
   * The incarnation its ranges and ids are named under, set by positioning (see PositionPlan),
   * kept while the partition stays ours: an open job goes on in it across assignments.
   */
  incarnation?: string;
  /** How many partitions the topic had when this one was last positioned (ReadJobData.partitions). */
  topicPartitions?: number;
  phase: Phase;
}

export class Partitions {
  private readonly entries = new Map<string, PartitionEntry>();

  get(topic: string, partition: number): PartitionEntry | undefined {
    return this.entries.get(key(topic, partition));
  }

  /**
   * A new assignment: partitions no longer ours leave (returned, to cancel their open jobs'
   * watches); every other partition without an open job is unpositioned again.
   */
  assign(assigned: Readonly<Record<string, readonly number[]>>): PartitionEntry[] {
    const mine = new Set(Object.entries(assigned).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    const revoked: PartitionEntry[] = [];
    for (const [k, entry] of this.entries) {
      if (!mine.has(k)) {
        this.entries.delete(k);
        revoked.push(entry);
      } else if (entry.phase.kind !== "job-open") entry.phase = { kind: "unpositioned" };
    }
    for (const [topic, partitions] of Object.entries(assigned))
      for (const p of partitions) if (!this.entries.has(key(topic, p))) this.add(topic, p);
    return revoked;
  }

  /** A partition not positioned yet, seen before an assignment named it, or newly assigned. */
  add(topic: string, partition: number): PartitionEntry {
    const entry: PartitionEntry = { topic, partition, phase: { kind: "unpositioned" } };
    this.entries.set(key(topic, partition), entry);
    return entry;
  }

  all(): PartitionEntry[] {
    return [...this.entries.values()];
  }

  /** The watches of the partitions with an open job. */
  watches(): JobWatch[] {
    return this.all().flatMap((e) => (e.phase.kind === "job-open" ? [e.phase.watch] : []));
  }

  /** Partitions with an open job, or held back (with the cause), or whose position fails. */
  status(): PartitionStatus[] {
    return this.all().flatMap((e): PartitionStatus[] => {
      const { phase, partition } = e;
      switch (phase.kind) {
        case "job-open":
          return [phase.watch.status()];
        case "log-replaced":
          return [{ partition, state: "held-back", cause: "log-replaced", reason: phase.reason }];
        case "positioning":
          return phase.error === undefined
            ? []
            : [{ partition, state: "held-back", cause: "positioning", reason: phase.error }];
        default:
          return [];
      }
    });
  }
}

const key = (topic: string, partition: number) => `${topic}|${partition}`;
