// Reads what positions a partition (see plan-position.ts): the group's committed offset with its
// metadata, the log's range, and where the log first holds a message newer than every message
// applied (for a truncated log).
import type { Admin } from "kafkajs";
import type { ReadPosition } from "./consumer-control.js";
import { decodeLastApplied, type PartitionPosition } from "./plan-position.js";

/**
 * An assignment positions all its partitions at once: their asks share one pair of admin requests
 * per topic while it is in flight (an ask after it settled, a retry, asks anew). The ask for a
 * newer message is per partition (kafkajs takes one timestamp per call).
 */
export function positionReader(admin: Admin, groupId: string): ReadPosition {
  const asking = new Map<string, ReturnType<typeof askTopic>>();
  const askTopic = (topic: string) =>
    Promise.all([admin.fetchOffsets({ groupId, topics: [topic] }), admin.fetchTopicOffsets(topic)]);
  return async (topic: string, partition: number): Promise<PartitionPosition> => {
    let answer = asking.get(topic);
    if (answer === undefined) {
      answer = askTopic(topic).finally(() => asking.delete(topic));
      asking.set(topic, answer);
    }
    const [[offsets], range] = await answer;
    const c = offsets?.partitions.find((o) => o.partition === partition);
    const r = range.find((o) => o.partition === partition);
    if (r === undefined)
      throw new Error(`partition ${partition} of ${topic} has no offsets (metadata not yet known?)`);
    // -1: nothing committed. Another negative offset is kafkajs's reset (see planPosition).
    const committed =
      c === undefined || c.offset === "-1" ? undefined : { offset: c.offset, metadata: c.metadata };
    const maxTimestamp = decodeLastApplied(committed?.metadata)?.maxTimestamp;
    // Where the log holds a message newer than every message applied (the log's end when none).
    const firstNewer =
      maxTimestamp === undefined
        ? undefined
        : (await admin.fetchTopicOffsetsByTimestamp(topic, Number(maxTimestamp) + 1)).find(
            (o) => o.partition === partition,
          )?.offset;
    return {
      committed,
      low: BigInt(r.low),
      high: BigInt(r.high),
      partitions: range.length,
      ...(firstNewer === undefined ? {} : { firstNewer: BigInt(firstNewer) }),
    };
  };
}
