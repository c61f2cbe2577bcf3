// The renderer: the recorded runs' figures come out as docs/benchmarks.md holds them; cells for
// what went wrong; sections replaced between their markers; the chart.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as r from "../../bench/lib/render.js";

type Over = Partial<r.DesignResult>;
const articles = (off: number): r.ExactCheck => ({ kind: "articles", articles: 34_760, off, examples: [] });
const design = (name: r.DesignName, eventsPerSecond: number, drainSeconds: number, over: Over = {}) => {
  const blank = { ...r.blankDesign(name, 300_000), counted: 300_000, exact: articles(0), redisPeakBytes: 0 };
  const measured = { eventsPerSecond, drainSeconds, mongoDocOpsPer1k: 1000, mongoRoundTripsPer1k: 1000 };
  return { ...blank, ...measured, cache: { keys: 1000, off: 0, dropped: 0 }, ...over };
};
const mongo = (docs: number, trips: number): Over => ({
  mongoDocOpsPer1k: docs,
  mongoRoundTripsPer1k: trips,
});
const parsed: r.ExactCheck = { kind: "parsed", parsed: 300_000, checksumOk: true };
const firstBatch = { secondsToFirstBatch: 0.58, eventsPerSecondFromFirstBatch: 1_155_362 };
// The 300,000-event run recorded in docs/benchmarks.md.
const recorded = r.withRatios([
  design("ceiling", 357_317, 0.84, { ...mongo(0, 0), exact: parsed, cache: null, details: firstBatch }),
  design("oracle", 12_016, 24.97, { ...mongo(115.9, 0.1), cache: null }),
  design("seed", 1807, 166.05),
  design("naive", 1697, 176.8, { redisPeakBytes: 67.6 * 2 ** 20 }),
  design("pipeline", 9336, 32.13, {
    ...mongo(138.4, 0),
    redisPeakBytes: 2.7 * 2 ** 20,
    mongoNote: "from the worker",
  }),
]);

test("the recorded 300,000-event run renders to the rows docs/benchmarks.md holds", () => {
  assert.deepEqual(r.peersTable(recorded).split("\n").slice(2), [
    "| `ceiling` | kafkajs eachBatch read + JSON.parse only, no writes | **357,317** | - | 198x | 0.8 s | 0 | 0 | 0.0 MiB | n/a (no writes); parsed 300,000 of 300,000, Aid checksum ok |",
    "| `oracle` | the limit: whole backlog summed in memory, each distinct article written once | **12,016** | 100% | 6.65x | 25.0 s | 115.9 | 0.1 | 0.0 MiB | exact (34,760 articles) |",
    "| `seed` | the Go service's per-message path: Lua + 1 updateOne per event | **1,807** | 15% | 1.00x | 166.1 s | 1,000 | 1,000 | 0.0 MiB | exact (34,760 articles); cache exact |",
    "| `naive` | naive BullMQ: 1 job per event, Lua + updateOne per job | **1,697** | 14% | 0.94x | 176.8 s | 1,000 | 1,000 | 67.6 MiB | exact (34,760 articles); cache exact |",
    "| `pipeline` | this project: ingestor + worker processes, default settings | **9,336** | 78% | 5.17x | 32.1 s | 138.4 | 0 | 2.7 MiB | exact (34,760 articles); cache exact |",
  ]);
  const withoutSeedAndOracle = r.withRatios(recorded.slice(3));
  assert.ok(withoutSeedAndOracle.every((x) => x.vsSeed === null && x.ofLimit === null));
});

test("counts off, dropped cache keys, a timeout and a failure show in their cells", () => {
  const off = design("seed", 1, 1, {
    counted: 299_990,
    exact: articles(7),
    cache: { keys: 1000, off: 2, dropped: 0 },
  });
  const dropped = design("pipeline", 1, 1, { cache: { keys: 1000, off: 0, dropped: 40 } });
  const timedOut = design("naive", 1000, 150, { counted: 150_000, timedOut: true });
  const failed = design("pipeline", 0, 3, { failure: "the worker process exited (code 1)" });
  const rows = r.peersTable(r.withRatios([off, dropped, timedOut, failed])).split("\n");
  assert.match(
    rows[2] ?? "",
    /\| \*\*7 of 34,760 articles off\*\* \(total 299,990\); \*\*2 of 1000 cache keys off\*\* \|$/,
  );
  assert.match(rows[3] ?? "", /; cache exact, 40 of 1000 keys dropped \(filled again by reads\) \|$/);
  assert.match(rows[4] ?? "", /\*\*1,000\*\* \(timed out after 150 s, 50% counted\)/);
  assert.match(rows[5] ?? "", /\*\*0\*\* \(failed after 3\.0 s\)/);
});

