// Which jobs a read group due by time waits for. A partition whose last job said Kafka held more
// of it (ReadJobData.backlog > 0) sends its next job as soon as that one is applied and
// committed. While a backlog drains, a group therefore waits, for at most a quarter of the last
// group's apply time, until every such partition whose job is not being applied has one in it:
// one group then holds a range of each partition, and the hot articles are written once per
// round instead of once per partition that happened to arrive first. Before its first group a
// worker knows of no partition: a first group of a backlog (a job behind, or events older than
// BACKLOG_AGE_MS) waits, at most FIRST_HOLD_MS, until it holds a job of every partition of the
// topic (ReadJobData.partitions; without it, the whole FIRST_HOLD_MS). Under live load jobs end
// at the log's end (backlog 0) with fresh events, and no group waits.
//
// With several workers, a partition's next job may go to another one: a group then waits its
// hold in vain, at most once per group, and the partition is not awaited again until a job of it
// comes here saying it is behind.
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
  /** Partitions whose latest job said more of them waits in Kafka. */
  private readonly behind = new Set<string>();
  /** Partitions with a job in a group being applied (their next job comes after it), counted. */
  private readonly applying = new Map<string, number>();
  /** How long the last group that succeeded took to apply; undefined before the first. */
  private lastApplyMs: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** A job was handed to this worker. */
  seen(job: ReadJobData): void {
    if ((job.backlog ?? 0) > 0) this.behind.add(jobPartitionKey(job));
    else this.behind.delete(jobPartitionKey(job));
  }

  applyStarted(jobs: readonly ReadJobData[]): void {
    for (const k of jobs.map(jobPartitionKey)) this.applying.set(k, (this.applying.get(k) ?? 0) + 1);
  }

  /** A group was applied in `appliedMs`, or failed (undefined: its time says nothing of the next). */
  applyEnded(jobs: readonly ReadJobData[], appliedMs?: number): void {
    for (const k of jobs.map(jobPartitionKey)) {
      const n = (this.applying.get(k) ?? 1) - 1;
      if (n > 0) this.applying.set(k, n);
      else this.applying.delete(k);
    }
    if (appliedMs !== undefined) this.lastApplyMs = appliedMs;
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
    for (const k of this.awaited(group)) this.behind.delete(k);
  }

  private awaited(group: readonly ReadJobData[]): string[] {
    const inGroup = new Set(group.map(jobPartitionKey));
    return [...this.behind].filter((k) => !inGroup.has(k) && !this.applying.has(k));
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
