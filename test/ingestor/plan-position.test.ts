// Where a newly assigned partition is read from, for each thing Kafka can say about it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeLastApplied, planPosition } from "../../src/ingestor/plan-position.js";

const life = "reads";
const applied = (offset: bigint, timestamp = "1700000000000") => ({
  offset: (offset + 1n).toString(),
  metadata: encodeLastApplied({ life, offset, timestamp }),
});
const plan = (committed: { offset: string; metadata: string | null } | undefined, low = 0n, high = 1000n) =>
  planPosition(life, true, { committed, low, high });

test("no position committed (a new group): the log's start, or its end, as KAFKA_FROM_BEGINNING says", () => {
  assert.deepEqual(plan(undefined, 5n), { kind: "read", at: 5n });
  // From the end: what is in the log is never read, and is counted as skipped.
  assert.deepEqual(planPosition(life, false, { committed: undefined, low: 5n, high: 90n }), {
    kind: "read",
    at: 90n,
    lost: { from: 5n, count: 85n, cause: "start-at-end" },
  });
  assert.deepEqual(planPosition(life, false, { committed: undefined, low: 5n, high: 5n }), {
    kind: "read",
    at: 5n,
  });
});

test("a position kafkajs reset (outside the log): the log's start, unchecked, with a reason to log", () => {
  const reset = plan({ offset: "-2", metadata: "" }, 7n);
  assert.equal(reset.at, 7n);
  assert.equal(reset.kind, "read");
  assert.match(reset.reason ?? "", /reset by kafkajs/);
});

test("a position naming its last applied message: read from that message, to check it", () => {
  assert.deepEqual(plan(applied(41n)), {
    kind: "read",
    at: 41n,
    last: { life, offset: 41n, timestamp: "1700000000000" },
  });
});

test("a position without a last message of this life (Go consumer, a tool): read from it, unchecked", () => {
  assert.deepEqual(plan({ offset: "42", metadata: "" }), { kind: "read", at: 42n });
  assert.deepEqual(plan({ offset: "42", metadata: null }), { kind: "read", at: 42n });
  // Metadata of a commit that did not write this offset (someone moved the position since).
  const moved = plan({ offset: "42", metadata: encodeLastApplied({ life, offset: 9n, timestamp: "1" }) });
  assert.equal(moved.at, 42n);
  assert.equal(moved.last, undefined);
  assert.match(moved.reason ?? "", /not the one its metadata names/);
});

test("caught up exactly at the log's end is an ordinary position", () => {
  assert.equal(plan(applied(999n)).kind, "read");
});

test("a log that ends before the position was not the one read: held back, with or without metadata", () => {
  const held = plan(applied(41n), 0n, 30n);
  assert.equal(held.kind, "hold");
  assert.match(held.reason ?? "", /ends at offset 30, before the group's position 42/);
  assert.equal(plan({ offset: "42", metadata: "" }, 0n, 30n).kind, "hold");
});

test("retention removed unread messages: read from the log's start, counting those lost", () => {
  assert.deepEqual(plan(applied(41n), 50n), {
    kind: "read",
    at: 50n,
    lost: { from: 42n, count: 8n, cause: "retention" },
  });
  // Only the last applied message itself is gone: nothing lost, nothing left to check.
  assert.deepEqual(plan(applied(41n), 42n), { kind: "read", at: 42n });
});

test("a position of another life of the topic: this life starts at its beginning", () => {
  const other = {
    offset: "42",
    metadata: encodeLastApplied({ life: "reads@old", offset: 41n, timestamp: "1" }),
  };
  for (const fromBeginning of [true, false]) {
    const p = planPosition("reads@2", fromBeginning, { committed: other, low: 7n, high: 90n });
    assert.equal(p.at, 7n);
    assert.match(p.reason ?? "", /another life of the topic \(reads@old\)/);
  }
});
