import assert from "node:assert/strict";
import { test } from "node:test";
import { LAG_METRIC, lagSlope, lagVerdict, secondHalf, sumMetric } from "../../bench/live/lag.js";

const ingestorMetrics = (lags: number[]) =>
  [
    `# HELP ${LAG_METRIC} Messages between the group's committed offset and the partition's end`,
    `# TYPE ${LAG_METRIC} gauge`,
    ...lags.map((lag, p) => `${LAG_METRIC}{partition="${p}",process="ingestor"} ${lag}`),
    'interactive_open_jobs{process="ingestor"} 6',
    `${LAG_METRIC}_other 1000`,
  ].join("\n");

test("the lag is summed over the partitions", () => {
  assert.equal(sumMetric(ingestorMetrics([10, 0, 5, 3, 0, 2]), LAG_METRIC), 20);
  assert.equal(sumMetric(ingestorMetrics([0, 0, 0, 0, 0, 0]), LAG_METRIC), 0);
  assert.equal(sumMetric(ingestorMetrics([]), LAG_METRIC), undefined);
});

test("steady below one second of production at the end, else growing", () => {
  assert.deepEqual(lagVerdict(0, 2000), { steady: true, text: "steady" });
  assert.deepEqual(lagVerdict(1999, 2000), { steady: true, text: "steady" });
  assert.deepEqual(lagVerdict(2000, 2000), {
    steady: false,
    text: "growing (2,000 messages behind at the end)",
  });
  assert.equal(lagVerdict(123_456, 10_000).text, "growing (123,456 messages behind at the end)");
  assert.deepEqual(lagVerdict(undefined, 2000), { steady: null, text: "unknown (no lag sample at the end)" });
});

test("the slope of lag over time, least squares", () => {
  const growing = [0, 2, 4, 6, 8].map((t) => ({ t, lag: 100 + 2500 * t }));
  assert.equal(lagSlope(growing), 2500);
  const flat = [0, 2, 4].map((t, i) => ({ t, lag: [300, 100, 200][i] ?? 0 }));
  assert.ok(Math.abs(lagSlope(flat) ?? Number.NaN) <= 50);
  assert.equal(lagSlope([{ t: 1, lag: 5 }]), undefined);
  assert.equal(lagSlope([]), undefined);
  assert.equal(
    lagSlope([
      { t: 2, lag: 1 },
      { t: 2, lag: 9 },
    ]),
    undefined,
  );
});

test("the second half of the producing period", () => {
  const samples = [0, 2, 28, 30, 32, 60, 61.5].map((t) => ({ t, lag: t }));
  assert.deepEqual(
    secondHalf(samples, 60).map((s) => s.t),
    [30, 32, 60],
  );
});
