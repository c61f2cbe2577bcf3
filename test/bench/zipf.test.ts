// The backlog's article ids: deterministic per seed, Zipf-shaped, and the very backlogs the
// recorded runs drained.
import assert from "node:assert/strict";
import { test } from "node:test";
import { articleSampler, mulberry32, planBacklog, zipfCdf } from "../../bench/lib/zipf.js";

test("the PRNG is deterministic per seed and uniform in [0, 1)", () => {
  const [a, b, c] = [mulberry32(42), mulberry32(42), mulberry32(43)];
  const xs = Array.from({ length: 10_000 }, () => a());
  assert.deepEqual(xs.slice(0, 3), [b(), b(), b()]);
  assert.notEqual(xs[0], c());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5) < 0.01);
});

test("the Zipf CDF rises to exactly 1, rank k weighing 1/k^s; skew 0 is an even round robin", () => {
  const cdf = zipfCdf(4, 1);
  const h = 1 + 1 / 2 + 1 / 3 + 1 / 4;
  assert.ok(Math.abs((cdf[0] ?? 0) - 1 / h) < 1e-12 && Math.abs((cdf[1] ?? 0) - 1.5 / h) < 1e-12);
  assert.equal(cdf[3], 1);
  assert.deepEqual([0, 1, 2, 3, 4].map(articleSampler(3, 0, 42)), [1, 2, 3, 1, 2]);
});

test("a Zipf backlog: same seed, same backlog; exact counts; article 1 the hottest at its share", () => {
  const a = planBacklog(50_000, 1000, 1.1, 7);
  assert.deepEqual(a.aids, planBacklog(50_000, 1000, 1.1, 7).aids);
  assert.notDeepEqual(a.aids, planBacklog(50_000, 1000, 1.1, 8).aids);
  assert.equal(
    [...a.expected.values()].reduce((s, n) => s + n, 0),
    50_000,
  );
  assert.equal(
    a.aidChecksum,
    a.aids.reduce((s, aid) => (s + aid) >>> 0, 0),
  );
  const counts = a.hottest(10).map((id) => a.expected.get(id) ?? 0);
  assert.deepEqual([a.hottest(1), counts], [["1"], [...counts].sort((x, y) => y - x)]);
  let h = 0;
  for (let k = 1; k <= 1000; k++) h += k ** -1.1;
  assert.ok(Math.abs((a.expected.get("1") ?? 0) / 50_000 - 1 / h) < 0.01);
});

test("the recorded backlogs: Zipf 1.1 over 100,000 articles, seed 42, as docs/benchmarks.md counts them", () => {
  assert.equal(planBacklog(300_000, 100_000, 1.1, 42).expected.size, 34_760);
  assert.equal(planBacklog(1_000_000, 100_000, 1.1, 42).expected.size, 64_645);
});