const info = {
  date: "2026-12-03",
  machine: "2 cores, 24 GB",
  commit: "23e2efb",
  command: "npm run bench:peers",
};
const backlog = { count: 300_000, articles: 100_000, skew: 1.1, partitions: 6, seed: 42, distinct: 34_760 };
const report: r.PeersReport = { kind: "peers", ...info, backlog, hotKeys: 1000, results: recorded };

test("the peers section: its size's markers, the run, the table, the chart, the notes; replaced in place", () => {
  const s = r.peersSection(report, { link: "benchmarks-peers-300000.png" });
  const [start, end] = ["<!-- peers:300000:start -->", "<!-- peers:300000:end -->"];
  assert.ok(s.startsWith(`${start}\n## Side by side with the designs it replaces, 300,000 events`));
  assert.ok(s.endsWith(`\n${end}`));
  for (const part of [
    "2026-12-03, this machine (2 cores, 24 GB), local services as `npm run services:up` starts them, at commit 23e2efb:",
    "Zipf s=1.1 over articles 1..100,000 (PRNG seed 42): **34,760 distinct articles**",
    `\n${r.peersTable(recorded)}\n\n![events/s per design, same backlog](benchmarks-peers-300000.png)\n`,
    "- `ceiling` from its first batch (without connecting and joining the group, 0.58 s): 1,155,362 events/s.",
    "- `pipeline` MongoDB figures: from the worker",
  ]) {
    assert.ok(s.includes(part), part);
  }
  const doc = `# B\n\n${start}\nold\n${end}\n\n<!-- live:start -->\nlive\n<!-- live:end -->\n`;
  assert.equal(r.replaceMarked(doc, s), doc.replace(`${start}\nold\n${end}`, s));
  assert.equal(r.replaceMarked("# B\n\ntext\n\n", s), `# B\n\ntext\n\n${s}\n`);
  assert.throws(() => r.replaceMarked(`${end}\n${start}`, s), /out of order/);
  assert.throws(() => r.replaceMarked(`${start}\nonly`, s), /only one/);
});

