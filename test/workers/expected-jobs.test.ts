import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadJobBuilder, type ReadJobData } from "../../src/queue/read-job.js";
import { ExpectedJobs } from "../../workers/expected-jobs.js";

function job(partition: number, backlog?: number): ReadJobData {
  const b = new ReadJobBuilder("reads", partition);
  b.addEvent(10n, 7n, 1_700_000_000_000);
  return { ...b.build(), ...(backlog === undefined ? {} : { backlog }) };
}

/** A job of a topic of 3 partitions, at its log's end. */
const of3 = (partition: number, incarnation = "") => ({
  ...job(partition, 0),
  partitions: 3,
  ...(incarnation ? { incarnation } : {}),
});

/**
 * An ExpectedJobs that has seen one group of partition 9 applied in `ms`, and partition 9's next
 * job at its log's end.
 */
function afterOneGroup(ms: number): ExpectedJobs {
  const e = new ExpectedJobs();
  const first = job(9, 0);
  e.seen(first);
  e.applyStarted([first]);
  e.applyEnded([first], ms);
  e.seen(job(9, 0));
  return e;
}

test("before any group was applied, a first group of a backlog waits 3 s for partitions not known yet", () => {
  const now = 1_700_000_060_000;
  const e = new ExpectedJobs(() => now);
  const fresh = (j: ReadJobData) => ({ ...j, earliestEventTimestamp: now - 1_000 });
  const [behind, atEnd] = [fresh(job(0, 500)), fresh(job(1, 0))];
  e.seen(behind);
  e.seen(atEnd);
  assert.equal(e.more([atEnd]), false, "fresh events at the log's end: live load never waits");
  assert.equal(e.more([behind, atEnd]), true, "Kafka holds more of partition 0");
  assert.equal(e.more([job(1, 0)]), true, "events a minute old are a backlog, even at the log's end");
  const restarted = { ...job(1, 0), earliestEventTimestamp: now - 3_000 };
  assert.equal(e.more([restarted]), true, "events 3 s old were not read live");
  assert.equal(e.holdMs(), 3_000);
});

test("a first group of a backlog waits until it holds a job of every partition the topic has", () => {
  const e = new ExpectedJobs(() => 1_700_000_060_000);
  assert.equal(e.more([of3(0), of3(2)]), true, "partition 1 not yet here");
  assert.equal(e.more([of3(0), of3(2), of3(1)]), false, "all three partitions");
  assert.equal(e.more([of3(0), of3(1), of3(2, "b")]), true, "another life of the topic counts apart");
  assert.equal(e.more([of3(0), of3(1), of3(2, "~500")]), false, "a truncated partition is of the same life");
  assert.equal(e.more([job(0, 0), job(1, 0), job(2, 0)]), true, "no job says how many: the whole hold");
});

test("a group is complete once it holds a job of every partition of its topic", () => {
  const e = new ExpectedJobs();
  assert.equal(e.complete([of3(0), of3(2)]), false, "partition 1 may still come");
  assert.equal(e.complete([of3(0), of3(2), of3(1)]), true);
  assert.equal(e.complete([job(0, 0)]), false, "no job says how many partitions there are");
});

test("a failed group leaves the hold as the last applied group set it", () => {
  const e = afterOneGroup(4_000);
  const j = job(0, 5);
  e.applyStarted([j]);
  e.applyEnded([j]);
  assert.equal(e.holdMs(), 1_000);
});

test("partitions with a backlog are awaited unless in the group or being applied", () => {
  const e = afterOneGroup(8_000);
  const [p0, p1, p2] = [job(0, 500), job(1, 10), job(2, 0)];
  for (const j of [p0, p1, p2]) e.seen(j);
  assert.equal(e.more([p0]), true, "partition 1 has more in Kafka");
  assert.equal(e.more([p0, p1]), false, "partition 2 is at its end");
  e.applyStarted([p1]);
  assert.equal(e.more([p0]), false, "partition 1's next job comes after the group applying it");
  e.applyEnded([p1], 6_000);
  assert.equal(e.more([p0]), true);
  assert.equal(e.holdMs(), 1_500, "a quarter of the last group's apply time");
  e.seen(job(1, 0));
  assert.equal(e.more([p0]), false, "partition 1 reached its end");
});

test("a partition missed once is not awaited again until a job of it says it is behind", () => {
  const e = afterOneGroup(1_000);
  const [p0, p1] = [job(0, 5), job(1, 5)];
  e.seen(p0);
  e.seen(p1);
  e.missed([p0]);
  assert.equal(e.more([p0]), false);
  e.seen(job(1, 3));
  assert.equal(e.more([p0]), true);
});

test("under load, the next group waits for the partitions whose jobs were just applied", () => {
  const e = afterOneGroup(100);
  const [p0, p1, p2, p3] = [of3(0), of3(1), of3(2), job(3, 0)];
  for (const j of [p0, p1, p2, p3]) e.seen(j);
  e.applyStarted([p0, p1]);
  assert.equal(e.more([p2]), false, "partitions 0 and 1 are being applied");
  e.applyEnded([p0, p1], 200);
  assert.equal(e.more([p2]), true, "their next ranges are read as soon as they are committed");
  assert.equal(e.holdMs(), 50);
  assert.equal(e.more([p2, of3(0), of3(1)]), false, "both came");
  e.missed([p2]);
  assert.equal(e.more([p2]), false, "a partition awaited in vain is not awaited again");
  e.applyStarted([p3]);
  e.applyEnded([p3]);
  assert.equal(e.more([p2]), false, "a group that failed says nothing of its partitions' next jobs");
});
