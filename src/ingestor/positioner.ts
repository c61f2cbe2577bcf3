// Where each partition of an ingestor is read from, and whether its log is the one its position
// came from. A newly assigned partition is positioned before anything of it is fetched (from the
// group's committed offset and the log's range, see plan-position.ts); after each job, the next
// batch must start with the job's last message (same timestamp) before anything after it is read.
// A log that is not the one the position came from holds the partition back (log-replaced); one
// whose position cannot be read shows as held back too (positioning) until Kafka answers.
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { topicLife } from "../queue/message-id.js";
import {
  type BatchControl,
  type BatchInput,
  bestEffort,
  type ConsumerControl,
  partitionId,
  type ReadPosition,
} from "./consumer-control.js";
import type { PartitionStatus } from "./partition-status.js";
import {
  type LastApplied,
  type PartitionPosition,
  planPosition,
  RECREATED_HINT,
  type SkipCause,
  type Skipped,
} from "./plan-position.js";
import { Backoff, type ForwarderTiming } from "./timing.js";

/**
 * Where a partition's next batch must start: at `last` (the last message applied, to check it
 * is still there and skip it) when the position names it, else at `at`; for a log found
 * truncated, at `at` with a message sent after `newerThan`.
 */
interface ResumeCheck {
  at: bigint;
  last?: LastApplied;
  newerThan?: string;
}

/** What the positioner needs of the forwarder. */
export interface PositionerContext {
  readonly config: Pick<Config, "KAFKA_TOPIC_INCARNATION" | "KAFKA_FROM_BEGINNING">;
  readonly consumer: ConsumerControl;
  readonly readPosition: ReadPosition;
  readonly log: Logger;
  readonly timing: ForwarderTiming;
  /** Messages this group will never read, and why. */
  skipped(topic: string, partition: number, count: bigint, cause: SkipCause): void;
  /** The current assignment: work begun under an earlier one stops. */
  generation(): number;
  stopping(): boolean;
  /** The partition has an open job: it stays paused until the job's watch resumes it. */
  hasJob(id: string): boolean;
}

export class Positioner {
  /**
   * Per partition, since its assignment: where the next batch must start (checked, then the
   * message there skipped when it is the last one applied), or null once checked. No entry: the
   * partition is not positioned yet.
   */
  private readonly resumeAt = new Map<string, ResumeCheck | null>();
  /**
   * Partitions being positioned, with the assignment that started it, and the error of the last
   * attempt while Kafka's answers fail.
   */
  private readonly positioning = new Map<string, { generation: number; partition: number; error?: string }>();
  /** Partitions held back without a job: their log is not the one their position came from. */
  private readonly blocked = new Map<string, { partition: number; reason: string }>();
  /**
   * The incarnation each positioned partition is read in (see PositionPlan). Kept across
   * assignments for a partition that stays ours (its open job goes on in it); set by positioning.
   */
  private readonly incarnations = new Map<string, string>();
  /** The partitions of the current assignment. */
  private assigned = new Set<string>();

  constructor(private readonly ctx: PositionerContext) {}

  /** A new assignment: every partition is positioned anew, and one held back is checked again. */
  reset(assigned: ReadonlySet<string>): void {
    this.assigned = new Set(assigned);
    this.resumeAt.clear();
    this.blocked.clear();
    for (const k of this.incarnations.keys()) if (!this.assigned.has(k)) this.incarnations.delete(k);
  }

  /** The partitions of the current assignment, ascending. */
  assignedPartitions(): number[] {
    return [...this.assigned].map((k) => Number(k.slice(k.lastIndexOf("|") + 1))).sort((a, b) => a - b);
  }

  /** The incarnation a partition's ranges and ids are named under. */
  incarnationOf(topic: string, partition: number): string {
    return this.incarnations.get(partitionId(topic, partition)) ?? this.ctx.config.KAFKA_TOPIC_INCARNATION;
  }

  isPositioned(id: string): boolean {
    return this.resumeAt.has(id);
  }

  isBlocked(id: string): boolean {
    return this.blocked.has(id);
  }

  isPositioning(id: string): boolean {
    return this.positioning.has(id);
  }

