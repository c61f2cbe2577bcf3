// The results of one `bench:live` run: a JSON line per measurement, markdown tables, and the
// section of docs/benchmarks.md between the live markers. Pure: no I/O here.
import type { GroupStats } from "../peers/measure.js";
import { replaceMarked, sectionHeading } from "../shared/cli.js";
import { formatBucket, type LatencySummary } from "./histogram.js";
import type { LagSample, LagVerdict } from "./lag.js";
import type { ProduceResult } from "./producer.js";
import { BEHIND_THRESHOLD_MS } from "./schedule.js";

interface ProcessCpu {
  pid: number;
  cpuSeconds: number;
  percentOfOneCore: number;
}

export interface IdleResult {
  kind: "idle";
  /** Wall seconds between the two /proc reads. */
  seconds: number;
  /** Seconds waited after both were ready, before the window. */
  settleSeconds: number;
  clockTicksPerSecond: number;
  /** True when getconf could not be asked and 100 was assumed. */
  clockTicksAssumed: boolean;
  ingestor: ProcessCpu | null;
  worker: ProcessCpu | null;
  both: { cpuSeconds: number; percentOfOneCore: number } | null;
  failure: string | null;
}

/** What a report shows of the producer (see ProduceResult for each figure). */
export type ProducerFigures = Pick<
  ProduceResult,
  | "planned"
  | "acked"
  | "failed"
  | "firstError"
  | "seconds"
  | "achievedRate"
  | "maxLateMs"
  | "maxOwed"
  | "maxInFlightSeen"
  | "ackTailMs"
  | "fellBehind"
>;

interface LoadCpu {
  /** Wall seconds of the window (the producing period). */
  seconds: number;
  ingestorPercent: number;
  workerPercent: number;
}

interface ExactFigures {
  /** Articles in the acknowledged sends or in MongoDB. */
  articles: number;
  /** Articles whose read_cnt differs from the acknowledged sends'. */
  off: number;
  examples: string[];
}

export interface RateResult {
  kind: "rate";
  targetRate: number;
  /** Producing period asked for. */
  seconds: number;
  producer: ProducerFigures | null;
  /** Messages in the topic after producing (end minus start offsets): what must be counted. */
  inTopic: number | null;
  latency: LatencySummary | null;
  lag: { atEnd: number | null; verdict: LagVerdict; slopePerSecond: number | null; samples: LagSample[] };
  /** From the last acknowledged send until every message in the topic was counted. */
  drainSeconds: number | null;
  drainTimedOut: boolean;
  /** Sum of read_cnt in the run's database when the wait ended. */
  counted: number;
  exact: ExactFigures | null;
  cpu: LoadCpu | null;
  /** Failed jobs and dead letters, as the worker's queue gauges saw them at the end. */
  failedJobs: number | null;
  groups: GroupStats | null;
  failure: string | null;
}

