// The dashboard's HTTP surface against the real Redis and MongoDB-compatible server: the read
// API (cache-aside, int64-exact ids, clear 400s), probes, metrics, and access control.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Long } from "mongodb";
import { type Dashboard, startDashboard } from "../../src/dashboard/dashboard.js";
import { createLogger } from "../../src/logger.js";
import { openQueues } from "../../src/queue/queues.js";
import { COLLECTION } from "../../src/store/interactives.js";
import { articleKey } from "../support/cache.js";
import { testConfig } from "../support/env.js";
import { Fixture } from "../support/pipeline.js";

const config = testConfig();
const fx = new Fixture(config);
let dashboard: Dashboard;
const BIG = "9223372036854775807";

const cacheKeys = [articleKey(BIG), articleKey(4242), articleKey(4343)];

before(async () => {
  await fx.mongo.connect();
  await fx.redis.del(...cacheKeys); // the cache is shared: no value from an earlier run
  dashboard = await startDashboard(config, createLogger(config, "test"));
});

after(async () => {
  await dashboard.stop();
  await fx.redis.del(...cacheKeys);
  await fx.close();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${dashboard.url}${path}`, { headers });

test("the read API reads MongoDB on a miss, fills the cache with a TTL, then serves the cache", async () => {
  await fx.db.collection(COLLECTION).insertOne({
    _id: `article:${BIG}` as never,
    biz: "article",
    biz_id: Long.fromString(BIG),
    read_cnt: Long.fromNumber(12),
    like_cnt: Long.fromNumber(3),
    collect_cnt: Long.fromNumber(1),
  });
  const res = await get(`/api/interactive/article/${BIG}`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { biz: "article", bizId: BIG, readCnt: 12, likeCnt: 3, collectCnt: 1 });
  const ttl = await fx.redis.ttl(articleKey(BIG));
  assert.ok(ttl > 0 && ttl <= config.CACHE_TTL_SECONDS, `ttl ${ttl}`);
  // Served from the cache now: a cached value wins over MongoDB until it expires.
  await fx.redis.hset(articleKey(BIG), "read_cnt", 13);
  assert.equal(
    ((await (await get(`/api/interactive/article/${BIG}`)).json()) as { readCnt: number }).readCnt,
    13,
  );
});

test("a missing row reads as zeros and is cached as zeros", async () => {
  const res = await get("/api/interactive/article/4242");
  assert.deepEqual(await res.json(), {
    biz: "article",
    bizId: "4242",
    readCnt: 0,
    likeCnt: 0,
    collectCnt: 0,
  });
  assert.equal(await fx.redis.hget(articleKey(4242), "read_cnt"), "0");
});

test("bad ids and bizes get a 400 with a clear message", async () => {
  for (const [path, message] of [
    ["/api/interactive/article/abc", /bizId must be a positive int64/],
    ["/api/interactive/article/0", /bizId must be a positive int64/],
    ["/api/interactive/article/-5", /bizId must be a positive int64/],
    ["/api/interactive/article/9223372036854775808", /bizId must be a positive int64/],
    ["/api/interactive/article/1.5", /bizId must be a positive int64/],
    ["/api/interactive/Art!cle/1", /biz must be lower-case/],
  ] as const) {
    const res = await get(path);
    assert.equal(res.status, 400, path);
    assert.match(((await res.json()) as { error: string }).error, message);
  }
});

test("probes and metrics answer", async () => {
  assert.deepEqual(await (await get("/healthz")).json(), { status: "ok" });
  assert.deepEqual(await (await get("/readyz")).json(), { status: "ready" });
  const metrics = await (await get("/metrics")).text();
  assert.match(metrics, new RegExp(`interactive_queue_jobs\\{queue="${config.WORK_QUEUE}",state="failed"`));
  assert.match(metrics, /process_cpu_seconds_total/);
});

test("bound beyond loopback without credentials, the dashboard refuses to start", async () => {
  const open = testConfig({ DASHBOARD_HOST: "0.0.0.0" });
  await assert.rejects(startDashboard(open, createLogger(open, "test")), /not loopback: set DASHBOARD_USER/);
});

test("with credentials, every route but the probes needs them", async () => {
  const secured = testConfig({
    DASHBOARD_USER: "ops",
    DASHBOARD_PASSWORD: "correct horse",
    DASHBOARD_TOKEN: "t0ken-t0ken-t0ken-1",
  });
  const d = await startDashboard(secured, createLogger(secured, "test"));
  try {
    const basic = `Basic ${Buffer.from("ops:correct horse").toString("base64")}`;
    for (const path of ["/queues", "/api/interactive/article/4343", "/metrics"]) {
      const denied = await fetch(`${d.url}${path}`);
      assert.equal(denied.status, 401, path);
      const wrong = await fetch(`${d.url}${path}`, { headers: { authorization: "Bearer nope" } });
      assert.equal(wrong.status, 401, path);
      assert.equal((await fetch(`${d.url}${path}`, { headers: { authorization: basic } })).status, 200, path);
      const token = await fetch(`${d.url}${path}`, {
        headers: { authorization: "Bearer t0ken-t0ken-t0ken-1" },
      });
      assert.equal(token.status, 200, path);
    }
    assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
  } finally {
    await d.stop();
  }
});

test("in read-only mode, Bull Board refuses to retry", async () => {
  const ro = testConfig({ DASHBOARD_READ_ONLY: "true", WORK_QUEUE: config.WORK_QUEUE });
  const d = await startDashboard(ro, createLogger(ro, "test"));
  try {
    const queues = (await (await fetch(`${d.url}/queues/api/queues`)).json()) as {
      queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[];
    };
    const work = queues.queues.find((q) => q.name === config.WORK_QUEUE);
    assert.deepEqual([work?.readOnlyMode, work?.allowRetries], [true, false]);
    const res = await fetch(`${d.url}/queues/api/queues/${config.WORK_QUEUE}/retry/failed`, {
      method: "PUT",
    });
    assert.ok(res.status >= 400, `retry answered ${res.status}`);
  } finally {
    await d.stop();
  }
});

test("Bull Board refuses to edit a job's data, whatever the job's state", async () => {
  const data = {
    topic: "t",
    partition: 0,
    firstOffset: "5",
    lastOffset: "5",
    events: 1,
    articles: { "9": [0] },
    earliestEventTimestamp: 1,
  };
  const { work } = openQueues(config, fx.redis);
  await work.add("p0 5-5 (1 events)", data, { jobId: "edit-me" });
  const res = await fetch(`${dashboard.url}/queues/api/queues/${config.WORK_QUEUE}/edit-me/update-data`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jobData: { ...data, lastOffset: "900" } }),
  });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { error: string }).error, /cannot be edited/);
  // The same route, its path spelled encoded.
  const encoded = await fetch(
    `${dashboard.url}/queues/api/queues/${config.WORK_QUEUE}/edit-me/update%2Ddata`,
    {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jobData: { ...data, lastOffset: "900" } }),
    },
  );
  assert.equal(encoded.status, 403);
  const job = await work.getJob("edit-me");
  assert.equal(job?.data.lastOffset, "5", "the data is unchanged");
  await work.close();
});
