// Applying groups against the real MongoDB-compatible server and Redis: the same job applied by
// two workers at once (a stalled job picked up again) counts once; the cache is incremented for
// fresh events and invalidated for replays.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { ReadCache } from "../../src/cache/read-cache.js";
import { ReadJobBuilder, type ReadJobData } from "../../src/queue/read-job.js";
import { InteractiveStore } from "../../src/store/interactives.js";
import { applyReadGroup } from "../../workers/apply-read-group.js";
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
  await redis.del("interactive:article:5000", "interactive:article:5001");
  redis.disconnect();
});

test("the same jobs applied concurrently by several workers count exactly once", async () => {
  const aids = Array.from({ length: 300 }, (_, i) => 1000n + BigInt(i % 60));
  const jobs = [job(0, 0n, aids), job(1, 0n, aids)];
  // Four "workers" apply the same two jobs at the same time.
  const outcomes = await Promise.all([1, 2, 3, 4].map(() => applyReadGroup({ store, cache }, jobs)));
  assert.equal(
    outcomes.reduce((n, o) => n + o.added, 0),
    600,
    "together they added each event once",
  );
  for (let a = 0; a < 60; a++) assert.equal(await readCnt(1000n + BigInt(a)), 10);
});

test("fresh events increment cached keys only; replays delete them", async () => {
  const cached = 5000n;
  const missing = 5001n;
  await redis.hset(`interactive:article:${cached}`, { read_cnt: 40, like_cnt: 1, collect_cnt: 0 });
  const first = job(3, 10n, [cached, missing, cached]);
  const outcome = await applyReadGroup({ store, cache }, [first]);
  assert.deepEqual([outcome.added, outcome.cacheIncremented, outcome.cacheInvalidated], [3, 1, 0]);
  assert.equal(await redis.hget(`interactive:article:${cached}`, "read_cnt"), "42");
  assert.equal(await redis.exists(`interactive:article:${missing}`), 0);

  // The same range again (a retry): nothing is added and the cached key is dropped, so the
  // read path refills it from MongoDB.
  const again = await applyReadGroup({ store, cache }, [first]);
  assert.deepEqual([again.added, again.cacheInvalidated], [0, 2]);
  assert.equal(await redis.exists(`interactive:article:${cached}`), 0);
  assert.equal(await readCnt(cached), 2);
  assert.equal(await readCnt(missing), 1);
});
