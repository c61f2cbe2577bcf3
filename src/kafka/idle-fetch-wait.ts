// A kafkajs consumer fetches with one fixed wait (maxWaitTimeInMs): the broker holds each fetch
// until a message arrives or the wait ends. The ingestor needs that wait short, because a
// partition resumed after its job completed is not part of the fetch already in flight and waits
// for it to end. But an idle consumer with a short wait asks the broker again and again for
// nothing (40 times a second at the ingestor's 25 ms), a large part of an idle ingestor's CPU.
//
// useIdleFetchWait(ms) lets a consumer wait longer while nothing can be waiting for its fetch:
// when none of its assigned partitions is paused, every partition is in the fetch, and the broker
// answers as soon as any of them has a message (minBytes 1, kafkajs's default), so the longer wait
// delays no message. As soon as a partition is paused (its job open, being positioned, held
// back), the next fetch uses the consumer's own maxWaitTimeInMs again, and a resume is picked up
// as quickly as before. The decision is taken when a fetch starts; a partition paused and resumed
// again during one idle fetch (which nothing in the ingestor does) would wait up to `ms` once.
//
// It wraps ConsumerGroup.prototype.fetch (see kafkajs-internals.ts), so it applies to every consumer of the process: call it only in a process whose
// consumers all want it (the ingestor). A consumer with minBytes above 1 is left alone.
import { kafkajsInternal } from "./kafkajs-internals.js";

/** The fields of kafkajs's ConsumerGroup that the wrapper reads and writes. */
export interface ConsumerGroupState {
  maxWaitTime: number;
  minBytes: number;
  subscriptionState: { paused(): { topic: string; partitions: number[] }[] };
  fetch(nodeId: number): Promise<unknown[]>;
}

interface ConsumerGroupClass {
  prototype: ConsumerGroupState;
}

/** Each consumer group's own maxWaitTimeInMs, kept before the wrapper first changes it. */
const configuredWait = new WeakMap<ConsumerGroupState, number>();
let idleWaitMs: number | undefined;

/** The wait a fetch of `group` should use now (see the header). */
export function fetchWait(group: ConsumerGroupState, configured: number, idleMs: number): number {
  if (group.minBytes > 1 || group.subscriptionState.paused().length > 0) return configured;
  return Math.max(configured, idleMs);
}

/** From now on, every kafkajs consumer of the process waits up to `ms` while none of its partitions is paused. */
export function useIdleFetchWait(ms: number): void {
  const first = idleWaitMs === undefined;
  idleWaitMs = ms;
  if (!first) return;
  const ConsumerGroup = kafkajsInternal<ConsumerGroupClass>("consumer/consumerGroup.js");
  const fetch = ConsumerGroup.prototype.fetch;
  ConsumerGroup.prototype.fetch = function fetchWithIdleWait(this: ConsumerGroupState, nodeId: number) {
    let configured = configuredWait.get(this);
    if (configured === undefined) {
      configured = this.maxWaitTime;
      configuredWait.set(this, configured);
    }
    this.maxWaitTime = fetchWait(this, configured, idleWaitMs ?? configured);
    return fetch.call(this, nodeId);
  };
}
