// A dead letter: one Kafka message that is not a valid ReadEvent, kept as a failed job in the
// dead-letter queue with everything a person needs to act on it.
import { messageId } from "./message-id.js";

export interface DeadLetterData {
  topic: string;
  /** KAFKA_TOPIC_INCARNATION of the ingestor that read it ("" or absent: the first life). */
  incarnation?: string;
  partition: number;
  offset: string;
  /** Kafka message timestamp, Unix ms as a decimal string. */
  timestamp: string;
  /** The raw value: text when it is valid UTF-8, else base64; null for a tombstone. */
  value: string | null;
  encoding: "utf8" | "base64";
  /** Size of the original value in bytes. */
  size: number;
  /** True when the value was longer than DEAD_LETTER_MAX_BYTES and only its start is kept. */
  truncated: boolean;
  reason: string;
  /**
   * True: its range's job names this offset among its dead letters, and what the job applied for
   * the range decides whether it is counted (workers/dead-letter-worker.ts). Absent in dead letters
   * stored before jobs named them: counted once valid, as then.
   */
  inJob?: true;
}

const DEAD_LETTER_MAX_BYTES = 1024 * 1024;

/** A dead letter's id names its message (see message-id.ts). */
export function deadLetterId(
  d: Pick<DeadLetterData, "topic" | "incarnation" | "partition" | "offset" | "timestamp">,
): string {
  return messageId(d);
}

/** Partition, offset and the start of the reason, for the dashboard's job list. */
export function deadLetterJobName(d: Pick<DeadLetterData, "partition" | "offset" | "reason">): string {
  const reason = d.reason.length > 60 ? `${d.reason.slice(0, 57)}...` : d.reason;
  return `p${d.partition} ${d.offset}: ${reason}`;
}

export function toDeadLetter(
  source: { topic: string; incarnation?: string; partition: number; offset: string; timestamp: string },
  value: Buffer | null,
  reason: string,
): DeadLetterData {
  if (value === null)
    return { ...source, value: null, encoding: "utf8", size: 0, truncated: false, reason, inJob: true };
  const kept = value.length > DEAD_LETTER_MAX_BYTES ? value.subarray(0, DEAD_LETTER_MAX_BYTES) : value;
  let text: string | undefined;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(kept);
  } catch {
    text = undefined;
  }
  return {
    ...source,
    value: text ?? kept.toString("base64"),
    encoding: text === undefined ? "base64" : "utf8",
    size: value.length,
    truncated: kept.length < value.length,
    reason,
    inJob: true,
  };
}

/** The original bytes of a dead letter (null for a tombstone). */
export function deadLetterValue(d: DeadLetterData): Buffer | null {
  if (d.value === null) return null;
  return Buffer.from(d.value, d.encoding === "base64" ? "base64" : "utf8");
}
