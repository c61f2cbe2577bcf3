// Command-line flags of `npm run bench:peers`, validated; and the command line as the docs show it.
import { parseArgs } from "node:util";
import { integer, UsageError } from "../shared/cli.js";

const DESIGNS = ["ceiling", "oracle", "seed", "naive", "pipeline"] as const;
export type DesignName = (typeof DESIGNS)[number];

export interface PeersOptions {
  /** Events in the backlog. */
  count: number;
  /** Article ids are 1..articles. */
  articles: number;
  /** Zipf exponent s; 0 means an even round robin over the articles. */
  skew: number;
  partitions: number;
  /** Designs to run, in this order. */
  designs: DesignName[];
  /** The markdown file whose peers section is replaced. */
  out: string;
  /** False with --no-write: print only, write neither the docs nor the chart. */
  write: boolean;
  /** Longest a design may take to drain the backlog. */
  timeoutS: number;
  /** Seed of the PRNG that draws the article ids. */
  seed: number;
}

export { UsageError };

export const USAGE = `usage: npm run bench:peers -- [--count 1000000] [--articles 100000] [--skew 1.1]
    [--partitions 6] [--designs ceiling,oracle,seed,naive,pipeline] [--out docs/benchmarks.md | --no-write]
    [--timeout-s 1800] [--seed 42]`;

function designList(raw: string): DesignName[] {
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const known = new Set<string>(DESIGNS);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new UsageError(
      `--designs: expected a comma list of ${DESIGNS.join(", ")}, got ${JSON.stringify(raw)}`,
    );
  }
  return [...new Set(names as DesignName[])];
}

/** Parses the flags (after `--`); throws UsageError with a message naming the flag. */
export function parsePeersArgs(argv: readonly string[]): PeersOptions {
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
  if (values["no-write"] && argv.some((a) => a === "--out" || a.startsWith("--out="))) {
    throw new UsageError("--out and --no-write exclude each other");
  }
  return {
    count: integer("count", values.count, 1, 100_000_000),
    articles: integer("articles", values.articles, 1, 2 ** 32 - 1),
    skew,
    partitions: integer("partitions", values.partitions, 1, 1000),
    designs: designList(values.designs),
    out: values.out,
    write: !values["no-write"],
    timeoutS: integer("timeout-s", values["timeout-s"], 1, 7 * 86_400),
    seed: integer("seed", values.seed, 0, 2 ** 32 - 1),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      count: { type: "string", default: "1000000" },
      articles: { type: "string", default: "100000" },
      skew: { type: "string", default: "1.1" },
      partitions: { type: "string", default: "6" },
      designs: { type: "string", default: DESIGNS.join(",") },
      out: { type: "string", default: "docs/benchmarks.md" },
      "no-write": { type: "boolean", default: false },
      "timeout-s": { type: "string", default: "1800" },
      seed: { type: "string", default: "42" },
    },
  });
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command as typed: `npm run bench:peers -- <flags>`. */
export function formatCommand(argv: readonly string[]): string {
  const base = "npm run bench:peers";
  return argv.length === 0 ? base : `${base} -- ${argv.map(shellQuote).join(" ")}`;
}
