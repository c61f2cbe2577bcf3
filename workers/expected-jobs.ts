// Which jobs a read group due by time waits for: those of the partitions whose next job is about
// to come (`coming`). A partition's next job comes as soon as its current one is applied and
// committed when Kafka holds more of it, which a job says (ReadJobData.backlog > 0) and which is
// so, under load, of every partition whose job this worker has just applied.
//
// While a backlog drains, a group therefore waits, for at most a quarter of the last group's apply
// time, until every such partition whose job is not being applied has one in it: one group then
// holds a range of each partition, and the hot articles are written once per round instead of
// once per partition that happened to arrive first. Under live load the same wait keeps the
// partitions together: without it, jobs that arrive while a group is applied would form the next
// group alone, the partitions just applied would send theirs during that one, and the topic would
// split into halves whose groups alternate, each job waiting for the other half's group too.
//
// Before its first group a worker knows of no partition: a first group of a backlog (a job
// behind, or events older than BACKLOG_AGE_MS) waits, at most FIRST_HOLD_MS, until it holds a job
// of every partition of the topic (ReadJobData.partitions; without it, the whole FIRST_HOLD_MS).
//
// A partition awaited in vain (its next job went to another worker, or it has no new events, or
// it is held back) is not awaited again until a job of it says it is behind or is applied here.
//
// A group that holds a job of every partition of its topic is complete: a partition has one open
// job at a time, so no other job of that topic can join it, and it is applied at once instead of
// waiting out GROUP_MAX_WAIT_MS. Under live load every partition's next job arrives within a few
// milliseconds of the others (the ranges of one group are committed and read on together).
import { jobPartitionKey } from "../src/counting/plan-increments.js";
import { untruncatedIncarnation } from "../src/queue/message-id.js";
import type { ReadJobData } from "../src/queue/read-job.js";
import type { Expected } from "./group-buffer.js";

/** The share of the last group's apply time a group may wait for expected jobs. */
const HOLD_SHARE = 0.25;
/** How long a first group of a backlog waits for the other partitions' first ranges. */
const FIRST_HOLD_MS = 3_000;
/**
 * Events this old were not read live (a live job's events wait one cycle of its partition, well
 * under a second): they are a backlog (after an outage, a deploy, a worker's restart). Kafka's
 * timestamps are the producers' clocks: a producer more than this ahead of the worker's makes
 * its first group under live load wait too, once, at most FIRST_HOLD_MS.
 */
const BACKLOG_AGE_MS = 2_000;

export class ExpectedJobs implements Expected<ReadJobData> {
  /**
   * Partitions whose next job is about to come: their latest job said more of them waits in
   * Kafka, or was just applied here.
   */
  private readonly coming = new Set<string>();
  /** Partitions with a job in a group being applied (their next job comes after it), counted. */
  private readonly applying = new Map<string, number>();
  /** How long the last group that succeeded took to apply; undefined before the first. */
  private lastApplyMs: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** A job was handed to this worker. */
  seen(job: ReadJobData): void {
    if ((job.backlog ?? 0) > 0) this.coming.add(jobPartitionKey(job));
    else this.coming.delete(jobPartitionKey(job));
  }

  applyStarted(jobs: readonly ReadJobData[]): void {
    for (const k of jobs.map(jobPartitionKey)) this.applying.set(k, (this.applying.get(k) ?? 0) + 1);
  }

  /** A group was applied in `appliedMs`, or failed (undefined: its time says nothing of the next). */
  applyEnded(jobs: readonly ReadJobData[], appliedMs?: number): void {
    const keys = jobs.map(jobPartitionKey);
    for (const k of keys) {
      const n = (this.applying.get(k) ?? 1) - 1;
      if (n > 0) this.applying.set(k, n);
      else this.applying.delete(k);
    }
    if (appliedMs === undefined) return;
    this.lastApplyMs = appliedMs;
    for (const k of keys) if (!this.applying.has(k)) this.coming.add(k);
  }

  more(group: readonly ReadJobData[]): boolean {
    if (this.lastApplyMs !== undefined) return this.awaited(group).length > 0;
    const old = this.now() - BACKLOG_AGE_MS;
    const backlog = group.some(
      (j) => (j.backlog ?? 0) > 0 || (j.events > 0 && j.earliestEventTimestamp < old),
    );
    return backlog && !holdsEveryPartition(group);
  }

  complete(group: readonly ReadJobData[]): boolean {
    return holdsEveryPartition(group);
  }

  holdMs(): number {
    return this.lastApplyMs === undefined ? FIRST_HOLD_MS : Math.round(this.lastApplyMs * HOLD_SHARE);
  }

  /** The partitions waited for did not send a job in time (another worker took it, or it is held back). */
  missed(group: readonly ReadJobData[]): void {
    for (const k of this.awaited(group)) this.coming.delete(k);
  }

  private awaited(group: readonly ReadJobData[]): string[] {
    const inGroup = new Set(group.map(jobPartitionKey));
    return [...this.coming].filter((k) => !inGroup.has(k) && !this.applying.has(k));
  }
}

/**
 * Whether the group holds a job of every partition of each topic life it has jobs of, as many as
 * its jobs say the topic has (false when none says).
 */
function holdsEveryPartition(group: readonly ReadJobData[]): boolean {
  const lives = new Map<string, { partitions: number; seen: Set<number> }>();
  for (const job of group) {
    const life = `${job.topic}\u0000${untruncatedIncarnation(job.incarnation ?? "")}`;
    const entry = lives.get(life) ?? { partitions: 0, seen: new Set<number>() };
    entry.partitions = Math.max(entry.partitions, job.partitions ?? 0);
    entry.seen.add(job.partition);
    lives.set(life, entry);
  }
  return [...lives.values()].every((l) => l.partitions > 0 && l.seen.size >= l.partitions);
}
