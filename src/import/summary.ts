// What an import did, counted as it goes and printed at the end: rows read, documents written
// (new + added to existing), already imported, skipped per reason with a few example row ids.
import type { BatchOutcome, SkippedRow } from "./write-batch.js";

const EXAMPLES = 5;

interface SkipReason {
  count: number;
  /** The first few row ids skipped for it. */
  rowIds: string[];
  /** The server's message for the first of them, when there was one. */
  detail?: string;
}

export interface ImportSummary {
  source: string;
  /** The checkpoint it started after (--resume), or null when it started at the first row. */
  resumedAfter: string | null;
  /** The id of the last row read, or null when there was none. */
  lastId: string | null;
  rowsRead: number;
  documentsWritten: number;
  newDocuments: number;
  addedToExisting: number;
  alreadyImported: number;
  skipped: number;
  skippedByReason: Record<string, SkipReason>;
  elapsedMs: number;
  rowsPerSecond: number;
}

export class SummaryBuilder {
  private readonly s: ImportSummary;
  private readonly started = performance.now();

  constructor(source: string, resumedAfter: bigint | null) {
    this.s = {
      source,
      resumedAfter: resumedAfter === null ? null : resumedAfter.toString(),
      lastId: null,
      rowsRead: 0,
      documentsWritten: 0,
      newDocuments: 0,
      addedToExisting: 0,
      alreadyImported: 0,
      skipped: 0,
      skippedByReason: {},
      elapsedMs: 0,
      rowsPerSecond: 0,
    };
  }

  get rowsRead(): number {
    return this.s.rowsRead;
  }

  read(rows: number, lastId: bigint): void {
    this.s.rowsRead += rows;
    this.s.lastId = lastId.toString();
  }

  skip(row: SkippedRow): void {
    this.s.skipped += 1;
    const entry = this.s.skippedByReason[row.reason] ?? { count: 0, rowIds: [] };
    entry.count += 1;
    if (entry.rowIds.length < EXAMPLES) entry.rowIds.push(row.id);
    if (entry.detail === undefined && row.detail !== undefined) entry.detail = row.detail;
    this.s.skippedByReason[row.reason] = entry;
  }

  written(outcome: BatchOutcome): void {
    this.s.newDocuments += outcome.newDocuments;
    this.s.addedToExisting += outcome.addedToExisting;
    this.s.documentsWritten += outcome.newDocuments + outcome.addedToExisting;
    this.s.alreadyImported += outcome.alreadyImported;
    for (const row of outcome.skipped) this.skip(row);
  }

  finish(): ImportSummary {
    const elapsedMs = Math.round(performance.now() - this.started);
    return {
      ...this.s,
      skippedByReason: structuredClone(this.s.skippedByReason),
      elapsedMs,
      rowsPerSecond: elapsedMs > 0 ? Math.round(this.s.rowsRead / (elapsedMs / 1000)) : this.s.rowsRead,
    };
  }
}

/** One line for a person: what was read, written, found imported already and skipped. */
export function formatSummary(s: ImportSummary): string {
  const reasons = Object.entries(s.skippedByReason)
    .map(
      ([reason, r]) =>
        `${reason}: ${r.count} (rows ${r.rowIds.join(", ")}${r.count > r.rowIds.length ? ", ..." : ""})`,
    )
    .join("; ");
  return (
    `import from ${s.source}${s.resumedAfter === null ? "" : ` (resumed after row ${s.resumedAfter})`}: ` +
    `${s.rowsRead} rows read, ${s.documentsWritten} documents written ` +
    `(${s.newDocuments} new, ${s.addedToExisting} added to existing), ` +
    `${s.alreadyImported} already imported, ${s.skipped} skipped${reasons === "" ? "" : ` [${reasons}]`}, ` +
    `${(s.elapsedMs / 1000).toFixed(1)} s, ${s.rowsPerSecond} rows/s`
  );
}
