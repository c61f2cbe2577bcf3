// The importer's command line, progress line and summary line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ImportUsageError } from "../../src/import/errors.js";
import { checkpointId, describeSource, parseImportArgs } from "../../src/import/import-options.js";
import { formatProgress } from "../../src/import/progress.js";
import { formatSummary, SummaryBuilder } from "../../src/import/summary.js";

test("arguments: defaults, --resume, and MYSQL_URL instead of --url", () => {
  const o = parseImportArgs(["--url", "mysql://u:p%40ss@db.example:3307/webook"], {});
  assert.deepEqual(o, {
    url: "mysql://u:p%40ss@db.example:3307/webook",
    host: "db.example",
    port: 3307,
    database: "webook",
    table: "interactives",
    batch: 1000,
    resume: false,
  });
  const e = parseImportArgs(["--table", "inter_2", "--batch", "500", "--resume"], {
    MYSQL_URL: "mysql://u:p@127.0.0.1/w",
  });
  assert.equal(e.port, 3306);
  assert.equal(e.table, "inter_2");
  assert.equal(e.batch, 500);
  assert.equal(e.resume, true);
  assert.equal(describeSource(e), "mysql://127.0.0.1:3306/w.inter_2");
  assert.equal(checkpointId(e), "mysql:w.inter_2");
  assert.ok(!describeSource(o).includes("p%40ss"), "no credentials in the description");
});

test("arguments: what is refused, with a message naming the option", () => {
  const bad: [string[], RegExp][] = [
    [[], /--url \(or MYSQL_URL\) is required/],
    [["--url", "mysql://u:p@h:3306"], /name the database/],
    [["--url", "postgres://u:p@h/db"], /expected a mysql:\/\/ URL/],
    [["--url", "not a url"], /expected mysql:\/\//],
    [["--url", "mysql://h/db", "--table", "a;drop"], /--table/],
    [["--url", "mysql://h/db", "--batch", "0"], /--batch/],
    [["--url", "mysql://h/db", "--batch", "1e3"], /--batch/],
    [["--url", "mysql://h/db", "--bogus"], /bogus/],
  ];
  for (const [argv, message] of bad) {
    assert.throws(
      () => parseImportArgs(argv, {}),
      (err: unknown) => {
        assert.ok(err instanceof ImportUsageError);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test("the progress line: bar, percentage, rate and ETA; a count alone when the total is unknown", () => {
  assert.equal(
    formatProgress(50_000, 200_000, 10_000, 20),
    "[#####...............] 25% 50,000/200,000 rows 5,000 rows/s ETA 30s",
  );
  assert.equal(
    formatProgress(200_000, 200_000, 40_000, 4),
    "[####] 100% 200,000/200,000 rows 5,000 rows/s ETA 0s",
  );
  assert.equal(formatProgress(0, 0, 0), "0 rows 0 rows/s");
  assert.equal(formatProgress(10, undefined, 1000), "10 rows 10 rows/s");
});

test("the summary counts written, already imported and skipped rows per reason", () => {
  const b = new SummaryBuilder("mysql://h:3306/w.interactives", 10n);
  b.skip({ id: "11", reason: "read_cnt is NULL" });
  b.written({
    newDocuments: 3,
    addedToExisting: 2,
    alreadyImported: 4,
    skipped: [{ id: "12", reason: "duplicate key on biz_biz_id: x", detail: "E11000 ..." }],
  });
  b.skip({ id: "13", reason: "read_cnt is NULL" });
  b.read(11, 21n);
  const s = b.finish();
  assert.equal(s.rowsRead, 11);
  assert.equal(s.documentsWritten, 5);
  assert.equal(s.newDocuments, 3);
  assert.equal(s.addedToExisting, 2);
  assert.equal(s.alreadyImported, 4);
  assert.equal(s.skipped, 3);
  assert.equal(s.lastId, "21");
  assert.equal(s.resumedAfter, "10");
  assert.deepEqual(s.skippedByReason, {
    "read_cnt is NULL": { count: 2, rowIds: ["11", "13"] },
    "duplicate key on biz_biz_id: x": { count: 1, rowIds: ["12"], detail: "E11000 ..." },
  });
  assert.match(
    formatSummary(s),
    /^import from mysql:\/\/h:3306\/w\.interactives \(resumed after row 10\): 11 rows read, 5 documents written \(3 new, 2 added to existing\), 4 already imported, 3 skipped \[read_cnt is NULL: 2 \(rows 11, 13\); duplicate key on biz_biz_id: x: 1 \(rows 12\)\], \d+\.\d s, \d+ rows\/s$/,
  );
});
