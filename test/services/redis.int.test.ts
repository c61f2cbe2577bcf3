// The Redis the project starts must never evict (BullMQ silently loses jobs under eviction)
// and must keep an append-only file, so a restart keeps the queue.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Redis } from "ioredis";
import { testConfig } from "../support/env.js";

const config = testConfig();
const redis = new Redis(config.REDIS_URL, { lazyConnect: true });
after(() => redis.disconnect());

test("redis answers and is configured with noeviction", async () => {
  assert.equal(await redis.ping(), "PONG");
  const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
  assert.equal(policy, "noeviction");
});

test("the local redis keeps an append-only file fsynced every second", {
  skip: !!process.env.REDIS_URL,
}, async () => {
  const [, aof] = (await redis.config("GET", "appendonly")) as [string, string];
  const [, fsync] = (await redis.config("GET", "appendfsync")) as [string, string];
  assert.deepEqual([aof, fsync], ["yes", "everysec"]);
});
