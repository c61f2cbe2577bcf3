// The store against the real MongoDB-compatible server: durability settings a URL cannot
// weaken, and dead letters counted once even when two arrive for a new document at once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type CommandStartedEvent, Long, MongoClient } from "mongodb";
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
  await store.applyPlans(
    "article",
    [{ aid: "1", delta: 1, expectedVersion: null, nextMarks: new Map([["t:0", 5n]]) }],
    Date.now(),
  );
  await store.readState("article", ["1"]);
  await store.advanceLedger(new Map([["t:0", { through: 5n, maxTimestamp: 1 }]]), Date.now());
  await store.countDeadLetter("article", 2n, "t-p0-o3-t1", Date.now());
  const writes = commands.filter((c) => c.commandName === "update");
  assert.equal(writes.length, 3);
  for (const w of writes)
    assert.deepEqual({ ...w.command.writeConcern }, { w: "majority", j: true, wtimeout: 60_000 });
  const find = commands.find((c) => c.commandName === "find");
  assert.equal(find?.command.readConcern?.level, "majority");
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
