import assert from "node:assert/strict";
import { test } from "node:test";
import {
  aggregateGroup,
  deadLetterMessage,
  messageOffsetKey,
  partitionKey,
  planIncrements,
  type StoredState,
} from "../../src/counting/plan-increments.js";
import type { ReadJobData } from "../../src/queue/read-job.js";

function job(partition: number, firstOffset: number, articles: Record<string, number[]>): ReadJobData {
  const events = Object.values(articles).reduce((n, d) => n + d.length, 0);
  const last = Math.max(...Object.values(articles).flat());
  return {
    topic: "reads",
    partition,
    firstOffset: String(firstOffset),
    lastOffset: String(firstOffset + last),
    events,
    articles,
    earliestEventTimestamp: 0,
  };
}

const P0 = partitionKey("reads", 0);
const P1 = partitionKey("reads", 1);

test("partition keys are safe MongoDB field names", () => {
  assert.equal(partitionKey("article_read_event", 3), "article_read_event:3");
  assert.equal(partitionKey("a.b%c", 0), "a%2Eb%25c:0");
  assert.equal(partitionKey("$x", 1), "%24x:1");
});

test("aggregation gathers offsets per article and partition, in order", () => {
  const events = aggregateGroup([job(0, 100, { "7": [0, 5], "8": [1] }), job(1, 50, { "7": [2] })]);
  assert.deepEqual(events.get("7")?.get(P0), [100n, 105n]);
  assert.deepEqual(events.get("7")?.get(P1), [52n]);
  assert.deepEqual(events.get("8")?.get(P0), [101n]);
});

test("a fresh article adds all its events, sets its marks and creates its document", () => {
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [0, 5] })]), new Map());
  assert.deepEqual(plan, {
    aid: "7",
    delta: 2,
    expectedVersion: null,
    creates: true,
    nextMarks: new Map([[P0, 105n]]),
  });
});

test("a stored document without a version is updated, not created", () => {
  const stored = new Map<string, StoredState>([["7", { version: null, marks: new Map() }]]);
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [0, 5] })]), stored);
  assert.equal(plan?.expectedVersion, null);
  assert.equal(plan?.creates, false);
});

test("events at or below the stored mark are skipped", () => {
  const stored = new Map<string, StoredState>([["7", { version: 4, marks: new Map([[P0, 103n]]) }]]);
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [0, 3, 5, 9] })]), stored);
  assert.equal(plan?.delta, 2);
  assert.equal(plan?.expectedVersion, 4);
  assert.equal(plan?.creates, false);
  assert.deepEqual(plan?.nextMarks, new Map([[P0, 109n]]));
});

test("a fully applied job adds nothing and moves no mark", () => {
  const stored = new Map<string, StoredState>([["7", { version: 9, marks: new Map([[P0, 200n]]) }]]);
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [0, 5] })]), stored);
  assert.equal(plan?.delta, 0);
  assert.equal(plan?.nextMarks.size, 0);
});

test("marks of other partitions do not affect this one", () => {
  const stored = new Map<string, StoredState>([["7", { version: 1, marks: new Map([[P1, 1_000n]]) }]]);
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [0] })]), stored);
  assert.equal(plan?.delta, 1);
});

test("a re-created job with a different range adds exactly the events above the mark", () => {
  // First job covered 100..149 and set the mark of article 7 to 140; the job was lost after it
  // applied, and the range was re-read as 100..299.
  const stored = new Map<string, StoredState>([["7", { version: 2, marks: new Map([[P0, 140n]]) }]]);
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [10, 40, 60, 199] })]), stored);
  assert.equal(plan?.delta, 2);
  assert.deepEqual(plan?.nextMarks, new Map([[P0, 299n]]));
});

test("one (partition, offset) is one read, however many jobs of the group carry it", () => {
  // A job and its re-added twin, plus a job whose range overlaps them.
  const a = job(0, 100, { "7": [0, 5], "8": [1] });
  const overlapping = job(0, 104, { "7": [1, 2], "8": [3] });
  const events = aggregateGroup([a, { ...a }, overlapping]);
  assert.deepEqual(events.get("7")?.get(P0), [100n, 105n, 106n]);
  assert.deepEqual(events.get("8")?.get(P0), [101n, 107n]);
  const [plan7] = planIncrements(new Map([["7", events.get("7") ?? new Map()]]), new Map());
  assert.equal(plan7?.delta, 3);
});

test("a topic's incarnation gets marks of its own", () => {
  assert.equal(partitionKey("article_read_event", 3, "2"), "article_read_event@2:3");
  assert.equal(partitionKey("article_read_event", 3, ""), "article_read_event:3");
  const events = aggregateGroup([{ ...job(0, 100, { "7": [0] }), incarnation: "2" }]);
  assert.deepEqual([...(events.get("7")?.keys() ?? [])], ["reads@2:0"]);
});

test("a message its range's first job left to the dead-letter queue is no event", () => {
  const message = deadLetterMessage("reads-p0-o103-t1700000000103");
  assert.deepEqual(message, { key: P0, offset: 103n });
  const left = new Set([messageOffsetKey(P0, 103n)]);
  const [plan] = planIncrements(aggregateGroup([job(0, 100, { "7": [0, 3, 5] })], left), new Map());
  assert.equal(plan?.delta, 2, "offsets 100 and 105");
  assert.deepEqual(plan?.nextMarks, new Map([[P0, 105n]]));
});
