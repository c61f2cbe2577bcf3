// Which wait a consumer's next fetch uses.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ConsumerGroupState, fetchWait } from "../../src/kafka/idle-fetch-wait.js";

const group = (paused: number[], minBytes = 1): ConsumerGroupState => ({
  maxWaitTime: 100,
  minBytes,
  subscriptionState: { paused: () => (paused.length > 0 ? [{ topic: "t", partitions: paused }] : []) },
  fetch: async () => [],
});

test("nothing paused: the idle wait, since every partition is in the fetch", () => {
  assert.equal(fetchWait(group([]), 100, 1000), 1000);
});

test("a partition paused (its job open): the configured wait, so its resume is picked up soon", () => {
  assert.equal(fetchWait(group([3]), 100, 1000), 100);
});

test("the idle wait never shortens a longer configured wait", () => {
  assert.equal(fetchWait(group([]), 2000, 1000), 2000);
});

test("a consumer asking for more than one byte per fetch keeps its own wait", () => {
  assert.equal(fetchWait(group([], 1024), 100, 1000), 100);
});
