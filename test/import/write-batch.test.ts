// How a batch's refused operations are sorted out, against a scripted stand-in for the
// collection (the real server's side is covered by import-mysql.int.test.ts): already imported,
// created by the pipeline meanwhile (written again), another document holding (biz, biz_id),
// another error, and errors of the whole write, which must stop the import.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AnyBulkWriteOperation,
  type BulkWriteResult,
  type Collection,
  Long,
  MongoBulkWriteError,
  MongoNetworkError,
  type WriteError,
} from "mongodb";
import type { ImportRow } from "../../src/import/check-row.js";
import type { ImportedDoc } from "../../src/import/import-rule.js";
import { writeImportBatch } from "../../src/import/write-batch.js";

const NOW = 1_760_000_000_000;

function rowOf(id: number, bizId = id): ImportRow {
  return {
    id: BigInt(id),
    biz: "article",
    bizId: BigInt(bizId),
    readCnt: 5n,
    likeCnt: 0n,
    collectCnt: 0n,
    ctime: 1n,
    utime: 2n,
  };
}

function result(upserted: number, matched: number, concernError = false): BulkWriteResult {
  return {
    upsertedCount: upserted,
    matchedCount: matched,
    getWriteConcernError: () =>
      concernError ? { code: 64, errmsg: "waiting for replication timed out" } : undefined,
  } as unknown as BulkWriteResult;
}

function bulkError(
  errors: { index: number; code: number; errmsg: string }[],
  res: BulkWriteResult,
): MongoBulkWriteError {
  // The driver's WriteError is not exported at run time; what the importer reads is these fields.
  const writeErrors = errors as unknown as WriteError[];
  return new MongoBulkWriteError(
    { message: "bulk write failed", code: errors[0]?.code ?? 0, writeErrors },
    res,
  );
}

/** Answers each bulkWrite with the next scripted outcome; find() with the given documents. */
function fakeCollection(
  outcomes: ((ops: AnyBulkWriteOperation<ImportedDoc>[]) => BulkWriteResult)[],
  docs: ImportedDoc[],
) {
  const calls: string[][] = [];
  const collection = {
    async bulkWrite(ops: AnyBulkWriteOperation<ImportedDoc>[]) {
      calls.push(ops.map((op) => ("updateOne" in op ? String(op.updateOne.filter._id) : "?")));
      const next = outcomes.shift();
      if (next === undefined) throw new Error("unexpected bulkWrite");
      return next(ops);
    },
    find(filter: { _id: { $in: string[] } }) {
      return { toArray: async () => docs.filter((d) => filter._id.$in.includes(d._id)) };
    },
  };
  return { collection: collection as unknown as Collection<ImportedDoc>, calls };
}

function doc(id: string, imported?: { id: number }): ImportedDoc {
  const zero = Long.ZERO;
  return {
    _id: id,
    biz: "article",
    biz_id: Long.fromString(id.split(":")[1] ?? "0"),
    read_cnt: zero,
    like_cnt: zero,
    collect_cnt: zero,
    ctime: zero,
    utime: zero,
    ...(imported === undefined
      ? {}
      : {
          imported: {
            from: "mysql",
            id: Long.fromNumber(imported.id),
            read_cnt: zero,
            like_cnt: zero,
            collect_cnt: zero,
            at: zero,
          },
        }),
  };
}

const dup = (index: number, indexName: string) => ({
  index,
  code: 11000,
  errmsg: `E11000 duplicate key error collection: t.interactives index: ${indexName} dup key: {}`,
});

test("a batch MongoDB takes whole: new and existing documents counted", async () => {
  const { collection, calls } = fakeCollection([() => result(2, 1)], []);
  const out = await writeImportBatch(collection, [rowOf(1), rowOf(2), rowOf(3)], NOW);
  assert.deepEqual(out, { newDocuments: 2, addedToExisting: 1, alreadyImported: 0, skipped: [] });
  assert.deepEqual(calls, [["article:1", "article:2", "article:3"]]);
});

test("refused operations: already imported, pipeline meanwhile, another document, other errors", async () => {
  const rows = [rowOf(1), rowOf(2), rowOf(3), rowOf(4), rowOf(5), rowOf(6)];
  const docs = [
    doc("article:1", { id: 1 }), // imported by an earlier run
    doc("article:3"), // created by the pipeline between our filter and our insert
    doc("article:5", { id: 99 }), // holds a base from another row
    // article:2 has no document: its (biz, biz_id) is held under another _id
  ];
  const { collection, calls } = fakeCollection(
    [
      () => {
        throw bulkError(
          [
            dup(0, "_id_"),
            dup(1, "biz_biz_id"),
            dup(2, "_id_"),
            { index: 3, code: 14, errmsg: "Cannot apply $inc to a value of non-numeric type" },
            dup(4, "_id_"),
          ],
          result(0, 1), // row 6 was added to an existing document
        );
      },
      () => result(0, 1), // row 3, written again, now finds the pipeline's document
    ],
    docs,
  );
  const out = await writeImportBatch(collection, rows, NOW);
  assert.deepEqual(calls, [
    ["article:1", "article:2", "article:3", "article:4", "article:5", "article:6"],
    ["article:3"],
  ]);
  assert.equal(out.newDocuments, 0);
  assert.equal(out.addedToExisting, 2);
  assert.equal(out.alreadyImported, 1);
  assert.deepEqual(
    out.skipped.map((s) => [s.id, s.reason]),
    [
      ["4", "write error 14"],
      ["2", "duplicate key on biz_biz_id: another document holds this (biz, biz_id)"],
      ["5", "document already holds a base imported from another row"],
    ],
  );
  assert.match(out.skipped[0]?.detail ?? "", /non-numeric/);
});

test("a document that keeps appearing without a base is given up after a few rounds, with a reason", async () => {
  const always = () => {
    throw bulkError([dup(0, "_id_")], result(0, 0));
  };
  const { collection, calls } = fakeCollection([always, always, always, always], [doc("article:7")]);
  const out = await writeImportBatch(collection, [rowOf(7)], NOW);
  assert.equal(calls.length, 4);
  assert.deepEqual(out.skipped, [{ id: "7", reason: "document kept changing during the import" }]);
});

test("errors of the whole write stop the import instead of being taken for rows", async () => {
  const concern = fakeCollection(
    [
      () => {
        throw bulkError([dup(0, "_id_")], result(0, 0, true));
      },
    ],
    [],
  );
  await assert.rejects(writeImportBatch(concern.collection, [rowOf(1)], NOW), MongoBulkWriteError);
  const network = fakeCollection(
    [
      () => {
        throw new MongoNetworkError("connection reset");
      },
    ],
    [],
  );
  await assert.rejects(writeImportBatch(network.collection, [rowOf(1)], NOW), MongoNetworkError);
});
