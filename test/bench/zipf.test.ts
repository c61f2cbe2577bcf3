import assert from "node:assert/strict";
import { test } from "node:test";
import { articleSampler, mulberry32, planBacklog, searchCdf, zipfCdf } from "../../bench/peers/zipf.js";

test("the PRNG is deterministic per seed and uniform in [0, 1)", () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const xs = Array.from({ length: 10_000 }, () => a());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b()),
  );
  assert.notEqual(xs[0], c());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
});

test("the Zipf CDF rises to exactly 1, rank k weighing 1/k^s", () => {
  const cdf = zipfCdf(4, 1);
  const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
  assert.ok(Math.abs((cdf[0] ?? 0) - 1 / h) < 1e-12);
  assert.ok(Math.abs((cdf[1] ?? 0) - (1 + 1 / 2) / h) < 1e-12);
  assert.equal(cdf[3], 1);
  const big = zipfCdf(100_000, 1.1);
  for (let k = 1; k < big.length; k++) assert.ok((big[k] ?? 0) >= (big[k - 1] ?? 0));
  assert.equal(big[big.length - 1], 1);
  assert.throws(() => zipfCdf(0, 1.1), RangeError);
});

test("the binary search finds the first rank whose CDF exceeds u", () => {
  const cdf = Float64Array.from([0.5, 0.75, 0.9, 1]);
  assert.equal(searchCdf(cdf, 0), 0);
  assert.equal(searchCdf(cdf, 0.4999), 0);
  assert.equal(searchCdf(cdf, 0.5), 1);
  assert.equal(searchCdf(cdf, 0.8), 2);
  assert.equal(searchCdf(cdf, 0.9), 3);
  assert.equal(searchCdf(cdf, 0.999999), 3);
  assert.equal(searchCdf(Float64Array.from([1]), 0.3), 0);
});

test("skew 0 is an even round robin over the articles", () => {
  const next = articleSampler(3, 0, 42);
  assert.deepEqual(
    Array.from({ length: 7 }, (_, i) => next(i)),
    [1, 2, 3, 1, 2, 3, 1],
  );
  const plan = planBacklog(10, 4, 0, 1);
  assert.deepEqual(
    [...plan.expected],
    [
      ["1", 3],
      ["2", 3],
      ["3", 2],
      ["4", 2],
    ],
  );
  assert.deepEqual(plan.hottest(3), ["1", "2", "3"]);
});

test("a Zipf backlog: same seed, same backlog; exact counts; article 1 the hottest", () => {
  const a = planBacklog(50_000, 1000, 1.1, 7);
  const b = planBacklog(50_000, 1000, 1.1, 7);
  const c = planBacklog(50_000, 1000, 1.1, 8);
  assert.deepEqual(a.aids, b.aids);
  assert.notDeepEqual(a.aids, c.aids);
  assert.equal(
    [...a.expected.values()].reduce((s, n) => s + n, 0),
    50_000,
  );
  let checksum = 0;
  for (const aid of a.aids) {
    assert.ok(aid >= 1 && aid <= 1000);
    checksum = (checksum + aid) >>> 0;
  }
  assert.equal(a.aidChecksum, checksum);
  const hot = a.hottest(10);
  assert.equal(hot[0], "1");
  const counts = hot.map((id) => a.expected.get(id) ?? 0);
  assert.deepEqual(
    counts,
    [...counts].sort((x, y) => y - x),
  );
  // P(rank 1) = 1 / H(1000, 1.1)
  let h = 0;
  for (let k = 1; k <= 1000; k++) h += k ** -1.1;
  const share = (a.expected.get("1") ?? 0) / 50_000;
  assert.ok(Math.abs(share - 1 / h) < 0.01, `share of article 1: ${share}, expected ${1 / h}`);
});

test("Zipf 1.1 over 100,000 articles: distinct articles as the stack notes measured", () => {
  // Stack notes: 120,000 events -> ~19,400 distinct; 1,000,000 -> ~64,700.
  const distinct120k = planBacklog(120_000, 100_000, 1.1, 42).expected.size;
  assert.ok(Math.abs(distinct120k - 19_400) / 19_400 < 0.05, `120,000 events: ${distinct120k} distinct`);
  const distinct1m = planBacklog(1_000_000, 100_000, 1.1, 42).expected.size;
  assert.ok(Math.abs(distinct1m - 64_700) / 64_700 < 0.05, `1,000,000 events: ${distinct1m} distinct`);
});
