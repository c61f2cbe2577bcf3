// Applying groups against the real MongoDB-compatible server and Redis: the same job applied by
// two workers at once (a stalled job picked up again) counts once; the cache follows each write
// exactly, by the documents' versions.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UnrecoverableError } from "bullmq";
import { Redis } from "ioredis";
import { Long, MongoClient } from "mongodb";
import { ReadCache } from "../../src/cache/read-cache.js";
import { partitionKey } from "../../src/counting/plan-increments.js";
import { deadLetterId } from "../../src/queue/dead-letter.js";
import { ReadJobBuilder, type ReadJobData } from "../../src/queue/read-job.js";
import { InteractiveStore, RejectedDocumentsError } from "../../src/store/interactives.js";
import { applyReadGroup } from "../../workers/apply-read-group.js";
import { ArticleStateCache } from "../../workers/article-state-cache.js";
import { articleKey } from "../support/cache.js";
import { testConfig, uniqueName } from "../support/env.js";

const config = testConfig();
const mongo = new MongoClient(config.MONGO_URL);
const redis = new Redis(config.REDIS_URL);
const store = new InteractiveStore(mongo.db(config.MONGO_DB));
const cache = new ReadCache(redis);
const topic = uniqueName("apply");

function job(partition: number, first: bigint, aids: bigint[]): ReadJobData {
  const b = new ReadJobBuilder(topic, partition);
  for (const [i, aid] of aids.entries()) b.addEvent(first + BigInt(i), aid, Date.now());
  return b.build();
}

async function readCnt(aid: bigint): Promise<number | undefined> {
  const counts = await store.find("article", aid);
  return counts?.readCnt;
}

before(async () => {
  await mongo.connect();
  await store.ensureIndexes();
});

after(async () => {
  await mongo.db(config.MONGO_DB).dropDatabase();
  await mongo.close();
  await redis.del(articleKey(5000), articleKey(5001), articleKey(5002));
  redis.disconnect();
});

test("the same jobs applied concurrently by several workers count exactly once", async () => {
  const aids = Array.from({ length: 300 }, (_, i) => 1000n + BigInt(i % 60));
  const jobs = [job(0, 0n, aids), job(1, 0n, aids)];
  // Four "workers" apply the same two jobs at the same time.
  const outcomes = await Promise.all([1, 2, 3, 4].map(() => applyReadGroup({ store, cache }, jobs)));
  assert.equal(
    outcomes.reduce((n, o) => n + o.outcome.added, 0),
    600,
    "together they added each event once",
  );
  for (let a = 0; a < 60; a++) assert.equal(await readCnt(1000n + BigInt(a)), 10);
});

test("a group brings each cached key at its write's starting version forward, drops stale ones, leaves missing ones missing; a replay leaves them", async () => {
  const [current, missing, stale] = [5000n, 5001n, 5002n];
  await redis.hset(articleKey(current), { read_cnt: 40, like_cnt: 1, collect_cnt: 0, v: 0 });
  await redis.hset(articleKey(stale), { read_cnt: 9, like_cnt: 0, collect_cnt: 0 }); // no version
  const first = job(3, 10n, [current, missing, current, stale]);
  const { outcome } = await applyReadGroup({ store, cache }, [first]);
  assert.deepEqual([outcome.added, outcome.cacheIncremented, outcome.cacheInvalidated], [4, 1, 1]);
  assert.deepEqual(await redis.hmget(articleKey(current), "read_cnt", "v"), ["42", "1"]);
  assert.equal(await redis.exists(articleKey(missing)), 0);
  assert.equal(await redis.exists(articleKey(stale)), 0);

  // The same range again (a retry): nothing is written, so the cache is left as it is: exact.
  const { outcome: again } = await applyReadGroup({ store, cache }, [first]);
  assert.deepEqual([again.added, again.cacheIncremented, again.cacheInvalidated], [0, 0, 0]);
  assert.deepEqual(await redis.hmget(articleKey(current), "read_cnt", "v"), ["42", "1"]);
  assert.equal(await readCnt(current), 2);
});

