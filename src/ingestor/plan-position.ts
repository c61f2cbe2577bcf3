// Where a partition newly assigned to this ingestor is read from, decided before anything of it
// is fetched, from the group's committed offset (with the last applied message in its metadata)
// and the log's current range. Pure: the forwarder pauses the partition, asks Kafka for both,
// applies the plan, and resumes it.
//
// Why before the first fetch: kafkajs answers a fetch position outside the log by committing
// its default offset (earliest or latest) for the group, which erases the position and the
// metadata this check needs; and a seek kafkajs kept from an earlier assignment of the partition
// would otherwise decide where the fetch starts. Seeking to a planned position inside the log
// avoids both.

import {
  incarnationOfLife,
  NEW_INCARNATION_STEPS,
  topicLife,
  truncatedIncarnation,
} from "../queue/message-id.js";

/** The last message applied from a partition, named by offset and timestamp (commit metadata). */
export interface LastApplied {
  life: string;
  offset: bigint;
  timestamp: string;
  /**
   * The latest Kafka timestamp among all messages applied from the partition in this life: the
   * partition ledger's max_ts, as the worker returned it with the job; absent when not known (a
   * position committed by an earlier release, or by another tool).
   */
  maxTimestamp?: string;
}

/**
 * Commit metadata: `<topic life>@<offset>@<timestamp>[+<maxTimestamp>]` (the life may itself hold '@';
 * it never holds '+').
 */
export function encodeLastApplied(a: LastApplied): string {
  return `${a.life}@${a.offset}@${a.timestamp}${a.maxTimestamp === undefined ? "" : `+${a.maxTimestamp}`}`;
}

export function decodeLastApplied(metadata: string | null | undefined): LastApplied | undefined {
  const m = /^(.+)@(\d{1,19})@(-?\d{1,19})(?:\+(-?\d{1,19}))?$/.exec(metadata ?? "");
  if (m === null) return undefined;
  return {
    life: m[1] as string,
    offset: BigInt(m[2] as string),
    timestamp: m[3] as string,
    ...(m[4] === undefined ? {} : { maxTimestamp: m[4] }),
  };
}

/** What Kafka says of a partition: the group's committed offset, and the log's range. */
export interface PartitionPosition {
  committed: { offset: string; metadata: string | null } | undefined;
  /** The first offset still in the log. */
  low: bigint;
  /** The offset the next message will get (the log's end). */
  high: bigint;
  /**
   * The first offset holding a message sent after every message applied (after the committed
   * metadata's `maxTimestamp`), or `high` when there is none; absent without it.
   */
  firstNewer?: bigint;
  /** How many partitions the topic has (Kafka's answer for the log's range names them all). */
  partitions?: number;
}

/**
 * Why messages of a partition are never read: removed by retention before this group read them,
 * or left behind by starting a partition with no position at its end (KAFKA_FROM_BEGINNING=false).
 */
export type SkipCause = "retention" | "start-at-end";

export interface Skipped {
  from: bigint;
  count: bigint;
  cause: SkipCause;
}

export interface PositionPlan {
  /** Hold the partition back (the log is not the one the position came from), or read it. */
  kind: "read" | "hold";
  /** Where to fetch from (read). */
  at: bigint;
  /**
   * The incarnation the partition is read under: the ingestor's, or a truncated partition's of
   * it (see truncatedIncarnation), from the position's metadata or found now.
   */
  incarnation: string;
  /** The last message applied: the first batch must start with it (same timestamp); skipped. */
  last?: LastApplied;
  /** Messages that will never be read: why, where and how many. */
  lost?: Skipped;
  /**
   * The log looks truncated: newer messages from `at` on, the last applied was `lastApplied`.
   * The first batch must confirm it: the message at `at` sent after `maxTimestamp`.
   */
  truncated?: { at: bigint; lastApplied: bigint; maxTimestamp: string };
  /** Why the partition is held back, or what the operator should know about the position. */
  reason?: string;
}

export const RECREATED_HINT = `Nothing of it was read. ${NEW_INCARNATION_STEPS}`;

/**
 * The plan for a partition. kafkajs is subscribed from the beginning, so that its own answer to
 * a position outside the log is the log's start (it commits -2, "earliest"); a new group's start
 * (KAFKA_FROM_BEGINNING) is applied here instead.
 */
