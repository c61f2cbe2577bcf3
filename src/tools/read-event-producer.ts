// Publishes ReadEvents in the Go producer's wire format: JSON `{"Aid":..,"Uid":..}`, no key.
// Ids are written from bigints, so values above 2^53 stay exact.
import type { Producer } from "kafkajs";

export function encodeReadEvent(aid: bigint, uid: bigint): string {
  return `{"Aid":${aid},"Uid":${uid}}`;
}

export interface ProduceOptions {
  topic: string;
  count: number;
  /** Article id for the i-th event. */
  aidOf: (i: number) => bigint;
  uidOf?: (i: number) => bigint;
  batchSize?: number;
  onProgress?: (sent: number) => void;
}

/** Sends `count` events in batches; returns how many were sent. */
export async function produceReadEvents(producer: Producer, o: ProduceOptions): Promise<number> {
  const batchSize = o.batchSize ?? 1000;
  let sent = 0;
  while (sent < o.count) {
    const n = Math.min(batchSize, o.count - sent);
    const messages = Array.from({ length: n }, (_, j) => {
      const i = sent + j;
      return { value: encodeReadEvent(o.aidOf(i), o.uidOf?.(i) ?? BigInt(i + 1)) };
    });
    await producer.send({ topic: o.topic, messages, acks: -1 });
    sent += n;
    o.onProgress?.(sent);
  }
  return sent;
}
