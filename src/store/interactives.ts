// MongoDB collection `interactives`: one document per (biz, biz_id), as the Go table.
// `_id` is "<biz>:<biz_id>"; a unique index on (biz, biz_id) backs the Go schema's constraint.
// Besides the counters, a document keeps `offsets`: per Kafka topic-partition, the highest
// offset applied to it (see counting/plan-increments.ts); `v`: a version every pipeline write
// bumps, for compare-and-set; and `dead_letters`: ids of dead letters counted after a retry.
// Beside it, per partition: `partition_ledger` (how far its jobs were applied) and
// `dead_letter_offsets` (which of its messages the applied jobs left to the dead-letter queue).
// Filters are `{_id}`, `{_id: {$in}}` or `{_id, v}`, each the exact key set of an index, so the
// lookup stays an index lookup on the test server too (mongo-java-server uses an index only
// for a query on exactly its keys; a filter on `_id` plus another field scans the collection).
//
// Durability is pinned here, not left to the URL: the pipeline's writes wait for a majority of
// the replica set and its journal, and marks are read at majority, so what a group counts cannot
// be rolled back after the offsets are committed. A URL asking for less does not weaken this.
import {
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  Long,
  MongoBulkWriteError,
  MongoServerError,
  type ReadConcernLike,
  type WriteConcernSettings,
} from "mongodb";
import { type ArticlePlan, messageOffsetKey, type StoredState } from "../counting/plan-increments.js";

export const COLLECTION = "interactives";
/** Per topic-partition: the highest offset applied and the latest timestamp among its events. */
const LEDGER_COLLECTION = "partition_ledger";
/** One document per message the first job applied for its range left to the dead-letter queue. */
const DEAD_LETTER_OFFSETS_COLLECTION = "dead_letter_offsets";
// wtimeout: a majority that cannot be reached (a secondary down in a primary-secondary-arbiter
// set) fails the group after a minute, to be retried and seen, instead of hanging it.
const WRITE_CONCERN: WriteConcernSettings = { w: "majority", journal: true, wtimeoutMS: 60_000 };
const READ_CONCERN: ReadConcernLike = { level: "majority" };
const DUPLICATE_KEY = 11000;
const READ_SLICE = 200;
/** Unique indexes a compare-and-set upsert collides with when the document changed meanwhile. */
// (`id_imported`, the importer's index, holds `_id` too: a collision there is one on `_id`.)
const CONFLICT_INDEXES = new Set(["_id_", "id_version", "id_imported"]);

/** The index a duplicate-key error names (from its message, which every server version has). */
function duplicateKeyIndex(message: string): string | undefined {
  return /index: (\S+) dup key/.exec(message)?.[1];
}

/** Articles whose documents MongoDB refused, with the reason naming document and cause. */
export class RejectedDocumentsError extends Error {
  constructor(readonly rejected: ReadonlyMap<string, string>) {
    const shown = [...rejected.values()].slice(0, 3).join("; ");
    super(`MongoDB refused ${rejected.size} document(s): ${shown}${rejected.size > 3 ? "; ..." : ""}`);
    this.name = "RejectedDocumentsError";
  }
}

export interface LedgerEntry {
  /** Highest offset applied from the partition (of this topic life). */
  through: bigint;
  /** Latest Kafka timestamp among the messages at or below `through` (Unix ms). */
  maxTimestamp: number;
}

interface LedgerDoc {
  _id: string;
  through: Long;
  max_ts: Long;
  utime: Long;
}

/** Offsets of one partition's messages left to the dead-letter queue by the jobs applied. */
export interface DeadLetterOffsets {
  /** Partition key (see counting/plan-increments.ts). */
  key: string;
  offsets: readonly bigint[];
}

/** What became of one message: counted as an event, left to the dead-letter queue, or not known yet. */
export type MessageFate = "event" | "dead-letter" | "pending";

interface DeadLetterOffsetDoc {
  /** messageOffsetKey: `<partition key>@<offset>`. */
  _id: string;
  partition: string;
  offset: Long;
}

/** What a bulk of compare-and-set writes did not apply: conflicts to re-plan, refusals to report. */
export interface ApplyResult {
  conflicts: Set<string>;
  rejected: Map<string, string>;
}

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

