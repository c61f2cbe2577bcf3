// `npm run import:mysql -- --url mysql://user:pass@host:port/db [--table interactives] [--batch 1000] [--resume]`
// Copies the Go service's counts from MySQL into MongoDB (see src/import/import-mysql.ts).
// Exit 0 when the table was read to its end (skipped rows are reported, not fatal); 1 when a
// server could not be reached or failed mid-way (re-run with --resume); 2 on bad arguments.
import { ImportConnectionError, ImportSourceError, ImportUsageError } from "../import/errors.js";
import { importFromMysql } from "../import/import-mysql.js";
import {
  describeSource,
  IMPORT_USAGE,
  type ImportOptions,
  parseImportArgs,
} from "../import/import-options.js";
import { LogProgress, TtyProgress } from "../import/progress.js";
import { formatSummary } from "../import/summary.js";
import { createLogger } from "../logger.js";
import { configOrExit } from "./run-process.js";

let options: ImportOptions;
try {
  options = parseImportArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ImportUsageError)) throw err;
  process.stderr.write(`import:mysql: ${err.message}\n${IMPORT_USAGE}\n`);
  process.exit(2);
}
const config = configOrExit("import-mysql");
const log = createLogger(config, "import-mysql");
const progress = process.stderr.isTTY === true ? new TtyProgress(process.stderr) : new LogProgress(log);

// Ctrl-C: the checkpoint already holds the last acknowledged batch; say how to go on.
process.once("SIGINT", () => {
  process.stderr.write(
    `\nimport:mysql: interrupted; run again with --resume to continue after the checkpoint\n`,
  );
  process.exit(130);
});

try {
  const summary = await importFromMysql(options, { config, log, progress });
  log.info({ summary }, "import finished");
  process.stdout.write(`${formatSummary(summary)}\n`);
} catch (err) {
  if (err instanceof ImportConnectionError || err instanceof ImportSourceError) {
    process.stderr.write(`import:mysql: ${err.message}\n`);
  } else {
    log.error({ err, source: describeSource(options) }, "import failed");
    process.stderr.write(
      `import:mysql: failed: ${err instanceof Error ? err.message : String(err)}\n` +
        "Batches acknowledged so far are kept; run again with --resume to continue after the checkpoint.\n",
    );
  }
  process.exit(1);
}
