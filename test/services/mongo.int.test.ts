// Proves the MongoDB-compatible test server does exactly what the pipeline relies on. Run it
// against real MongoDB too (MONGO_URL=...) to see both behave the same.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Collection, type Db, Long, MongoBulkWriteError, MongoClient, MongoServerError } from "mongodb";
import { testConfig } from "../support/env.js";

const config = testConfig();
let client: MongoClient;
let db: Db;

before(async () => {
  client = new MongoClient(config.MONGO_URL);
  await client.connect();
  db = client.db(config.MONGO_DB);
});

after(async () => {
  await db.dropDatabase().catch(() => undefined);
  await client.close();
});

interface Counter {
  _id: string;
  n?: number;
  big?: Long;
  tag?: string;
  created?: string;
}

test("$inc on one document is atomic under concurrency: 8 clients x 500 end at 4000", async () => {
  const coll = db.collection<Counter>("atomic_inc");
  await coll.insertOne({ _id: "k", n: 0 });
  const clients = await Promise.all(
    Array.from({ length: 8 }, () => new MongoClient(config.MONGO_URL).connect()),
  );
  try {
    await Promise.all(
      clients.map(async (c) => {
        const mine: Collection<Counter> = c.db(config.MONGO_DB).collection("atomic_inc");
        for (let i = 0; i < 500; i++) await mine.updateOne({ _id: "k" }, { $inc: { n: 1 } });
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  assert.equal((await coll.findOne({ _id: "k" }))?.n, 4000);
});

test("updateOne upsert with $inc, $set and $setOnInsert inserts once, then increments", async () => {
  const coll = db.collection<Counter>("upsert");
  const update = { $inc: { n: 2 }, $set: { tag: "seen" }, $setOnInsert: { created: "first" } };
  const first = await coll.updateOne({ _id: "a" }, update, { upsert: true });
  assert.equal(first.upsertedCount, 1);
  const second = await coll.updateOne(
    { _id: "a" },
    { ...update, $setOnInsert: { created: "second" } },
    { upsert: true },
  );
  assert.equal(second.upsertedCount, 0);
  assert.equal(second.modifiedCount, 1);
  assert.deepEqual(await coll.findOne({ _id: "a" }), { _id: "a", n: 4, tag: "seen", created: "first" });
});

test("a conditional upsert whose filter no longer matches an existing _id fails with 11000", async () => {
  const coll = db.collection<Counter>("conditional");
  await coll.insertOne({ _id: "c", n: 1, tag: "v2" });
  await assert.rejects(
    coll.updateOne({ _id: "c", tag: "v1" }, { $inc: { n: 1 } }, { upsert: true }),
    (err: unknown) => err instanceof MongoServerError && err.code === 11000,
  );
  await assert.rejects(
    coll.updateOne({ _id: "c", tag: { $exists: false } }, { $inc: { n: 1 } }, { upsert: true }),
    (err: unknown) => err instanceof MongoServerError && err.code === 11000,
  );
  assert.equal((await coll.findOne({ _id: "c" }))?.n, 1);
});

test("an unordered bulk write reports which operation failed and applies the others", async () => {
  const coll = db.collection<Counter>("bulk");
  await coll.insertOne({ _id: "dup", n: 0 });
  const err = await coll
    .bulkWrite(
      [
        { updateOne: { filter: { _id: "x" }, update: { $inc: { n: 1 } }, upsert: true } },
        { insertOne: { document: { _id: "dup", n: 9 } } },
        { updateOne: { filter: { _id: "y" }, update: { $inc: { n: 1 } }, upsert: true } },
      ],
      { ordered: false },
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof MongoBulkWriteError, `expected a MongoBulkWriteError, got ${String(err)}`);
  const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
  assert.deepEqual(
    writeErrors.map((e) => [e.index, e.code]),
    [[1, 11000]],
  );
  assert.equal((await coll.findOne({ _id: "x" }))?.n, 1);
  assert.equal((await coll.findOne({ _id: "y" }))?.n, 1);
});

test("Int64 values above 2^53 round-trip exactly, also inside filters", async () => {
  const coll = db.collection<Counter>("int64");
  const big = Long.fromString("9007199254740993"); // 2^53 + 1: not representable as a double
  const bigger = Long.fromString("9223372036854775807"); // int64 max
  await coll.insertMany([
    { _id: "b1", big },
    { _id: "b2", big: Long.fromString("9007199254740992") },
    { _id: "b3", big: bigger },
  ]);
  const found = await coll.find({ big }, { promoteLongs: false }).toArray();
  assert.deepEqual(
    found.map((d) => d._id),
    ["b1"],
  );
  assert.equal(found[0]?.big?.toString(), "9007199254740993");
  const max = await coll.findOne({ big: bigger }, { promoteLongs: false });
  assert.equal(max?.big?.toString(), "9223372036854775807");
  const above = await coll.find({ big: { $gt: Long.fromString("9007199254740992") } }).toArray();
  assert.deepEqual(above.map((d) => d._id).sort(), ["b1", "b3"]);
});

test("a unique-key violation comes back as error code 11000", async () => {
  const coll = db.collection<{ _id: string; biz: string; biz_id: Long }>("unique");
  await coll.createIndex({ biz: 1, biz_id: 1 }, { unique: true });
  await coll.insertOne({ _id: "1", biz: "article", biz_id: Long.fromNumber(7) });
  await assert.rejects(
    coll.insertOne({ _id: "2", biz: "article", biz_id: Long.fromNumber(7) }),
    (err: unknown) => err instanceof MongoServerError && err.code === 11000,
  );
});