test("a worker paused between its MongoDB write and its cache update adds nothing to a key refilled meanwhile", async () => {
  const aid = 5100n;
  const key = articleKey(aid);
  const read = () => store.find("article", aid);
  const fill = async () => {
    const found = await read();
    assert.ok(found);
    await redis.del(key); // whatever the key held, the read path refills it
    assert.ok(await cache.fill(key, found, found.version, 600));
  };
  // A: writes MongoDB, then pauses before its cache update.
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let paused = () => {};
  const reached = new Promise<void>((resolve) => {
    paused = resolve;
  });
  const slowCache = Object.create(cache) as ReadCache;
  slowCache.applyWrites = async (writes) => {
    paused();
    await released;
    return cache.applyWrites(writes);
  };
  await redis.hset(key, { read_cnt: 0, like_cnt: 0, collect_cnt: 0, v: 0 });
  const j = job(4, 0n, [aid, aid, aid]);
  const a = applyReadGroup({ store, cache: slowCache }, [j]);
  await reached;
  // B re-runs the job (A's lock expired): a replay, nothing written. The read path refills the key.
  assert.equal((await applyReadGroup({ store, cache }, [j])).outcome.added, 0);
  await fill();
  assert.deepEqual(await redis.hmget(key, "read_cnt", "v"), ["3", "1"]);
  // A wakes up and updates the cache for its write, which the key already holds.
  release();
  await a;
  assert.deepEqual(await redis.hmget(key, "read_cnt", "v"), ["3", "1"], "not 6");
  // The next write brings the key forward from there.
  await applyReadGroup({ store, cache }, [job(4, 3n, [aid])]);
  assert.deepEqual(await redis.hmget(key, "read_cnt", "v"), ["4", "2"]);
  await redis.del(key);
});

test("a worker that dies between its MongoDB write and its cache update leaves a key behind that the retry drops", async () => {
  const aid = 5200n;
  const key = articleKey(aid);
  await redis.hset(key, { read_cnt: 0, like_cnt: 0, collect_cnt: 0, v: 0 });
  const dying = Object.create(cache) as ReadCache;
  dying.applyWrites = async () => {
    throw new Error("worker died");
  };
  const j = job(5, 0n, [aid, aid]);
  await assert.rejects(applyReadGroup({ store, cache: dying }, [j]), /worker died/);
  assert.equal(await readCnt(aid), 2);
  assert.deepEqual(await redis.hmget(key, "read_cnt", "v"), ["0", "0"], "behind, at the version it holds");
  // The retry (another worker, nothing remembered) finds the job applied and the key behind.
  const { outcome } = await applyReadGroup({ store, cache, states: new ArticleStateCache(10) }, [j]);
  assert.deepEqual([outcome.added, outcome.cacheInvalidated], [0, 1]);
  assert.equal(await redis.exists(key), 0);
});

test("a message its range's job left to the dead-letter queue, met again as an event, counts once", async () => {
  const aid = 5300n;
  const key = partitionKey(topic, 6);
  const states = new ArticleStateCache(100);
  await applyReadGroup({ store, cache, states }, [job(6, 0n, [aid])]);
  // An ingestor with a strict limit read offset 3 as a dead letter: its job records that.
  const strict = new ReadJobBuilder(topic, 6);
  strict.addEvent(1n, aid, Date.now());
  strict.addEvent(2n, aid, Date.now());
  strict.addDeadLetter(3n, Date.now());
  assert.equal(await store.messageFate(key, 3n), "pending", "its range is not applied yet");
  await applyReadGroup({ store, cache, states }, [strict.build()]);
  assert.deepEqual(
    [await store.messageFate(key, 3n), await store.messageFate(key, 2n)],
    ["dead-letter", "event"],
  );
  // Valid after a retry (a worker with a larger limit), the dead letter is counted.
  const id = deadLetterId({ topic, partition: 6, offset: "3", timestamp: "1700000000003" });
  assert.equal(await store.countDeadLetter("article", aid, id, Date.now()), true);
  // The range read again with a larger MAX_MESSAGE_BYTES: offset 3 is now an event, above the
  // article's mark (2), and still not counted again.
  const { outcome } = await applyReadGroup({ store, cache, states }, [job(6, 1n, [aid, aid, aid])]);
  assert.equal(outcome.added, 0);
  assert.equal(await readCnt(aid), 4);
});

