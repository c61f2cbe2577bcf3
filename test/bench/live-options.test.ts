import assert from "node:assert/strict";
import { test } from "node:test";
import { formatCommand, parseLiveArgs, UsageError } from "../../bench/live/options.js";

test("defaults: 2,000 and 10,000/s for 60 s, Zipf 1.1 over 100,000 articles, 60 s idle, written", () => {
  assert.deepEqual(parseLiveArgs([]), {
    rates: [2000, 10_000],
    seconds: 60,
    articles: 100_000,
    skew: 1.1,
    partitions: 6,
    idleSeconds: 60,
    out: "docs/benchmarks.md",
    write: true,
    drainTimeoutS: 600,
    maxInFlight: 64,
    tickMs: 10,
    seed: 42,
  });
});

test("flags", () => {
  const o = parseLiveArgs([
    "--rates",
    "1000, 2000,4000",
    "--seconds=20",
    "--idle-seconds",
    "10",
    "--no-write",
    "--articles",
    "500",
    "--skew",
    "0",
    "--max-in-flight",
    "8",
    "--tick-ms",
    "5",
  ]);
  assert.deepEqual(o.rates, [1000, 2000, 4000]);
  assert.equal(o.seconds, 20);
  assert.equal(o.idleSeconds, 10);
  assert.equal(o.write, false);
  assert.equal(o.articles, 500);
  assert.equal(o.skew, 0);
  assert.equal(o.maxInFlight, 8);
  assert.equal(o.tickMs, 5);
  assert.equal(parseLiveArgs(["--skip-idle"]).idleSeconds, null);
  assert.equal(parseLiveArgs(["--write"]).write, true);
  assert.equal(parseLiveArgs(["--out", "x.md"]).out, "x.md");
});

test("bad flags name themselves", () => {
  const bad: [string[], RegExp][] = [
    [["--rates", ""], /--rates/],
    [["--rates", "2000,fast"], /--rates/],
    [["--rates", "0"], /--rates/],
    [["--seconds", "-1"], /--seconds/],
    [["--skew", "abc"], /--skew/],
    [["--write", "--no-write"], /exclude/],
    [["--no-write", "--out", "x.md"], /exclude/],
    [["--skip-idle", "--idle-seconds", "5"], /exclude/],
    [["--bogus"], /bogus/],
    [["positional"], /positional|argument/i],
  ];
  for (const [argv, message] of bad) {
    assert.throws(
      () => parseLiveArgs(argv),
      (err: unknown) => err instanceof UsageError && message.test(err.message),
    );
  }
});

test("the command as typed", () => {
  assert.equal(formatCommand([]), "npm run bench:live");
  assert.equal(
    formatCommand(["--rates", "2000", "--seconds", "20", "--no-write"]),
    "npm run bench:live -- --rates 2000 --seconds 20 --no-write",
  );
  assert.equal(formatCommand(["--out", "my docs.md"]), "npm run bench:live -- --out 'my docs.md'");
});
