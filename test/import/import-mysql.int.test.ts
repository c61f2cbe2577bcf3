// The MySQL importer against a real MariaDB (the Go service's table, created here) and the
// project's MongoDB: ordinary rows, int64 edge values, 20,000 rows through the batching and
// progress path, a crash half-way followed by a second run with and without --resume, a document
// the pipeline had counted already, and rows skipped with their reasons. Sizes are what the cases
// prove (many batches, a kill that lands between them), not the importer's speed: its rate is in
// its summary (rows/s) and measured on real data, not here.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Document, Long } from "mongodb";
import type { Config } from "../../src/config.js";
import { importFromMysql } from "../../src/import/import-mysql.js";
import { parseImportArgs } from "../../src/import/import-options.js";
import type { ProgressReporter } from "../../src/import/progress.js";
import type { ImportSummary } from "../../src/import/summary.js";
import { createLogger } from "../../src/logger.js";
import { COLLECTION } from "../../src/store/interactives.js";
import { testConfig } from "../support/env.js";
import { type GoRow, MysqlFixture } from "../support/mysql.js";
import { envOf, Fixture, ROOT, until } from "../support/pipeline.js";

const T0 = 1_700_000_000_000;
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A fresh MySQL database with the Go table, and a fresh MongoDB database. */
async function setup(): Promise<{ my: MysqlFixture; fx: Fixture; config: Config }> {
  const config = testConfig();
  const fx = new Fixture(config);
  await fx.mongo.connect();
  const my = await MysqlFixture.create();
  cleanups.push(async () => {
    await my.close();
    await fx.close();
  });
  return { my, fx, config };
}

function runImport(
  my: MysqlFixture,
  config: Config,
  args: string[] = [],
  progress?: ProgressReporter,
): Promise<ImportSummary> {
  const options = parseImportArgs(["--url", my.url, ...args], {});
  return importFromMysql(options, { config, log: createLogger(config, "import-test"), progress });
}

/** Every document, Longs kept as Long, by _id. */
async function documents(fx: Fixture): Promise<Map<string, Document>> {
  const docs = await fx.db
    .collection(COLLECTION)
    .find({}, { promoteLongs: false, batchSize: 10_000 })
    .toArray();
  return new Map(docs.map((d) => [String(d._id), d]));
}

const str = (v: unknown) => (v === null || v === undefined ? v : String(v));

function row(bizId: number | string, readCnt: number | string, over: Partial<GoRow> = {}): GoRow {
  return {
    biz_id: String(bizId),
    biz: "article",
    read_cnt: String(readCnt),
    like_cnt: "0",
    collect_cnt: "0",
    ctime: String(T0),
    utime: String(T0 + 1000),
    ...over,
  };
}

