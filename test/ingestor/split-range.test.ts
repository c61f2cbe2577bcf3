// A range of messages split into one job and its dead letters, without Kafka or Redis.
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitRange } from "../../src/ingestor/split-range.js";
import { readJobId } from "../../src/queue/read-job.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";

const source = { topic: "reads", incarnation: "", partition: 4, maxMessageBytes: 1024 };
const message = (offset: number, value: string | Buffer | null) => ({
  offset: String(offset),
  timestamp: String(1_700_000_000_000 + offset),
  value: typeof value === "string" ? Buffer.from(value) : value,
});

test("valid events become one job named by the range's first message; invalid ones dead letters", () => {
  const split = splitRange(source, [
    message(10, "{oops"),
    message(11, encodeReadEvent(7n, 1n)),
    message(12, null),
    message(13, encodeReadEvent(7n, 2n)),
    message(14, encodeReadEvent(9n, 3n)),
    message(15, "x".repeat(2000)),
  ]);
  assert.ok(split.job);
  assert.deepEqual([split.job.firstOffset, split.job.lastOffset, split.job.events], ["10", "15", 3]);
  assert.equal(
    readJobId(split.job),
    "reads-p4-o10-t1700000000010",
    "the range's first message, even invalid",
  );
  assert.deepEqual(Object.keys(split.job.articles).sort(), ["7", "9"]);
  assert.deepEqual(
    split.deadLetters.map((d) => d.offset),
    ["10", "12", "15"],
  );
  assert.ok(split.deadLetters.every((d) => d.topic === "reads" && d.partition === 4 && d.reason !== ""));
  assert.deepEqual(split.job.deadLetters, [0, 2, 5], "the job names its dead letters' offsets");
  assert.equal(split.job.lastTimestamp, 1_700_000_000_015);
});

test("a range of only invalid messages is a job of no events that names its dead letters", () => {
  const split = splitRange({ ...source, incarnation: "2" }, [message(3, "[]"), message(4, "{}")]);
  assert.deepEqual(
    [split.job.events, split.job.deadLetters, split.job.maxTimestamp],
    [0, [0, 1], 1_700_000_000_004],
  );
  assert.equal(split.deadLetters.length, 2);
  assert.ok(split.deadLetters.every((d) => d.incarnation === "2"));
  assert.equal(split.job.lastOffset, "4");
});

test("an empty range is a caller's error", () => {
  assert.throws(() => splitRange(source, []), /at least one message/);
});
