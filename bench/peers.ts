// Side-by-side benchmark: one backlog of ReadEvents, drained in turn by the read+parse ceiling,
// the oracle (the limit of any exact counter on this MongoDB), the Go service's per-message path,
// naive BullMQ (one job per event) and this pipeline; events/s, MongoDB operations, Redis peak
// memory and exact counts for each. Prints a JSON line per design and a markdown table; writes
// the table and a PNG chart into docs/benchmarks.md (between <!-- peers:<count>:start --> and
// <!-- peers:<count>:end -->, a section per backlog size) unless --no-write.
//
// npm run bench:peers -- [--count 1000000] [--articles 100000] [--skew 1.1] [--partitions 6]
//   [--designs ceiling,oracle,seed,naive,pipeline] [--out docs/benchmarks.md | --no-write]
//   [--timeout-s 1800] [--seed 42]
import { formatCommand, parsePeersArgs, USAGE, UsageError } from "./peers/options.js";
import { runPeers } from "./peers/run.js";

const argv = process.argv.slice(2);
try {
  const options = parsePeersArgs(argv);
  await runPeers(options, formatCommand(argv));
  process.exit(0);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(
    `bench:peers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
