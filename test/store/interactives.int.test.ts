// The store against the real MongoDB-compatible server: durability settings a URL cannot
// weaken, compare-and-set writes that report each collision as the document's own, and dead
// letters counted once even when two arrive for a new document at once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type CommandStartedEvent, Long, MongoClient } from "mongodb";
import type { ArticlePlan } from "../../src/counting/plan-increments.js";
import { InteractiveStore } from "../../src/store/interactives.js";
import { testConfig } from "../support/env.js";

const config = testConfig();
// The URL asks for unacknowledged writes and local reads: the store must not follow it.
const weakUrl = `${config.MONGO_URL}${config.MONGO_URL.includes("?") ? "&" : "?"}w=0&readConcernLevel=local`;
const mongo = new MongoClient(weakUrl, { monitorCommands: true });
const store = new InteractiveStore(mongo.db(config.MONGO_DB));
const commands: CommandStartedEvent[] = [];
mongo.on("commandStarted", (e) => commands.push(e));

before(async () => {
  await mongo.connect();
  await store.ensureIndexes();
});

after(async () => {
  await mongo.db(config.MONGO_DB).dropDatabase();
  await mongo.close();
});

test("writes wait for a journaled majority and marks are read at majority, whatever the URL says", async () => {
  commands.length = 0;
  await store.applyPlans("article", [plan("1", 1, "creates", 5n)], Date.now());
  await store.applyPlans("article", [plan("1", 1, 1, 6n)], Date.now());
  await store.readState("article", ["1"]);
  await store.advanceLedger(new Map([["t:0", { through: 5n, maxTimestamp: 1 }]]), Date.now());
  await store.countDeadLetter("article", 2n, "t-p0-o3-t1", Date.now());
  const writes = commands.filter((c) => c.commandName === "update" || c.commandName === "insert");
  assert.deepEqual(
    writes.map((c) => c.commandName),
    ["insert", "update", "update", "update"],
  );
  for (const w of writes)
    assert.deepEqual({ ...w.command.writeConcern }, { w: "majority", j: true, wtimeout: 60_000 });
  const find = commands.find((c) => c.commandName === "find");
  assert.equal(find?.command.readConcern?.level, "majority");
});

/** A plan adding `delta` on partition t:0 up to `mark`, creating the document or expecting a version. */
function plan(aid: string, delta: number, expected: "creates" | number | null, mark: bigint): ArticlePlan {
  return {
    aid,
    delta,
    expectedVersion: expected === "creates" ? null : expected,
    creates: expected === "creates",
    nextMarks: new Map([["t:0", mark]]),
  };
}

test("one bulk of creates and updates: each collision is reported as its own article's, the rest applied", async () => {
  const interactives = mongo.db(config.MONGO_DB).collection("interactives");
  // 510 and 511 exist (one written by the pipeline, one without a version, as written by hand or
  // an older tool); 512 is (biz, biz_id) of a document under another _id.
  await store.applyPlans("article", [plan("510", 3, "creates", 1n)], Date.now());
  await interactives.insertOne(
    {
      _id: "article:511" as never,
      biz: "article",
      biz_id: Long.fromNumber(511),
      read_cnt: Long.fromNumber(7),
    },
    { writeConcern: { w: 1 } },
  );
  await interactives.insertOne(
    { _id: "legacy-512" as never, biz: "article", biz_id: Long.fromNumber(512) },
    { writeConcern: { w: 1 } },
  );
  // Ids out of `_id` order, creates and updates mixed, the collisions among them.
  const result = await store.applyPlans(
    "article",
    [
      plan("599", 1, "creates", 2n),
      plan("511", 1, "creates", 2n), // exists: a conflict, not a second document or a lost 7
      plan("510", 1, 7, 2n), // at version 1, not 7: a conflict
      plan("512", 1, "creates", 2n), // refused: biz_biz_id
      plan("513", 2, "creates", 2n),
      plan("511", 0, null, 2n), // nothing to write
    ],
    Date.now(),
  );
  assert.deepEqual([...result.conflicts].sort(), ["510", "511"]);
  assert.deepEqual([...result.rejected.keys()], ["512"]);
  assert.match(result.rejected.get("512") ?? "", /document article:512 refused \(code 11000\).*biz_biz_id/);
  assert.equal((await store.find("article", 599n))?.readCnt, 1);
  assert.equal((await store.find("article", 513n))?.readCnt, 2);
  assert.deepEqual(await store.find("article", 510n), { readCnt: 3, likeCnt: 0, collectCnt: 0, version: 1 });
  assert.equal((await store.find("article", 511n))?.readCnt, 7);
  // The conflicts re-planned from what is stored now apply.
  const again = await store.applyPlans(
    "article",
    [plan("510", 1, 1, 2n), plan("511", 1, null, 2n)],
    Date.now(),
  );
  assert.deepEqual(again, { conflicts: new Set(), rejected: new Map() });
  assert.deepEqual(await store.find("article", 510n), { readCnt: 4, likeCnt: 0, collectCnt: 0, version: 2 });
  assert.deepEqual(await store.find("article", 511n), { readCnt: 8, likeCnt: 0, collectCnt: 0, version: 1 });
  const created = await interactives.findOne({ _id: "article:513" as never });
  assert.deepEqual(
    {
      biz: created?.biz,
      biz_id: Number(created?.biz_id),
      v: created?.v,
      mark: Number(created?.offsets?.["t:0"]),
    },
    { biz: "article", biz_id: 513, v: 1, mark: 2 },
  );
});

test("two dead letters of one new article arriving at once are both counted, each once", async () => {
  for (let round = 0; round < 20; round++) {
    const aid = BigInt(100 + round);
    const results = await Promise.all([
      store.countDeadLetter("article", aid, `t-p0-o${round}-a`, Date.now()),
      store.countDeadLetter("article", aid, `t-p1-o${round}-b`, Date.now()),
    ]);
    assert.deepEqual(results, [true, true], `round ${round}`);
    assert.equal((await store.find("article", aid))?.readCnt, 2);
  }
  // The same dead letter again: counted already.
  assert.equal(await store.countDeadLetter("article", 100n, "t-p0-o0-a", Date.now()), false);
  assert.equal((await store.find("article", 100n))?.readCnt, 2);
});

test("a dead letter refused by another document (same biz and biz_id, other _id) fails naming it, not 'counted already'", async () => {
  await mongo
    .db(config.MONGO_DB)
    .collection("interactives")
    .insertOne(
      { _id: "legacy-900" as never, biz: "article", biz_id: Long.fromNumber(900) },
      { writeConcern: { w: 1 } },
    );
  await assert.rejects(
    store.countDeadLetter("article", 900n, "t-p0-o9-t1", Date.now()),
    /document article:900 refused the dead letter t-p0-o9-t1: .*biz_biz_id/,
  );
});
