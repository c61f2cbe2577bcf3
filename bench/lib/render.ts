// The benchmarks' results as JSON (what a run writes beside docs/benchmarks.md) and the one
// renderer that turns them into the document's sections: a `bench:peers` run into the section
// between <!-- peers:<count>:start/end --> and its chart benchmarks-peers-<count>.png, a
// `bench:live` run into the section between <!-- live:start/end -->. The section's prose says how
// each figure was measured; a paragraph is one line, as in the document.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { launchChromium } from "../../test/support/chromium.js";
import type { ProducerFigures } from "../live/producer.js";
import type { LagSample, LatencySummary, lagVerdict } from "./measure.js";
import type { runInfo } from "./services.js";

export const DESIGNS = ["ceiling", "oracle", "seed", "naive", "pipeline"] as const;
export type DesignName = (typeof DESIGNS)[number];

/** When, on what, at which commit (null when unknown) and by which command a run was made. */
type RunInfo = ReturnType<typeof runInfo>;

export type ExactCheck =
  /** Every article's read_cnt against the backlog's exact count. */
  | { kind: "articles"; articles: number; off: number; examples: string[] }
  /** The ceiling writes nothing: it parsed every event (and the sum of their Aids is right). */
  | { kind: "parsed"; parsed: number; checksumOk: boolean };

/** A design's result, as a design that failed before measuring anything leaves it. */
export function blankDesign(design: DesignName, events: number) {
  return {
    design,
    events,
    /** Reads counted in MongoDB (events parsed, for the ceiling) once the design stopped. */
    counted: 0,
    drainSeconds: 0,
    eventsPerSecond: 0,
    timedOut: false,
    failure: null as string | null,
    mongoDocOpsPer1k: null as number | null,
    mongoRoundTripsPer1k: null as number | null,
    /** Where the MongoDB figures come from, when not from the benchmark's monitored client. */
    mongoNote: null as string | null,
    redisPeakBytes: 0,
    exact: { kind: "articles", articles: 0, off: 0, examples: [] } as ExactCheck,
    /** The filled hot cache keys: how many, how many hold another count, how many are gone. */
    cache: null as { keys: number; off: number; dropped: number } | null,
    /** Events or jobs the design saw fail. */
    errors: 0,
    details: {} as Record<string, number | string>,
  };
}

/** With events/s over the seed path's, and as a share of the oracle's (the limit), when they ran. */
export type DesignResult = ReturnType<typeof blankDesign> & { vsSeed: number | null; ofLimit: number | null };

export interface PeersReport extends RunInfo {
  kind: "peers";
  backlog: Record<"count" | "articles" | "skew" | "partitions" | "seed" | "distinct", number>;
  /** Cache keys filled before each design that follows the cache (the hottest articles'). */
  hotKeys: number;
  results: DesignResult[];
}

type Cpu = { cpuSeconds: number; percentOfOneCore: number };

/** The idle window's result: wall seconds between the two /proc reads, after settling. */
export const blankIdle = (settleSeconds: number) => ({
  seconds: 0,
  settleSeconds,
  ingestor: null as (Cpu & { pid: number }) | null,
  worker: null as (Cpu & { pid: number }) | null,
  both: null as Cpu | null,
  failure: null as string | null,
});
export type IdleResult = ReturnType<typeof blankIdle>;

/** A rate's result, as a measurement that failed before measuring anything leaves it. */
export function blankRate(targetRate: number) {
  const verdict: ReturnType<typeof lagVerdict> = { steady: null, text: "not measured" };
  return {
    targetRate,
    producer: null as ProducerFigures | null,
    /** Messages in the topic after producing: what must be counted. */
    inTopic: null as number | null,
    latency: null as LatencySummary | null,
    lag: {
      atEnd: null as number | null,
      verdict,
      slopePerSecond: null as number | null,
      samples: [] as LagSample[],
    },
    /** From the last acknowledged send until every message in the topic was counted. */
    drainSeconds: null as number | null,
    drainTimedOut: false,
    /** Reads in MongoDB, read once the drain ended. */
    counted: 0,
    exact: null as { articles: number; off: number; examples: string[] } | null,
    /** While producing, percent of one core. */
    cpu: null as { seconds: number; ingestorPercent: number; workerPercent: number } | null,
    /** Failed jobs and dead letters, and the worker's group means, from its /metrics at the end. */
    failedJobs: null as number | null,
    groups: null as Record<string, number> | null,
    failure: null as string | null,
  };
}
export type RateResult = ReturnType<typeof blankRate>;