test("a write applied after its worker gave up (a hang), before or after the retry, counts once", async () => {
  // The worker's write reaches the server, but the worker sees an error (its connection hung and
  // was dropped): the group fails and is retried, while the server applies the write anyway.
  for (const order of ["write first", "retry first"] as const) {
    const aid = order === "write first" ? 5400n : 5401n;
    const j = job(order === "write first" ? 30 : 31, 0n, [aid, aid, aid]);
    let ghost: Promise<unknown> = Promise.resolve();
    let letGo = () => {};
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const hanging = Object.create(store) as InteractiveStore;
    hanging.applyPlans = async (...args) => {
      ghost = (async () => {
        if (order === "retry first") await gate;
        return store.applyPlans(...args);
      })();
      if (order === "write first") await ghost;
      throw new Error("connection to MongoDB dropped after 30000 ms");
    };
    await assert.rejects(applyReadGroup({ store: hanging, cache }, [j]), /dropped/);
    const retried = await applyReadGroup({ store, cache, states: new ArticleStateCache(10) }, [j]);
    letGo();
    await ghost;
    assert.equal(await readCnt(aid), 3, order);
    assert.equal(retried.outcome.added, order === "write first" ? 0 : 3, order);
  }
});

function timedJob(partition: number, first: bigint, aids: bigint[], sentAt: number): ReadJobData {
  const b = new ReadJobBuilder(topic, partition);
  for (const [i, aid] of aids.entries()) b.addEvent(first + BigInt(i), aid, sentAt + i);
  return b.build();
}

test("a job at offsets already applied but newer than all applied (a re-created topic) fails alone, for good", async () => {
  const old = timedJob(7, 0n, [6000n, 6001n, 6000n], 1_000_000);
  assert.equal((await applyReadGroup({ store, cache }, [old])).failed.size, 0);
  // A true replay of that range is not taken for a re-creation: it adds nothing.
  const replay = await applyReadGroup({ store, cache }, [old]);
  assert.deepEqual([replay.failed.size, replay.outcome.added], [0, 0]);
  // The topic is re-created: offsets restart at 0 with later messages.
  const reborn = timedJob(7, 0n, [6000n, 6002n], 2_000_000);
  const other = timedJob(8, 0n, [6003n], 2_000_000);
  const { failed, outcome } = await applyReadGroup({ store, cache }, [reborn, other]);
  const err = failed.get(reborn);
  assert.ok(err instanceof UnrecoverableError, "fails without retries");
  assert.match(err.message, /offsets of .*:7 restarted.*KAFKA_TOPIC_INCARNATION/);
  assert.ok(!failed.has(other), "the other partition's job is applied");
  assert.equal(outcome.added, 1);
  assert.equal(await readCnt(6000n), 2, "nothing of the re-created range counted as a replay");
  assert.equal(await readCnt(6002n), undefined);
  // With a new incarnation the same events are counted, once.
  const next = { ...reborn, incarnation: "2" };
  assert.equal((await applyReadGroup({ store, cache }, [next])).outcome.added, 2);
  assert.equal((await applyReadGroup({ store, cache }, [next])).outcome.added, 0);
  assert.equal(await readCnt(6000n), 3);
  assert.equal(await readCnt(6002n), 1);
});

