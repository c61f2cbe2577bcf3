// Rows of the Go table: exact int64 conversion and the reasons a row is skipped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Long } from "mongodb";
import { checkRow } from "../../src/import/check-row.js";
import { importOp } from "../../src/import/import-rule.js";

const NOW = 1_760_000_000_000;
const row = (over: Record<string, unknown> = {}) => ({
  id: "1",
  biz_id: "42",
  biz: "article",
  read_cnt: "10",
  like_cnt: "2",
  collect_cnt: "1",
  ctime: "1700000000000",
  utime: "1700000005000",
  ...over,
});

test("an ordinary row converts to exact integers", () => {
  assert.deepEqual(checkRow(row(), NOW), {
    ok: true,
    row: {
      id: 1n,
      biz: "article",
      bizId: 42n,
      readCnt: 10n,
      likeCnt: 2n,
      collectCnt: 1n,
      ctime: 1_700_000_000_000n,
      utime: 1_700_000_005_000n,
    },
  });
});

test("int64 edge values stay exact", () => {
  const max = "9223372036854775807";
  const checked = checkRow(row({ id: max, biz_id: max, read_cnt: "9007199254740993" }), NOW);
  assert.ok(checked.ok);
  assert.equal(checked.row.id, 2n ** 63n - 1n);
  assert.equal(checked.row.bizId, 2n ** 63n - 1n);
  assert.equal(checked.row.readCnt, 2n ** 53n + 1n);
});

test("rows that cannot be imported are skipped with a reason naming the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ read_cnt: null }, "read_cnt is NULL"],
    [{ like_cnt: "-1" }, "like_cnt is negative"],
    [{ collect_cnt: "1.5" }, "collect_cnt is not an integer"],
    [{ biz_id: "0" }, "biz_id <= 0"],
    [{ biz_id: "-7" }, "biz_id <= 0"],
    [{ biz_id: null }, "biz_id is NULL"],
    [{ biz_id: "18446744073709551615" }, "biz_id is outside the int64 range"],
    [{ biz: "" }, "biz is empty"],
    [{ biz: null }, "biz is NULL or not text"],
    [{ id: "x" }, "id is not an integer"],
  ];
  for (const [over, reason] of cases) {
    const checked = checkRow(row(over), NOW);
    assert.equal(checked.ok, false, reason);
    if (!checked.ok) assert.equal(checked.reason, reason);
  }
  const skipped = checkRow(row({ id: "77", read_cnt: null }), NOW);
  assert.ok(!skipped.ok && skipped.id === "77");
});

test("NULL or negative times fall back instead of losing the row's counts", () => {
  const noCtime = checkRow(row({ ctime: null }), NOW);
  assert.ok(
    noCtime.ok && noCtime.row.ctime === 1_700_000_005_000n && noCtime.row.utime === 1_700_000_005_000n,
  );
  const neither = checkRow(row({ ctime: null, utime: "-5" }), NOW);
  assert.ok(neither.ok && neither.row.ctime === BigInt(NOW) && neither.row.utime === BigInt(NOW));
  const binaryBiz = checkRow(row({ biz: Buffer.from("article") }), NOW);
  assert.ok(binaryBiz.ok && binaryBiz.row.biz === "article");
});

test("the import operation adds the base once, under the documents' own _id", () => {
  const checked = checkRow(row({ id: "5", biz_id: "9007199254740993" }), NOW);
  assert.ok(checked.ok);
  const op = importOp(checked.row, NOW);
  assert.ok("updateOne" in op);
  const { filter, update, upsert } = op.updateOne;
  assert.deepEqual(filter, { _id: "article:9007199254740993", imported: null });
  assert.equal(upsert, true);
  assert.ok(!Array.isArray(update));
  assert.deepEqual(update.$inc, {
    read_cnt: Long.fromInt(10),
    like_cnt: Long.fromInt(2),
    collect_cnt: Long.ONE,
    v: 1,
  });
  assert.deepEqual(update.$set, {
    imported: {
      from: "mysql",
      id: Long.fromInt(5),
      read_cnt: Long.fromInt(10),
      like_cnt: Long.fromInt(2),
      collect_cnt: Long.ONE,
      at: Long.fromNumber(NOW),
    },
  });
  assert.deepEqual(update.$min, { ctime: Long.fromNumber(1_700_000_000_000) });
  assert.deepEqual(update.$max, { utime: Long.fromNumber(1_700_000_005_000) });
  assert.deepEqual(update.$setOnInsert, { biz: "article", biz_id: Long.fromString("9007199254740993") });
});
