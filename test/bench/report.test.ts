import assert from "node:assert/strict";
import { test } from "node:test";
import { barLabel, escapeXml, renderChartSvg } from "../../bench/peers/chart.js";
import {
  DESCRIPTIONS,
  type DesignResult,
  exactCell,
  formatRatio,
  jsonLine,
  markdownTable,
  type RatedResult,
  renderSection,
  replaceSection,
  withRatios,
} from "../../bench/peers/report.js";

function result(
  over: Partial<DesignResult> & Pick<DesignResult, "design" | "eventsPerSecond">,
): DesignResult {
  return {
    events: 200_000,
    counted: 200_000,
    drainSeconds: 200_000 / over.eventsPerSecond,
    timedOut: false,
    failure: null,
    mongoDocOpsPer1k: 1000,
    mongoRoundTripsPer1k: 1000,
    mongoNote: null,
    redisPeakBytes: 1.8 * 2 ** 20,
    exact: { kind: "articles", articles: 27_060, off: 0, examples: [] },
    cache: { keys: 1000, off: 0 },
    errors: 0,
    details: {},
    ...over,
  };
}

const results = (): DesignResult[] => [
  result({
    design: "ceiling",
    eventsPerSecond: 466_000,
    mongoDocOpsPer1k: 0,
    mongoRoundTripsPer1k: 0,
    exact: { kind: "parsed", parsed: 200_000, checksumOk: true },
    cache: null,
    redisPeakBytes: 0,
    details: { secondsToFirstBatch: 0.35, eventsPerSecondFromFirstBatch: 512_345 },
  }),
  result({ design: "oracle", eventsPerSecond: 5312 }),
  result({ design: "seed", eventsPerSecond: 2656 }),
  result({ design: "naive", eventsPerSecond: 2524, redisPeakBytes: 54.8 * 2 ** 20 }),
  result({
    design: "pipeline",
    eventsPerSecond: 3061,
    mongoDocOpsPer1k: null,
    mongoRoundTripsPer1k: null,
    mongoNote: "n/a: no counters",
  }),
];

test("ratios to the seed path; none without a seed run", () => {
  const rated = withRatios(results());
  assert.deepEqual(
    rated.map((r) => r.vsSeed),
    [175.45, 2, 1, 0.95, 1.15],
  );
  assert.deepEqual(
    rated.map((r) => r.ofLimit),
    [null, 1, 0.5, 0.48, 0.58],
    "shares of the oracle's events/s (the ceiling writes nothing)",
  );
  assert.ok(withRatios(results().filter((r) => r.design !== "seed")).every((r) => r.vsSeed === null));
  assert.equal(formatRatio(175.45), "175x");
  assert.equal(formatRatio(12.34), "12.3x");
  assert.equal(formatRatio(1.15), "1.15x");
  assert.equal(formatRatio(null), "-");
});

test("one JSON line per design", () => {
  const [line] = withRatios(results()).map((r) => jsonLine(r, { run: "peers-x", seed: 42 }));
  const parsed = JSON.parse(line ?? "") as RatedResult & { run: string; seed: number };
  assert.equal(parsed.design, "ceiling");
  assert.equal(parsed.run, "peers-x");
  assert.equal(parsed.seed, 42);
  assert.equal(parsed.vsSeed, 175.45);
  assert.ok(!(line ?? "").includes("\n"));
});

test("the markdown table: one row per design, figures formatted", () => {
  const table = markdownTable(withRatios(results()));
  const lines = table.split("\n");
  assert.equal(lines.length, 2 + 5);
  assert.match(lines[0] ?? "", /^\| design \| what runs \| events\/s \| of the limit \| vs seed \|/);
  const cells = (i: number) => (lines[i] ?? "").split(" | ");
  assert.equal(lines[2]?.startsWith("| `ceiling` |"), true);
  assert.equal(cells(2)[2], "**466,000**");
  assert.equal(cells(2)[3], "-", "the ceiling writes nothing: no share of the limit");
  assert.equal(cells(2)[4], "175x");
  assert.match(lines[2] ?? "", /n\/a \(no writes\); parsed 200,000 of 200,000, Aid checksum ok/);
  assert.deepEqual([cells(3)[3], cells(3)[4]], ["100%", "2.00x"], "the oracle is the limit");
  assert.deepEqual([cells(4)[3], cells(4)[4]], ["50%", "1.00x"]);
  assert.equal(cells(4)[6], "1,000");
  assert.match(lines[5] ?? "", /54\.8 MiB \| exact \(27,060 articles\); cache exact \|$/);
  assert.match(lines[6] ?? "", /\| 58% \| 1\.15x \| .*\| n\/a \| n\/a \| 1\.8 MiB \|/);
  assert.ok(table.includes(DESCRIPTIONS.pipeline));
});

