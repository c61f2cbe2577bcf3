// The project's Redis code on a real Redis Cluster (three masters, `up.sh redis-cluster`): hash
// slots as the cluster computes them, the cache script split per slot, the eviction check on
// every master, and the configuration BullMQ needs there.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Cluster } from "ioredis";
import { cacheKey, ReadCache } from "../../src/cache/read-cache.js";
import { loadConfig } from "../../src/config.js";
import { assertQueueRedisKeepsKeys } from "../../src/queue/redis-policy.js";
import { connect } from "../../src/redis/connection.js";
import { keySlot } from "../../src/redis/key-slot.js";
import { CLUSTER_REDIS_URL } from "../support/env.js";

const cluster = connect(CLUSTER_REDIS_URL, true, { maxRetriesPerRequest: 3 });
const ids = Array.from({ length: 300 }, (_, i) => BigInt(i) * 7919n + 9_007_199_254_740_993n);
const keys = ids.map((id) => cacheKey("article", id));

after(async () => {
  for (const key of keys) await cluster.del(key);
  cluster.disconnect();
});

test("hash slots agree with the cluster's own CLUSTER KEYSLOT", async () => {
  assert.ok(cluster instanceof Cluster);
  const samples = [...keys, "{bull}:read-events:wait", "plain", "a{}b", "x{y}z", "{{t}}", "é"];
  for (const key of samples) {
    assert.equal(keySlot(key), Number(await cluster.cluster("KEYSLOT", key)), key);
  }
});

test("the cache on a cluster: one script call per slot brings the current keys forward, drops the stale ones, leaves the rest missing", async () => {
  assert.ok(new Set(keys.map(keySlot)).size > 100, "keys spread over many slots and every master");
  const current = keys.filter((_, i) => i % 3 === 0);
  for (const key of current) await cluster.hset(key, { read_cnt: 10, like_cnt: 0, collect_cnt: 0, v: 3 });
  const stale = keys.filter((_, i) => i % 3 === 1).slice(0, 20);
  for (const key of stale) await cluster.hset(key, { read_cnt: 1, v: 2 });
  const cache = new ReadCache(cluster);
  const applied = await cache.applyWrites(keys.map((key, i) => ({ key, version: 3, delta: i + 1 })));
  assert.deepEqual(applied, { incremented: current.length, dropped: stale.length });
  for (const [i, key] of keys.entries()) {
    const value = await cluster.hmget(key, "read_cnt", "v");
    if (i % 3 === 0) assert.deepEqual(value, [String(10 + i + 1), "4"], key);
    else assert.deepEqual(value, [null, null], `${key} stays missing (or was dropped)`);
  }
});

test("every master of the queue's cluster is checked for noeviction", async () => {
  await assert.doesNotReject(assertQueueRedisKeepsKeys(cluster));
  const masters = (cluster as Cluster).nodes("master");
  assert.equal(masters.length, 3);
  const one = masters[1];
  assert.ok(one);
  await one.config("SET", "maxmemory-policy", "volatile-lru");
  try {
    await assert.rejects(assertQueueRedisKeepsKeys(cluster), /maxmemory-policy volatile-lru/);
  } finally {
    await one.config("SET", "maxmemory-policy", "noeviction");
  }
});

test("on a cluster the queue prefix must be a hash tag, as BullMQ requires", () => {
  assert.throws(
    () => loadConfig({ REDIS_CLUSTER: "true", REDIS_URL: CLUSTER_REDIS_URL, QUEUE_PREFIX: "bull" }),
    /QUEUE_PREFIX: expected a hash tag such as \{bull\} with REDIS_CLUSTER/,
  );
  assert.equal(loadConfig({ REDIS_CLUSTER: "true", QUEUE_PREFIX: "{bull}" }).QUEUE_PREFIX, "{bull}");
});
