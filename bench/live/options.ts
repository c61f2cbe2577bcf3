// Command-line flags of `npm run bench:live`, validated; and the command line as the docs show it.
import { parseArgs } from "node:util";
import { integer, UsageError } from "../shared/cli.js";

export interface LiveOptions {
  /** Producer rates (events/s), run one after another, each on its own pipeline and topic. */
  rates: number[];
  /** Producing period per rate. */
  seconds: number;
  /** Article ids are 1..articles. */
  articles: number;
  /** Zipf exponent; 0 means an even round robin. */
  skew: number;
  partitions: number;
  /** Idle window; null with --skip-idle. */
  idleSeconds: number | null;
  /** The markdown file whose live section is replaced. */
  out: string;
  /** False with --no-write: print only. */
  write: boolean;
  /** Longest wait, after the producer stopped, for every read to be counted. */
  drainTimeoutS: number;
  /** Sends the producer keeps in flight at most. */
  maxInFlight: number;
  /** Producer clock tick. */
  tickMs: number;
  /** PRNG seed of the article ids. */
  seed: number;
}

export { UsageError };

export const USAGE = `usage: npm run bench:live -- [--rates 2000,10000] [--seconds 60] [--articles 100000]
    [--skew 1.1] [--partitions 6] [--idle-seconds 60 | --skip-idle] [--out docs/benchmarks.md | --no-write]
    [--drain-timeout-s 600] [--max-in-flight 64] [--tick-ms 10] [--seed 42]`;

function rateList(raw: string): number[] {
  const parts = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (parts.length === 0)
    throw new UsageError(`--rates: expected a comma list of events/s, got ${JSON.stringify(raw)}`);
  return parts.map((p) => integer("rates", p, 1, 1_000_000));
}

function given(argv: readonly string[], flag: string): boolean {
  return argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      rates: { type: "string", default: "2000,10000" },
      seconds: { type: "string", default: "60" },
      articles: { type: "string", default: "100000" },
      skew: { type: "string", default: "1.1" },
      partitions: { type: "string", default: "6" },
      "idle-seconds": { type: "string", default: "60" },
      "skip-idle": { type: "boolean", default: false },
      out: { type: "string", default: "docs/benchmarks.md" },
      write: { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
      "drain-timeout-s": { type: "string", default: "600" },
      "max-in-flight": { type: "string", default: "64" },
      "tick-ms": { type: "string", default: "10" },
      seed: { type: "string", default: "42" },
    },
  });
}

/** Parses the flags (after `--`); throws UsageError with a message naming the flag. */
export function parseLiveArgs(argv: readonly string[]): LiveOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const skew = Number(values.skew);
  if (!/^\d+(\.\d+)?$/.test(values.skew) || !Number.isFinite(skew) || skew > 10) {
    throw new UsageError(`--skew: expected a number from 0 to 10, got ${JSON.stringify(values.skew)}`);
  }
  if (values.write && values["no-write"]) throw new UsageError("--write and --no-write exclude each other");
  if (values["no-write"] && given(argv, "out"))
    throw new UsageError("--out and --no-write exclude each other");
  if (values["skip-idle"] && given(argv, "idle-seconds")) {
    throw new UsageError("--idle-seconds and --skip-idle exclude each other");
  }
  return {
    rates: rateList(values.rates),
    seconds: integer("seconds", values.seconds, 1, 24 * 3600),
    articles: integer("articles", values.articles, 1, 2 ** 32 - 1),
    skew,
    partitions: integer("partitions", values.partitions, 1, 1000),
    idleSeconds: values["skip-idle"] ? null : integer("idle-seconds", values["idle-seconds"], 1, 24 * 3600),
    out: values.out,
    write: !values["no-write"],
    drainTimeoutS: integer("drain-timeout-s", values["drain-timeout-s"], 1, 7 * 86_400),
    maxInFlight: integer("max-in-flight", values["max-in-flight"], 1, 10_000),
    tickMs: integer("tick-ms", values["tick-ms"], 1, 1000),
    seed: integer("seed", values.seed, 0, 2 ** 32 - 1),
  };
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command as typed: `npm run bench:live -- <flags>`. */
export function formatCommand(argv: readonly string[]): string {
  const base = "npm run bench:live";
  return argv.length === 0 ? base : `${base} -- ${argv.map(shellQuote).join(" ")}`;
}
