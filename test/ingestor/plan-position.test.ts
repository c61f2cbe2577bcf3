// Where a newly assigned partition is read from, for each thing Kafka can say about it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeLastApplied, encodeLastApplied, planPosition } from "../../src/ingestor/plan-position.js";

const life = "reads";
const source = { topic: "reads", incarnation: "" };
const applied = (offset: bigint, timestamp = "1700000000000", maxTimestamp?: string) => ({
  offset: (offset + 1n).toString(),
  metadata: encodeLastApplied({
    life,
    offset,
    timestamp,
    ...(maxTimestamp === undefined ? {} : { maxTimestamp }),
  }),
});
const plan = (
  committed: { offset: string; metadata: string | null } | undefined,
  low = 0n,
  high = 1000n,
  firstNewer?: bigint,
) =>
  planPosition(source, true, { committed, low, high, ...(firstNewer === undefined ? {} : { firstNewer }) });

test("no position committed (a new group): the log's start, or its end, as KAFKA_FROM_BEGINNING says", () => {
  assert.deepEqual(plan(undefined, 5n), { kind: "read", at: 5n, incarnation: "" });
  // From the end: what is in the log is never read, and is counted as skipped.
  assert.deepEqual(planPosition(source, false, { committed: undefined, low: 5n, high: 90n }), {
    kind: "read",
    at: 90n,
    incarnation: "",
    lost: { from: 5n, count: 85n, cause: "start-at-end" },
  });
  assert.deepEqual(planPosition(source, false, { committed: undefined, low: 5n, high: 5n }), {
    kind: "read",
    at: 5n,
    incarnation: "",
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
    incarnation: "",
    last: { life, offset: 41n, timestamp: "1700000000000" },
  });
});

test("a position without a last message of this life (Go consumer, a tool): read from it, unchecked", () => {
  assert.deepEqual(plan({ offset: "42", metadata: "" }), { kind: "read", at: 42n, incarnation: "" });
  assert.deepEqual(plan({ offset: "42", metadata: null }), { kind: "read", at: 42n, incarnation: "" });
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
    incarnation: "",
    lost: { from: 42n, count: 8n, cause: "retention" },
  });
  // Only the last applied message itself is gone: nothing lost, nothing left to check.
  assert.deepEqual(plan(applied(41n), 42n), { kind: "read", at: 42n, incarnation: "" });
});

test("a position of another life of the topic: this life starts at its beginning", () => {
  const other = {
    offset: "42",
    metadata: encodeLastApplied({ life: "reads@old", offset: 41n, timestamp: "1" }),
  };
  for (const fromBeginning of [true, false]) {
    const p = planPosition({ topic: "reads", incarnation: "2" }, fromBeginning, {
      committed: other,
      low: 7n,
      high: 90n,
    });
    assert.equal(p.at, 7n);
    assert.match(p.reason ?? "", /another life of the topic \(reads@old\)/);
  }
});

test("metadata carries the latest timestamp applied, and reads back the same; older metadata without it", () => {
  const m = { life: "reads@2~150", offset: 41n, timestamp: "1700000000000", maxTimestamp: "1700000000100" };
  assert.equal(encodeLastApplied(m), "reads@2~150@41@1700000000000+1700000000100");
  assert.deepEqual(decodeLastApplied(encodeLastApplied(m)), m);
  assert.deepEqual(decodeLastApplied("reads@2@41@1700000000000"), {
    life: "reads@2",
    offset: 41n,
    timestamp: "1700000000000",
  });
});

test("a truncated log (older messages survive, newer ones at used offsets): read on under a new incarnation", () => {
  // Applied up to 41, nothing sent after 500 applied; the log now ends at 30 and holds messages
  // newer than 500 from 20 on.
  const truncated = plan(applied(41n, "400", "500"), 0n, 30n, 20n);
  assert.deepEqual(truncated, {
    kind: "read",
    at: 20n,
    incarnation: "~20",
    truncated: { at: 20n, lastApplied: 41n, maxTimestamp: "500" },
  });
  // Refilled past the old position: a newer message sits below the last applied offset.
  assert.equal(plan(applied(41n, "400", "500"), 0n, 60n, 35n).incarnation, "~35");
  // The same partition's position under that incarnation reads on in it; truncated again, it
  // gets another.
  const after = {
    offset: "51",
    metadata: encodeLastApplied({ life: "reads@~20", offset: 50n, timestamp: "9", maxTimestamp: "900" }),
  };
  assert.deepEqual(plan(after, 0n, 80n, 80n), {
    kind: "read",
    at: 50n,
    incarnation: "~20",
    last: { life: "reads@~20", offset: 50n, timestamp: "9", maxTimestamp: "900" },
  });
  assert.equal(plan(after, 0n, 45n, 25n).incarnation, "~20~25");
  assert.equal(
    planPosition({ topic: "reads", incarnation: "2" }, true, {
      committed: {
        offset: "42",
        metadata: encodeLastApplied({ life: "reads@2", offset: 41n, timestamp: "1", maxTimestamp: "5" }),
      },
      low: 0n,
      high: 30n,
      firstNewer: 20n,
    }).incarnation,
    "2~20",
  );
});

test("no older message left, no newer one, or no latest known: not taken for a truncation", () => {
  // Every message newer than those applied (a re-created topic): held back.
  assert.equal(plan(applied(41n, "400", "500"), 0n, 30n, 0n).kind, "hold");
  // Nothing newer (a high watermark briefly low after a leader change): held back, checked again.
  const quiet = plan(applied(41n, "400", "500"), 0n, 30n, 30n);
  assert.equal(quiet.kind, "hold");
  assert.match(quiet.reason ?? "", /truncated .* nothing new arrived yet/);
  // The first newer message after the last applied offset: the ordinary check of the first batch.
  assert.deepEqual(plan(applied(41n, "400", "500"), 0n, 60n, 50n).last?.offset, 41n);
  // A position committed without the latest timestamp: held back as before.
  assert.equal(plan(applied(41n), 0n, 30n, 20n).kind, "hold");
});