test("ordinary rows become documents with the base recorded; a second run adds nothing", async () => {
  const { my, fx, config } = await setup();
  await my.insert([
    row(1, 10, { like_cnt: "2", collect_cnt: "1" }),
    row(2, 0),
    row(1, 7, { biz: "video", like_cnt: "3" }),
    row(3, 123_456, { ctime: null, utime: String(T0 + 9000) }),
  ]);

  const first = await runImport(my, config);
  assert.equal(first.rowsRead, 4);
  assert.equal(first.documentsWritten, 4);
  assert.equal(first.newDocuments, 4);
  assert.equal(first.addedToExisting, 0);
  assert.equal(first.alreadyImported, 0);
  assert.equal(first.skipped, 0);
  assert.equal(first.lastId, "4");
  assert.equal(first.resumedAfter, null);

  const docs = await documents(fx);
  assert.deepEqual([...docs.keys()].sort(), ["article:1", "article:2", "article:3", "video:1"]);
  const a1 = docs.get("article:1");
  assert.ok(a1);
  assert.equal(a1.biz, "article");
  assert.ok(a1.biz_id instanceof Long && a1.biz_id.toString() === "1");
  for (const [field, want] of [
    ["read_cnt", "10"],
    ["like_cnt", "2"],
    ["collect_cnt", "1"],
    ["ctime", String(T0)],
    ["utime", String(T0 + 1000)],
  ] as const) {
    assert.ok(a1[field] instanceof Long, `${field} is an Int64`);
    assert.equal(a1[field].toString(), want, field);
  }
  assert.equal(a1.imported.from, "mysql");
  assert.equal(str(a1.imported.id), "1");
  assert.deepEqual(
    [str(a1.imported.read_cnt), str(a1.imported.like_cnt), str(a1.imported.collect_cnt)],
    ["10", "2", "1"],
  );
  assert.ok(Number(str(a1.imported.at)) > T0);
  assert.equal(str(docs.get("video:1")?.read_cnt), "7");
  assert.equal(str(docs.get("video:1")?.like_cnt), "3");
  assert.equal(str(docs.get("article:3")?.ctime), String(T0 + 9000), "NULL ctime falls back to utime");

  const checkpoint = await fx.db
    .collection("imports")
    .findOne({ _id: `mysql:${my.database}.interactives` } as Document);
  assert.ok(checkpoint);
  assert.equal(str(checkpoint.last_id), "4");
  assert.equal(checkpoint.finished, true);
  const indexes = await fx.db.collection(COLLECTION).indexes();
  assert.ok(
    indexes.some((i) => i.name === "id_imported"),
    "the import's index exists",
  );

  const second = await runImport(my, config);
  assert.equal(second.rowsRead, 4);
  assert.equal(second.documentsWritten, 0);
  assert.equal(second.alreadyImported, 4);
  assert.deepEqual(await documents(fx), docs, "a second full run changes nothing");

  const resumed = await runImport(my, config, ["--resume"]);
  assert.equal(resumed.resumedAfter, "4");
  assert.equal(resumed.rowsRead, 0);
});

test("int64 edge values stay exact, in documents, ids and the checkpoint", async () => {
  const { my, fx, config } = await setup();
  const MAX = "9223372036854775807";
  const BIG = "9007199254740993"; // 2^53 + 1
  // 2^54 + 1 and 2^54 + 2 are the same double: a checkpoint compared as a double would skip the second.
  await my.insert([
    { ...row(BIG, BIG), id: "18014398509481985" },
    { ...row(MAX, MAX, { like_cnt: MAX, collect_cnt: BIG }), id: "18014398509481986" },
    { ...row("18014398509481986", 1, { ctime: MAX, utime: MAX }), id: "9223372036854775806" },
  ]);
  const summary = await runImport(my, config, ["--batch", "1"]);
  assert.equal(summary.rowsRead, 3);
  assert.equal(summary.documentsWritten, 3);
  assert.equal(summary.lastId, "9223372036854775806");

  const docs = await documents(fx);
  const big = docs.get(`article:${BIG}`);
  const max = docs.get(`article:${MAX}`);
  const last = docs.get("article:18014398509481986");
  assert.ok(big && max && last);
  assert.equal(str(big.biz_id), BIG);
  assert.equal(str(big.read_cnt), BIG);
  assert.equal(str(big.imported.id), "18014398509481985");
  assert.ok(max.biz_id instanceof Long);
  assert.equal(str(max.biz_id), MAX);
  assert.equal(str(max.read_cnt), MAX);
  assert.equal(str(max.like_cnt), MAX);
  assert.equal(str(max.collect_cnt), BIG);
  assert.equal(str(max.imported.id), "18014398509481986");
  assert.equal(str(last.ctime), MAX);
  assert.equal(str(last.imported.id), "9223372036854775806");

  const checkpoint = await fx.db
    .collection("imports")
    .findOne({ _id: `mysql:${my.database}.interactives` } as Document);
  assert.equal(str(checkpoint?.last_id), "9223372036854775806");
  await my.insert([{ ...row(5, 5), id: "9223372036854775807" }]);
  const resumed = await runImport(my, config, ["--resume"]);
  assert.equal(resumed.rowsRead, 1, "only the row after the checkpoint");
  assert.equal(resumed.documentsWritten, 1);
});

