// Where each partition of an ingestor is read from, and whether its log is the one its position
// came from. A newly assigned partition is positioned before anything of it is fetched (from the
// group's committed offset and the log's range, see plan-position.ts); after each job, the next
// batch must start with the job's last message (same timestamp) before anything after it is read.
// A log that is not the one the position came from holds the partition back (log-replaced); one
// whose position cannot be read shows as held back too (positioning) until Kafka answers.
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { topicLife } from "../queue/message-id.js";
import {
  type BatchControl,
  type BatchInput,
  bestEffort,
  type ConsumerControl,
  type ReadPosition,
} from "./consumer-control.js";
import type { PartitionEntry, Phase } from "./partitions.js";
import {
  type PartitionPosition,
  planPosition,
  RECREATED_HINT,
  type SkipCause,
  type Skipped,
} from "./plan-position.js";
import { Backoff, type ForwarderTiming, wait } from "./timing.js";

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
}

export class Positioner {
  constructor(private readonly ctx: PositionerContext) {}

  /** The incarnation a partition's ranges and ids are named under. */
  incarnationOf(entry: PartitionEntry): string {
    return entry.incarnation ?? this.ctx.config.KAFKA_TOPIC_INCARNATION;
  }

  /**
   * Positions a newly assigned (and paused) partition before anything of it is fetched: reads
   * the group's committed offset and the log's range, seeks where planPosition says (or holds
   * the partition back), and resumes it. Kafka errors are retried with backoff; a newer
   * assignment ends it. Only an unpositioned partition is positioned: one positioning at a time.
   */
  async position(generation: number, entry: PartitionEntry): Promise<void> {
    const { ctx } = this;
    const { topic, partition } = entry;
    if (entry.phase.kind !== "unpositioned") return;
    const phase: Phase & { kind: "positioning" } = { kind: "positioning" };
    entry.phase = phase;
    try {
      const errors = new Backoff(ctx.timing);
      for (;;) {
        if (generation !== ctx.generation() || ctx.stopping()) return;
        let position: PartitionPosition;
        try {
          position = await ctx.readPosition(topic, partition);
        } catch (err) {
          phase.error = `cannot read the partition's position: ${err instanceof Error ? err.message : String(err)}`;
          errors.note(
            err,
            ctx.log,
            { partition, cause: "positioning" },
            "cannot read the partition's position; retrying",
          );
          await wait(errors.next());
          continue;
        }
        if (generation !== ctx.generation() || ctx.stopping() || entry.phase !== phase) return;
        const plan = planPosition(
          { topic, incarnation: ctx.config.KAFKA_TOPIC_INCARNATION },
          ctx.config.KAFKA_FROM_BEGINNING,
          position,
        );
        entry.incarnation = plan.incarnation;
        if (position.partitions !== undefined) entry.topicPartitions = position.partitions;
        if (plan.kind === "hold") {
          this.block(entry, plan.reason ?? "held back");
          return;
        }
        if (plan.reason !== undefined) {
          ctx.log.warn({ partition, committed: position.committed, at: plan.at.toString() }, plan.reason);
        }
        if (plan.lost !== undefined) this.reportSkipped(entry, plan.lost);
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
        entry.phase = {
          kind: "reading",
          check: {
            at: plan.at,
            ...(plan.last === undefined ? {} : { last: plan.last }),
            ...(plan.truncated === undefined ? {} : { newerThan: plan.truncated.maxTimestamp }),
          },
        };
        bestEffort(ctx.log, () => ctx.consumer.seek({ topic, partition, offset: plan.at.toString() }));
        bestEffort(ctx.log, () => ctx.consumer.resume([{ topic, partitions: [partition] }]));
        return;
      }
    } finally {
      // Ended without a position (a newer assignment, the ingestor stopping).
      if (entry.phase === phase) entry.phase = { kind: "unpositioned" };
    }
  }

