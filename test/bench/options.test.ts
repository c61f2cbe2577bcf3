import assert from "node:assert/strict";
import { test } from "node:test";
import { formatCommand, parsePeersArgs, UsageError } from "../../bench/peers/options.js";

test("defaults: 1M events, Zipf 1.1 over 100,000 articles, 6 partitions, all designs, written", () => {
  assert.deepEqual(parsePeersArgs([]), {
    count: 1_000_000,
    articles: 100_000,
    skew: 1.1,
    partitions: 6,
    designs: ["ceiling", "oracle", "seed", "naive", "pipeline"],
    out: "docs/benchmarks.md",
    write: true,
    timeoutS: 1800,
    seed: 42,
  });
});

test("flags", () => {
  const o = parsePeersArgs([
    "--count",
    "50000",
    "--articles=10000",
    "--skew",
    "0",
    "--partitions",
    "3",
    "--designs",
    "pipeline, seed,pipeline",
    "--no-write",
    "--timeout-s",
    "60",
    "--seed",
    "7",
  ]);
  assert.equal(o.count, 50_000);
  assert.equal(o.articles, 10_000);
  assert.equal(o.skew, 0);
  assert.equal(o.partitions, 3);
  assert.deepEqual(o.designs, ["pipeline", "seed"]);
  assert.equal(o.write, false);
  assert.equal(o.timeoutS, 60);
  assert.equal(o.seed, 7);
  assert.equal(parsePeersArgs(["--out", "/tmp/b.md"]).out, "/tmp/b.md");
  assert.equal(parsePeersArgs(["--skew", "0.8"]).skew, 0.8);
});

test("bad flags are usage errors naming the flag", () => {
  const bad: [string[], RegExp][] = [
    [["--count", "0"], /--count/],
    [["--count", "1e6"], /--count/],
    [["--articles", "-5"], /--articles|argument/],
    [["--skew", "abc"], /--skew/],
    [["--skew", "-1"], /--skew|argument/],
    [["--partitions", "1.5"], /--partitions/],
    [["--designs", "seed,fast"], /--designs/],
    [["--designs", ","], /--designs/],
    [["--timeout-s", "0"], /--timeout-s/],
    [["--bogus"], /bogus/],
    [["--no-write", "--out", "x.md"], /--out and --no-write/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(
      () => parsePeersArgs(argv),
      (err: unknown) => {
        assert.ok(err instanceof UsageError, `${argv.join(" ")}: ${String(err)}`);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test("the command as typed, quoted where a shell needs it", () => {
  assert.equal(formatCommand([]), "npm run bench:peers");
  assert.equal(
    formatCommand(["--count", "50000", "--designs", "seed,pipeline"]),
    "npm run bench:peers -- --count 50000 --designs seed,pipeline",
  );
  assert.equal(formatCommand(["--out", "my docs/b.md"]), "npm run bench:peers -- --out 'my docs/b.md'");
});