export function planPosition(
  source: { topic: string; incarnation: string },
  fromBeginning: boolean,
  position: PartitionPosition,
): PositionPlan {
  const { committed, low, high, firstNewer } = position;
  const life = topicLife(source.topic, source.incarnation);
  const fresh = source.incarnation;
  if (committed === undefined) {
    // No position: a new group, a partition added to the topic, or the group's offsets expired.
    if (fromBeginning || high === low) return { kind: "read", at: low, incarnation: fresh };
    return {
      kind: "read",
      at: high,
      incarnation: fresh,
      lost: { from: low, count: high - low, cause: "start-at-end" },
    };
  }
  const offset = BigInt(committed.offset);
  if (offset < 0n) {
    return {
      kind: "read",
      at: low,
      incarnation: fresh,
      reason:
        "the group's position was reset by kafkajs (it was outside the log: removed by retention, or " +
        "the log was replaced); reading from the log's start, unchecked",
    };
  }
  const decoded = decodeLastApplied(committed.metadata);
  const incarnation =
    decoded === undefined ? fresh : incarnationOfLife(decoded.life, source.topic, source.incarnation);
  if (decoded !== undefined && incarnation === undefined) {
    // Committed under another life of the topic (this ingestor was given a new incarnation after
    // a re-creation): that position means nothing in this log, whose reads are all new.
    return {
      kind: "read",
      at: low,
      incarnation: fresh,
      reason: `the position was committed under another life of the topic (${decoded.life}); starting this life (${life}) at its beginning`,
    };
  }
  const current = incarnation ?? fresh;
  // The metadata names the message before the committed offset, unless someone else committed
  // (a tool, the Go consumer): then there is only the offset.
  const last = decoded !== undefined && offset === decoded.offset + 1n ? decoded : undefined;
  // A message newer than every message applied sits at or below the last applied offset: the log
  // is not the one read up to there. When older messages survive below it, the log was
  // truncated (an unclean leader election) and refilled: what survived was counted, and what
  // follows is new. The first batch confirms that the message there is newer (Kafka's answer
  // for "none" is the high watermark of another request, which a leader change may have lowered).
  if (
    last?.maxTimestamp !== undefined &&
    firstNewer !== undefined &&
    firstNewer <= last.offset &&
    firstNewer < high &&
    firstNewer > low
  ) {
    return {
      kind: "read",
      at: firstNewer,
      incarnation: truncatedIncarnation(current, firstNewer),
      truncated: { at: firstNewer, lastApplied: last.offset, maxTimestamp: last.maxTimestamp },
    };
  }
  if (offset > high) {
    const lastText = last === undefined ? "" : `, after the last message applied (${last.offset})`;
    return {
      kind: "hold",
      at: offset,
      incarnation: current,
      reason:
        `the log is not the one this partition was read from: it ends at offset ${high}, before the ` +
        `group's position ${offset}${lastText}` +
        (last?.maxTimestamp !== undefined
          ? ", and holds no message newer than those applied. Either its log was truncated (an " +
            "unclean leader election) and nothing new arrived yet: it is checked again every minute " +
            "and read on by itself once a newer message is there; or the topic was re-created or " +
            `replaced: ${RECREATED_HINT}`
          : ". The position names no latest applied time (committed by an earlier release or " +
            "another tool), so a truncated log cannot be told from a re-created one: if the topic " +
            `was re-created or replaced, ${RECREATED_HINT}`),
    };
  }
  if (offset < low) {
    // Retention removed messages this group never read (it was stopped or held back longer
    // than the topic keeps them). They are lost to it; say how many.
    return {
      kind: "read",
      at: low,
      incarnation: current,
      lost: { from: offset, count: low - offset, cause: "retention" },
    };
  }
  if (last !== undefined && last.offset < low) {
    // The last applied message itself is gone, nothing after it: nothing left to check.
    return { kind: "read", at: offset, incarnation: current };
  }
  if (last !== undefined) return { kind: "read", at: last.offset, incarnation: current, last };
  if (decoded !== undefined) {
    return {
      kind: "read",
      at: offset,
      incarnation: current,
      reason: `the committed position (${offset}) is not the one its metadata names (after ${decoded.offset}): moved by another tool? Reading from it unchecked`,
    };
  }
  return { kind: "read", at: offset, incarnation: current };
}
