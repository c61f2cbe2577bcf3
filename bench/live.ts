// Live latency and idle cost (issue 8, parts 3 and 4): a fresh pipeline (ingestor + worker
// processes, default settings) per measurement. Idle: CPU of both processes with no events.
// Live: an open-loop producer at each fixed rate; end-to-end latency from the worker's own
// histogram, consumer lag while producing, drain time and an exact count. Prints a JSON line per
// measurement and markdown tables; writes docs/benchmarks.md (between <!-- live:start --> and
// <!-- live:end -->) unless --no-write.
//
// npm run bench:live -- [--rates 2000,10000] [--seconds 60] [--articles 100000] [--skew 1.1]
//   [--partitions 6] [--idle-seconds 60 | --skip-idle] [--out docs/benchmarks.md | --no-write]
//   [--drain-timeout-s 600] [--max-in-flight 64] [--tick-ms 10] [--seed 42]
import { formatCommand, parseLiveArgs, USAGE, UsageError } from "./live/options.js";
import { runLive } from "./live/run.js";

const argv = process.argv.slice(2);
try {
  const options = parseLiveArgs(argv);
  const results = await runLive(options, formatCommand(argv));
  const failed = results.rates.some((r) => r.failure !== null) || (results.idle?.failure ?? null) !== null;
  process.exit(results.interrupted ? 130 : failed ? 1 : 0);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `bench:live failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