interface LiveReport extends RunInfo {
  kind: "live";
  settings: Record<
    | "articles"
    | "skew"
    | "partitions"
    | "seed"
    | "seconds"
    | "maxInFlight"
    | "tickMs"
    | "drainTimeoutS"
    | "behindThresholdMs",
    number
  >;
  clockTicks: { perSecond: number; assumed: boolean };
  idle: IdleResult | null;
  rates: RateResult[];
}

type Report = PeersReport | LiveReport;

/** The ratios to the seed path and to the oracle (the limit), to two decimals. */
export function withRatios(results: readonly ReturnType<typeof blankDesign>[]): DesignResult[] {
  const seed = results.find((r) => r.design === "seed" && r.eventsPerSecond > 0);
  const oracle = results.find((r) => r.design === "oracle" && r.eventsPerSecond > 0);
  const ratio = (r: { eventsPerSecond: number }, to: { eventsPerSecond: number }) =>
    Math.round((r.eventsPerSecond / to.eventsPerSecond) * 100) / 100;
  return results.map((r) => ({
    ...r,
    vsSeed: seed ? ratio(r, seed) : null,
    ofLimit: oracle && r.design !== "ceiling" ? ratio(r, oracle) : null,
  }));
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ratioText = (r: number | null) =>
  r === null ? "-" : r >= 100 ? `${int(r)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
const percent = (p: number) => `${p < 10 ? p.toFixed(2) : p.toFixed(1)}%`;
const seconds = (s: number | null | undefined) =>
  s === undefined || s === null ? "n/a" : s < 10 ? `${s.toFixed(3)} s` : `${s.toFixed(1)} s`;

/** Each design in the table, on the chart (with its bar's colour), and in the section's list of what runs. */
const DESCRIPTIONS: Record<DesignName, [table: string, chart: string, runs: string, color: string]> = {
  ceiling: [
    "kafkajs eachBatch read + JSON.parse only, no writes",
    "kafkajs read + JSON.parse, no writes",
    "a kafkajs consumer (eachBatch, default fetch sizes, all partitions at once) that `JSON.parse`s every value and writes nothing; in the benchmark process.",
    "#9aa5b1",
  ],
  oracle: [
    "the limit: whole backlog summed in memory, each distinct article written once",
    "the limit: each distinct article written once",
    "the limit the issue set (a design that inserts the documents it knows are new can pass it, see below): a kafkajs consumer reads the whole backlog and sums per article in memory, then writes each distinct article once, `updateOne({biz, biz_id}, {$inc: {read_cnt: n}, $setOnInsert: {...}}, {upsert: true})` in unordered bulks of 5,000 in biz_id order, on the unique (biz, biz_id) index; no cache, no marks, no versions. Its doc ops per 1k events are the distinct-articles minimum.",
    "#888",
  ],
  seed: [
    "the Go service's per-message path: Lua + 1 updateOne per event",
    "Go path: Lua + updateOne per event",
    "the Go service's handler: a kafkajs consumer with eachMessage (one event at a time per partition, all partitions at once, offsets auto-committed every second as sarama does); per event `go-incr-if-present.lua` on the article's one cache key, then one `updateOne({biz, biz_id}, {$inc: {read_cnt: 1}, $set: {utime}, $setOnInsert: {...}}, {upsert: true})` on a collection with a unique index on (biz, biz_id), as the Go table (an upsert that loses the insert race for a new article is retried, as MySQL and MongoDB 4.2+ do by themselves); in the benchmark process.",
    "#e8913a",
  ],
  naive: [
    "naive BullMQ: 1 job per event, Lua + updateOne per job",
    "BullMQ: a job per event, same writes",
    "a kafkajs consumer that `addBulk`s one BullMQ job per event per Kafka batch (removeOnComplete), and a BullMQ Worker at concurrency 50 running the same Lua + `updateOne` per job; in the benchmark process.",
    "#d64545",
  ],
  pipeline: [
    "this project: ingestor + worker processes, default settings",
    "this project, default settings",
    "`node --import tsx src/main/ingestor.ts` and `node --import tsx workers/main.ts` as child processes with default settings (only topic, group, queue names, database, log level and HTTP ports are set); its cache keys are the project's own `interactive:article:<id>`.",
    "#2f6fdb",
  ],
};

function exactCell(r: DesignResult): string {
  const e = r.exact;
  const text =
    e.kind === "parsed"
      ? `n/a (no writes); parsed ${int(e.parsed)} of ${int(r.events)}, Aid checksum ${e.checksumOk ? "ok" : "WRONG"}`
      : e.off === 0 && r.counted === r.events
        ? `exact (${int(e.articles)} articles)`
        : `**${int(e.off)} of ${int(e.articles)} articles off** (total ${int(r.counted)})`;
  if (r.cache === null) return text;
  const { keys, off, dropped } = r.cache;
  if (off > 0) return `${text}; **${off} of ${keys} cache keys off**`;
  return dropped > 0
    ? `${text}; cache exact, ${dropped} of ${keys} keys dropped (filled again by reads)`
    : `${text}; cache exact`;
}

export function peersTable(results: readonly DesignResult[]): string {
  const per1k = (n: number | null) =>
    n === null ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: 1 });
  const rows = results.map((r) => {
    const eps =
      `**${int(r.eventsPerSecond)}**` +
      (r.failure !== null
        ? ` (failed after ${r.drainSeconds.toFixed(1)} s)`
        : r.timedOut
          ? ` (timed out after ${r.drainSeconds.toFixed(0)} s, ${Math.floor((r.counted / r.events) * 100)}% counted)`
          : "");
    const share = r.ofLimit === null ? "-" : `${Math.round(r.ofLimit * 100)}%`;
    const cells = [`\`${r.design}\``, DESCRIPTIONS[r.design][0], eps, share, ratioText(r.vsSeed)];
    cells.push(`${r.drainSeconds.toFixed(1)} s`, per1k(r.mongoDocOpsPer1k), per1k(r.mongoRoundTripsPer1k));
    cells.push(`${(r.redisPeakBytes / 2 ** 20).toFixed(1)} MiB`, exactCell(r));
    return `| ${cells.join(" | ")} |`;
  });
  return [
    "| design | what runs | events/s | of the limit | vs seed | drain | MongoDB doc ops / 1k events | MongoDB round trips / 1k events | Redis peak | exact count |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function heading(title: string, info: RunInfo): string[] {
  const commit = info.commit ? `, at commit ${info.commit}` : "";
  const when = `${info.date}, this machine (${info.machine}), local services as \`npm run services:up\` starts them${commit}:`;
  return [title, "", when, "", "```sh", info.command, "```"];
}