  /**
   * Positions a newly assigned (and paused) partition before anything of it is fetched: reads
   * the group's committed offset and the log's range, seeks where planPosition says (or holds
   * the partition back), and resumes it. Kafka errors are retried with backoff; a newer
   * assignment ends it. One at a time per partition and assignment.
   */
  async position(generation: number, topic: string, partition: number): Promise<void> {
    const { ctx } = this;
    const k = partitionId(topic, partition);
    if (this.positioning.get(k)?.generation === generation) return;
    const entry: { generation: number; partition: number; error?: string } = { generation, partition };
    this.positioning.set(k, entry);
    try {
      const errors = new Backoff(ctx.timing);
      for (;;) {
        if (generation !== ctx.generation() || ctx.stopping()) return;
        let position: PartitionPosition;
        try {
          position = await ctx.readPosition(topic, partition);
        } catch (err) {
          entry.error = `cannot read the partition's position: ${err instanceof Error ? err.message : String(err)}`;
          errors.note(
            err,
            ctx.log,
            { partition, cause: "positioning" },
            "cannot read the partition's position; retrying",
          );
          await sleep(errors.next());
          continue;
        }
        if (generation !== ctx.generation() || ctx.stopping()) return;
        const plan = planPosition(
          { topic, incarnation: ctx.config.KAFKA_TOPIC_INCARNATION },
          ctx.config.KAFKA_FROM_BEGINNING,
          position,
        );
        this.incarnations.set(k, plan.incarnation);
        if (plan.kind === "hold") {
          this.block(topic, partition, plan.reason ?? "held back");
          return;
        }
        if (plan.reason !== undefined) {
          ctx.log.warn({ partition, committed: position.committed, at: plan.at.toString() }, plan.reason);
        }
        if (plan.lost !== undefined) this.reportSkipped(topic, partition, plan.lost);
        if (plan.truncated !== undefined) {
          ctx.log.error(
            {
              partition,
              newFrom: plan.truncated.at.toString(),
              lastApplied: plan.truncated.lastApplied.toString(),
              incarnation: plan.incarnation,
            },
            "the partition's log was truncated (an unclean leader election?) and holds newer messages " +
              "from offset newFrom on: what survived below it was counted; the messages from it on are " +
              "counted under the partition's new incarnation. Messages of the old log after the last " +
              "applied one, if any, were lost by Kafka",
          );
        }
        this.resumeAt.set(k, {
          at: plan.at,
          ...(plan.last === undefined ? {} : { last: plan.last }),
          ...(plan.truncated === undefined ? {} : { newerThan: plan.truncated.maxTimestamp }),
        });
        bestEffort(ctx.log, () => ctx.consumer.seek({ topic, partition, offset: plan.at.toString() }));
        if (!ctx.hasJob(k) && !this.blocked.has(k)) {
          bestEffort(ctx.log, () => ctx.consumer.resume([{ topic, partitions: [partition] }]));
        }
        return;
      }
    } finally {
      if (this.positioning.get(k) === entry) this.positioning.delete(k);
    }
  }

  /**
   * Kafka refused a fetch of ours as outside the log (see kafka/offset-out-of-range.ts): the
   * partition is paused and positioned again from the group's committed position. False for a
   * partition not assigned to this ingestor.
   */
  outOfRange(topic: string, partition: number): boolean {
    const { ctx } = this;
    const k = partitionId(topic, partition);
    if (!this.assigned.has(k)) return false;
    ctx.log.warn({ partition }, "fetch position outside the log; positioning the partition again");
    bestEffort(ctx.log, () => ctx.consumer.pause([{ topic, partitions: [partition] }]));
    this.resumeAt.delete(k);
    if (!ctx.hasJob(k)) void this.position(ctx.generation(), topic, partition);
    return true;
  }

  /**
   * The messages of a batch that are new, after checking that the log is the one the partition's
   * position came from (see LastApplied). Undefined: nothing to read now (only the last applied
   * message was there, or the partition is held back).
   */
  checkContinuity(
    topic: string,
    partition: number,
    messages: BatchInput["messages"],
    control: BatchControl,
  ): BatchInput["messages"] | undefined {
    const k = partitionId(topic, partition);
    const expected = this.resumeAt.get(k);
    if (expected === undefined || expected === null) return messages;
    this.resumeAt.set(k, null);
    const first = messages[0] as BatchInput["messages"][number];
    const firstOffset = BigInt(first.offset);
    if (expected.newerThan !== undefined) {
      // A log found truncated: read on only if the message there is newer than all applied.
      if (firstOffset === expected.at && BigInt(first.timestamp) > BigInt(expected.newerThan))
        return messages;
      this.block(
        topic,
        partition,
        `the log looked truncated at offset ${expected.at}, but the message read there (offset ` +
          `${firstOffset}, sent at ${first.timestamp}) is not newer than those applied (up to ` +
          `${expected.newerThan}): nothing read; checked again`,
      );
      return undefined;
    }
    if (firstOffset === expected.at) {
      if (expected.last === undefined) return messages;
      if (first.timestamp === expected.last.timestamp) {
        // The last message applied, still there: skip it.
        control.resolveOffset(first.offset);
        const rest = messages.slice(1);
        return rest.length > 0 ? rest : undefined;
      }
    }
    if (firstOffset <= expected.at && expected.last !== undefined) {
      // Another message at the last applied one's offset, or the fetch reset to an earlier start
      // (the log changed between planning the position and this fetch).
      const found =
        firstOffset === expected.at
          ? `the message there was sent at ${first.timestamp}, not ${expected.last.timestamp}`
          : `the log now starts at offset ${firstOffset}`;
      this.block(
        topic,
        partition,
        `the log is not the one this partition was read from (topic re-created or replaced?): ` +
          `the last message applied was offset ${expected.at}, sent at ${expected.last.timestamp}; ${found}. ` +
          RECREATED_HINT,
      );
      return undefined;
    }
    const next = expected.last === undefined ? expected.at : expected.at + 1n;
    if (firstOffset > next)
      this.reportSkipped(topic, partition, { from: next, count: firstOffset - next, cause: "retention" });
    return messages;
  }

