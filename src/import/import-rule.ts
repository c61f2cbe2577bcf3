// The import rule: the counts of a MySQL row are ADDED ONCE to its document and recorded there.
//
//   updateOne({_id: "<biz>:<biz_id>", imported: null},
//             {$inc: {read_cnt, like_cnt, collect_cnt, v: 1},
//              $set: {imported: {from: "mysql", id, read_cnt, like_cnt, collect_cnt, at}},
//              $min: {ctime}, $max: {utime}, $setOnInsert: {biz, biz_id}},
//             {upsert: true})
//
// - A document the pipeline created before the import (reads counted from Kafka, no `imported`)
//   gets the base added on top of its own reads: never overwritten, never moved backwards.
// - A document that carries `imported` already makes the filter miss, and the upsert then hits
//   the existing _id: duplicate key (11000), which the importer counts as "already imported".
//   So a second run, or a run after a crash half-way, adds nothing twice.
// - The pipeline's marks (`offsets`) are left alone, and its version `v` is incremented like the
//   counters: $inc commutes with the pipeline's compare-and-set $inc (a worker writing the same
//   document at the same time finds another version, re-reads and writes again), its marks still
//   say which Kafka events it counted, and a cache hash filled before the import is told apart
//   from one filled after it.
// - `_id` is the documents' own scheme (docId), so the pipeline increments imported documents.
import { type AnyBulkWriteOperation, Long } from "mongodb";
import { docId, type InteractiveDoc } from "../store/interactives.js";
import type { ImportRow } from "./check-row.js";

const IMPORTED_FROM = "mysql";

/** What a document records of the base added to it. */
interface ImportedMarker {
  from: typeof IMPORTED_FROM;
  /** The MySQL row's id. */
  id: Long;
  read_cnt: Long;
  like_cnt: Long;
  collect_cnt: Long;
  /** When it was added, Unix ms. */
  at: Long;
}

export type ImportedDoc = InteractiveDoc & { imported?: ImportedMarker | null };

/**
 * The index that keeps `{_id, imported: null}` an index lookup. mongo-java-server (the test
 * server) uses an index only for a filter on exactly its keys, and ignores non-unique secondary
 * indexes altogether, so it is declared unique: harmless, since `_id` alone is unique already.
 */
export const IMPORT_INDEX = { keys: { _id: 1, imported: 1 }, name: "id_imported", unique: true } as const;

export function importOp(row: ImportRow, nowMs: number): AnyBulkWriteOperation<ImportedDoc> {
  const counts = {
    read_cnt: Long.fromBigInt(row.readCnt),
    like_cnt: Long.fromBigInt(row.likeCnt),
    collect_cnt: Long.fromBigInt(row.collectCnt),
  };
  return {
    updateOne: {
      filter: { _id: docId(row.biz, row.bizId), imported: null },
      update: {
        $inc: { ...counts, v: 1 },
        $set: {
          imported: {
            from: IMPORTED_FROM,
            id: Long.fromBigInt(row.id),
            ...counts,
            at: Long.fromNumber(nowMs),
          },
        },
        // The document existed since whichever came first, and was last changed by whichever last.
        $min: { ctime: Long.fromBigInt(row.ctime) },
        $max: { utime: Long.fromBigInt(row.utime) },
        $setOnInsert: { biz: row.biz, biz_id: Long.fromBigInt(row.bizId) },
      },
      upsert: true,
    },
  };
}