export function peersSection(report: PeersReport, image: { link: string } | { missing: string }): string {
  const { backlog: b, results } = report;
  const distribution =
    b.skew === 0
      ? `even round robin over articles 1..${int(b.articles)}`
      : `Zipf s=${b.skew} over articles 1..${int(b.articles)} (PRNG seed ${b.seed})`;
  const each = (line: (r: DesignResult) => string | undefined) =>
    results.flatMap((r) => line(r) ?? []).map((text) => `- ${text}`);
  return [
    `<!-- peers:${b.count}:start -->`,
    ...heading(
      `## Side by side with the designs it replaces, ${int(b.count)} events (\`npm run bench:peers\`)`,
      report,
    ),
    "",
    `One backlog of ${int(b.count)} ReadEvents in the Go producer's format (no key, round robin over ${b.partitions} partitions), ${distribution}: **${int(b.distinct)} distinct articles**. Each design drains that same topic with its own consumer group, one after the other, into its own MongoDB database and Redis keys; before each design that writes, the cache keys of the ${int(report.hotKeys)} hottest articles are filled (all counters 0) so the Lua script has work to do.`,
    "",
    ...DESIGNS.filter((d) => results.some((r) => r.design === d)).map(
      (d) => `- \`${d}\`: ${DESCRIPTIONS[d][2]}`,
    ),
    "",
    peersTable(results),
    "",
    "link" in image ? `![events/s per design, same backlog](${image.link})` : `(No chart: ${image.missing}.)`,
    "",
    "- events/s: backlog size / drain time, from the design's start (consumers created, processes spawned) until the design's own count of events done reached it (`ceiling`: parsed; `oracle`: in bulks acknowledged; `seed`: written; `naive`: jobs finished; `pipeline`: the group's committed offsets, asked of Kafka, since a range is committed once applied). Nothing polls the MongoDB being measured. Of the limit: events/s over the `oracle`'s. vs seed: over the `seed` design's.",
    "- MongoDB round trips: data commands (update, insert, delete, find, aggregate, getMore) sent; doc ops: their statements (updates, inserts, deletes) plus documents finds returned. Counted by a monitored MongoClient in the benchmark process for `oracle`, `seed` and `naive`.",
    "- Redis peak: `used_memory` sampled every 200 ms, peak minus the value just before the design (after the cache keys were filled). Exact count: every article's `read_cnt` against the backlog's count; cache: every filled key's `read_cnt` against it (a key the pipeline dropped, because a later write's version reached it first, is counted apart: the read path fills it).",
    ...each((r) => {
      const { eventsPerSecondFromFirstBatch: eps, secondsToFirstBatch: s } = r.details;
      if (typeof eps !== "number") return undefined;
      return `\`${r.design}\` from its first batch (without connecting and joining the group, ${s ?? "?"} s): ${int(eps)} events/s.`;
    }),
    ...each((r) => (r.mongoNote === null ? undefined : `\`${r.design}\` MongoDB figures: ${r.mongoNote}`)),
    ...each((r) => (r.failure === null ? undefined : `\`${r.design}\` failed: ${r.failure}`)),
    ...each((r) =>
      r.errors > 0 ? `\`${r.design}\`: ${int(r.errors)} events or jobs failed (see its JSON)` : undefined,
    ),
    `<!-- peers:${b.count}:end -->`,
  ].join("\n");
}

