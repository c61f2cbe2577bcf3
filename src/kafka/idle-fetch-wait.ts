// A kafkajs consumer fetches with one fixed wait (maxWaitTimeInMs): the broker holds each fetch
// until a message arrives or the wait ends, and with every partition paused kafkajs sleeps that
// long instead. The ingestor needs that wait short, because a partition resumed after its job
// completed is not part of the fetch already in flight and waits for it to end. But an idle
// consumer with a short wait asks the broker again and again for nothing (40 times a second at
// the ingestor's 25 ms), a large part of an idle ingestor's CPU.
//
// patchIdleFetchWait(ms, resumeExpected) lets a consumer wait longer while no partition is about to
// be resumed: when none of its paused partitions is one that resumeExpected names (an open job,
// a partition being positioned), every partition that can take messages soon is in the fetch, and
// the broker answers as soon as any of them has one (minBytes 1, kafkajs's default), so the longer
// wait delays no message. Partitions held back (waiting for a person, or re-checked once a
// minute) do not count: a resume of theirs may wait up to `ms` once. As soon as a partition is
// expected back, the consumer's own maxWaitTimeInMs applies again.
//
// With every partition paused, kafkajs sends no fetch and sleeps that wait instead, and a
// partition resumed meanwhile waits for the sleep to end: under load, when every partition's job
// is in the group being applied, that is each range's usual path (half of 25 ms on average, each
// cycle of every partition). While a paused partition is expected back and none is fetching, the
// sleep is RESUME_POLL_MS: a loop of kafkajs's that sends nothing, until one is resumed. That loop
// costs CPU (an ingestor whose jobs waited for a stopped worker: 5.4% of a core with it, 3.1% with
// the 25 ms sleep), so it runs for RESUME_POLL_FOR_MS at most: a job that takes longer (a
// backlog's group, a worker down) is waited for with the consumer's own wait again.
//
// The wait is decided in getActiveTopicPartitions, which kafkajs's fetch calls synchronously
// right before it builds the request (and before its all-paused sleep) from the same
// subscription state, so a partition paused while a fetch was starting is judged with it. The
// wrapper replaces that method on kafkajs's own ConsumerGroup class (see kafkajs-internals.ts),
// so it applies to every consumer of the process: call it only in a process whose consumers all
// want it (the ingestor). A consumer with minBytes above 1 is left alone, and the longer of the
// two waits is used.
import { kafkajsInternal } from "./kafkajs-internals.js";

/** How long kafkajs sleeps with every partition paused and one expected back soon. */
export const RESUME_POLL_MS = 3;
/** For how long after every partition was paused kafkajs sleeps only RESUME_POLL_MS. */
export const RESUME_POLL_FOR_MS = 1_000;

/** Whether a paused partition is expected to be resumed soon (its job open, or being positioned). */
export type ResumeExpected = (topic: string, partition: number) => boolean;

/** The fields of kafkajs's ConsumerGroup that the wrapper reads and writes. */
export interface ConsumerGroupState {
  maxWaitTime: number;
  minBytes: number;
  subscriptionState: { paused(): { topic: string; partitions: number[] }[] };
  /** The partitions a fetch may ask for, per topic (those not paused). */
  getActiveTopicPartitions(): Record<string, Set<number>>;
}

interface ConsumerGroupClass {
  prototype: ConsumerGroupState;
}

/** Each consumer group's own maxWaitTimeInMs, kept before the wrapper first changes it. */
const configuredWait = new WeakMap<ConsumerGroupState, number>();
let idleWaitMs: number | undefined;
/** One per running forwarder; a paused partition is expected back if any of them expects it. */
const expectations = new Set<ResumeExpected>();

/**
 * The wait a fetch of `group` should use now (see the header). `allPausedForMs`: how long every
 * partition of the group has been paused, undefined while one is not.
 */
export function fetchWait(
  group: Pick<ConsumerGroupState, "minBytes" | "subscriptionState">,
  configured: number,
  idleMs: number,
  resumeExpected: ResumeExpected,
  allPausedForMs?: number,
): number {
  if (group.minBytes > 1) return configured;
  for (const { topic, partitions } of group.subscriptionState.paused()) {
    if (!partitions.some((p) => resumeExpected(topic, p))) continue;
    const polling = allPausedForMs !== undefined && allPausedForMs < RESUME_POLL_FOR_MS;
    return polling ? Math.min(configured, RESUME_POLL_MS) : configured;
  }
  return Math.max(configured, idleMs);
}

/** When every partition of a consumer group became paused; absent while one is not. */
const allPausedSince = new WeakMap<ConsumerGroupState, number>();

function allPausedFor(
  group: ConsumerGroupState,
  active: Record<string, Set<number>>,
  now: number,
): number | undefined {
  if (Object.values(active).some((partitions) => partitions.size > 0)) {
    allPausedSince.delete(group);
    return undefined;
  }
  const since = allPausedSince.get(group) ?? now;
  allPausedSince.set(group, since);
  return now - since;
}

function expected(topic: string, partition: number): boolean {
  // Without any (a consumer that is not an ingestor's): every paused partition counts.
  if (expectations.size === 0) return true;
  for (const e of expectations) if (e(topic, partition)) return true;
  return false;
}

/**
 * From now on, every kafkajs consumer of the process waits up to `ms` while none of its paused
 * partitions is expected back soon (by `resumeExpected`, if given). Returns the function that
 * withdraws `resumeExpected` (when its forwarder stops).
 */
export function patchIdleFetchWait(ms: number, resumeExpected?: ResumeExpected): () => void {
  const first = idleWaitMs === undefined;
  idleWaitMs = ms;
  if (resumeExpected !== undefined) expectations.add(resumeExpected);
  const withdraw = () => {
    if (resumeExpected !== undefined) expectations.delete(resumeExpected);
  };
  if (!first) return withdraw;
  const ConsumerGroup = kafkajsInternal<ConsumerGroupClass>("consumer/consumerGroup.js");
  const active = ConsumerGroup.prototype.getActiveTopicPartitions;
  ConsumerGroup.prototype.getActiveTopicPartitions = function activeWithIdleWait(this: ConsumerGroupState) {
    let configured = configuredWait.get(this);
    if (configured === undefined) {
      configured = this.maxWaitTime;
      configuredWait.set(this, configured);
    }
    const partitions = active.call(this);
    const pausedFor = allPausedFor(this, partitions, performance.now());
    this.maxWaitTime = fetchWait(this, configured, idleWaitMs ?? configured, expected, pausedFor);
    return partitions;
  };
  return withdraw;
}
