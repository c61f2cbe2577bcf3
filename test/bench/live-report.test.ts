import assert from "node:assert/strict";
import { test } from "node:test";
import { histogramFromSamples, summarizeLatency } from "../../bench/live/histogram.js";
import {
  END_MARKER,
  emptyRateResult,
  exactCell,
  type IdleResult,
  idleTable,
  jsonLine,
  lagCell,
  producerCell,
  type RateResult,
  rateTable,
  renderSection,
  replaceSection,
  START_MARKER,
  saturationSummary,
} from "../../bench/live/report.js";
import { parsePrometheusSeries } from "../../bench/peers/measure.js";

const NAME = "interactive_end_to_end_latency_seconds";
const BOUNDS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "300", "+Inf"];

function latency(cumulative: number[], sum: number) {
  const text = BOUNDS.map(
    (le, i) => `${NAME}_bucket{le="${le}"} ${cumulative[i] ?? cumulative[cumulative.length - 1]}`,
  ).join("\n");
  const h = histogramFromSamples(parsePrometheusSeries(`${text}\n${NAME}_sum ${sum}\n`), NAME);
  assert.ok(h);
  return summarizeLatency(h);
}

function rateResult(rate: number, over: Partial<RateResult>): RateResult {
  const events = rate * 60;
  return {
    ...emptyRateResult(rate, 60),
    producer: {
      planned: events,
      acked: events,
      failed: 0,
      firstError: null,
      seconds: 60.01,
      achievedRate: rate,
      maxLateMs: 12,
      maxOwed: rate / 100,
      maxInFlightSeen: 3,
      ackTailMs: 15,
      fellBehind: false,
    },
    inTopic: events,
    counted: events,
    drainSeconds: 0.8,
    exact: { articles: 30_000, off: 0, examples: [] },
    cpu: { seconds: 60.2, ingestorPercent: 21.5, workerPercent: 64.2 },
    failedJobs: 0,
    lag: { atEnd: 350, verdict: { steady: true, text: "steady" }, slopePerSecond: 3, samples: [] },
    ...over,
  };
}

const steady2000 = rateResult(2000, { latency: latency([0, 0, 10, 60, 99, 100], 40) });
const growing10000 = rateResult(10_000, {
  latency: latency([0, 0, 0, 0, 0, 0, 0, 10, 60, 99, 100], 2400),
  lag: {
    atEnd: 210_000,
    verdict: { steady: false, text: "growing (210,000 messages behind at the end)" },
    slopePerSecond: 3500,
    samples: [{ t: 2, lag: 9000 }],
  },
  drainSeconds: 64.3,
  producer: {
    planned: 600_000,
    acked: 600_000,
    failed: 0,
    firstError: null,
    seconds: 61.2,
    achievedRate: 9804,
    maxLateMs: 1210,
    maxOwed: 12_000,
    maxInFlightSeen: 64,
    ackTailMs: 1200,
    fellBehind: true,
  },
});

const idle: IdleResult = {
  kind: "idle",
  seconds: 60.01,
  settleSeconds: 5,
  clockTicksPerSecond: 100,
  clockTicksAssumed: false,
  ingestor: { pid: 101, cpuSeconds: 0.9, percentOfOneCore: 1.5 },
  worker: { pid: 102, cpuSeconds: 3, percentOfOneCore: 5 },
  both: { cpuSeconds: 3.9, percentOfOneCore: 6.5 },
  failure: null,
};

test("the rate table: one row per rate, quantiles as buckets", () => {
  const table = rateTable([steady2000, growing10000]);
  const rows = table.split("\n");
  assert.equal(rows.length, 4);
  assert.match(
    rows[2] ?? "",
    /^\| 2,000\/s \| 2,000\/s \| kept up \(max 12 ms late\) \| in \(0\.25, 0\.5\] s \| in \(0\.5, 1\] s \| in \(1, 2\.5\] s \| 0\.400 s \| 100 \| steady \(350 behind\) \| 0\.800 s \| 21\.5% \/ 64\.2% \| exact \(120,000 reads, 30,000 articles\) \|$/,
  );
  assert.match(
    rows[3] ?? "",
    /\*\*fell behind\*\* \(max 1,210 ms late, up to 12,000 events waiting to be sent\)/,
  );
  assert.match(rows[3] ?? "", /\| in \(10, 30\] s \| in \(30, 60\] s \| in \(60, 300\] s \| 24\.0 s \|/);
  assert.match(
    rows[3] ?? "",
    /growing \(210,000 messages behind at the end\); \+3,500 messages\/s over the 2nd half \| 64\.3 s/,
  );
  for (const row of rows) assert.equal(row.split("|").length, 14, row);
});

test("cells for failures, timeouts and counts off", () => {
  assert.equal(producerCell(null), "n/a");
  const failedSends = rateResult(2000, {});
  if (failedSends.producer) failedSends.producer.failed = 500;
  assert.match(producerCell(failedSends.producer), /500 events in failed sends/);
  assert.equal(
    exactCell(rateResult(2000, { drainTimedOut: true, counted: 1000 })),
    "**timed out: 1,000 of 120,000 counted**",
  );
  assert.equal(
    exactCell(rateResult(2000, { counted: 119_990, exact: { articles: 30_000, off: 3, examples: [] } })),
    "**3 of 30,000 articles off** (counted 119,990, in topic 120,000, acknowledged 120,000)",
  );
  assert.equal(exactCell(emptyRateResult(2000, 60)), "n/a");
  assert.equal(lagCell(emptyRateResult(2000, 60)), "not measured");
  const broken = { ...emptyRateResult(4000, 60), failure: "the worker process exited (code 1)" };
  const row = rateTable([broken]).split("\n")[2] ?? "";
  assert.match(row, /^\| 4,000\/s \(failed: the worker process exited \(code 1\)\) \| n\/a \|/);
  assert.equal(row.split("|").length, 14);
});