export function barLabel(r: DesignResult): string {
  const ratio =
    r.vsSeed === null ? "" : r.design === "seed" ? ", 1.00x (the seed)" : `, ${ratioText(r.vsSeed)} seed`;
  const limit =
    r.ofLimit === null || r.design === "oracle" ? "" : `, ${Math.round(r.ofLimit * 100)}% of the limit`;
  const status = r.failure !== null ? " (failed)" : r.timedOut ? " (timed out)" : "";
  return `${int(r.eventsPerSecond)} events/s${limit}${ratio}${status}`;
}

/** Horizontal bars of events/s, one per design, on a linear scale; each labelled with its ratios. */
export function chartSvg(report: PeersReport): string {
  const { backlog: b, results } = report;
  const [width, left, top, row] = [1100, 300, 78, 62];
  const height = top + row * results.length + 24;
  const max = Math.max(1, ...results.map((r) => r.eventsPerSecond));
  const text = (x: number | string, y: number, attrs: string, s: string) =>
    `<text x="${x}" y="${y}" ${attrs}>${s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)}</text>`;
  const bold = (size: number, fill: string) => `font-size="${size}" font-weight="bold" fill="${fill}"`;
  const fill = (color: string) => `fill="${color}" font-weight="bold"`;
  const distribution = `${b.skew === 0 ? "even round robin" : `Zipf s=${b.skew}`} over ${int(b.articles)} articles`;
  const subtitle = `${distribution} (${int(b.distinct)} distinct), ${b.partitions} partitions, ${report.date}`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(20, 32, bold(19, "#1f2933"), `events/s draining the same backlog of ${int(b.count)} ReadEvents`),
    text(20, 56, 'font-size="13" fill="#52606d"', subtitle),
  ];
  results.forEach((r, i) => {
    const y = top + i * row;
    const w = Math.max(2, (r.eventsPerSecond / max) * (width - left - 30));
    const label = barLabel(r);
    // A label goes inside a bar long enough for it (14 px bold digits are ~9.2 px), else after it.
    const inside = w >= label.length * 9.2 + 20;
    parts.push(
      text(20, y + 16, bold(15, "#1f2933"), r.design),
      text(20, y + 34, 'font-size="11" fill="#52606d"', DESCRIPTIONS[r.design][1]),
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="34" rx="3" fill="${DESCRIPTIONS[r.design][3]}"/>`,
      inside
        ? text(
            (left + w - 10).toFixed(1),
            y + 22,
            `font-size="14" text-anchor="end" ${fill("#ffffff")}`,
            label,
          )
        : text((left + w + 8).toFixed(1), y + 22, `font-size="14" ${fill("#1f2933")}`, label),
    );
  });
  return [...parts, "</svg>"].join("\n");
}

/** Screenshots the SVG in chromium (CHROMIUM_PATH or Debian's /usr/bin/chromium) into a PNG. */
async function writePng(svg: string, path: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1140, height: 800 } });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    await page.locator("svg").screenshot({ path });
  } finally {
    await browser.close();
  }
}

export function idleTable(r: IdleResult): string {
  const row = (name: string, c: Cpu | null) =>
    c === null
      ? `| ${name} | n/a | n/a |`
      : `| ${name} | ${c.cpuSeconds.toFixed(2)} s | **${percent(c.percentOfOneCore)}** |`;
  return [
    `| process | CPU time in ${r.seconds.toFixed(1)} s | % of one core |`,
    "|---|---|---|",
    row(`ingestor${r.ingestor ? ` (pid ${r.ingestor.pid})` : ""}`, r.ingestor),
    row(`worker${r.worker ? ` (pid ${r.worker.pid})` : ""}`, r.worker),
    row("both", r.both),
    ...(r.failure === null ? [] : ["", `Idle measurement failed: ${r.failure}`]),
  ].join("\n");
}

export function rateExactCell(r: RateResult): string {
  const target = r.inTopic ?? r.producer?.acked;
  if (target === undefined) return "n/a";
  if (r.drainTimedOut) return `**timed out: ${int(r.counted)} of ${int(target)} counted**`;
  if (r.exact === null) return `${int(r.counted)} of ${int(target)} counted`;
  const acked = r.producer?.acked;
  if (r.exact.off === 0 && r.counted === target && (acked === undefined || acked === target)) {
    return `exact (${int(target)} reads, ${int(r.exact.articles)} articles)`;
  }
  const ack = acked === undefined ? "" : `, acknowledged ${int(acked)}`;
  return `**${int(r.exact.off)} of ${int(r.exact.articles)} articles off** (counted ${int(r.counted)}, in topic ${int(target)}${ack})`;
}

export function rateTable(results: readonly RateResult[]): string {
  const rows = results.map((r) => {
    const { latency: l, producer: p, lag } = r;
    const sends = p && p.failed > 0 ? `; **${int(p.failed)} events in failed sends**` : "";
    const producer =
      p === null
        ? "n/a"
        : p.fellBehind
          ? `**fell behind** (max ${int(p.maxLateMs)} ms late, up to ${int(p.maxOwed)} events waiting to be sent)${sends}`
          : `kept up (max ${int(p.maxLateMs)} ms late)${sends}`;
    const slope = lag.slopePerSecond;
    const lagText =
      lag.verdict.text +
      (lag.verdict.steady === true && lag.atEnd !== null ? ` (${int(lag.atEnd)} behind)` : "") +
      (lag.verdict.steady === false && slope !== null
        ? `; ${slope >= 0 ? "+" : ""}${int(slope)} messages/s over the 2nd half`
        : "");
    const drain = r.drainTimedOut ? `> ${seconds(r.drainSeconds)} (timed out)` : seconds(r.drainSeconds);
    const failed = r.failure === null ? "" : ` (failed: ${r.failure.replace(/\|/g, "\\|")})`;
    const cells = [
      `${int(r.targetRate)}/s${failed}`,
      p === null ? "n/a" : `${int(p.achievedRate)}/s`,
      producer,
      ...[l?.p50, l?.p99, l?.max].map((q) => q ?? "n/a"),
      seconds(l?.meanSeconds),
      l ? int(l.jobs) : "n/a",
      lagText,
      r.drainSeconds === null ? "n/a" : drain,
      r.cpu === null ? "n/a" : `${percent(r.cpu.ingestorPercent)} / ${percent(r.cpu.workerPercent)}`,
    ];
    return `| ${[...cells, rateExactCell(r)].join(" | ")} |`;
  });
  return [
    "| target rate | producer achieved | producer | p50 | p99 | max | mean | jobs | lag at the end of producing | drain after the producer stopped | CPU ingestor / worker while producing | exact count |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** Where lag starts to grow, and the highest steady rate with p99 <= 1 s, over the rates measured. */
export function saturationSummary(results: readonly RateResult[]): string[] {
  const ok = results.filter((r) => r.failure === null).sort((a, b) => a.targetRate - b.targetRate);
  if (ok.length === 0) return [];
  const steady = ok.filter((r) => r.lag.verdict.steady === true);
  const growing = ok.filter((r) => r.lag.verdict.steady === false);
  const rates = (rs: readonly RateResult[]) => rs.map((r) => `${int(r.targetRate)}/s`).join(", ");
  const [high, low] = [steady[steady.length - 1], growing[0]];
  const lines = [
    low && high
      ? `- Saturation: the lag stayed steady up to ${int(high.targetRate)}/s and grew at ${int(low.targetRate)}/s, so the pipeline saturates between those rates.`
      : low
        ? `- Saturation: the lag grew at every rate measured (${rates(growing)}): saturated below the lowest.`
        : high
          ? `- Saturation: the lag stayed steady at every rate measured (${rates(steady)}); it saturates above the highest.`
          : [],
  ].flat();
  const best = steady.filter((r) => (r.latency?.p99UpperSeconds ?? Number.POSITIVE_INFINITY) <= 1).pop();
  lines.push(
    best === undefined
      ? "- No rate measured had both a steady lag and p99 <= 1 s."
      : `- Highest rate measured with a steady lag and p99 <= 1 s (its bucket's upper bound): **${int(best.targetRate)}/s** (p99 ${best.latency?.p99 ?? "n/a"}).`,
  );
  return lines;
}

function liveSection(report: LiveReport): string {
  const { settings: s, idle, clockTicks: clock } = report;
  const distribution = `${s.skew === 0 ? "an even round robin" : `Zipf s=${s.skew}`} over ${int(s.articles)} articles`;
  const ticks = clock.assumed
    ? ` (clock ticks: \`getconf CLK_TCK\` could not be run, ${clock.perSecond}/s assumed)`
    : ` (clock ticks: ${clock.perSecond}/s from \`getconf CLK_TCK\`)`;
  return [
    "<!-- live:start -->",
    ...heading("## Live latency and idle cost (`npm run bench:live`)", report),
    "",
    "### Idle cost",
    "",
    ...(idle === null
      ? ["Not measured in this run (`--skip-idle`)."]
      : [
          `A fresh pipeline, both processes ready, no events; CPU time over ${idle.seconds.toFixed(1)} s after ${idle.settleSeconds} s of settling:`,
          "",
          idleTable(idle),
        ]),
    "",
    "### Live latency",
    "",
    ...(report.rates.length === 0
      ? ["No rate measured in this run."]
      : [
          `Open-loop producer, ${s.seconds} s per rate, ${distribution} (PRNG seed ${s.seed}), ${s.partitions} partitions, Go format; each rate on its own fresh pipeline and topic. Latency is the worker's \`interactive_end_to_end_latency_seconds\` histogram (per job: its earliest message's Kafka timestamp to the MongoDB acknowledgement), shown as the bucket each quantile falls in:`,
          "",
          rateTable(report.rates),
          "",
          ...saturationSummary(report.rates),
        ]),
    "",
    "How measured:",
    "",
    `- Each measurement starts its own pipeline: a new topic with ${s.partitions} partitions, then \`node --import tsx src/main/ingestor.ts\` and \`node --import tsx workers/main.ts\` as child processes with default settings (only topic, group, queue names, database, log level and HTTP ports are set), used once both answer \`GET /readyz\` with 200. Topic, group, queues and database are removed afterwards.`,
    `- Producer (in the benchmark process, kafkajs, acks=-1): open loop. Every ${s.tickMs} ms it hands kafkajs the events due by then (rate x elapsed time), round robin over the partitions, with up to ${s.maxInFlight} sends unacknowledged; an acknowledgement never delays the schedule. Each message's Kafka timestamp is its scheduled send time, so a late send adds to the latency rather than hiding it. "Fell behind": some event was handed to kafkajs more than ${s.behindThresholdMs} ms after its scheduled time. Achieved rate: acknowledged events over the time from the first send to the last acknowledgement.`,
    '- Latency: one observation per job, so the quantiles are of jobs, each timed from its oldest event (an upper bound for the events in it). The worker\'s histogram is scraped once every read was counted; a quantile is the bucket holding it by nearest rank on the cumulative counts ("<= 0.05 s" is the first bucket, "> 300 s" the overflow); mean = `_sum / _count`.',
    "- Lag: the ingestor's `interactive_consumer_lag` (committed offset to end; the ingestor commits a range only after its job was applied) summed over partitions, scraped every 2 s while producing and once when the producer stopped. Steady: below one second of production (the rate) at that last scrape; otherwise growing, with its least-squares slope over the second half of the producing period.",
    `- Drain: from the last acknowledged send until the run's consumer group had committed every message in the topic (its committed offsets, asked of Kafka every 500 ms, at most ${int(s.drainTimeoutS)} s; the ingestor commits a range once its job was applied). Nothing polls the MongoDB being measured. Exact count: every article's \`read_cnt\`, read once the drain ended, against the acknowledged sends.`,
    `- CPU: utime + stime of each child process from \`/proc/<pid>/stat\` (all its threads; the pid is the node process itself), read at the start and end of the window, over the wall time: percent of one core${idle === null ? "" : ticks}. Nothing scrapes the processes during the idle window.`,
    "<!-- live:end -->",
  ].join("\n");
}

/** Replaces the text between the section's markers (its first and last line), or appends it. */
export function replaceMarked(doc: string, section: string): string {
  const start = section.slice(0, section.indexOf("\n"));
  const end = section.slice(section.lastIndexOf("\n") + 1);
  const [from, to] = [doc.indexOf(start), doc.indexOf(end)];
  if (from === -1 && to === -1) return `${doc.trimEnd()}\n\n${section}\n`;
  if (from === -1 || to === -1 || to < from)
    throw new Error(`found only one of ${start} and ${end}, or them out of order`);
  return doc.slice(0, from) + section + doc.slice(to + end.length);
}

/** Renders the report in the JSON file into the document (created when missing), with the peers chart beside it. */
async function renderDocs(json: string, doc: string, log: (m: string) => void): Promise<void> {
  const report = JSON.parse(readFileSync(json, "utf8")) as Report;
  const out = resolve(doc);
  let section = report.kind === "live" ? liveSection(report) : "";
  if (report.kind === "peers") {
    const png = join(dirname(out), `benchmarks-peers-${report.backlog.count}.png`);
    let image: { link: string } | { missing: string } = { link: relative(dirname(out), png) };
    await writePng(chartSvg(report), png).catch((err: unknown) => {
      image = {
        missing: `rendering it failed (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
      };
      log(`chart not written: ${String(err)}`);
    });
    section = peersSection(report, image);
  }
  let text = "# Benchmarks\n";
  try {
    text = readFileSync(out, "utf8");
  } catch {
    // no document yet: a new one with its title
  }
  writeFileSync(out, replaceMarked(text, section));
  log(`rendered ${basename(json)} into ${relative(process.cwd(), out)}`);
}

/** Writes the report as JSON beside the document (benchmarks-peers-<count>.json, benchmarks-live.json), then renders it. */
export async function publish(report: Report, doc: string, log: (m: string) => void): Promise<void> {
  const name =
    report.kind === "peers" ? `benchmarks-peers-${report.backlog.count}.json` : "benchmarks-live.json";
  const json = join(dirname(resolve(doc)), name);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  await renderDocs(json, doc, log);
}
