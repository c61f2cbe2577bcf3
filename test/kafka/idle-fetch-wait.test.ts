// Which wait a consumer's next fetch uses: the pure decision, then kafkajs's own fetch driven with
// a stub cluster, to show the wait is decided from the same state the request is built from.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ConsumerGroupState,
  fetchWait,
  patchIdleFetchWait,
  RESUME_POLL_FOR_MS,
  RESUME_POLL_MS,
} from "../../src/kafka/idle-fetch-wait.js";
import { kafkajsInternal } from "../../src/kafka/kafkajs-internals.js";

const group = (paused: number[], minBytes = 1) => ({
  minBytes,
  subscriptionState: { paused: () => (paused.length > 0 ? [{ topic: "t", partitions: paused }] : []) },
});
const all = () => true;

test("nothing paused: the idle wait, since every partition is in the fetch", () => {
  assert.equal(fetchWait(group([]), 25, 1000, all), 1000);
});

test("a partition paused and expected back (its job open): the configured wait, so its resume is picked up soon", () => {
  assert.equal(fetchWait(group([3]), 25, 1000, all), 25);
  assert.equal(
    fetchWait(group([1, 3]), 25, 1000, (_t, p) => p === 3),
    25,
  );
});

test("every partition paused and one expected back: kafkajs's sleep is a short poll, so a resume is fetched at once", () => {
  const allPaused = group([0, 1, 2, 3]);
  assert.equal(fetchWait(allPaused, 25, 1000, all, 0), RESUME_POLL_MS);
  assert.equal(fetchWait(allPaused, 25, 1000, all, RESUME_POLL_FOR_MS - 1), RESUME_POLL_MS);
  assert.equal(
    fetchWait(allPaused, 25, 1000, all, RESUME_POLL_FOR_MS),
    25,
    "paused that long (a worker down, a backlog's group): the configured wait again",
  );
  assert.equal(
    fetchWait(allPaused, 25, 1000, () => false, 0),
    1000,
    "none expected back (all held back for a person): the idle wait",
  );
  assert.equal(fetchWait(allPaused, 1, 1000, all, 0), 1, "never longer than the configured wait");
  assert.equal(fetchWait(group([3]), 25, 1000, all), 25, "another partition fetching: the configured wait");
});

test("a partition paused but not expected back soon (held back for a person): the idle wait", () => {
  assert.equal(
    fetchWait(group([3]), 25, 1000, () => false),
    1000,
  );
});

test("the idle wait never shortens a longer configured wait", () => {
  assert.equal(fetchWait(group([]), 2000, 1000, all), 2000);
});

test("a consumer asking for more than one byte per fetch keeps its own wait", () => {
  assert.equal(fetchWait(group([], 1024), 25, 1000, all), 25);
});

// kafkajs's ConsumerGroup with just enough stubbed for its fetch(): partitions 0 and 1 of topic t,
// both led by node 1. Each request sent is recorded.
interface Sent {
  maxWaitTime: number;
  partitions: number[];
}
interface StubGroup extends ConsumerGroupState {
  fetch(nodeId: number): Promise<unknown[]>;
  pause(topics: { topic: string; partitions: number[] }[]): void;
  cluster: { refreshMetadataIfNecessary(): Promise<void> };
}
const ConsumerGroup = kafkajsInternal<{ prototype: StubGroup }>("consumer/consumerGroup.js");
const SubscriptionState = kafkajsInternal<new () => unknown>("consumer/subscriptionState.js");
const SeekOffsets = kafkajsInternal<new () => unknown>("consumer/seekOffsets.js");
const backSoon = new Set<number>();
patchIdleFetchWait(1000, (_topic, partition) => backSoon.has(partition));

function stubGroup(sent: Sent[]): StubGroup {
  const g = Object.create(ConsumerGroup.prototype) as StubGroup;
  const subscriptionState = new SubscriptionState() as { assign(a: unknown): void };
  subscriptionState.assign([{ topic: "t", partitions: [0, 1] }]);
  Object.assign(g, {
    maxWaitTime: 25,
    minBytes: 1,
    maxBytes: 10_000_000,
    maxBytesPerPartition: 1_000_000,
    isolationLevel: 1,
    subscriptionState,
    seekOffset: new SeekOffsets(),
    preferredReadReplicasPerTopicPartition: {},
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    offsetManager: {
      committedOffsets: () => ({ t: { 0: "0", 1: "0" } }),
      nextOffset: () => 0n,
      resolveOffsets: async () => {},
      seek: async () => {},
    },
    cluster: {
      refreshMetadataIfNecessary: async () => {},
      findTopicPartitionMetadata: () => [
        { partitionId: 0, leader: 1 },
        { partitionId: 1, leader: 1 },
      ],
      findBroker: async () => ({
        fetch: async (req: { maxWaitTime: number; topics: { partitions: { partition: number }[] }[] }) => {
          sent.push({
            maxWaitTime: req.maxWaitTime,
            partitions: req.topics.flatMap((t) => t.partitions.map((p) => p.partition)).sort(),
          });
          return { responses: [] };
        },
      }),
    },
  });
  return g;
}

test("kafkajs's fetch with nothing paused asks for every partition with the idle wait", async () => {
  const sent: Sent[] = [];
  await stubGroup(sent).fetch(1);
  assert.deepEqual(sent, [{ maxWaitTime: 1000, partitions: [0, 1] }]);
});

test("kafkajs's fetch: a partition paused while the fetch was starting is left out, and the fetch waits the configured time", async () => {
  const sent: Sent[] = [];
  const g = stubGroup(sent);
  g.cluster.refreshMetadataIfNecessary = () => sleep(5); // the fetch is under way, its request not built
  backSoon.add(0);
  try {
    const fetching = g.fetch(1);
    g.pause([{ topic: "t", partitions: [0] }]); // e.g. its job opened
    await fetching;
  } finally {
    backSoon.clear();
  }
  assert.deepEqual(sent, [{ maxWaitTime: 25, partitions: [1] }]);
});

test("kafkajs's fetch with every partition paused and expected back sleeps a short poll, not the idle wait", async () => {
  const sent: Sent[] = [];
  const g = stubGroup(sent);
  g.pause([{ topic: "t", partitions: [0, 1] }]);
  backSoon.add(0);
  const t0 = performance.now();
  try {
    await g.fetch(1);
  } finally {
    backSoon.clear();
  }
  assert.deepEqual(sent, []);
  assert.equal(g.maxWaitTime, RESUME_POLL_MS, "the wait its sleep took");
  assert.ok(performance.now() - t0 < 500, `slept ${performance.now() - t0} ms`);
});

test("kafkajs's fetch with a partition held back (paused, not expected back) asks for the others with the idle wait", async () => {
  const sent: Sent[] = [];
  const g = stubGroup(sent);
  g.pause([{ topic: "t", partitions: [0] }]);
  await g.fetch(1);
  assert.deepEqual(sent, [{ maxWaitTime: 1000, partitions: [1] }]);
});