test("the chart: a bar per design labelled with events/s and its ratios, text escaped", () => {
  assert.equal(
    r.barLabel(recorded[2] as r.DesignResult),
    "1,807 events/s, 15% of the limit, 1.00x (the seed)",
  );
  const svg = r.chartSvg({
    ...report,
    date: "<&>",
    results: [...recorded, { ...recorded[4], failure: "x" }] as r.DesignResult[],
  });
  assert.equal(svg.match(/<rect x="300"/g)?.length, 6);
  assert.match(
    svg,
    /font-size="14" text-anchor="end" fill="#ffffff" font-weight="bold">357,317 events\/s, 198x seed</,
  );
  assert.match(
    svg,
    /<text x="311.9" y="224" font-size="14" fill="#1f2933" font-weight="bold">1,807 events\/s/,
  );
  assert.match(svg, /&#60;&#38;&#62;<\/text>/);
  assert.match(svg, /9,336 events\/s, 78% of the limit, 5\.17x seed \(failed\)<\/text>/);
});

const rate = (targetRate: number, p99: [string, number], over: Partial<r.RateResult> = {}) => {
  const latency = { jobs: 2797, p50: "in (0.1, 0.25] s", p99: p99[0], max: "in (0.5, 1] s", buckets: [] };
  const sent = { planned: 0, acked: targetRate * 60, failed: 0, firstError: null, seconds: 60, maxOwed: 0 };
  return {
    ...r.blankRate(targetRate),
    producer: { ...sent, achievedRate: targetRate, maxLateMs: 26, fellBehind: false },
    inTopic: targetRate * 60,
    counted: targetRate * 60,
    latency: { ...latency, p99UpperSeconds: p99[1], meanSeconds: 0.2441 },
    drainSeconds: 0.96,
    cpu: { seconds: 60, ingestorPercent: 10.1, workerPercent: 9.1 },
    exact: { articles: 19_453, off: 0, examples: [] },
    ...over,
  };
};
const lag = (atEnd: number, steady: boolean, text: string) => ({ atEnd, verdict: { steady, text } });
// Rates of the live run recorded in docs/benchmarks.md (the 4,000/s one abridged).
const live = [
  rate(2000, ["in (0.25, 0.5] s", 0.5], {
    lag: { ...lag(358, true, "steady"), slopePerSecond: 1, samples: [] },
  }),
  rate(4000, ["in (5, 10] s", 10], {
    lag: { ...lag(11_801, false, "growing"), slopePerSecond: 99, samples: [] },
  }),
];

test("live rows and their summary as docs/benchmarks.md holds them", () => {
  const rows = r.rateTable(live).split("\n");
  assert.equal(
    rows[2],
    "| 2,000/s | 2,000/s | kept up (max 26 ms late) | in (0.1, 0.25] s | in (0.25, 0.5] s | in (0.5, 1] s | 0.244 s | 2,797 | steady (358 behind) | 0.960 s | 10.1% / 9.10% | exact (120,000 reads, 19,453 articles) |",
  );
  assert.match(rows[3] ?? "", /\| growing; \+99 messages\/s over the 2nd half \|/);
  assert.deepEqual(r.saturationSummary(live), [
    "- Saturation: the lag stayed steady up to 2,000/s and grew at 4,000/s, so the pipeline saturates between those rates.",
    "- Highest rate measured with a steady lag and p99 <= 1 s (its bucket's upper bound): **2,000/s** (p99 in (0.25, 0.5] s).",
  ]);
  assert.deepEqual(r.saturationSummary(live.slice(1)), [
    "- Saturation: the lag grew at every rate measured (4,000/s): saturated below the lowest.",
    "- No rate measured had both a steady lag and p99 <= 1 s.",
  ]);
  const ingestor = { pid: 18124, cpuSeconds: 0.82, percentOfOneCore: 1.367 };
  const idle = r.idleTable({ ...r.blankIdle(5), seconds: 60, ingestor, failure: "interrupted" });
  assert.match(
    idle,
    /\n\| ingestor \(pid 18124\) \| 0\.82 s \| \*\*1\.37%\*\* \|\n\| worker \| n\/a \| n\/a \|\n/,
  );
  assert.match(idle, /\n\nIdle measurement failed: interrupted$/);
});

test("live cells: fell behind with failed sends, counts off, a drain that timed out, a failed rate", () => {
  const failed = rate(2000, ["", 1], { failure: "the worker | exited" });
  const behind = { acked: 119_000, failed: 1000, achievedRate: 1951, maxLateMs: 1210, maxOwed: 12_000 };
  assert.ok(failed.producer);
  const producer = { ...failed.producer, ...behind, fellBehind: true };
  const row = r.rateTable([{ ...failed, producer }]).split("\n")[2] ?? "";
  assert.ok(
    row.startsWith(
      "| 2,000/s (failed: the worker \\| exited) | 1,951/s | **fell behind** (max 1,210 ms late, ",
    ),
  );
  assert.match(row, /up to 12,000 events waiting to be sent\); \*\*1,000 events in failed sends\*\* \|/);
  const timedOut = rate(2000, ["", 1], { drainTimedOut: true, counted: 1000 });
  assert.equal(r.rateExactCell(timedOut), "**timed out: 1,000 of 120,000 counted**");
  assert.match(r.rateTable([timedOut]), /\| > 0\.960 s \(timed out\) \|/);
  const off = rate(2000, ["", 1], { counted: 119_990, exact: { articles: 30_000, off: 3, examples: [] } });
  const offText = "**3 of 30,000 articles off** (counted 119,990, in topic 120,000, acknowledged 120,000)";
  assert.equal(r.rateExactCell(off), offText);
});