test("the idle table: each process and both, percent of one core", () => {
  const table = idleTable(idle);
  assert.match(table, /\| process \| CPU time in 60\.0 s \| % of one core \|/);
  assert.match(table, /\| ingestor \(pid 101\) \| 0\.90 s \| \*\*1\.50%\*\* \|/);
  assert.match(table, /\| worker \(pid 102\) \| 3\.00 s \| \*\*5\.00%\*\* \|/);
  assert.match(table, /\| both \| 3\.90 s \| \*\*6\.50%\*\* \|/);
  const failed = idleTable({ ...idle, ingestor: null, worker: null, both: null, failure: "interrupted" });
  assert.match(failed, /\| both \| n\/a \| n\/a \|/);
  assert.match(failed, /Idle measurement failed: interrupted/);
});

test("saturation: between the highest steady and the lowest growing rate", () => {
  const lines = saturationSummary([growing10000, steady2000]);
  assert.match(lines[0] ?? "", /steady up to 2,000\/s and grew at 10,000\/s/);
  assert.match(lines[1] ?? "", /\*\*2,000\/s\*\* \(p99 in \(0\.5, 1\] s\)/);
  assert.match(saturationSummary([growing10000])[0] ?? "", /grew at every rate/);
  assert.match(saturationSummary([growing10000])[1] ?? "", /No rate measured/);
  assert.match(saturationSummary([steady2000])[0] ?? "", /steady at every rate measured \(2,000\/s\)/);
  const slowSteady = rateResult(1000, { latency: latency([0, 0, 0, 0, 0, 10], 20) });
  assert.match(saturationSummary([slowSteady])[1] ?? "", /No rate measured/);
  assert.deepEqual(saturationSummary([]), []);
});

test("JSON lines: quantiles as bucket text, +Inf as a string", () => {
  const rate = JSON.parse(jsonLine(growing10000, { run: "live-x" })) as Record<string, unknown>;
  assert.equal(rate.run, "live-x");
  assert.equal(rate.kind, "rate");
  assert.equal(rate.targetRate, 10_000);
  assert.deepEqual(rate.latency, {
    jobs: 100,
    p50: "in (10, 30] s",
    p99: "in (30, 60] s",
    max: "in (60, 300] s",
    meanSeconds: 24,
    buckets: BOUNDS.map((le, i) => [le, [0, 0, 0, 0, 0, 0, 0, 10, 60, 99, 100][i] ?? 100]),
  });
  const idleJson = JSON.parse(jsonLine(idle)) as Record<string, unknown>;
  assert.deepEqual(idleJson.both, { cpuSeconds: 3.9, percentOfOneCore: 6.5 });
});

const info = {
  date: "2026-12-01",
  command: "npm run bench:live",
  machine: "2 cores, 24 GB",
  commit: "b1ef1ef",
  articles: 100_000,
  skew: 1.1,
  partitions: 6,
  seed: 42,
  seconds: 60,
  maxInFlight: 64,
  tickMs: 10,
  drainTimeoutS: 600,
  idle,
  idleSeconds: 60,
  rates: [steady2000, growing10000],
};

test("the docs section: markers, date, command, both tables, how measured", () => {
  const section = renderSection(info);
  assert.ok(section.startsWith(`${START_MARKER}\n## Live latency and idle cost`));
  assert.ok(section.endsWith(END_MARKER));
  assert.match(section, /2026-12-01, this machine \(2 cores, 24 GB\).*at commit b1ef1ef/);
  assert.match(section, /```sh\nnpm run bench:live\n```/);
  assert.match(section, /\| both \| 3\.90 s \| \*\*6\.50%\*\* \|/);
  assert.match(section, /Zipf s=1\.1 over 100,000 articles \(PRNG seed 42\), 6 partitions/);
  assert.match(section, /\| 2,000\/s \| 2,000\/s \|/);
  assert.match(section, /How measured:/);
  assert.match(section, /clock ticks: 100\/s from `getconf CLK_TCK`/);
  const skipped = renderSection({ ...info, idle: null, idleSeconds: null, rates: [] });
  assert.match(skipped, /Not measured in this run \(`--skip-idle`\)/);
  assert.match(skipped, /No rate measured in this run/);
  assert.match(renderSection({ ...info, idle: { ...idle, clockTicksAssumed: true } }), /100\/s assumed/);
});

test("the section replaces the one between the markers, or is appended", () => {
  const section = `${START_MARKER}\nnew\n${END_MARKER}`;
  const doc = `# Benchmarks\n\nintro\n\n${START_MARKER}\nold\n${END_MARKER}\n\n<!-- peers:start -->\npeers\n<!-- peers:end -->\n`;
  assert.equal(
    replaceSection(doc, section),
    `# Benchmarks\n\nintro\n\n${START_MARKER}\nnew\n${END_MARKER}\n\n<!-- peers:start -->\npeers\n<!-- peers:end -->\n`,
  );
  assert.equal(replaceSection("# Benchmarks\n\ntext\n\n", section), `# Benchmarks\n\ntext\n\n${section}\n`);
  assert.throws(() => replaceSection(`${START_MARKER}\nonly the start`, section), /only one/);
  assert.throws(() => replaceSection(`${END_MARKER}\n${START_MARKER}`, section), /out of order/);
});
