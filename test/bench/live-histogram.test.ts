import assert from "node:assert/strict";
import { test } from "node:test";
import {
  bucketsForJson,
  formatBucket,
  histogramFromSamples,
  histogramMean,
  quantileBucket,
  summarizeLatency,
} from "../../bench/live/histogram.js";
import { parsePrometheusSeries } from "../../bench/peers/measure.js";

const NAME = "interactive_end_to_end_latency_seconds";
const BOUNDS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "+Inf"];

/** prom-client's text for the latency histogram with these cumulative counts. */
function exposition(cumulative: number[], sum: number, labels = 'process="worker"'): string {
  const lines = [
    `# HELP ${NAME} Kafka message timestamp to MongoDB write acknowledged`,
    `# TYPE ${NAME} histogram`,
  ];
  BOUNDS.forEach((le, i) => {
    lines.push(`${NAME}_bucket{le="${le}",${labels}} ${cumulative[i] ?? cumulative[cumulative.length - 1]}`);
  });
  lines.push(`${NAME}_sum{${labels}} ${sum}`);
  lines.push(`${NAME}_count{${labels}} ${cumulative[cumulative.length - 1]}`);
  return `${lines.join("\n")}\n`;
}

function histogramOf(text: string) {
  const h = histogramFromSamples(parsePrometheusSeries(text), NAME);
  assert.ok(h);
  return h;
}

test("cumulative buckets are read from the exposition, +Inf last", () => {
  const h = histogramOf(exposition([10, 40, 70, 90, 99, 100], 42.5));
  assert.equal(h.count, 100);
  assert.equal(h.sum, 42.5);
  assert.equal(h.buckets.length, 12);
  assert.deepEqual(h.buckets[0], { le: 0.05, count: 10 });
  assert.deepEqual(h.buckets[11], { le: Number.POSITIVE_INFINITY, count: 100 });
  assert.deepEqual(bucketsForJson(h)[11], ["+Inf", 100]);
  assert.equal(histogramMean(h), 0.425);
});

test("quantiles by nearest rank: the first bucket whose cumulative count reaches ceil(q x n)", () => {
  const h = histogramOf(exposition([10, 40, 70, 90, 99, 100], 42.5));
  assert.deepEqual(quantileBucket(h, 0.5), { lower: 0.1, upper: 0.25 });
  assert.equal(formatBucket(quantileBucket(h, 0.5)), "in (0.1, 0.25] s");
  // rank 99 exactly: 0.99 x 100 must not round up to 100.
  assert.equal(formatBucket(quantileBucket(h, 0.99)), "in (0.5, 1] s");
  assert.equal(formatBucket(quantileBucket(h, 1)), "in (1, 2.5] s");
  assert.equal(formatBucket(quantileBucket(h, 0.1)), "<= 0.05 s");
  assert.equal(formatBucket(quantileBucket(h, 0.11)), "in (0.05, 0.1] s");
});

test("boundary ranks: a quantile landing on a bucket's exact cumulative count stays in it", () => {
  // 40 of 100 at or below 0.1: the 40th observation (q = 0.4) is in (0.05, 0.1], the 41st above.
  const h = histogramOf(exposition([10, 40, 70, 90, 99, 100], 1));
  assert.equal(formatBucket(quantileBucket(h, 0.4)), "in (0.05, 0.1] s");
  assert.equal(formatBucket(quantileBucket(h, 0.41)), "in (0.1, 0.25] s");
});

test("everything in the first bucket, and observations past the last bound", () => {
  const fast = histogramOf(exposition([7, 7], 0.07));
  for (const q of [0.5, 0.99, 1]) assert.equal(formatBucket(quantileBucket(fast, q)), "<= 0.05 s");
  const slow = histogramOf(exposition([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 98, 100], 10_000));
  assert.equal(formatBucket(quantileBucket(slow, 0.5)), "in (60, 300] s");
  assert.equal(formatBucket(quantileBucket(slow, 0.99)), "> 300 s");
  assert.equal(formatBucket(quantileBucket(slow, 1)), "> 300 s");
  assert.deepEqual(quantileBucket(slow, 1), { lower: 300, upper: Number.POSITIVE_INFINITY });
});

test("a single observation: every quantile is its bucket", () => {
  const h = histogramOf(exposition([0, 0, 0, 0, 1, 1], 0.7));
  for (const q of [0.01, 0.5, 0.99, 1]) assert.equal(formatBucket(quantileBucket(h, q)), "in (0.5, 1] s");
});

test("no observation: no quantile, no mean", () => {
  const h = histogramOf(exposition([0], 0));
  assert.equal(h.count, 0);
  assert.equal(quantileBucket(h, 0.5), undefined);
  assert.equal(formatBucket(quantileBucket(h, 0.5)), "n/a");
  assert.equal(histogramMean(h), undefined);
  const s = summarizeLatency(h);
  assert.equal(s.jobs, 0);
  assert.equal(s.p99, undefined);
});

test("label sets are summed, buckets sorted whatever their order, other metrics ignored", () => {
  const text = [
    exposition([1, 2, 3, 4, 5, 6], 3, 'process="worker",instance="a"'),
    exposition([0, 0, 0, 0, 0, 2], 4, 'process="worker",instance="b"'),
    'interactive_group_jobs_bucket{le="1",process="worker"} 999',
  ]
    .join("")
    .split("\n")
    .reverse()
    .join("\n");
  const h = histogramOf(text);
  assert.equal(h.count, 8);
  assert.equal(h.sum, 7);
  assert.deepEqual(
    h.buckets.map((b) => b.le),
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, Number.POSITIVE_INFINITY],
  );
  assert.deepEqual(h.buckets[5], { le: 2.5, count: 8 });
  assert.equal(formatBucket(quantileBucket(h, 1)), "in (1, 2.5] s");
});

test("without a _count the +Inf bucket is the count; a missing histogram is undefined", () => {
  const text = `${NAME}_bucket{le="0.1"} 3\n${NAME}_bucket{le="+Inf"} 5\n${NAME}_sum 1\n`;
  const h = histogramOf(text);
  assert.equal(h.count, 5);
  assert.equal(formatBucket(quantileBucket(h, 0.99)), "> 0.1 s");
  assert.equal(histogramFromSamples(parsePrometheusSeries("other_metric 1\n"), NAME), undefined);
});

test("q outside (0, 1] is refused", () => {
  const h = histogramOf(exposition([1], 0.01));
  assert.throws(() => quantileBucket(h, 0), RangeError);
  assert.throws(() => quantileBucket(h, 1.5), RangeError);
});

test("the latency summary: jobs, p50, p99, max, mean", () => {
  const s = summarizeLatency(histogramOf(exposition([0, 50, 80, 95, 99, 99, 100], 30)));
  assert.equal(s.jobs, 100);
  assert.equal(formatBucket(s.p50), "in (0.05, 0.1] s");
  assert.equal(formatBucket(s.p99), "in (0.5, 1] s");
  assert.equal(formatBucket(s.max), "in (2.5, 5] s");
  assert.equal(s.meanSeconds, 0.3);
});