test("20,000 rows: batches of 1000, progress reported, exact sums", { timeout: 120_000 }, async () => {
  const { my, fx, config } = await setup();
  const N = 20_000;
  const rows: GoRow[] = [];
  let reads = 0n;
  let likes = 0n;
  let collects = 0n;
  for (let i = 0; i < N; i++) {
    const r = row(i + 1, (i * 7919) % 100_000, {
      like_cnt: String(i % 13),
      collect_cnt: String(i % 5),
      ctime: String(T0 + i),
      utime: String(T0 + i + 1000),
    });
    reads += BigInt(r.read_cnt ?? 0);
    likes += BigInt(r.like_cnt ?? 0);
    collects += BigInt(r.collect_cnt ?? 0);
    rows.push(r);
  }
  await my.insert(rows, 5000);

  const seen: { total?: number; updates: number[]; finished: number } = { updates: [], finished: 0 };
  const progress: ProgressReporter = {
    start: (total) => {
      seen.total = total;
    },
    update: (done) => {
      seen.updates.push(done);
    },
    finish: () => {
      seen.finished += 1;
    },
  };
  const summary = await runImport(my, config, ["--batch", "1000"], progress);
  assert.equal(summary.rowsRead, N);
  assert.equal(summary.documentsWritten, N);
  assert.equal(summary.newDocuments, N);
  assert.equal(summary.skipped, 0);
  assert.ok(summary.rowsPerSecond > 0);
  assert.equal(seen.total, N);
  assert.equal(seen.updates.length, N / 1000, "one progress update per batch");
  assert.deepEqual(
    seen.updates,
    seen.updates.map((_, i) => (i + 1) * 1000),
  );
  assert.equal(seen.finished, 1);

  let count = 0;
  let gotReads = 0n;
  let gotLikes = 0n;
  let gotCollects = 0n;
  const cursor = fx.db
    .collection(COLLECTION)
    .find(
      {},
      { projection: { read_cnt: 1, like_cnt: 1, collect_cnt: 1 }, promoteLongs: false, batchSize: 20_000 },
    );
  for await (const d of cursor) {
    count += 1;
    gotReads += BigInt(String(d.read_cnt));
    gotLikes += BigInt(String(d.like_cnt));
    gotCollects += BigInt(String(d.collect_cnt));
  }
  assert.equal(count, N);
  assert.equal(gotReads, reads);
  assert.equal(gotLikes, likes);
  assert.equal(gotCollects, collects);
  const sample = await fx.db
    .collection(COLLECTION)
    .findOne({ _id: "article:12346" } as Document, { promoteLongs: false });
  assert.equal(str(sample?.read_cnt), String((12_345 * 7919) % 100_000));
  assert.equal(str(sample?.imported?.id), "12346");
});

/** Starts the importer as a process and SIGKILLs it once its checkpoint passed `killAfter`. */
async function crashHalfWay(
  my: MysqlFixture,
  fx: Fixture,
  config: Config,
  killAfter: number,
): Promise<bigint> {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "src/main/import-mysql.ts", "--url", my.url, "--batch", "500"],
    { cwd: ROOT, env: envOf(config, { LOG_LEVEL: "info" }), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  proc.stdout.on("data", (d: Buffer) => {
    output += d.toString();
  });
  proc.stderr.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    proc.on("exit", (code, signal) => resolve(signal ?? code)),
  );
  const checkpoints = fx.db.collection("imports");
  try {
    const why = await until(
      "the importer's checkpoint to pass the kill point",
      async () => {
        if (proc.exitCode !== null) return "exited";
        const c = await checkpoints.findOne({ _id: `mysql:${my.database}.interactives` } as Document);
        return c && Number(String(c.last_id)) >= killAfter ? "kill" : undefined;
      },
      120_000,
      10,
    );
    assert.equal(why, "kill", `the importer exited (${proc.exitCode}) before the kill point:\n${output}`);
  } finally {
    proc.kill("SIGKILL");
  }
  assert.equal(await exited, "SIGKILL", `the importer was killed mid-way, not finished:\n${output}`);
  // The server may still be applying the bulk write in flight at the kill: wait until it is done.
  let last = -1;
  for (;;) {
    const now = await importedCount(fx);
    if (now === last) break;
    last = now;
    await sleep(500);
  }
  const c = await checkpoints.findOne({ _id: `mysql:${my.database}.interactives` } as Document);
  assert.ok(c, "a checkpoint");
  assert.equal(c.finished, false);
  return BigInt(String(c.last_id));
}