  /**
   * Kafka refused a fetch of ours as outside the log (see kafka/offset-out-of-range.ts): the
   * partition is paused and, when it was being read, positioned again from the group's committed
   * position (an open job's commit, or a held partition's next check, positions it anyway).
   */
  outOfRange(entry: PartitionEntry): void {
    const { ctx } = this;
    const { topic, partition, phase } = entry;
    bestEffort(ctx.log, () => ctx.consumer.pause([{ topic, partitions: [partition] }]));
    if (phase.kind !== "reading" && phase.kind !== "unpositioned") {
      // Its open job's commit, its hold's next check or its positioning under way positions it.
      ctx.log.warn({ partition, phase: phase.kind }, "fetch position outside the log; the partition waits");
      return;
    }
    ctx.log.warn({ partition }, "fetch position outside the log; positioning the partition again");
    entry.phase = { kind: "unpositioned" };
    void this.position(ctx.generation(), entry);
  }

  /**
   * The messages of a batch that are new, after checking that the log is the one the partition's
   * position came from (see LastApplied). Undefined: nothing to read now (only the last applied
   * message was there, or the partition is held back).
   */
  checkContinuity(
    entry: PartitionEntry,
    messages: BatchInput["messages"],
    control: BatchControl,
  ): BatchInput["messages"] | undefined {
    const expected = entry.phase.kind === "reading" ? entry.phase.check : undefined;
    if (expected === undefined) return messages;
    entry.phase = { kind: "reading" };
    const first = messages[0] as BatchInput["messages"][number];
    const firstOffset = BigInt(first.offset);
    if (expected.newerThan !== undefined) {
      // A log found truncated: read on only if the message there is newer than all applied.
      if (firstOffset === expected.at && BigInt(first.timestamp) > BigInt(expected.newerThan))
        return messages;
      this.block(
        entry,
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
        entry,
        `the log is not the one this partition was read from (topic re-created or replaced?): ` +
          `the last message applied was offset ${expected.at}, sent at ${expected.last.timestamp}; ${found}. ` +
          RECREATED_HINT,
      );
      return undefined;
    }
    const next = expected.last === undefined ? expected.at : expected.at + 1n;
    if (firstOffset > next)
      this.reportSkipped(entry, { from: next, count: firstOffset - next, cause: "retention" });
    return messages;
  }

  /**
   * A job's range was applied and committed: fetch on from its last message, whatever was
   * resolved before; the next batch must find it there (same timestamp) before anything after it
   * is read.
   */
  readOnAfter(entry: PartitionEntry, last: bigint, lastTimestamp: string | undefined): void {
    const { ctx } = this;
    const { topic, partition } = entry;
    if (lastTimestamp === undefined) {
      entry.phase = { kind: "reading" };
      bestEffort(ctx.log, () => ctx.consumer.seek({ topic, partition, offset: (last + 1n).toString() }));
    } else {
      const applied = {
        life: topicLife(topic, this.incarnationOf(entry)),
        offset: last,
        timestamp: lastTimestamp,
      };
      entry.phase = { kind: "reading", check: { at: last, last: applied } };
      bestEffort(ctx.log, () => ctx.consumer.seek({ topic, partition, offset: last.toString() }));
    }
  }

  /**
   * Holds a partition back because of its log. It is checked again (positioned anew) every
   * repeatLogMs, and at the next assignment: a log that turns out fine (a high watermark briefly
   * low after a leader change) is read on; one that is not is held back again, and logged again.
   */
  private block(entry: PartitionEntry, reason: string): void {
    const { ctx } = this;
    const { topic, partition } = entry;
    const held: Phase = { kind: "log-replaced", reason };
    entry.phase = held;
    bestEffort(ctx.log, () => ctx.consumer.pause([{ topic, partitions: [partition] }]));
    ctx.log.error({ partition, cause: "log-replaced", reason }, "partition held back");
    const generation = ctx.generation();
    setTimeout(() => {
      if (ctx.stopping() || generation !== ctx.generation() || entry.phase !== held) return;
      entry.phase = { kind: "unpositioned" };
      void this.position(generation, entry);
    }, ctx.timing.repeatLogMs).unref();
  }

  /** Messages of the partition this group will never read (see SkipCause): counted and logged. */
  private reportSkipped({ topic, partition }: PartitionEntry, { from, count, cause }: Skipped): void {
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