test("a document MongoDB refuses for another reason fails only the jobs with that article, naming it", async () => {
  const db = mongo.db(config.MONGO_DB);
  // Written by another tool under another _id: the (biz, biz_id) unique index refuses ours.
  await db
    .collection("interactives")
    .insertOne({ _id: "legacy-7000" as never, biz: "article", biz_id: Long.fromNumber(7000) });
  // A version the pipeline cannot use.
  await db
    .collection("interactives")
    .insertOne({ _id: "article:7001" as never, biz: "article", biz_id: Long.fromNumber(7001), v: "x" });
  const bad = job(9, 0n, [7000n, 7002n]);
  const badVersion = job(10, 0n, [7001n]);
  const good = job(11, 0n, [7002n, 7003n]);
  const started = Date.now();
  const { failed } = await applyReadGroup({ store, cache }, [bad, badVersion, good]);
  assert.ok(Date.now() - started < 5000, "no rounds of retries");
  assert.ok(!failed.has(good));
  const err = failed.get(bad);
  assert.ok(err instanceof RejectedDocumentsError);
  assert.match(err.message, /article:7000.*biz_biz_id/);
  assert.match(String(failed.get(badVersion)?.message), /article:7001: v is "x"/);
  // The bad job's other article was written; its retry will skip it.
  assert.equal(await readCnt(7002n), 2);
  assert.equal(await readCnt(7003n), 1);
});

test("remembered states: a warm article is written with no read; one changed meanwhile elsewhere is read again, still exact", async () => {
  const commands: string[] = [];
  const watched = new MongoClient(config.MONGO_URL, { monitorCommands: true });
  watched.on("commandStarted", (e) => {
    if (e.commandName === "find" && JSON.stringify(e.command.filter).includes("article:"))
      commands.push("find");
    if (e.commandName === "update" && e.command.update === "interactives") commands.push("update");
    if (e.commandName === "insert" && e.command.insert === "interactives") commands.push("insert");
  });
  await watched.connect();
  try {
    const mine = {
      store: new InteractiveStore(watched.db(config.MONGO_DB)),
      cache,
      states: new ArticleStateCache(1000),
    };
    const theirs = { store, cache, states: new ArticleStateCache(1000) };
    const aids = [8000n, 8001n, 8002n];
    // New documents: planned as absent, inserted without a read.
    await applyReadGroup(mine, [job(12, 0n, aids)]);
    assert.deepEqual(commands, ["insert"]);
    // Warm: this worker wrote them last, so no read again.
    commands.length = 0;
    await applyReadGroup(mine, [job(12, 3n, aids)]);
    assert.deepEqual(commands, ["update"]);
    // Another worker writes 8001 (and replays a range of ours): our remembered version is stale.
    await applyReadGroup(theirs, [job(13, 0n, [8001n]), job(12, 3n, aids)]);
    commands.length = 0;
    const { outcome } = await applyReadGroup(mine, [job(12, 6n, aids), job(12, 3n, aids)]);
    assert.equal(outcome.added, 3);
    assert.deepEqual(commands, ["update", "find", "update"], "one refused write, one read, one write");
    assert.equal(await readCnt(8000n), 3);
    assert.equal(await readCnt(8001n), 4);
    assert.equal(await readCnt(8002n), 3);
  } finally {
    await watched.close();
  }
});

test("several workers with remembered states applying the same jobs at once still count once", async () => {
  const aids = Array.from({ length: 200 }, (_, i) => 9000n + BigInt(i % 40));
  const workers = [1, 2, 3].map(() => ({ store, cache, states: new ArticleStateCache(1000) }));
  for (let round = 0; round < 3; round++) {
    const jobs = [job(20, BigInt(round * 200), aids), job(21, BigInt(round * 200), aids)];
    await Promise.all(workers.map((w) => applyReadGroup(w, jobs)));
  }
  for (let a = 0; a < 40; a++) assert.equal(await readCnt(9000n + BigInt(a)), 30);
});
