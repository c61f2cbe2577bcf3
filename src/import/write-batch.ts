// Writes one batch of rows as one unordered bulk of import upserts (see import-rule.ts) and sorts
// out the operations MongoDB refused. A refused operation never stops the import: it is either a
// document imported before, or a row skipped with its reason. Only an error of the whole write
// (outage, write concern not satisfied) is thrown, before the checkpoint moves past the batch.
import { type Collection, Long, MongoBulkWriteError } from "mongodb";
import { docId } from "../store/interactives.js";
import type { ImportRow } from "./check-row.js";
import { type ImportedDoc, importOp } from "./import-rule.js";

const DUPLICATE_KEY = 11000;
// mongo-java-server matches a large $in in time quadratic in its size: look up in slices.
const LOOKUP_SLICE = 200;
// A document created by the pipeline between our filter and our insert is retried; it cannot keep
// happening (the retry's filter matches the now existing document), so a few rounds suffice.
const MAX_ROUNDS = 4;

export interface SkippedRow {
  id: string;
  reason: string;
  detail?: string;
}

export interface BatchOutcome {
  newDocuments: number;
  addedToExisting: number;
  alreadyImported: number;
  skipped: SkippedRow[];
}

/** The index a duplicate-key message names ("... index: biz_biz_id dup key: ..."). */
function indexOf(message: string): string | undefined {
  return /index: (\S+) dup key/.exec(message)?.[1];
}

export async function writeImportBatch(
  collection: Collection<ImportedDoc>,
  rows: readonly ImportRow[],
  nowMs: number,
): Promise<BatchOutcome> {
  const out: BatchOutcome = { newDocuments: 0, addedToExisting: 0, alreadyImported: 0, skipped: [] };
  let pending = [...rows];
  for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round++) {
    const duplicates: { row: ImportRow; message: string }[] = [];
    try {
      const res = await collection.bulkWrite(
        pending.map((row) => importOp(row, nowMs)),
        { ordered: false },
      );
      out.newDocuments += res.upsertedCount;
      out.addedToExisting += res.matchedCount;
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const raw: unknown = err.writeErrors;
      const writeErrors =
        raw === undefined ? [] : Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      // No per-operation error, or a write concern error: the batch as a whole is not known to be
      // durable. Stop; the checkpoint still points before it, and re-running it adds nothing twice.
      if (writeErrors.length === 0 || err.result.getWriteConcernError() !== undefined) throw err;
      out.newDocuments += err.result.upsertedCount;
      out.addedToExisting += err.result.matchedCount;
      for (const e of writeErrors) {
        const row = pending[e.index];
        if (row === undefined) throw err;
        const message = e.errmsg ?? "";
        if (e.code === DUPLICATE_KEY) duplicates.push({ row, message });
        else out.skipped.push({ id: row.id.toString(), reason: `write error ${e.code}`, detail: message });
      }
    }
    pending = await sortDuplicates(collection, duplicates, out);
  }
  for (const row of pending) {
    out.skipped.push({ id: row.id.toString(), reason: "document kept changing during the import" });
  }
  return out;
}

/**
 * A duplicate key means one of three things, told apart by reading the documents by _id:
 * it carries `imported` (imported before: counted, not an error); it exists without `imported`
 * (the pipeline created it between our filter and our insert: returned, to write again); or
 * there is no document under that _id, so another document holds the same (biz, biz_id).
 */
async function sortDuplicates(
  collection: Collection<ImportedDoc>,
  duplicates: readonly { row: ImportRow; message: string }[],
  out: BatchOutcome,
): Promise<ImportRow[]> {
  if (duplicates.length === 0) return [];
  const ids = duplicates.map((d) => docId(d.row.biz, d.row.bizId));
  const found = new Map<string, ImportedDoc>();
  for (let i = 0; i < ids.length; i += LOOKUP_SLICE) {
    const slice = ids.slice(i, i + LOOKUP_SLICE);
    const docs = await collection
      .find(
        { _id: { $in: slice } },
        { projection: { imported: 1 }, promoteLongs: false, batchSize: slice.length },
      )
      .toArray();
    for (const doc of docs) found.set(doc._id, doc);
  }
  const again: ImportRow[] = [];
  for (const { row, message } of duplicates) {
    const doc = found.get(docId(row.biz, row.bizId));
    const rowId = row.id.toString();
    if (doc === undefined) {
      out.skipped.push({
        id: rowId,
        reason: `duplicate key on ${indexOf(message) ?? "a unique index"}: another document holds this (biz, biz_id)`,
        detail: message,
      });
    } else if (doc.imported === undefined || doc.imported === null) {
      again.push(row);
    } else if (doc.imported.id instanceof Long && doc.imported.id.toString() !== rowId) {
      out.skipped.push({
        id: rowId,
        reason: "document already holds a base imported from another row",
        detail: `${doc._id} was imported from row ${doc.imported.id.toString()}`,
      });
    } else {
      out.alreadyImported += 1;
    }
  }
  return again;
}
