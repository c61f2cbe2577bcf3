// The measurements' arithmetic: MongoDB operations counted, latency quantiles as buckets, the
// worker's metrics, lag, CPU ticks, the exact-count check and the open loop's schedule.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as m from "../../bench/lib/measure.js";
import { dueBy } from "../../bench/live/producer.js";

test("MongoDB figures: data commands, and their statements plus the documents reads returned", () => {
  const c = new m.MongoCommandCounter();
  c.started({ commandName: "update", command: { updates: [{}, {}, {}] } });
  c.started({ commandName: "insert", command: { documents: [{}, {}] } });
  c.started({ commandName: "find", command: {} });
  c.succeeded({ commandName: "find", reply: { cursor: { firstBatch: [{}, {}, {}, {}] } } });
  c.started({ commandName: "getMore", command: {} });
  c.succeeded({ commandName: "getMore", reply: { cursor: { nextBatch: [{}] } } });
  c.started({ commandName: "createIndexes", command: {} });
  assert.deepEqual([c.roundTrips, c.documentOps, m.per1k(c.documentOps, 7)], [4, 10, 1428.6]);
});

const NAME = "interactive_end_to_end_latency_seconds";
/** prom-client's text for the latency histogram with these cumulative counts. */
function latency(cumulative: number[], sum: number, labels = 'process="worker"') {
  const bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "+Inf"];
  const last = cumulative[cumulative.length - 1] ?? 0;
  const buckets = bounds.map((le, i) => `${NAME}_bucket{le="${le}",${labels}} ${cumulative[i] ?? last}`);
  return [...buckets, `${NAME}_sum{${labels}} ${sum}`, `${NAME}_count{${labels}} ${last}`].join("\n");
}
const summary = (text: string) => m.latencySummary(m.parsePrometheus(text), NAME);

test("quantiles by nearest rank: the bucket whose cumulative count first reaches ceil(q x n)", () => {
  const s = summary(latency([10, 40, 70, 90, 99, 100], 42.5));
  // Rank 99 exactly: 0.99 x 100 must not round up to 100.
  assert.deepEqual([s?.p50, s?.p99, s?.max], ["in (0.1, 0.25] s", "in (0.5, 1] s", "in (1, 2.5] s"]);
  assert.deepEqual(
    [s?.jobs, s?.meanSeconds, s?.p99UpperSeconds, s?.buckets[11]],
    [100, 0.425, 1, ["+Inf", 100]],
  );
  assert.equal(summary(latency([7], 0.07))?.max, "<= 0.05 s");
  const slow = summary(latency([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 98, 100], 10_000));
  assert.deepEqual([slow?.p50, slow?.p99, slow?.p99UpperSeconds], ["in (60, 300] s", "> 300 s", null]);
  assert.deepEqual([summary(latency([0], 0))?.p99, summary("other 1")], ["n/a", undefined]);
  // Label sets summed, whatever the order; without a _count, the +Inf bucket counts.
  const two = [latency([1, 2, 3, 4, 5, 6], 3, 'i="a"'), latency([0, 0, 0, 0, 0, 2], 4, 'i="b"')].join("\n");
  const s2 = summary(two.split("\n").reverse().join("\n"));
  assert.deepEqual([s2?.jobs, s2?.meanSeconds, s2?.max], [8, 7 / 8, "in (1, 2.5] s"]);
  const noCount = summary(`${NAME}_bucket{le="0.1"} 3\n${NAME}_bucket{le="+Inf"} 5\n`);
  assert.deepEqual([noCount?.jobs, noCount?.p99], [5, "> 0.1 s"]);
});

test("the worker's metrics: labels unescaped, sums, group means, failed jobs and dead letters", () => {
  const text = `odd{msg="a \\"quoted\\" } inside"} 4
not a metric line
interactive_group_jobs_count 10
interactive_group_jobs_sum 34
interactive_group_events_sum 170000
interactive_group_flush_seconds_sum 15.5
interactive_queue_jobs{queue="w",state="failed"} 1
interactive_queue_jobs{queue="d",state="waiting"} 2
interactive_queue_jobs{queue="w",state="completed"} 100`;
  const samples = m.parsePrometheus(text);
  assert.equal(samples[0]?.labels.msg, 'a "quoted" } inside');
  assert.deepEqual(
    [m.sumMetric(samples, "interactive_queue_jobs"), m.sumMetric(samples, "not")],
    [103, undefined],
  );
  assert.deepEqual(m.groupStats(samples), {
    groups: 10,
    jobsPerGroup: 3.4,
    eventsPerGroup: 17_000,
    flushSecondsMean: 1.55,
  });
  assert.equal(m.failedJobs(samples, "d"), 3);
});

test("lag: steady below one second of production at the end; slope over the second half", () => {
  assert.deepEqual(m.lagVerdict(1999, 2000), { steady: true, text: "steady" });
  assert.equal(m.lagVerdict(123_456, 10_000).text, "growing (123,456 messages behind at the end)");
  assert.equal(m.lagVerdict(undefined, 2000).steady, null);
  const growing = [0, 2, 30, 32, 60, 62].map((t) => ({ t, lag: t < 30 ? 0 : 100 + 2500 * t }));
  assert.deepEqual([m.lagSlope(growing, 60), m.lagSlope([{ t: 40, lag: 5 }], 60)], [2500, undefined]);
});

test("CPU: utime + stime (fields 14 and 15), whatever the command name holds", () => {
  const fields = Array.from({ length: 50 }, (_, i) => ({ 14: 250, 15: 30 })[i + 3] ?? 7);
  assert.equal(m.parseCpuTicks(`4242 (node (tsx) ) x) ${fields.join(" ")}\n`), 280);
  assert.equal(m.parseCpuTicks("30049 (cat) R 30045 30045 29440 0 -1 4194304 101 0 0 0 12 3 0 0 20 0 1"), 15);
  assert.throws(() => m.parseCpuTicks("12 (node) S 1 2 3"), /not a \/proc/);
});

test("the exact-count check compares every article, absent as 0", () => {
  const counts = (o: Record<string, number>) => new Map(Object.entries(o));
  const check = m.compareCounts(counts({ 1: 5, 2: 3, 3: 1 }), counts({ 1: 5, 2: 4, 9: 1 }));
  assert.deepEqual([check.articles, check.off], [4, 3]);
  assert.deepEqual(check.examples.sort(), [
    "2: expected 3, got 4",
    "3: expected 1, got 0",
    "9: expected 0, got 1",
  ]);
});

test("the open loop: event i is due at i x 1000 / rate ms, whatever the float rounding", () => {
  const due = [dueBy(-1, 2000, 9), dueBy(0, 2000, 9), dueBy(10, 2000, 99), dueBy(1e9, 2000, 9)];
  assert.deepEqual(due, [0, 1, 21, 9]);
  for (const rate of [3, 997, 2000, 3333, 123_457]) {
    for (const i of [1, 99, 33_333, 599_999]) assert.equal(dueBy((i * 1000) / rate, rate, 1e12), i + 1);
  }
});
