// The measurements' arithmetic, pure but for reading /proc: MongoDB commands a monitored client
// sent, Prometheus text (the pipeline's own counters and histograms), latency quantiles as
// buckets, consumer lag over time, CPU time of a process, and the exact-count comparison.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** The data commands: each is one round trip to the server. */
const DATA_COMMANDS = ["update", "insert", "delete", "find", "aggregate", "getMore"];
/** Where each write command lists its statements. */
const STATEMENTS: Record<string, string> = { update: "updates", insert: "documents", delete: "deletes" };

function field(v: unknown, key: string): unknown {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}

/**
 * Counts what a MongoClient with `monitorCommands: true` sends (feed it the client's
 * commandStarted and commandSucceeded events): data commands (round trips), and document
 * operations: the statements of writes plus the documents reads returned.
 */
export class MongoCommandCounter {
  roundTrips = 0;
  documentOps = 0;

  started(e: { commandName: string; command: unknown }): void {
    if (!DATA_COMMANDS.includes(e.commandName)) return;
    this.roundTrips++;
    const list = STATEMENTS[e.commandName];
    if (list !== undefined) {
      const statements = field(e.command, list);
      this.documentOps += Array.isArray(statements) ? statements.length : 1;
    }
  }

  succeeded(e: { commandName: string; reply: unknown }): void {
    if (!["find", "aggregate", "getMore"].includes(e.commandName)) return;
    const cursor = field(e.reply, "cursor");
    const batch = field(cursor, "firstBatch") ?? field(cursor, "nextBatch");
    if (Array.isArray(batch)) this.documentOps += batch.length;
  }
}

/** Per 1,000 events, rounded to one decimal. */
export function per1k(n: number, events: number): number {
  return Math.round((n / events) * 10_000) / 10;
}

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and unparsable lines skipped). */
export function parsePrometheus(text: string): PrometheusSample[] {
  const out: PrometheusSample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    const value = Number(m?.[3]);
    if (!m?.[1] || !Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] !== undefined)
        labels[l[1]] = (l[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of every sample named `name`, over all label sets; undefined when there is none. */
export function sumMetric(samples: readonly PrometheusSample[], name: string): number | undefined {
  let total: number | undefined;
  for (const s of samples) if (s.name === name) total = (total ?? 0) + s.value;
  return total;
}

/** Means of the worker's group histograms (interactive_group_*), or undefined with no group. */
export function groupStats(samples: readonly PrometheusSample[]) {
  const groups = sumMetric(samples, "interactive_group_jobs_count");
  if (groups === undefined || groups === 0) return undefined;
  const mean = (name: string) => Math.round(((sumMetric(samples, name) ?? 0) / groups) * 100) / 100;
  return {
    groups,
    jobsPerGroup: mean("interactive_group_jobs_sum"),
    eventsPerGroup: mean("interactive_group_events_sum"),
    flushSecondsMean: mean("interactive_group_flush_seconds_sum"),
  };
}

/** Failed jobs and dead letters, as the worker's queue gauges see them. */
export function failedJobs(samples: readonly PrometheusSample[], deadQueue: string): number {
  return samples
    .filter(
      (s) =>
        s.name === "interactive_queue_jobs" && (s.labels.queue === deadQueue || s.labels.state === "failed"),
    )
    .reduce((n, s) => n + s.value, 0);
}

/**
 * A Prometheus histogram's quantiles, summed over its label sets. A bucket histogram knows only
 * which bucket a quantile falls in, so that bucket is reported, never an interpolated value: the
 * first bucket whose cumulative count reaches ceil(q x count) (nearest rank); q = 1 is the
 * largest observation's. Undefined when the text has no bucket of it.
 */
export function latencySummary(samples: readonly PrometheusSample[], name: string) {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    if (!Number.isNaN(le)) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  if (byLe.size === 0) return undefined;
  const count = sumMetric(samples, `${name}_count`) ?? byLe.get(Number.POSITIVE_INFINITY) ?? 0;
  if (!byLe.has(Number.POSITIVE_INFINITY)) byLe.set(Number.POSITIVE_INFINITY, count);
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]);
  const quantile = (q: number) => {
    if (count <= 0) return undefined;
    // The epsilon keeps 0.99 x 100 at rank 99 whatever the float rounding.
    const rank = Math.max(1, Math.ceil(q * count - 1e-9));
    const found = buckets.findIndex(([, c]) => c >= rank);
    const i = found === -1 ? buckets.length - 1 : found;
    return { lower: i === 0 ? null : (buckets[i - 1]?.[0] ?? null), upper: buckets[i]?.[0] ?? Infinity };
  };
  const text = (b: ReturnType<typeof quantile>) => {
    if (b === undefined) return "n/a";
    if (b.upper === Infinity) return b.lower === null ? "any (no finite bucket)" : `> ${b.lower} s`;
    return b.lower === null ? `<= ${b.upper} s` : `in (${b.lower}, ${b.upper}] s`;
  };
  const p99 = quantile(0.99);
  const sum = sumMetric(samples, `${name}_sum`) ?? 0;
  return {
    /** Observations: one per job applied. */
    jobs: count,
    /** The bucket each quantile falls in, as text: "<= 0.05 s", "in (1, 2.5] s", "> 300 s". */
    p50: text(quantile(0.5)),
    p99: text(p99),
    max: text(quantile(1)),
    /** The p99 bucket's upper bound in seconds; null for the overflow bucket or no observation. */
    p99UpperSeconds: p99 === undefined || p99.upper === Infinity ? null : p99.upper,
    meanSeconds: count > 0 ? sum / count : null,
    /** Cumulative counts per bucket, `le` as Prometheus writes it. */
    buckets: buckets.map(([le, c]): [le: string, cumulative: number] => [
      le === Infinity ? "+Inf" : String(le),
      c,
    ]),
  };
}