  /**
   * A job's range was applied and committed: fetch on from its last message, whatever was
   * resolved before; the next batch must find it there (same timestamp) before anything after it
   * is read.
   */
  readOnAfter(topic: string, partition: number, last: bigint, lastTimestamp: string | undefined): void {
    const { ctx } = this;
    const k = partitionId(topic, partition);
    if (lastTimestamp === undefined) {
      this.resumeAt.set(k, null);
      bestEffort(ctx.log, () => ctx.consumer.seek({ topic, partition, offset: (last + 1n).toString() }));
    } else {
      const applied = {
        life: topicLife(topic, this.incarnationOf(topic, partition)),
        offset: last,
        timestamp: lastTimestamp,
      };
      this.resumeAt.set(k, { at: last, last: applied });
      bestEffort(ctx.log, () => ctx.consumer.seek({ topic, partition, offset: last.toString() }));
    }
  }

  /** The partitions held back for their log, or because their position cannot be read. */
  status(): PartitionStatus[] {
    const blocked: PartitionStatus[] = [...this.blocked.values()].map((b) => ({
      partition: b.partition,
      state: "held-back",
      cause: "log-replaced",
      reason: b.reason,
    }));
    // Only this assignment's: a revoked partition's positioning ends when its loop wakes.
    const unpositioned: PartitionStatus[] = [...this.positioning.values()].flatMap((p) =>
      p.generation !== this.ctx.generation() || p.error === undefined
        ? []
        : [{ partition: p.partition, state: "held-back", cause: "positioning", reason: p.error }],
    );
    return [...blocked, ...unpositioned];
  }

  /**
   * Holds a partition back because of its log. It is checked again (positioned anew) every
   * repeatLogMs, and at the next assignment: a log that turns out fine (a high watermark briefly
   * low after a leader change) is read on; one that is not is held back again, and logged again.
   */
  private block(topic: string, partition: number, reason: string): void {
    const { ctx } = this;
    const k = partitionId(topic, partition);
    const entry = { partition, reason };
    this.blocked.set(k, entry);
    bestEffort(ctx.log, () => ctx.consumer.pause([{ topic, partitions: [partition] }]));
    ctx.log.error({ partition, cause: "log-replaced", reason }, "partition held back");
    const generation = ctx.generation();
    setTimeout(() => {
      if (ctx.stopping() || generation !== ctx.generation() || this.blocked.get(k) !== entry) return;
      this.blocked.delete(k);
      this.resumeAt.delete(k);
      void this.position(generation, topic, partition);
    }, ctx.timing.repeatLogMs).unref();
  }

  /** Messages of the partition this group will never read (see SkipCause): counted and logged. */
  private reportSkipped(topic: string, partition: number, { from, count, cause }: Skipped): void {
    this.ctx.skipped(topic, partition, count, cause);
    const range = {
      partition,
      from: from.toString(),
      to: (from + count - 1n).toString(),
      lost: count.toString(),
    };
    if (cause === "retention") {
      this.ctx.log.error(
        range,
        "messages were removed from Kafka before they were read (retention shorter than a hold-back?); they are lost",
      );
    } else {
      this.ctx.log.warn(
        range,
        "no position for this partition (a new partition, or the group's offsets expired) and " +
          "KAFKA_FROM_BEGINNING=false: reading from the log's end; the messages before it are not counted",
      );
    }
  }
}
