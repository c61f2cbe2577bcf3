// The worker's view of MongoDB (ArticleStore) in memory, for unit tests of applyReadGroup: the
// documents' read_cnt, version `v` and marks, the partition ledger, the recorded dead-letter
// offsets, and the compare-and-set write as MongoDB applies it (a filter on {_id, v} that misses
// an existing document is a conflict; one that misses an absent document inserts it).

import type { CacheWrite } from "../../src/cache/read-cache.js";
import { type ArticlePlan, messageOffsetKey, type StoredState } from "../../src/counting/plan-increments.js";
import type { ApplyResult, DeadLetterOffsets, LedgerEntry } from "../../src/store/interactives.js";
import type { ArticleStore, CacheFollower } from "../../workers/apply-read-group.js";

export interface MemoryDoc {
  readCnt: number;
  /** Absent (undefined) as in a document the pipeline never wrote; anything else as stored. */
  v?: unknown;
  marks: Map<string, bigint>;
}

export class MemoryStore implements ArticleStore {
  readonly docs = new Map<string, MemoryDoc>();
  readonly ledger = new Map<string, LedgerEntry>();
  /** Messages recorded as left to the dead-letter queue, as messageOffsetKey. */
  readonly deadLetterOffsets = new Set<string>();
  /** Articles read (readState), in order. */
  readonly reads: string[] = [];
  /** Bulk writes sent (applyPlans with something to write). */
  writes = 0;
  /** Documents MongoDB refuses, with the reason (say a duplicate on another index). */
  readonly refuse = new Map<string, string>();
  /** Runs before each bulk write is applied: another writer acting in between. */
  beforeWrite: (() => void) | undefined;

  async readLedger(keys: readonly string[]): Promise<Map<string, LedgerEntry>> {
    return new Map(keys.flatMap((k) => (this.ledger.has(k) ? [[k, this.ledger.get(k) as LedgerEntry]] : [])));
  }

  async advanceLedger(entries: ReadonlyMap<string, LedgerEntry>): Promise<void> {
    for (const [key, e] of entries) {
      const before = this.ledger.get(key);
      this.ledger.set(key, {
        through: before === undefined || e.through > before.through ? e.through : before.through,
        maxTimestamp: Math.max(before?.maxTimestamp ?? e.maxTimestamp, e.maxTimestamp),
      });
    }
  }

  async recordDeadLetterOffsets(records: readonly DeadLetterOffsets[]): Promise<void> {
    for (const { key, offsets } of records)
      for (const o of offsets) this.deadLetterOffsets.add(messageOffsetKey(key, o));
  }

  async readDeadLetterOffsets(
    ranges: readonly { key: string; first: bigint; last: bigint }[],
  ): Promise<Set<string>> {
    const out = new Set<string>();
    for (const { key, first, last } of ranges)
      for (let o = first; o <= last; o++)
        if (this.deadLetterOffsets.has(messageOffsetKey(key, o))) out.add(messageOffsetKey(key, o));
    return out;
  }

  async readState(
    _biz: string,
    aids: readonly string[],
  ): Promise<{ states: Map<string, StoredState>; invalid: Map<string, string> }> {
    const states = new Map<string, StoredState>();
    const invalid = new Map<string, string>();
    for (const aid of aids) {
      this.reads.push(aid);
      const doc = this.docs.get(aid);
      if (doc === undefined) continue;
      if (doc.v !== undefined && doc.v !== null && !Number.isInteger(doc.v)) {
        invalid.set(
          aid,
          `document article:${aid}: v is ${JSON.stringify(doc.v)}, expected an integer or no v`,
        );
        continue;
      }
      states.set(aid, { version: (doc.v as number | undefined) ?? null, marks: new Map(doc.marks) });
    }
    return { states, invalid };
  }

  async applyPlans(_biz: string, plans: readonly ArticlePlan[]): Promise<ApplyResult> {
    const result: ApplyResult = { conflicts: new Set(), rejected: new Map() };
    const writes = plans.filter((p) => p.delta > 0);
    if (writes.length === 0) return result;
    this.writes++;
    this.beforeWrite?.();
    for (const plan of writes) {
      const refused = this.refuse.get(plan.aid);
      if (refused !== undefined) {
        result.rejected.set(plan.aid, refused);
        continue;
      }
      const doc = this.docs.get(plan.aid);
      const version = doc === undefined ? undefined : ((doc.v as number | null | undefined) ?? null);
      if (doc !== undefined && (plan.creates || version !== plan.expectedVersion)) {
        result.conflicts.add(plan.aid); // the insert, or the upsert whose filter missed, hit the existing _id
        continue;
      }
      const next: MemoryDoc = doc ?? { readCnt: 0, marks: new Map() };
      next.readCnt += plan.delta;
      next.v = (plan.expectedVersion ?? 0) + 1;
      for (const [key, mark] of plan.nextMarks) next.marks.set(key, mark);
      this.docs.set(plan.aid, next);
    }
    return result;
  }

  /** Another writer's change of a document (a dead letter counted, another worker): a new version. */
  touch(aid: string, added = 0): void {
    const doc: MemoryDoc = this.docs.get(aid) ?? { readCnt: 0, marks: new Map() };
    doc.readCnt += added;
    doc.v = ((doc.v as number | undefined) ?? 0) + 1;
    this.docs.set(aid, doc);
  }

  readCnt(aid: string): number | undefined {
    return this.docs.get(aid)?.readCnt;
  }
}

/** A cache that records what a group asks of it and holds nothing. */
export class RecordingCache implements CacheFollower {
  readonly writes: CacheWrite[] = [];

  async applyWrites(writes: readonly CacheWrite[]) {
    this.writes.push(...writes);
    return { incremented: 0, dropped: 0 };
  }
}
