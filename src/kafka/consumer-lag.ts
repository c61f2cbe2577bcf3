// Consumer lag of a group on a topic, from the broker: what is left to count.
import type { Admin } from "kafkajs";

export interface PartitionLag {
  partition: number;
  lag: number;
  committed: string;
  end: string;
}

/** Messages between the group's committed offset and the end, per partition of the topic. */
export async function consumerLag(admin: Admin, topic: string, groupId: string): Promise<PartitionLag[]> {
  const [ends, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  return ends.map((e) => {
    const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? "-1";
    const from = c === "-1" ? BigInt(e.low) : BigInt(c);
    return { partition: e.partition, lag: Number(BigInt(e.high) - from), committed: c, end: e.high };
  });
}
