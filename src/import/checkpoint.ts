// The importer's checkpoint: per source table, the id of the last row whose batch MongoDB
// acknowledged. `--resume` starts after it. Rows are read in id order, so every row at or below
// it was handled (written, found imported already, or skipped with a reason).
import { type Collection, type Db, Long } from "mongodb";

const IMPORTS_COLLECTION = "imports";

interface CheckpointDoc {
  _id: string;
  source: string;
  last_id: Long;
  /** True once a run read the table to its end. */
  finished: boolean;
  utime: Long;
}

export class Checkpoints {
  private readonly collection: Collection<CheckpointDoc>;

  constructor(db: Db) {
    // Pinned like the data it describes: a checkpoint must not survive a failover that the
    // documents it vouches for did not.
    this.collection = db.collection<CheckpointDoc>(IMPORTS_COLLECTION, {
      writeConcern: { w: "majority", journal: true },
    });
  }

  /** The last row id handled by an earlier run, or null when there is none. */
  async lastId(id: string): Promise<bigint | null> {
    const doc = await this.collection.findOne({ _id: id }, { promoteLongs: false });
    return doc === null ? null : BigInt(doc.last_id.toString());
  }

  async save(id: string, source: string, lastId: bigint, finished: boolean, nowMs: number): Promise<void> {
    await this.collection.updateOne(
      { _id: id },
      { $set: { source, last_id: Long.fromBigInt(lastId), finished, utime: Long.fromNumber(nowMs) } },
      { upsert: true },
    );
  }
}
