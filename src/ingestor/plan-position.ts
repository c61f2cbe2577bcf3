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

/** The last message applied from a partition, named by offset and timestamp (commit metadata). */
export interface LastApplied {
  life: string;
  offset: bigint;
  timestamp: string;
}

/** Commit metadata: `<topic life>@<offset>@<timestamp>` (the life may itself hold one '@'). */
export function encodeLastApplied(a: LastApplied): string {
  return `${a.life}@${a.offset}@${a.timestamp}`;
}

export function decodeLastApplied(metadata: string | null | undefined): LastApplied | undefined {
  const m = /^(.+)@(\d{1,19})@(-?\d{1,19})$/.exec(metadata ?? "");
  if (m === null) return undefined;
  return { life: m[1] as string, offset: BigInt(m[2] as string), timestamp: m[3] as string };
}

/** What Kafka says of a partition: the group's committed offset, and the log's range. */
export interface PartitionPosition {
  committed: { offset: string; metadata: string | null } | undefined;
  /** The first offset still in the log. */
  low: bigint;
  /** The offset the next message will get (the log's end). */
  high: bigint;
}

export type PositionPlan =
  /** No position committed: kafkajs starts where a new group does (KAFKA_FROM_BEGINNING). */
  | { kind: "default" }
  /**
   * Fetch from `at`. With `last`, `at` is the last message applied: the first batch must start
   * with it (same timestamp), and it is skipped. `lost`: messages removed by retention between
   * the position and the log's start, never read by this group.
   */
  | { kind: "read"; at: bigint; last?: LastApplied; lost?: { from: bigint; count: bigint } }
  /** The log is not the one the position came from: nothing of it is read. */
  | { kind: "hold"; reason: string };

export const RECREATED_HINT =
  "Nothing of it was read. Give the topic a new KAFKA_TOPIC_INCARNATION on every ingestor and " +
  "worker and restart them; see docs/reliability.md";

export function planPosition(
  life: string,
  fromBeginning: boolean,
  position: PartitionPosition,
): PositionPlan {
  const { committed, low, high } = position;
  if (committed === undefined || BigInt(committed.offset) < 0n) return { kind: "default" };
  const offset = BigInt(committed.offset);
  const decoded = decodeLastApplied(committed.metadata);
  if (decoded !== undefined && decoded.life !== life) {
    // Committed under another life of the topic (this ingestor was given a new incarnation after
    // a re-creation): that position means nothing in this log. Start this life where a new group
    // starts.
    return { kind: "read", at: fromBeginning ? low : high };
  }
  // The metadata names the message before the committed offset, unless someone else committed
  // (a tool, the Go consumer): then there is only the offset.
  const last = decoded !== undefined && offset === decoded.offset + 1n ? decoded : undefined;
  if (offset > high) {
    const lastText = last === undefined ? "" : `, after the last message applied (${last.offset})`;
    return {
      kind: "hold",
      reason:
        `the log is not the one this partition was read from (topic re-created or replaced?): ` +
        `it ends at offset ${high}, before the group's position ${offset}${lastText}. ${RECREATED_HINT}`,
    };
  }
  if (offset < low) {
    // Retention removed messages this group never read (it was stopped or held back longer
    // than the topic keeps them). They are lost to it; say how many.
    return { kind: "read", at: low, lost: { from: offset, count: low - offset } };
  }
  if (last !== undefined && last.offset < low) {
    // The last applied message itself is gone, nothing after it: nothing left to check.
    return { kind: "read", at: offset };
  }
  return last === undefined ? { kind: "read", at: offset } : { kind: "read", at: last.offset, last };
}
