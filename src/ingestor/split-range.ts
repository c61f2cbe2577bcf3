// A partition's range of messages, split into what becomes of it: one read job of its valid
// events, which also names the offsets left to the dead-letter queue, and a dead letter per
// invalid message. Pure: the forwarder decides what to store, commit and watch.
import type { KafkaMessage } from "kafkajs";
import { parseReadEvent } from "../events/parse-read-event.js";
import { type DeadLetterData, toDeadLetter } from "../queue/dead-letter.js";
import { ReadJobBuilder, type ReadJobData } from "../queue/read-job.js";

export interface RangeSource {
  topic: string;
  /** KAFKA_TOPIC_INCARNATION ("" for the first life). */
  incarnation: string;
  partition: number;
  maxMessageBytes: number;
  /** The offset after the partition's last message when it was fetched (decimal), if known. */
  highWatermark?: string | undefined;
  /** How many partitions the topic had when this one was positioned, if known. */
  partitions?: number | undefined;
}

export interface SplitRange {
  /** The range as one job: its valid events and the offsets of its dead letters. */
  job: ReadJobData;
  deadLetters: DeadLetterData[];
}

/** Splits a non-empty range of messages (ascending offsets) into its job and dead letters. */
export function splitRange(
  source: RangeSource,
  messages: readonly Pick<KafkaMessage, "offset" | "value" | "timestamp">[],
): SplitRange {
  const { topic, incarnation, partition } = source;
  if (messages.length === 0) throw new Error("splitRange needs at least one message");
  const builder = new ReadJobBuilder(topic, partition, incarnation);
  const deadLetters: DeadLetterData[] = [];
  for (const m of messages) {
    const offset = BigInt(m.offset);
    const timestamp = Number(m.timestamp);
    const parsed = parseReadEvent(m.value, source.maxMessageBytes);
    if (parsed.ok) {
      builder.addEvent(offset, parsed.event.aid, timestamp);
      continue;
    }
    builder.addDeadLetter(offset, timestamp);
    const where = { topic, ...(incarnation ? { incarnation } : {}), partition };
    deadLetters.push(
      toDeadLetter({ ...where, offset: m.offset, timestamp: m.timestamp }, m.value, parsed.reason),
    );
  }
  const job = builder.build();
  const partitions = source.partitions === undefined ? {} : { partitions: source.partitions };
  return {
    job: { ...job, ...backlogAfter(job.lastOffset, source.highWatermark), ...partitions },
    deadLetters,
  };
}

/** What the partition held past a range when it was fetched: ReadJobData.backlog. */
function backlogAfter(lastOffset: string, highWatermark: string | undefined): { backlog?: number } {
  if (highWatermark === undefined || !/^\d+$/.test(highWatermark)) return {};
  const left = BigInt(highWatermark) - 1n - BigInt(lastOffset);
  return { backlog: left > 0n ? Number(left) : 0 };
}
