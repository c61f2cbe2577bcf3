// What the forwarder needs of kafkajs: the consumer's controls, one batch and its controls, and
// the Kafka answers that position a partition. Fakes implement these in the forwarder's tests.
import type { KafkaMessage } from "kafkajs";
import type { Logger } from "../logger.js";
import type { PartitionPosition } from "./plan-position.js";

/** What the forwarder needs of a kafkajs consumer. */
export interface ConsumerControl {
  pause(topics: { topic: string; partitions: number[] }[]): void;
  resume(topics: { topic: string; partitions: number[] }[]): void;
  paused(): { topic: string; partitions: number[] }[];
  seek(target: { topic: string; partition: number; offset: string }): void;
  commitOffsets(
    offsets: { topic: string; partition: number; offset: string; metadata: string | null }[],
  ): Promise<void>;
}

/** The group's committed offset of a partition, with its metadata, and the log's range. */
export type ReadPosition = (topic: string, partition: number) => Promise<PartitionPosition>;

/** What the forwarder needs of one kafkajs batch. */
export interface BatchInput {
  topic: string;
  partition: number;
  /** The offset after the partition's last message when the broker answered (decimal). */
  highWatermark?: string;
  messages: Pick<KafkaMessage, "offset" | "value" | "timestamp">[];
}

export interface BatchControl {
  resolveOffset(offset: string): void;
  isRunning(): boolean;
  isStale(): boolean;
}

/**
 * Runs a seek, pause or resume. They are in-memory in kafkajs; they throw only while it restarts
 * the consumer, which then starts over from the committed offsets anyway.
 */
export function bestEffort(log: Logger, f: () => void): void {
  try {
    f();
  } catch (err) {
    log.warn({ err }, "consumer not running; it resumes from the committed offsets");
  }
}
