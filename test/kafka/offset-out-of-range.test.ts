// A fetch outside the log goes to the forwarder that owns the partition, and kafkajs's own answer
// (committing its default offset for the group, which erases the position) runs only for a
// partition no handler takes. Driven through kafkajs's own ConsumerGroup method.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kafkajsInternal } from "../../src/kafka/kafkajs-internals.js";
import { patchOutOfRangeHandler } from "../../src/kafka/offset-out-of-range.js";

interface Recover {
  recoverFromOffsetOutOfRange(e: { topic: string; partition: number }): Promise<void>;
}

test("the owner of the partition takes it; kafkajs commits its default offset only for the others", async () => {
  const taken: string[] = [];
  const withdraw = patchOutOfRangeHandler(({ groupId, memberId }, topic, partition) => {
    if (partition !== 1 || memberId !== "m1") return false;
    taken.push(`${groupId}/${topic}/${partition}`);
    return true;
  });
  const ConsumerGroup = kafkajsInternal<{ prototype: Recover }>("consumer/consumerGroup.js");
  const defaults: number[] = [];
  const group = Object.assign(Object.create(ConsumerGroup.prototype) as Recover, {
    groupId: "g",
    memberId: "m1",
    preferredReadReplicasPerTopicPartition: {},
    logger: { info() {}, error() {} },
    offsetManager: {
      setDefaultOffset: async ({ partition }: { partition: number }) => void defaults.push(partition),
    },
    resume() {},
  });
  try {
    await group.recoverFromOffsetOutOfRange({ topic: "t", partition: 1 });
    await group.recoverFromOffsetOutOfRange({ topic: "t", partition: 2 });
    assert.deepEqual(taken, ["g/t/1"]);
    assert.deepEqual(defaults, [2], "kafkajs's answer for the partition nobody took");
  } finally {
    withdraw();
  }
  await group.recoverFromOffsetOutOfRange({ topic: "t", partition: 1 });
  assert.deepEqual(defaults, [2, 1], "a withdrawn handler takes nothing");
});