test("the exact-count cell names what is off, timeouts and failures show in events/s", () => {
  assert.equal(
    exactCell(
      result({
        design: "seed",
        eventsPerSecond: 1,
        counted: 199_990,
        exact: { kind: "articles", articles: 27_060, off: 7, examples: [] },
        cache: { keys: 1000, off: 2 },
      }),
    ),
    "**7 of 27,060 articles off** (total 199,990); **2 of 1000 cache keys off**",
  );
  assert.equal(
    exactCell(result({ design: "pipeline", eventsPerSecond: 1, cache: { keys: 1000, off: 0, dropped: 40 } })),
    "exact (27,060 articles); cache exact, 40 of 1000 keys dropped (filled again by reads)",
  );
  const [timedOut] = withRatios([
    result({ design: "naive", eventsPerSecond: 1000, counted: 100_000, drainSeconds: 100, timedOut: true }),
  ]);
  assert.match(
    markdownTable(timedOut ? [timedOut] : []),
    /\*\*1,000\*\* \(timed out after 100 s, 50% counted\)/,
  );
  const [failed] = withRatios([
    result({ design: "pipeline", eventsPerSecond: 0, failure: "the worker exited" }),
  ]);
  assert.match(markdownTable(failed ? [failed] : []), /\*\*0\*\* \(failed after/);
});

const section = (image: { link: string } | { missing: string }) =>
  renderSection({
    date: "2026-11-28",
    command: "npm run bench:peers -- --count 200000",
    machine: "2 cores, 24 GB",
    commit: "15d6561",
    backlog: {
      count: 200_000,
      articles: 100_000,
      skew: 1.1,
      partitions: 6,
      distinct: 27_060,
      seed: 42,
      hotKeys: 1000,
    },
    results: withRatios(results()),
    image,
  });

test("the docs section: date, command, machine, backlog, table, chart, notes, between markers", () => {
  const s = section({ link: "benchmarks-peers.png" });
  assert.ok(
    s.startsWith("<!-- peers:200000:start -->\n## Side by side with the designs it replaces, 200,000 events"),
  );
  assert.ok(s.endsWith("<!-- peers:200000:end -->"));
  assert.ok(s.includes("2026-11-28, this machine (2 cores, 24 GB)"));
  assert.ok(s.includes("at commit 15d6561"));
  assert.ok(s.includes("```sh\nnpm run bench:peers -- --count 200000\n```"));
  assert.ok(s.includes("Zipf s=1.1 over articles 1..100,000 (PRNG seed 42): **27,060 distinct articles**"));
  assert.ok(s.includes(markdownTable(withRatios(results()))));
  assert.ok(s.includes("![events/s per design, same backlog](benchmarks-peers.png)"));
  assert.ok(s.includes("- `pipeline` MongoDB figures: n/a: no counters"));
  assert.ok(
    s.includes(
      "- `ceiling` from its first batch (without connecting and joining the group, 0.35 s): 512,345 events/s.",
    ),
  );
  assert.ok(s.includes("- `seed`: the Go service's handler"));
  assert.ok(section({ missing: "chromium not found" }).includes("(No chart: chromium not found.)"));
});

test("each backlog size's section replaces its own, between its markers, or is appended", () => {
  const s = section({ link: "x.png" });
  const doc = "# Benchmarks\n\nintro\n";
  const appended = replaceSection(doc, s, 200_000);
  assert.equal(appended, `# Benchmarks\n\nintro\n\n${s}\n`);
  const again = replaceSection(`${appended}\n## Later\n`, "NEW", 200_000);
  assert.equal(again, "# Benchmarks\n\nintro\n\nNEW\n\n## Later\n");
  // Another size goes beside it.
  assert.equal(replaceSection(again, "1M", 1_000_000), `${again}\n1M\n`);
  const [start, end] = ["<!-- peers:200000:start -->", "<!-- peers:200000:end -->"];
  assert.throws(() => replaceSection(`a ${start} b`, s, 200_000), /only one/);
  assert.throws(() => replaceSection(`${end} ${start}`, s, 200_000), /out of order/);
});

test("the chart: a bar per design labelled with events/s and ratio, text escaped", () => {
  const rated = withRatios(results());
  assert.equal(barLabel(rated[0] as RatedResult), "466,000 events/s, 175x seed");
  assert.equal(barLabel(rated[2] as RatedResult), "2,656 events/s, 50% of the limit, 1.00x (the seed)");
  assert.equal(barLabel(rated[4] as RatedResult), "3,061 events/s, 58% of the limit, 1.15x seed");
  const svg = renderChartSvg(rated, { title: "a <b> & c", subtitle: "s", descriptions: DESCRIPTIONS });
  assert.ok(svg.startsWith("<svg "));
  assert.ok(svg.includes("a &#60;b&#62; &#38; c"));
  assert.equal(svg.match(/<rect x="300"/g)?.length, 5);
  for (const r of rated) assert.ok(svg.includes(escapeXml(barLabel(r))));
  // The longest bar holds its label (white, end-anchored); a short one has it after its end.
  assert.match(svg, /text-anchor="end" fill="#ffffff" font-weight="bold">466,000 events\/s/);
  assert.match(svg, /fill="#1f2933" font-weight="bold">2,656 events\/s/);
  const noSeed = withRatios(results().filter((r) => r.design !== "seed"));
  assert.equal(barLabel(noSeed[0] as RatedResult), "466,000 events/s");
});