/** Counters with the document's version `v` (0 when it has none): what the cache holds. */
export interface VersionedCounts extends Counts {
  version: number;
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

/** What the store's pipeline operations cost: one call per MongoDB command sent. */
type StoreOp = "read" | "write" | "ledger_read" | "ledger_write" | "dead_letter_offsets";
export type StoreObserver = (op: StoreOp, documents: number) => void;

export class InteractiveStore {
  readonly collection: Collection<InteractiveDoc>;
  private readonly ledger: Collection<LedgerDoc>;
  private readonly deadLetterOffsets: Collection<DeadLetterOffsetDoc>;

  constructor(
    db: Db,
    /** Told of every command the pipeline's operations send, with the documents it names. */
    private readonly observe: StoreObserver = () => {},
  ) {
    // Reads go to the primary whatever the URL says: marks, versions and the read path's check of
    // a fill (see dashboard/read-api.ts) must not read a secondary's older copy.
    const options = {
      writeConcern: WRITE_CONCERN,
      readConcern: READ_CONCERN,
      readPreference: "primary" as const,
    };
    this.collection = db.collection<InteractiveDoc>(COLLECTION, options);
    this.ledger = db.collection<LedgerDoc>(LEDGER_COLLECTION, options);
    this.deadLetterOffsets = db.collection<DeadLetterOffsetDoc>(DEAD_LETTER_OFFSETS_COLLECTION, options);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ biz: 1, biz_id: 1 }, { unique: true, name: "biz_biz_id" });
    await this.collection.createIndex({ _id: 1, v: 1 }, { unique: true, name: "id_version" });
    await this.deadLetterOffsets.createIndex({ partition: 1, offset: 1 }, { name: "partition_offset" });
  }

  /**
   * The pipeline state (version and marks) of the given articles; absent documents are left out.
   * A document whose `v` or marks the pipeline cannot use (written by hand or by another tool)
   * is reported in `invalid` with the reason, instead of being taken for a version-less one.
   */
  async readState(
    biz: string,
    aids: readonly string[],
  ): Promise<{ states: Map<string, StoredState>; invalid: Map<string, string> }> {
    const out = new Map<string, StoredState>();
    const invalid = new Map<string, string>();
    // In slices: mongo-java-server matches a large $in in time quadratic in its size.
    const slices: string[][] = [];
    for (let i = 0; i < aids.length; i += READ_SLICE) slices.push(aids.slice(i, i + READ_SLICE));
    for (const slice of slices) this.observe("read", slice.length);
    const found = await Promise.all(
      slices.map((slice) =>
        this.collection
          .find(
            { _id: { $in: slice.map((aid) => docId(biz, aid)) } },
            {
              projection: { biz_id: 1, offsets: 1, v: 1 },
              promoteLongs: false,
              batchSize: slice.length,
            },
          )
          .toArray(),
      ),
    );
    for (const doc of found.flat()) {
      const aid = doc._id.slice(biz.length + 1);
      const v: unknown = doc.v;
      if (v !== undefined && v !== null && !(typeof v === "number" && Number.isInteger(v))) {
        invalid.set(aid, `document ${doc._id}: v is ${JSON.stringify(v)}, expected an integer or no v`);
        continue;
      }
      const offsets: unknown = doc.offsets;
      const marks = new Map<string, bigint>();
      if (offsets !== undefined && offsets !== null) {
        if (typeof offsets !== "object") {
          invalid.set(aid, `document ${doc._id}: offsets is not an object`);
          continue;
        }
        for (const [key, value] of Object.entries(offsets as Record<string, unknown>)) {
          if (!(value instanceof Long) && !(typeof value === "number" && Number.isInteger(value))) {
            invalid.set(
              aid,
              `document ${doc._id}: offsets.${key} is ${JSON.stringify(value)}, expected an integer`,
            );
            continue;
          }
          marks.set(key, BigInt(value.toString()));
        }
        if (invalid.has(aid)) continue;
      }
      out.set(aid, { version: typeof v === "number" ? v : null, marks });
    }
    return { states: out, invalid };
  }

  /**
   * Applies the plans with delta > 0 as one unordered bulk of compare-and-set writes: each adds
   * its delta and moves its marks only if the document's version is still the one the plan was
   * made from; a plan that creates its document inserts it whole. Returns the articles written by
   * someone else meanwhile (the write then hits the existing _id: duplicate key on `_id_` or
   * `id_version`): re-read and re-plan those; and the articles MongoDB refused for any other
   * reason (a duplicate on (biz, biz_id) from a document under another _id, a counter of the
   * wrong type, ...), each with a reason naming the document. An error of the whole write
   * (outage, timeout) is thrown.
   *
   * The writes go in `_id` order, and a new document is inserted rather than upserted: on the
   * test server (H2's B-trees) keys in order cost a third to a half less per document than keys in
   * the order the events came, and an insert less than an upsert, which looks the document up
   * first. Measured with 15,000 new documents of random ids per bulk, three rounds: the upsert
   * 0.40-0.54 ms per document in event order, 0.26-0.29 ms in `_id` order; the insert 0.19-0.25 ms
   * in `_id` order.
   */
  async applyPlans(biz: string, plans: readonly ArticlePlan[], nowMs: number): Promise<ApplyResult> {
    const result: ApplyResult = { conflicts: new Set(), rejected: new Map() };
    const writes = plans
      .filter((p) => p.delta > 0)
      .map((plan) => ({ plan, _id: docId(biz, plan.aid) }))
      .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
    if (writes.length === 0) return result;
    const now = Long.fromNumber(nowMs);
    const ops: AnyBulkWriteOperation<InteractiveDoc>[] = writes.map(({ plan, _id }) => {
      const v = (plan.expectedVersion ?? 0) + 1;
      if (plan.creates) {
        const offsets: Record<string, Long> = {};
        for (const [key, mark] of plan.nextMarks) offsets[key] = Long.fromBigInt(mark);
        const document = {
          _id,
          ...newDocument(biz, plan.aid, now),
          read_cnt: Long.fromNumber(plan.delta),
          utime: now,
          v,
          offsets,
        };
        return { insertOne: { document } };
      }
      const set: Record<string, unknown> = { utime: now, v };
      for (const [key, mark] of plan.nextMarks) set[`offsets.${key}`] = Long.fromBigInt(mark);
      return {
        updateOne: {
          // v: null matches a document without a version. Upsert: a document removed meanwhile is
          // created again, and one that moved on makes the insert collide on its _id (a conflict).
          filter: { _id, v: plan.expectedVersion },
          update: {
            $inc: { read_cnt: Long.fromNumber(plan.delta) },
            $set: set,
            $setOnInsert: newDocument(biz, plan.aid, now),
          },
          upsert: true,
        },
      };
    });
    this.observe("write", ops.length);
    try {
      await this.collection.bulkWrite(ops, { ordered: false });
      return result;
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      // No per-document error: the write as a whole failed (e.g. write concern not satisfied).
      if (writeErrors.length === 0 || err.writeConcernError) throw err;
      for (const e of writeErrors) {
        const plan = writes[e.index]?.plan;
        if (plan === undefined) throw err;
        const index = e.code === DUPLICATE_KEY ? duplicateKeyIndex(e.errmsg ?? "") : undefined;
        if (index !== undefined && CONFLICT_INDEXES.has(index)) result.conflicts.add(plan.aid);
        else {
          result.rejected.set(
            plan.aid,
            `document ${docId(biz, plan.aid)} refused (code ${e.code}): ${e.errmsg ?? "no message"}`,
          );
        }
      }
      return result;
    }
  }

  /** The ledger entries of the given partition keys; absent ones are left out. */
  async readLedger(keys: readonly string[]): Promise<Map<string, LedgerEntry>> {
    const out = new Map<string, LedgerEntry>();
    if (keys.length === 0) return out;
    this.observe("ledger_read", keys.length);
    const docs = await this.ledger.find({ _id: { $in: [...keys] } }, { promoteLongs: false }).toArray();
    for (const d of docs) {
      out.set(d._id, { through: BigInt(d.through.toString()), maxTimestamp: Number(d.max_ts.toString()) });
    }
    return out;
  }

  /** Moves ledger entries forward (never back): highest offset and latest timestamp applied. */
  async advanceLedger(entries: ReadonlyMap<string, LedgerEntry>, nowMs: number): Promise<void> {
    if (entries.size === 0) return;
    const now = Long.fromNumber(nowMs);
    this.observe("ledger_write", entries.size);
    await this.ledger.bulkWrite(
      [...entries].map(([key, e]) => ({
        updateOne: {
          filter: { _id: key },
          update: {
            $max: { through: Long.fromBigInt(e.through), max_ts: Long.fromNumber(e.maxTimestamp) },
            $set: { utime: now },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  /** Records messages left to the dead-letter queue (idempotent: a record is never changed). */
  async recordDeadLetterOffsets(records: readonly DeadLetterOffsets[]): Promise<void> {
    const ops: AnyBulkWriteOperation<DeadLetterOffsetDoc>[] = records.flatMap(({ key, offsets }) =>
      offsets.map((o) => ({
        updateOne: {
          filter: { _id: messageOffsetKey(key, o) },
          update: { $setOnInsert: { partition: key, offset: Long.fromBigInt(o) } },
          upsert: true,
        },
      })),
    );
    if (ops.length === 0) return;
    this.observe("dead_letter_offsets", ops.length);
    await this.deadLetterOffsets.bulkWrite(ops, { ordered: false });
  }

  /** The recorded dead-letter messages within the given ranges, as messageOffsetKey. */
  async readDeadLetterOffsets(
    ranges: readonly { key: string; first: bigint; last: bigint }[],
  ): Promise<Set<string>> {
    const out = new Set<string>();
    if (ranges.length === 0) return out;
    this.observe("dead_letter_offsets", ranges.length);
    const docs = await this.deadLetterOffsets
      .find({
        $or: ranges.map((r) => ({
          partition: r.key,
          offset: { $gte: Long.fromBigInt(r.first), $lte: Long.fromBigInt(r.last) },
        })),
      })
      .toArray();
    for (const d of docs) out.add(d._id);
    return out;
  }

  /**
   * What the job applied for its range made of one message: the ledger is read first, because
   * a range's dead-letter offsets are recorded before its ledger moves.
   */
  async messageFate(key: string, offset: bigint): Promise<MessageFate> {
    const entry = (await this.readLedger([key])).get(key);
    if (entry === undefined || entry.through < offset) return "pending";
    const found = await this.deadLetterOffsets.findOne({ _id: messageOffsetKey(key, offset) });
    return found === null ? "event" : "dead-letter";
  }

  /**
   * Adds one read from a dead letter that became valid, at most once per dead letter id.
   * Returns false when that dead letter had been counted already.
   */
  async countDeadLetter(biz: string, aid: bigint, deadLetter: string, nowMs: number): Promise<boolean> {
    const now = Long.fromNumber(nowMs);
    const filter = { _id: docId(biz, aid), dead_letters: { $ne: deadLetter } };
    // v moves with every change of the counters: a cache hash filled before this write is
    // then told apart from one filled after it (see cache/read-cache.ts).
    const update = {
      $inc: { read_cnt: Long.ONE, v: 1 },
      $set: { utime: now },
      $push: { dead_letters: deadLetter },
    };
    try {
      const res = await this.collection.updateOne(
        filter,
        { ...update, $setOnInsert: newDocument(biz, aid, now) },
        { upsert: true },
      );
      return res.modifiedCount + res.upsertedCount === 1;
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
      // The document exists now: either it holds this dead letter already (the filter missed
      // and the upsert collided), or someone created it between our filter and our insert.
      // Without upsert, the $ne filter alone decides.
      const res = await this.collection.updateOne(filter, update);
      if (res.modifiedCount === 1) return true;
      const doc = await this.collection.findOne(
        { _id: docId(biz, aid) },
        { projection: { dead_letters: 1 } },
      );
      if (doc?.dead_letters?.includes(deadLetter)) return false;
      // Neither: the collision was with another document (say one under another _id holding
      // the same biz and biz_id). Not counted: the dead letter fails, naming the cause.
      throw new Error(`document ${docId(biz, aid)} refused the dead letter ${deadLetter}: ${err.message}`);
    }
  }

  /** The counters of one (biz, biz_id) and the version they are of, or null when there is no document. */
  async find(biz: string, bizId: bigint): Promise<VersionedCounts | null> {
    const doc = await this.collection.findOne(
      { _id: docId(biz, bizId) },
      { projection: { read_cnt: 1, like_cnt: 1, collect_cnt: 1, v: 1 }, promoteLongs: false },
    );
    if (doc === null) return null;
    return {
      readCnt: toNumber(doc.read_cnt),
      likeCnt: toNumber(doc.like_cnt),
      collectCnt: toNumber(doc.collect_cnt),
      version: toNumber(doc.v),
    };
  }
}
