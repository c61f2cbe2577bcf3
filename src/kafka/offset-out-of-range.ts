// kafkajs answers a fetch at a position outside the log (OFFSET_OUT_OF_RANGE) by committing its
// default offset for the group. That erases the group's position and the metadata naming the
// last applied message, which are what tells messages lost to retention, a truncated log (an
// unclean leader election) and a replaced log apart (see ingestor/plan-position.ts); read from
// the log's start afterwards, new messages at offsets the marks cover would be taken for
// replays. patchOutOfRangeHandler gives the partition to a handler instead (the forwarder that
// owns it pauses it and positions it again from the committed position), and leaves kafkajs's
// own answer to partitions no handler takes. Like idle-fetch-wait.ts, it replaces a method of
// kafkajs's ConsumerGroup class (see kafkajs-internals.ts), for every consumer of the process.
import { kafkajsInternal } from "./kafkajs-internals.js";

/**
 * Takes a partition whose fetch position is outside the log, for the group member that fetched
 * it; false: not this handler's.
 */
export type OutOfRangeHandler = (
  member: { groupId: string; memberId: string },
  topic: string,
  partition: number,
) => boolean;

interface ConsumerGroupClass {
  prototype: {
    groupId: string;
    memberId: string;
    preferredReadReplicasPerTopicPartition: Record<string, Record<number, number> | undefined>;
    recoverFromOffsetOutOfRange(e: { topic: string; partition: number }): Promise<void>;
  };
}

const handlers = new Set<OutOfRangeHandler>();
let installed = false;

/** Adds a handler; returns the function that withdraws it (when its forwarder stops). */
export function patchOutOfRangeHandler(handler: OutOfRangeHandler): () => void {
  handlers.add(handler);
  if (!installed) {
    installed = true;
    const ConsumerGroup = kafkajsInternal<ConsumerGroupClass>("consumer/consumerGroup.js");
    const recover = ConsumerGroup.prototype.recoverFromOffsetOutOfRange;
    ConsumerGroup.prototype.recoverFromOffsetOutOfRange = async function handOver(e) {
      // Fetching from a follower, kafkajs first retries with the leader: its own way.
      const fromFollower =
        typeof this.preferredReadReplicasPerTopicPartition[e.topic]?.[e.partition] === "number";
      const member = { groupId: this.groupId, memberId: this.memberId };
      if (!fromFollower) for (const h of handlers) if (h(member, e.topic, e.partition)) return;
      return recover.call(this, e);
    };
  }
  return () => handlers.delete(handler);
}