async function crashFixture(n: number) {
  const s = await setup();
  const rows: GoRow[] = [];
  for (let i = 0; i < n; i++) rows.push(row(i + 1, 1 + (i % 97), { like_cnt: String(i % 3) }));
  await s.my.insert(rows, 5000);
  return s;
}

/** read_cnt/like_cnt per _id must be exactly MySQL's, never a sum of two runs. */
async function assertExact(fx: Fixture, n: number): Promise<void> {
  const docs = await documents(fx);
  assert.equal(docs.size, n);
  for (let i = 0; i < n; i++) {
    const d = docs.get(`article:${i + 1}`);
    if (str(d?.read_cnt) !== String(1 + (i % 97)) || str(d?.like_cnt) !== String(i % 3)) {
      assert.fail(`article:${i + 1}: read_cnt ${str(d?.read_cnt)}, like_cnt ${str(d?.like_cnt)}`);
    }
  }
}

/** Documents that carry an imported base. */
function importedCount(fx: Fixture): Promise<number> {
  return fx.db.collection(COLLECTION).countDocuments({ "imported.from": "mysql" });
}

test("a crash half-way, then --resume: continues after the checkpoint, exact counts", {
  timeout: 120_000,
}, async () => {
  const N = 10_000;
  const { my, fx, config } = await crashFixture(N);
  const checkpoint = await crashHalfWay(my, fx, config, 3000);
  assert.ok(checkpoint < BigInt(N), "killed before the end");
  const importedBefore = await importedCount(fx);
  assert.ok(importedBefore >= Number(checkpoint));

  const resumed = await runImport(my, config, ["--resume", "--batch", "500"]);
  assert.equal(resumed.resumedAfter, checkpoint.toString());
  assert.equal(resumed.rowsRead, N - Number(checkpoint));
  // Rows of the batch in flight at the kill may have been written already: found, not added.
  assert.equal(resumed.alreadyImported, importedBefore - Number(checkpoint));
  assert.equal(resumed.documentsWritten, N - importedBefore);
  await assertExact(fx, N);

  const again = await runImport(my, config);
  assert.equal(again.rowsRead, N);
  assert.equal(again.alreadyImported, N);
  assert.equal(again.documentsWritten, 0);
  await assertExact(fx, N);
});

test("a crash half-way, then a full run without --resume: exact counts, nothing added twice", {
  timeout: 120_000,
}, async () => {
  const N = 10_000;
  const { my, fx, config } = await crashFixture(N);
  await crashHalfWay(my, fx, config, 3000);
  const importedBefore = await importedCount(fx);

  const full = await runImport(my, config, ["--batch", "500"]);
  assert.equal(full.resumedAfter, null);
  assert.equal(full.rowsRead, N);
  assert.equal(full.alreadyImported, importedBefore);
  assert.equal(full.documentsWritten, N - importedBefore);
  await assertExact(fx, N);
});

test("a document the pipeline counted already gets the base added on top, once", async () => {
  const { my, fx, config } = await setup();
  const pipelineTime = Long.fromNumber(T0 + 86_400_000);
  await fx.db.collection(COLLECTION).insertOne({
    _id: "article:7",
    biz: "article",
    biz_id: Long.fromNumber(7),
    read_cnt: Long.fromNumber(5),
    like_cnt: Long.ZERO,
    collect_cnt: Long.ZERO,
    ctime: pipelineTime,
    utime: pipelineTime,
    offsets: { "article_read_event:0": Long.fromNumber(4) },
    v: 3,
  } as Document);
  await my.insert([row(7, 100, { like_cnt: "2", collect_cnt: "1" }), row(8, 9)]);

  const summary = await runImport(my, config);
  assert.equal(summary.addedToExisting, 1);
  assert.equal(summary.newDocuments, 1);
  const doc = (await documents(fx)).get("article:7");
  assert.ok(doc);
  assert.equal(str(doc.read_cnt), "105", "the pipeline's 5 reads + the MySQL base of 100");
  assert.equal(str(doc.like_cnt), "2");
  assert.equal(str(doc.collect_cnt), "1");
  assert.equal(str(doc.ctime), String(T0), "the earlier creation time");
  assert.equal(str(doc.utime), pipelineTime.toString(), "the later change time");
  assert.equal(doc.v, 4, "a new version of the document: a cache hash of the old one is told apart");
  assert.equal(str(doc.offsets["article_read_event:0"]), "4", "the pipeline's marks are left alone");
  assert.equal(str(doc.imported.read_cnt), "100");

  const again = await runImport(my, config);
  assert.equal(again.alreadyImported, 2);
  assert.equal(str((await documents(fx)).get("article:7")?.read_cnt), "105");
});

