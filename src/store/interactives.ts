// MongoDB collection `interactives`: one document per (biz, biz_id), as the Go table.
// `_id` is "<biz>:<biz_id>"; a unique index on (biz, biz_id) backs the Go schema's constraint.
// Besides the counters, a document keeps `offsets`: per Kafka topic-partition, the highest
// offset applied to it (see counting/plan-increments.ts); `v`: a version every pipeline write
// bumps, for compare-and-set; and `dead_letters`: ids of dead letters counted after a retry.
// Filters are `{_id}`, `{_id: {$in}}` or `{_id, v}`, each the exact key set of an index, so the
// lookup stays an index lookup on the test server too (mongo-java-server uses an index only
// for a query on exactly its keys; a filter on `_id` plus another field scans the collection).
import {
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  Long,
  MongoBulkWriteError,
  MongoServerError,
} from "mongodb";
import type { ArticlePlan, StoredState } from "../counting/plan-increments.js";

export const COLLECTION = "interactives";
const DUPLICATE_KEY = 11000;
const READ_SLICE = 200;

export interface InteractiveDoc {
  _id: string;
  biz: string;
  biz_id: Long;
  read_cnt: Long;
  like_cnt: Long;
  collect_cnt: Long;
  ctime: Long;
  utime: Long;
  offsets?: Record<string, Long>;
  v?: number | null;
  dead_letters?: string[];
}

export interface Counts {
  readCnt: number;
  likeCnt: number;
  collectCnt: number;
}

export function docId(biz: string, bizId: bigint | string): string {
  return `${biz}:${bizId}`;
}

/** The fields an upsert sets when it creates the document (counters it does not touch at 0). */
function newDocument(biz: string, bizId: bigint | string, now: Long) {
  return {
    biz,
    biz_id: Long.fromString(bizId.toString()),
    like_cnt: Long.ZERO,
    collect_cnt: Long.ZERO,
    ctime: now,
  };
}

function toNumber(v: unknown): number {
  if (v instanceof Long) return v.toNumber();
  return typeof v === "number" ? v : 0;
}

export class InteractiveStore {
  readonly collection: Collection<InteractiveDoc>;

  constructor(db: Db) {
    this.collection = db.collection<InteractiveDoc>(COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ biz: 1, biz_id: 1 }, { unique: true, name: "biz_biz_id" });
    await this.collection.createIndex({ _id: 1, v: 1 }, { unique: true, name: "id_version" });
  }

  /** The pipeline state (version, marks) of the given articles; absent documents are left out. */
  async readState(biz: string, aids: readonly string[]): Promise<Map<string, StoredState>> {
    const out = new Map<string, StoredState>();
    // In slices: mongo-java-server matches a large $in in time quadratic in its size.
    const slices: string[][] = [];
    for (let i = 0; i < aids.length; i += READ_SLICE) slices.push(aids.slice(i, i + READ_SLICE));
    const found = await Promise.all(
      slices.map((slice) =>
        this.collection
          .find(
            { _id: { $in: slice.map((aid) => docId(biz, aid)) } },
            { projection: { biz_id: 1, offsets: 1, v: 1 }, promoteLongs: false, batchSize: slice.length },
          )
          .toArray(),
      ),
    );
    for (const doc of found.flat()) {
      const marks = new Map<string, bigint>();
      for (const [key, value] of Object.entries(doc.offsets ?? {})) marks.set(key, BigInt(value.toString()));
      out.set(doc.biz_id.toString(), { version: typeof doc.v === "number" ? doc.v : null, marks });
    }
    return out;
  }

  /**
   * Applies the plans with delta > 0 as one unordered bulk of compare-and-set upserts: each adds
   * its delta and moves its marks only if the document's version is still the one the plan was
   * made from. Returns the articles written by someone else meanwhile (the upsert then hits the
   * existing _id: duplicate key): re-read and re-plan those.
   */
  async applyPlans(biz: string, plans: readonly ArticlePlan[], nowMs: number): Promise<Set<string>> {
    const writes = plans.filter((p) => p.delta > 0);
    if (writes.length === 0) return new Set();
    const now = Long.fromNumber(nowMs);
    const ops: AnyBulkWriteOperation<InteractiveDoc>[] = writes.map((plan) => {
      const set: Record<string, unknown> = { utime: now, v: (plan.expectedVersion ?? 0) + 1 };
      for (const [key, mark] of plan.nextMarks) set[`offsets.${key}`] = Long.fromBigInt(mark);
      return {
        updateOne: {
          // v: null matches a document without a version, or inserts a new one.
          filter: { _id: docId(biz, plan.aid), v: plan.expectedVersion },
          update: {
            $inc: { read_cnt: Long.fromNumber(plan.delta) },
            $set: set,
            $setOnInsert: newDocument(biz, plan.aid, now),
          },
          upsert: true,
        },
      };
    });
    try {
      await this.collection.bulkWrite(ops, { ordered: false });
      return new Set();
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      if (writeErrors.length === 0) throw err;
      const conflicts = new Set<string>();
      for (const e of writeErrors) {
        const plan = writes[e.index];
        if (e.code !== DUPLICATE_KEY || plan === undefined) throw err;
        conflicts.add(plan.aid);
      }
      return conflicts;
    }
  }

  /**
   * Adds one read from a dead letter that became valid, at most once per dead letter id.
   * Returns false when that dead letter had been counted already.
   */
  async countDeadLetter(biz: string, aid: bigint, deadLetter: string, nowMs: number): Promise<boolean> {
    const now = Long.fromNumber(nowMs);
    try {
      const res = await this.collection.updateOne(
        { _id: docId(biz, aid), dead_letters: { $ne: deadLetter } },
        {
          $inc: { read_cnt: Long.ONE },
          $set: { utime: now },
          $push: { dead_letters: deadLetter },
          $setOnInsert: newDocument(biz, aid, now),
        },
        { upsert: true },
      );
      return res.modifiedCount + res.upsertedCount === 1;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
      throw err;
    }
  }

  /** The counters of one (biz, biz_id), or null when there is no document. */
  async find(biz: string, bizId: bigint): Promise<Counts | null> {
    const doc = await this.collection.findOne(
      { _id: docId(biz, bizId) },
      { projection: { read_cnt: 1, like_cnt: 1, collect_cnt: 1 }, promoteLongs: false },
    );
    if (doc === null) return null;
    return {
      readCnt: toNumber(doc.read_cnt),
      likeCnt: toNumber(doc.like_cnt),
      collectCnt: toNumber(doc.collect_cnt),
    };
  }
}
