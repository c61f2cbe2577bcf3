// The cache scripts against the real Redis, through a proxy that can lose a reply: a script call
// that Redis ran but whose reply never came back is sent again by ioredis (it resends what was
// unanswered when a connection drops), and the second run must change nothing.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { ReadCache } from "../../src/cache/read-cache.js";
import { cacheConnection } from "../../src/redis/connection.js";
import { articleKey } from "../support/cache.js";
import { testConfig } from "../support/env.js";

const config = testConfig();
const direct = new Redis(config.REDIS_URL);
const key = articleKey(880_001);

/** Forwards to Redis; when armed, drops the connection of the next script call after Redis answered it. */
class LossyProxy {
  readonly server: Server;
  armed = false;
  scriptCalls = 0;

  constructor(target: URL) {
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 6379), target.hostname);
      let dropNextReply = false;
      client.on("data", (chunk) => {
        if (/\beval(sha)?\b/i.test(chunk.toString("latin1"))) {
          this.scriptCalls++;
          if (this.armed) {
            this.armed = false;
            dropNextReply = true;
          }
        }
        upstream.write(chunk);
      });
      upstream.on("data", (chunk) => {
        if (dropNextReply) {
          // Redis ran the script; its reply is lost with the connection.
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close);
      upstream.on("error", close);
      client.on("close", close);
      upstream.on("close", close);
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    const address = this.server.address();
    assert.ok(typeof address === "object" && address);
    return `redis://127.0.0.1:${address.port}`;
  }
}

const proxy = new LossyProxy(new URL(config.REDIS_URL));
let viaProxy: ReturnType<typeof cacheConnection>;

before(async () => {
  viaProxy = cacheConnection({
    ...config,
    CACHE_REDIS_URL: await proxy.listen(),
    CACHE_REDIS_CLUSTER: false,
  });
});

after(async () => {
  await direct.del(key);
  direct.disconnect();
  viaProxy.disconnect();
  proxy.server.close();
});

test("a group's cache update whose reply was lost is sent again and adds nothing the second time", async () => {
  const cache = new ReadCache(viaProxy);
  await cache.applyWrites([{ key: articleKey(880_002), version: 0, delta: 1 }]); // loads the script
  await direct.del(key);
  await direct.hset(key, { read_cnt: 10, like_cnt: 0, collect_cnt: 0, v: 0 });
  const callsBefore = proxy.scriptCalls;
  proxy.armed = true;
  const applied = await cache.applyWrites([{ key, version: 0, delta: 5 }]);
  assert.equal(proxy.scriptCalls - callsBefore, 2, "the call was run, lost, and sent again");
  assert.deepEqual(applied, { incremented: 0, dropped: 0 }, "the second run found the key moved on");
  assert.deepEqual(await direct.hmget(key, "read_cnt", "v"), ["15", "1"], "added once");
});

test("a fill does not replace a key that holds a later version than it read", async () => {
  const cache = new ReadCache(direct);
  await direct.del(key);
  assert.equal(await cache.fill(key, { readCnt: 7, likeCnt: 1, collectCnt: 0 }, 3, 60), true);
  assert.deepEqual(await direct.hmget(key, "read_cnt", "like_cnt", "v"), ["7", "1", "3"]);
  assert.ok((await direct.ttl(key)) > 0);
  // A fill that read the document before its latest write arrives late.
  assert.equal(await cache.fill(key, { readCnt: 5, likeCnt: 1, collectCnt: 0 }, 2, 60), false);
  assert.deepEqual(await direct.hmget(key, "read_cnt", "v"), ["7", "3"]);
  // One that read a later version replaces it.
  assert.equal(await cache.fill(key, { readCnt: 9, likeCnt: 1, collectCnt: 0 }, 4, 60), true);
  assert.deepEqual(await direct.hmget(key, "read_cnt", "v"), ["9", "4"]);
});

test("keys that cannot say which version they hold are dropped by a group, replaced by a fill", async () => {
  const cache = new ReadCache(direct);
  const [plain, noVersion, badVersion] = [articleKey(880_003), articleKey(880_004), articleKey(880_005)];
  await direct.del(plain, noVersion, badVersion);
  await direct.set(plain, "12"); // not a hash
  await direct.hset(noVersion, { read_cnt: 3 }); // filled by something that did not say
  await direct.hset(badVersion, { read_cnt: 3, v: "x" });
  const applied = await cache.applyWrites(
    [plain, noVersion, badVersion].map((key) => ({ key, version: 0, delta: 1 })),
  );
  assert.deepEqual(applied, { incremented: 0, dropped: 3 });
  assert.equal(await direct.exists(plain, noVersion, badVersion), 0);
  await direct.set(plain, "12");
  assert.equal(await cache.fill(plain, { readCnt: 1, likeCnt: 0, collectCnt: 0 }, 0, 60), true);
  assert.deepEqual(await direct.hmget(plain, "read_cnt", "v"), ["1", "0"]);
  await direct.del(plain);
});

test("a group writing more articles than one script call can carry follows them all", async () => {
  // 60,000 writes: one call would take 180,002 arguments, more than a spread call can pass.
  const cache = new ReadCache(direct);
  const first = 881_000;
  const cached = [first, first + 30_000, first + 59_999].map(articleKey);
  for (const k of cached) await direct.hset(k, { read_cnt: 1, like_cnt: 0, collect_cnt: 0, v: 3 });
  const writes = Array.from({ length: 60_000 }, (_, i) => ({
    key: articleKey(first + i),
    version: 3,
    delta: 2,
  }));
  try {
    assert.deepEqual(await cache.applyWrites(writes), { incremented: 3, dropped: 0 });
    for (const k of cached) assert.deepEqual(await direct.hmget(k, "read_cnt", "v"), ["3", "4"]);
    assert.equal(await direct.exists(articleKey(first + 1)), 0, "a missing key stays missing");
  } finally {
    await direct.del(...cached);
  }
});
