// The cache on its own Redis (CACHE_REDIS_URL), as webook runs it: small and evicting. The queue's
// Redis must keep every key: a process refuses to start on one that may evict.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startDashboard } from "../../src/dashboard/dashboard.js";
import { createLogger } from "../../src/logger.js";
import { assertQueueRedisKeepsKeys } from "../../src/queue/redis-policy.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { articleKey } from "../support/cache.js";
import { EVICTING_REDIS_URL, testConfig } from "../support/env.js";
import { startPipeline } from "../support/in-process.js";
import { createTopic, Fixture, producerFor, sendRaw, startChild, until } from "../support/pipeline.js";

const config = testConfig({ CACHE_REDIS_URL: EVICTING_REDIS_URL, GROUP_MAX_WAIT_MS: "5" });
const fx = new Fixture(config);
const cacheRedis = new Redis(EVICTING_REDIS_URL);
const ARTICLES = 20;
const FILLER = `filler-${config.MONGO_DB}`;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, 3);
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
  const keys = await cacheRedis.keys(`${FILLER}:*`);
  if (keys.length > 0) await cacheRedis.del(...keys);
  await cacheRedis.del(...Array.from({ length: ARTICLES }, (_, i) => articleKey(i + 1)));
  cacheRedis.disconnect();
  await fx.close();
});

test("a queue Redis that may evict is refused at start, naming the setting", async () => {
  await assert.doesNotReject(assertQueueRedisKeepsKeys(fx.redis));
  await assert.rejects(assertQueueRedisKeepsKeys(cacheRedis), /maxmemory-policy allkeys-lru.*noeviction/s);
  for (const kind of ["ingestor", "worker"] as const) {
    const child = startChild(kind, config, { REDIS_URL: EVICTING_REDIS_URL });
    const code = await child.exited;
    assert.notEqual(code, 0, `${kind} refused`);
    assert.match(child.output(), /queue's Redis \(REDIS_URL\) runs maxmemory-policy allkeys-lru/);
  }
});

test("the cache on an evicting Redis: counts exact, the cache follows there, an evicted key is refilled by the read API", async () => {
  const log = createLogger(config, "test");
  // Article 1 is cached on the cache Redis; the queue's Redis holds no cache key for it.
  await cacheRedis.hset(articleKey(1), { read_cnt: 0, like_cnt: 3, collect_cnt: 0, v: 0 });
  await fx.redis.del(articleKey(1));
  await startPipeline(config, log, stops);
  const dashboard = await startDashboard(config, log);
  stops.push(() => dashboard.stop());

  const expected = new Map<string, number>();
  const messages = Array.from({ length: 2000 }, (_, i) => {
    const aid = String(1 + (i % ARTICLES));
    expected.set(aid, (expected.get(aid) ?? 0) + 1);
    return { value: encodeReadEvent(BigInt(aid), BigInt(i)), partition: i % 3 };
  });
  const producer = producerFor(config);
  await producer.connect();
  await sendRaw(producer, config.KAFKA_TOPIC, messages);
  await producer.disconnect();
  await until("every read counted", async () => ((await fx.totalReads()) >= 2000 ? true : undefined));
  assert.deepEqual(Object.fromEntries(await fx.readCounts()), Object.fromEntries(expected));
  assert.equal(await cacheRedis.hget(articleKey(1), "read_cnt"), String(expected.get("1")));
  assert.equal(await fx.redis.exists(articleKey(1)), 0, "no cache key on the queue's Redis");

  // Memory pressure on the cache Redis (16 MB, allkeys-lru): keys are evicted, article 1's too.
  // Redis's LRU clock ticks once a second: article 1's key, just read above, must be older than
  // the fillers by a tick, or it ties with them and may outlive every eviction.
  await sleep(2500);
  const evictedBefore = await evictedKeys(cacheRedis);
  const block = "x".repeat(512 * 1024);
  for (let i = 0; i < 64 && (await cacheRedis.exists(articleKey(1))) === 1; i++) {
    await cacheRedis.set(`${FILLER}:${i}`, block);
  }
  assert.equal(await cacheRedis.exists(articleKey(1)), 0, "article 1's key was evicted");
  assert.ok((await evictedKeys(cacheRedis)) > evictedBefore);

  // An evicted key is a miss: the read API answers from MongoDB and fills the key again.
  const res = await fetch(`${dashboard.url}/api/interactive/article/1`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { readCnt: number };
  assert.equal(body.readCnt, expected.get("1"));
  assert.equal(await cacheRedis.hget(articleKey(1), "read_cnt"), String(expected.get("1")));
});

async function evictedKeys(redis: Redis): Promise<number> {
  return Number(/^evicted_keys:(\d+)/m.exec(await redis.info("stats"))?.[1] ?? 0);
}
