// The importer's command line: where the MySQL table is, how many rows per batch, and whether to
// continue after the last checkpoint. Pure, so its rules are tested without any server.
import { parseArgs } from "node:util";
import { ImportUsageError } from "./errors.js";

export const IMPORT_USAGE = [
  "usage: npm run import:mysql -- --url mysql://user:pass@host:port/db [--table interactives] [--batch 1000] [--resume]",
  "  --url      the Go service's MySQL database (or set MYSQL_URL, which keeps the password out of `ps`)",
  "  --table    the Go table (default interactives)",
  "  --batch    rows per MongoDB bulk write and per checkpoint (default 1000, 1 to 100000)",
  "  --resume   start after the checkpoint of the last run instead of at the first row",
].join("\n");

export interface ImportOptions {
  /** Connection URL with its credentials: give it to the driver only, never to a log. */
  url: string;
  host: string;
  port: number;
  database: string;
  table: string;
  batch: number;
  resume: boolean;
}

// MySQL unquoted identifiers; anything else is refused rather than quoted, since the name is
// put into the SQL text (identifiers cannot be bound as parameters).
const identifier = /^[A-Za-z0-9_$]{1,64}$/;

export function parseImportArgs(
  argv: readonly string[],
  env: Record<string, string | undefined> = process.env,
): ImportOptions {
  let values: { url?: string; table?: string; batch?: string; resume?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        url: { type: "string" },
        table: { type: "string" },
        batch: { type: "string" },
        resume: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ImportUsageError(err instanceof Error ? err.message : String(err));
  }
  const url = values.url ?? (env.MYSQL_URL === "" ? undefined : env.MYSQL_URL);
  if (url === undefined) throw new ImportUsageError("--url (or MYSQL_URL) is required");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ImportUsageError("--url: expected mysql://user:pass@host:port/db");
  }
  if (parsed.protocol !== "mysql:" && parsed.protocol !== "mariadb:") {
    throw new ImportUsageError(`--url: expected a mysql:// URL, got ${parsed.protocol}//...`);
  }
  if (parsed.hostname === "") throw new ImportUsageError("--url: the host is missing");
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (database === "" || database.includes("/")) {
    throw new ImportUsageError(
      "--url: name the database in the path, as in mysql://user:pass@host:3306/webook",
    );
  }
  const table = values.table ?? "interactives";
  if (!identifier.test(table)) {
    throw new ImportUsageError(
      `--table: expected letters, digits, _ or $ (1-64), got ${JSON.stringify(table)}`,
    );
  }
  const batchText = values.batch ?? "1000";
  const batch = /^\d{1,6}$/.test(batchText) ? Number(batchText) : Number.NaN;
  if (!(batch >= 1 && batch <= 100_000)) {
    throw new ImportUsageError(
      `--batch: expected an integer from 1 to 100000, got ${JSON.stringify(batchText)}`,
    );
  }
  return {
    url,
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port === "" ? 3306 : Number(parsed.port),
    database,
    table,
    batch,
    resume: values.resume === true,
  };
}

/** The source without credentials, for logs and the checkpoint: mysql://host:port/db.table */
export function describeSource(options: Pick<ImportOptions, "host" | "port" | "database" | "table">): string {
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return `mysql://${host}:${options.port}/${options.database}.${options.table}`;
}

/** The checkpoint's `_id` in the `imports` collection: one per source table. */
export function checkpointId(options: Pick<ImportOptions, "database" | "table">): string {
  return `mysql:${options.database}.${options.table}`;
}