test("rows that cannot be imported are skipped with their reasons; the rest is imported", async () => {
  const { my, fx, config } = await setup();
  // A document under another _id holds (article, 55): the unique (biz, biz_id) index refuses a second.
  await fx.db.collection(COLLECTION).insertOne({
    _id: "legacy-55",
    biz: "article",
    biz_id: Long.fromNumber(55),
    read_cnt: Long.ONE,
    like_cnt: Long.ZERO,
    collect_cnt: Long.ZERO,
    ctime: Long.fromNumber(T0),
    utime: Long.fromNumber(T0),
  } as Document);
  await my.insert([
    row(1, 10), // id 1: imported
    row(2, 0, { read_cnt: null }), // 2
    row(3, 1, { like_cnt: "-3" }), // 3
    row(0, 1), // 4
    row(-5, 1), // 5
    row(6, 1, { biz: "" }), // 6
    row(55, 4), // 7
    row(8, 2, { collect_cnt: null }), // 8
    row(9, 3), // 9: imported
  ]);
  const summary = await runImport(my, config, ["--batch", "4"]);
  assert.equal(summary.rowsRead, 9);
  assert.equal(summary.documentsWritten, 2);
  assert.equal(summary.skipped, 7);
  const reasons = Object.fromEntries(
    Object.entries(summary.skippedByReason).map(([reason, r]) => [reason, r.rowIds]),
  );
  const duplicate = Object.keys(reasons).find((r) => r.startsWith("duplicate key on "));
  assert.ok(duplicate, `a duplicate-key reason among ${JSON.stringify(reasons)}`);
  assert.match(duplicate, /another document holds this \(biz, biz_id\)/);
  assert.deepEqual(reasons, {
    "read_cnt is NULL": ["2"],
    "like_cnt is negative": ["3"],
    "biz_id <= 0": ["4", "5"],
    "biz is empty": ["6"],
    [duplicate]: ["7"],
    "collect_cnt is NULL": ["8"],
  });
  assert.match(summary.skippedByReason[duplicate]?.detail ?? "", /E11000|duplicate/i);
  const docs = await documents(fx);
  assert.deepEqual([...docs.keys()].sort(), ["article:1", "article:9", "legacy-55"]);
  assert.equal(str(docs.get("legacy-55")?.read_cnt), "1", "the other document is left alone");
});

test("bad credentials, a missing table and bad arguments stop the importer with a clear message", async () => {
  const { my, config } = await setup();
  const run = async (args: string[]) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "src/main/import-mysql.ts", ...args], {
      cwd: ROOT,
      env: envOf(config),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    proc.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
    return { code, err };
  };
  const wrong = new URL(my.url);
  wrong.password = "not-the-password";
  const denied = await run(["--url", wrong.toString()]);
  assert.equal(denied.code, 1);
  assert.match(denied.err, /cannot connect to MySQL at mysql:\/\/[^ ]+: .*Access denied/);
  assert.ok(!denied.err.includes("not-the-password"), "the password is not printed");

  const missing = await run(["--url", my.url, "--table", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, new RegExp(`table ${my.database}\\.nope does not exist`));

  const usage = await run(["--batch", "0", "--url", my.url]);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /--batch: expected an integer/);
});