export function emptyRateResult(targetRate: number, seconds: number): RateResult {
  return {
    kind: "rate",
    targetRate,
    seconds,
    producer: null,
    inTopic: null,
    latency: null,
    lag: { atEnd: null, verdict: { steady: null, text: "not measured" }, slopePerSecond: null, samples: [] },
    drainSeconds: null,
    drainTimedOut: false,
    counted: 0,
    exact: null,
    cpu: null,
    failedJobs: null,
    groups: null,
    failure: null,
  };
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function formatPercent(p: number): string {
  return `${p < 10 ? p.toFixed(2) : p.toFixed(1)}%`;
}

function formatSeconds(s: number | undefined | null): string {
  if (s === undefined || s === null) return "n/a";
  if (s < 10) return `${s.toFixed(3)} s`;
  return `${s.toFixed(1)} s`;
}

/** One JSON line: the run's own fields, then the result (quantiles as their bucket text). */
export function jsonLine(r: IdleResult | RateResult, run: Record<string, string | number> = {}): string {
  if (r.kind === "idle") return JSON.stringify({ ...run, ...r });
  const latency =
    r.latency === null
      ? null
      : {
          jobs: r.latency.jobs,
          p50: formatBucket(r.latency.p50),
          p99: formatBucket(r.latency.p99),
          max: formatBucket(r.latency.max),
          meanSeconds:
            r.latency.meanSeconds === undefined ? null : Math.round(r.latency.meanSeconds * 1e4) / 1e4,
          buckets: r.latency.buckets,
        };
  return JSON.stringify({ ...run, ...r, latency });
}

export function producerCell(p: ProducerFigures | null): string {
  if (p === null) return "n/a";
  const failed = p.failed > 0 ? `; **${formatInt(p.failed)} events in failed sends**` : "";
  if (!p.fellBehind) return `kept up (max ${formatInt(p.maxLateMs)} ms late)${failed}`;
  return (
    `**fell behind** (max ${formatInt(p.maxLateMs)} ms late, up to ${formatInt(p.maxOwed)} events ` +
    `waiting to be sent)${failed}`
  );
}

export function lagCell(r: RateResult): string {
  const slope =
    r.lag.verdict.steady === false && r.lag.slopePerSecond !== null
      ? `; ${r.lag.slopePerSecond >= 0 ? "+" : ""}${formatInt(r.lag.slopePerSecond)} messages/s over the 2nd half`
      : "";
  const atEnd =
    r.lag.verdict.steady === true && r.lag.atEnd !== null ? ` (${formatInt(r.lag.atEnd)} behind)` : "";
  return `${r.lag.verdict.text}${atEnd}${slope}`;
}

export function exactCell(r: RateResult): string {
  const target = r.inTopic ?? r.producer?.acked;
  if (target === undefined) return "n/a";
  if (r.drainTimedOut) return `**timed out: ${formatInt(r.counted)} of ${formatInt(target)} counted**`;
  if (r.exact === null) return `${formatInt(r.counted)} of ${formatInt(target)} counted`;
  const acked = r.producer?.acked;
  if (r.exact.off === 0 && r.counted === target && (acked === undefined || acked === target)) {
    return `exact (${formatInt(target)} reads, ${formatInt(r.exact.articles)} articles)`;
  }
  return (
    `**${formatInt(r.exact.off)} of ${formatInt(r.exact.articles)} articles off** ` +
    `(counted ${formatInt(r.counted)}, in topic ${formatInt(target)}` +
    `${acked === undefined ? "" : `, acknowledged ${formatInt(acked)}`})`
  );
}

function drainCell(r: RateResult): string {
  if (r.drainSeconds === null) return "n/a";
  return r.drainTimedOut ? `> ${formatSeconds(r.drainSeconds)} (timed out)` : formatSeconds(r.drainSeconds);
}

function cpuCell(c: LoadCpu | null): string {
  return c === null ? "n/a" : `${formatPercent(c.ingestorPercent)} / ${formatPercent(c.workerPercent)}`;
}

export function rateTable(results: readonly RateResult[]): string {
  const rows = [
    "| target rate | producer achieved | producer | p50 | p99 | max | mean | jobs | lag at the end of producing | drain after the producer stopped | CPU ingestor / worker while producing | exact count |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const l = r.latency;
    const failed = r.failure === null ? "" : ` (failed: ${r.failure.replace(/\|/g, "\\|")})`;
    rows.push(
      `| ${formatInt(r.targetRate)}/s${failed} | ${r.producer === null ? "n/a" : `${formatInt(r.producer.achievedRate)}/s`} | ` +
        `${producerCell(r.producer)} | ${formatBucket(l?.p50)} | ${formatBucket(l?.p99)} | ` +
        `${formatBucket(l?.max)} | ${formatSeconds(l?.meanSeconds)} | ${l === null ? "n/a" : formatInt(l.jobs)} | ` +
        `${lagCell(r)} | ${drainCell(r)} | ${cpuCell(r.cpu)} | ${exactCell(r)} |`,
    );
  }
  return rows.join("\n");
}

export function idleTable(r: IdleResult): string {
  const row = (name: string, c: { cpuSeconds: number; percentOfOneCore: number } | null) =>
    c === null
      ? `| ${name} | n/a | n/a |`
      : `| ${name} | ${c.cpuSeconds.toFixed(2)} s | **${formatPercent(c.percentOfOneCore)}** |`;
  const title = `| process | CPU time in ${r.seconds.toFixed(1)} s | % of one core |`;
  const failed = r.failure === null ? [] : ["", `Idle measurement failed: ${r.failure}`];
  return [
    title,
    "|---|---|---|",
    row(`ingestor${r.ingestor ? ` (pid ${r.ingestor.pid})` : ""}`, r.ingestor),
    row(`worker${r.worker ? ` (pid ${r.worker.pid})` : ""}`, r.worker),
    row("both", r.both),
    ...failed,
  ].join("\n");
}

/** The p99 bucket's upper bound, in seconds (Infinity when unknown). */
function p99Upper(r: RateResult): number {
  return r.latency?.p99?.upper ?? Number.POSITIVE_INFINITY;
}

/** Where lag starts to grow, and the highest steady rate with p99 <= 1 s, over the rates measured. */
export function saturationSummary(results: readonly RateResult[]): string[] {
  const ok = results.filter((r) => r.failure === null);
  if (ok.length === 0) return [];
  const sorted = [...ok].sort((a, b) => a.targetRate - b.targetRate);
  const steady = sorted.filter((r) => r.lag.verdict.steady === true);
  const growing = sorted.filter((r) => r.lag.verdict.steady === false);
  const rates = (rs: readonly RateResult[]) => rs.map((r) => `${formatInt(r.targetRate)}/s`).join(", ");
  const lines: string[] = [];
  const highestSteady = steady[steady.length - 1];
  const lowestGrowing = growing[0];
  if (lowestGrowing !== undefined && highestSteady !== undefined) {
    lines.push(
      `- Saturation: the lag stayed steady up to ${formatInt(highestSteady.targetRate)}/s and grew at ` +
        `${formatInt(lowestGrowing.targetRate)}/s, so the pipeline saturates between those rates.`,
    );
  } else if (lowestGrowing !== undefined) {
    lines.push(
      `- Saturation: the lag grew at every rate measured (${rates(growing)}): saturated below the lowest.`,
    );
  } else if (highestSteady !== undefined) {
    lines.push(
      `- Saturation: the lag stayed steady at every rate measured (${rates(steady)}); ` +
        "it saturates above the highest.",
    );
  }
  const fast = steady.filter((r) => p99Upper(r) <= 1);
  const best = fast[fast.length - 1];
  lines.push(
    best === undefined
      ? "- No rate measured had both a steady lag and p99 <= 1 s."
      : `- Highest rate measured with a steady lag and p99 <= 1 s (its bucket's upper bound): ` +
          `**${formatInt(best.targetRate)}/s** (p99 ${formatBucket(best.latency?.p99)}).`,
  );
  return lines;
}

export const START_MARKER = "<!-- live:start -->";
export const END_MARKER = "<!-- live:end -->";

export interface SectionInfo {
  date: string;
  command: string;
  /** e.g. "2 cores, 24 GB". */
  machine: string;
  commit: string | null;
  articles: number;
  skew: number;
  partitions: number;
  seed: number;
  seconds: number;
  maxInFlight: number;
  tickMs: number;
  drainTimeoutS: number;
  idle: IdleResult | null;
  /** Idle window asked for (null: --skip-idle). */
  idleSeconds: number | null;
  rates: readonly RateResult[];
}

export function renderSection(info: SectionInfo): string {
  const distribution =
    info.skew === 0
      ? `an even round robin over ${formatInt(info.articles)} articles`
      : `Zipf s=${info.skew} over ${formatInt(info.articles)} articles`;
  const idle = info.idle;
  const clock =
    idle === null
      ? ""
      : idle.clockTicksAssumed
        ? ` (clock ticks: \`getconf CLK_TCK\` could not be run, ${idle.clockTicksPerSecond}/s assumed)`
        : ` (clock ticks: ${idle.clockTicksPerSecond}/s from \`getconf CLK_TCK\`)`;
  const idleLines =
    idle === null
      ? ["### Idle cost", "", "Not measured in this run (`--skip-idle`)."]
      : [
          "### Idle cost",
          "",
          `A fresh pipeline, both processes ready, no events; CPU time over ${idle.seconds.toFixed(1)} s after ` +
            `${idle.settleSeconds} s of settling:`,
          "",
          idleTable(idle),
        ];
  const rateLines =
    info.rates.length === 0
      ? ["### Live latency", "", "No rate measured in this run."]
      : [
          "### Live latency",
          "",
          `Open-loop producer, ${info.seconds} s per rate, ${distribution} (PRNG seed ${info.seed}), ` +
            `${info.partitions} partitions, Go format; each rate on its own fresh pipeline and topic. ` +
            "Latency is the worker's `interactive_end_to_end_latency_seconds` histogram (per job: its " +
            "earliest message's Kafka timestamp to the MongoDB acknowledgement), shown as the bucket " +
            "each quantile falls in:",
          "",
          rateTable(info.rates),
          "",
          ...saturationSummary(info.rates),
        ];
  return [
    START_MARKER,
    ...sectionHeading("## Live latency and idle cost (`npm run bench:live`)", info),
    "",
    ...idleLines,
    "",
    ...rateLines,
    "",
    "How measured:",
    "",
    "- Each measurement starts its own pipeline: a new topic with " +
      `${info.partitions} partitions, then \`node --import tsx src/main/ingestor.ts\` and ` +
      "`node --import tsx workers/main.ts` as child processes with default settings (only topic, " +
      "group, queue names, database, log level and HTTP ports are set), used once both answer " +
      "`GET /readyz` with 200. Topic, group, queues and database are removed afterwards.",
    `- Producer (in the benchmark process, kafkajs, acks=-1): open loop. Every ${info.tickMs} ms it ` +
      "hands kafkajs the events due by then (rate x elapsed time), round robin over the partitions, " +
      `with up to ${info.maxInFlight} sends unacknowledged; an acknowledgement never delays the ` +
      "schedule. Each message's Kafka timestamp is its scheduled send time, so a late send adds to " +
      'the latency rather than hiding it. "Fell behind": some event was handed to kafkajs more than ' +
      `${BEHIND_THRESHOLD_MS} ms after its scheduled time. Achieved rate: acknowledged events over the ` +
      "time from the first send to the last acknowledgement.",
    "- Latency: one observation per job, so the quantiles are of jobs, each timed from its oldest " +
      "event (an upper bound for the events in it). The worker's histogram is scraped once every read " +
      "was counted; a quantile is the bucket holding it by nearest rank on the cumulative counts " +
      '("<= 0.05 s" is the first bucket, "> 300 s" the overflow); mean = `_sum / _count`.',
    "- Lag: the ingestor's `interactive_consumer_lag` (committed offset to end; the ingestor commits " +
      "a range only after its job was applied) summed over partitions, scraped every 2 s while " +
      "producing and once when the producer stopped. Steady: below one second of production " +
      "(the rate) at that last scrape; otherwise growing, with its least-squares slope over the " +
      "second half of the producing period.",
    "- Drain: from the last acknowledged send until the sum of `read_cnt` in the run's database " +
      `equalled the messages in the topic (polled every 500 ms, at most ${formatInt(info.drainTimeoutS)} s). ` +
      "Exact count: every article's `read_cnt` against the acknowledged sends.",
    "- CPU: utime + stime of each child process from `/proc/<pid>/stat` (all its threads; the pid is " +
      "the node process itself), read at the start and end of the window, over the wall time: percent " +
      `of one core${clock}. Nothing scrapes the processes during the idle window.`,
    END_MARKER,
  ].join("\n");
}

/** Replaces this report's section of the document (between its markers), or appends it. */
export function replaceSection(doc: string, section: string): string {
  return replaceMarked(doc, section, START_MARKER, END_MARKER);
}
