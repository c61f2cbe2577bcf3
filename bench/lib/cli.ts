// The benchmarks' command lines: flags parsed and checked (a UsageError names the flag), the
// command as the docs show it, exit codes, Ctrl-C, and the log line on stderr (stdout carries
// only the results).
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses the flags both benchmarks take (--articles, --skew, --partitions, --seed, --out,
 * --no-write), the string flags `own` (name: default) and the boolean `switches`.
 */
export function parseFlags(argv: readonly string[], own: Record<string, string>, switches: string[] = []) {
  const common = { articles: "100000", skew: "1.1", partitions: "6", seed: "42", out: "docs/benchmarks.md" };
  const options: Record<string, { type: "string"; default: string } | { type: "boolean" }> = {};
  for (const [name, value] of Object.entries({ ...common, ...own }))
    options[name] = { type: "string", default: value };
  for (const name of ["no-write", ...switches]) options[name] = { type: "boolean" };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const str = (name: string) => String(values[name]);
  /** A switch was set, or a string flag given on the command line. */
  const given = (name: string) =>
    values[name] === true || argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const int = (name: string, min: number, max: number, raw = str(name)) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(
        `--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return n;
  };
  /** A comma list's items, trimmed, at least one. */
  const list = (name: string, what: string) => {
    const items = str(name)
      .split(",")
      .flatMap((s) => s.trim() || []);
    if (items.length === 0)
      throw new UsageError(`--${name}: expected a comma list of ${what}, got ${JSON.stringify(str(name))}`);
    return items;
  };
  if (!/^\d+(\.\d+)?$/.test(str("skew")) || Number(str("skew")) > 10) {
    throw new UsageError(`--skew: expected a number from 0 to 10, got ${JSON.stringify(str("skew"))}`);
  }
  if (given("no-write") && given("out")) throw new UsageError("--out and --no-write exclude each other");
  const parsed = {
    /** Article ids are 1..articles; Zipf exponent s over them, 0 for an even round robin. */
    articles: int("articles", 1, 2 ** 32 - 1),
    skew: Number(str("skew")),
    partitions: int("partitions", 1, 1000),
    /** Seed of the PRNG that draws the article ids. */
    seed: int("seed", 0, 2 ** 32 - 1),
    /** The document whose section is rendered, unless --no-write (print the results only). */
    out: str("out"),
    write: !given("no-write"),
  };
  return { common: parsed, int, str, list, given };
}

/** The command as typed: `npm run <script> -- <flags>`. */
function formatCommand(script: string, argv: readonly string[]): string {
  const quote = (a: string) => (/^[A-Za-z0-9_./=:,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return argv.length === 0 ? `npm run ${script}` : `npm run ${script} -- ${argv.map(quote).join(" ")}`;
}

/** Runs a benchmark's entry: the exit code `run` returns, 2 on a usage error, 1 on a failure. */
export async function main(
  script: string,
  usage: string,
  run: (argv: string[], cmd: string) => Promise<number>,
) {
  const argv = process.argv.slice(2);
  try {
    process.exit(await run(argv, formatCommand(script, argv)));
  } catch (err) {
    const usageError = err instanceof UsageError;
    const text = usageError
      ? `${err.message}\n${usage}`
      : `${script} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    process.stderr.write(`${text}\n`);
    process.exit(usageError ? 2 : 1);
  }
}

export function logger(tag: string): (message: string) => void {
  return (message) => process.stderr.write(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** SIGINT or SIGTERM aborts the signal (the run stops its measurement and cleans up); a second one exits at once. */
export function interruptible(log: (m: string) => void): { signal: AbortSignal; off: () => void } {
  const abort = new AbortController();
  const on = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130);
    log(`${signal}: stopping the current measurement and cleaning up (again to exit at once)`);
    abort.abort();
  };
  process.on("SIGINT", on).on("SIGTERM", on);
  return { signal: abort.signal, off: () => process.off("SIGINT", on).off("SIGTERM", on) };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => {});
}

/** Runs `probe` every `ms` (skipping a tick while the last one runs) until the returned stop is called. */
export function every(ms: number, probe: () => Promise<unknown>): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void probe()
      .catch(() => {})
      .then(() => {
        busy = false;
      });
  }, ms);
  return () => clearInterval(timer);
}
