// Copies the Go service's MySQL table `interactives` into MongoDB: reads pages of rows in id
// order, writes each page as one bulk of import upserts (the rule is in import-rule.ts: each
// document gets its MySQL base added once, recorded in `imported`), then moves the checkpoint.
// Re-running, with or without --resume, after a crash or after a complete run, adds nothing twice.
import { type Collection, type Db, MongoClient } from "mongodb";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { COLLECTION, InteractiveStore } from "../store/interactives.js";
import { checkRow, type ImportRow } from "./check-row.js";
import { Checkpoints } from "./checkpoint.js";
import { describeError, ImportConnectionError } from "./errors.js";
import { checkpointId, describeSource, type ImportOptions } from "./import-options.js";
import { IMPORT_INDEX, type ImportedDoc } from "./import-rule.js";
import { MysqlRows } from "./mysql-rows.js";
import { type ProgressReporter, silentProgress } from "./progress.js";
import { type ImportSummary, SummaryBuilder } from "./summary.js";
import { writeImportBatch } from "./write-batch.js";

export interface ImportDeps {
  config: Pick<Config, "MONGO_URL" | "MONGO_DB">;
  log: Logger;
  progress?: ProgressReporter;
  now?: () => number;
}

/** The collection with the writes pinned to majority + journal, whatever the URL asks for. */
function importCollection(db: Db): Collection<ImportedDoc> {
  return db.collection<ImportedDoc>(COLLECTION, { writeConcern: { w: "majority", journal: true } });
}

async function connectMongo(url: string): Promise<MongoClient> {
  // Fail within seconds on a wrong URL, unless the URL sets its own timeout.
  const timeout = /[?&]serverSelectionTimeoutMS=/i.test(url) ? {} : { serverSelectionTimeoutMS: 10_000 };
  const client = new MongoClient(url, timeout);
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
    return client;
  } catch (err) {
    await client.close().catch(() => undefined);
    // The URL may carry credentials: name only the host part.
    const where = url.replace(/\/\/[^@/]*@/, "//");
    const message = `cannot connect to MongoDB at ${where} (MONGO_URL): ${describeError(err)}`;
    throw new ImportConnectionError(message, { cause: err });
  }
}

export async function importFromMysql(options: ImportOptions, deps: ImportDeps): Promise<ImportSummary> {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const progress = deps.progress ?? silentProgress;
  const source = describeSource(options);
  const mysql = await MysqlRows.connect(options);
  let mongo: MongoClient | undefined;
  try {
    mongo = await connectMongo(deps.config.MONGO_URL);
    const db = mongo.db(deps.config.MONGO_DB);
    // The pipeline's indexes first: the unique (biz, biz_id) index is what reports a row whose
    // pair another document holds under a different _id.
    await new InteractiveStore(db).ensureIndexes();
    const collection = importCollection(db);
    await collection.createIndex(IMPORT_INDEX.keys, { name: IMPORT_INDEX.name, unique: IMPORT_INDEX.unique });
    const checkpoints = new Checkpoints(db);
    const id = checkpointId(options);

    const after = options.resume ? await checkpoints.lastId(id) : null;
    if (options.resume && after === null)
      log.info({ source }, "no checkpoint yet: starting at the first row");
    const summary = new SummaryBuilder(source, after);
    const total = await mysql.count(after);
    log.info({ source, database: deps.config.MONGO_DB, after: after?.toString(), total }, "import starting");
    progress.start(total);

    let last = after;
    // The next page is read while this one is written.
    let next = mysql.page(last, options.batch);
    for (;;) {
      const page = await next;
      const lastRow = page.at(-1);
      if (lastRow === undefined) break;
      const pageLast = BigInt(String(lastRow.id));
      next = mysql.page(pageLast, options.batch);
      // Should the write below fail, the prefetch must not become an unhandled rejection.
      next.catch(() => undefined);

      const nowMs = now();
      const valid: ImportRow[] = [];
      for (const raw of page) {
        const checked = checkRow(raw, nowMs);
        if (checked.ok) valid.push(checked.row);
        else summary.skip({ id: checked.id, reason: checked.reason });
      }
      summary.written(await writeImportBatch(collection, valid, nowMs));
      summary.read(page.length, pageLast);
      // Only after MongoDB acknowledged the whole batch: a crash before this line repeats the
      // batch, whose already imported documents the rule then leaves alone.
      await checkpoints.save(id, source, pageLast, false, now());
      last = pageLast;
      progress.update(summary.rowsRead);
    }
    if (last !== null) await checkpoints.save(id, source, last, true, now());
    progress.finish();
    return summary.finish();
  } finally {
    await mysql.close();
    await mongo?.close();
  }
}