export interface LagSample {
  /** Seconds since the producing period started. */
  t: number;
  /** Messages behind, summed over the partitions. */
  lag: number;
}

/** "steady" when the lag at the end of producing is below one second of production. */
export function lagVerdict(
  lagAtEnd: number | undefined,
  rate: number,
): { steady: boolean | null; text: string } {
  if (lagAtEnd === undefined) return { steady: null, text: "unknown (no lag sample at the end)" };
  const behind = Math.round(lagAtEnd).toLocaleString("en-US");
  return lagAtEnd < rate
    ? { steady: true, text: "steady" }
    : { steady: false, text: `growing (${behind} messages behind at the end)` };
}

/**
 * Least-squares slope of the lag over the second half of the producing period (where a growing
 * lag shows), messages per second; undefined under 2 distinct times.
 */
export function lagSlope(samples: readonly LagSample[], producingSeconds: number): number | undefined {
  const half = samples.filter((s) => s.t >= producingSeconds / 2 && s.t <= producingSeconds);
  const n = half.length;
  const meanT = half.reduce((a, s) => a + s.t, 0) / n;
  const meanL = half.reduce((a, s) => a + s.lag, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of half) {
    num += (s.t - meanT) * (s.lag - meanL);
    den += (s.t - meanT) ** 2;
  }
  return n >= 2 && den > 0 ? num / den : undefined;
}

/**
 * A process's own CPU time, utime + stime in clock ticks (fields 14 and 15 of /proc/<pid>/stat,
 * all its threads). The command name (field 2) may hold spaces and parentheses: the fields are
 * counted from its last ")".
 */
export function parseCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [utime, stime] = [Number(fields[14 - 3]), Number(fields[15 - 3])];
  if (!stat.includes(")") || !Number.isSafeInteger(utime) || !Number.isSafeInteger(stime)) {
    throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(stat.slice(0, 80))}`);
  }
  return utime + stime;
}

export function readCpuTicks(pids: readonly number[]): number[] {
  return pids.map((pid) => parseCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8")));
}

/** Clock ticks per second from `getconf CLK_TCK`; 100 (Linux's USER_HZ), assumed, without it. */
export function clockTicks(): { perSecond: number; assumed: boolean } {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5000 }).trim());
    if (Number.isSafeInteger(n) && n > 0) return { perSecond: n, assumed: false };
  } catch {
    // no getconf: assumed below
  }
  return { perSecond: 100, assumed: true };
}

/**
 * Articles in either map, those whose count differs (absent counts as 0), and up to five of them
 * as "<id>: expected X, got Y".
 */
export function compareCounts(expected: ReadonlyMap<string, number>, actual: ReadonlyMap<string, number>) {
  const ids = new Set([...expected.keys(), ...actual.keys()]);
  let off = 0;
  const examples: string[] = [];
  for (const id of ids) {
    const want = expected.get(id) ?? 0;
    const got = actual.get(id) ?? 0;
    if (want === got) continue;
    off++;
    if (examples.length < 5) examples.push(`${id}: expected ${want}, got ${got}`);
  }
  return { articles: ids.size, off, examples };
}

export type LatencySummary = NonNullable<ReturnType<typeof latencySummary>>;
