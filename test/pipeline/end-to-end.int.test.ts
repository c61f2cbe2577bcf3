// The whole pipeline against the real services: a known mix of valid and invalid messages is
// produced to Kafka; read_cnt per article, the cache, the dead letters and the committed offsets
// must come out exact.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Long } from "mongodb";
import { createLogger } from "../../src/logger.js";
import type { DeadLetterData } from "../../src/queue/dead-letter.js";
import { COLLECTION } from "../../src/store/interactives.js";
import { articleKey } from "../support/cache.js";
import { testConfig } from "../support/env.js";
import { startPipeline } from "../support/in-process.js";
import {
  createTopic,
  Fixture,
  producerFor,
  sendRaw,
  until,
  untilCommittedToEnd,
} from "../support/pipeline.js";

const config = testConfig({ JOB_MAX_EVENTS: "40", GROUP_MAX_WAIT_MS: "5", MAX_MESSAGE_BYTES: "256" });
const fx = new Fixture(config);
const BIG = "9007199254740993"; // 2^53 + 1

const valid: { value: string; aid: string }[] = [
  ...Array.from({ length: 300 }, (_, i) => ({ value: `{"Aid":1,"Uid":${i}}`, aid: "1" })),
  ...Array.from({ length: 120 }, () => ({ value: '{"aid":2,"uid":5}', aid: "2" })),
  ...Array.from({ length: 57 }, () => ({ value: `{"Aid":${BIG},"Uid":1,"Extra":"x"}`, aid: BIG })),
  ...Array.from({ length: 33 }, () => ({
    value: '{"AID":3,"junk":{"a":[1,2.5,null]},"uId":null}',
    aid: "3",
  })),
  { value: '{"Aid":9223372036854775807}', aid: "9223372036854775807" },
];
const invalid: { value: string | Buffer | null; reason: RegExp }[] = [
  { value: "not json", reason: /invalid JSON at byte 1: expected .null./ },
  { value: '{"Aid":"1"}', reason: /Aid is a JSON string, expected an integer/ },
  { value: '{"Aid":1.5}', reason: /Aid is 1\.5, expected an integer/ },
  { value: '{"Uid":3}', reason: /Aid is missing or 0/ },
  { value: "[1]", reason: /value is a JSON array, expected an object/ },
  { value: null, reason: /message has no value/ },
  { value: `{"Aid":1,"pad":"${"x".repeat(300)}"}`, reason: /over the limit of 256 \(MAX_MESSAGE_BYTES\)/ },
  { value: '{"Aid":-4}', reason: /Aid is -4, expected > 0/ },
  { value: '{"Aid":9223372036854775808}', reason: /outside int64 range/ },
  { value: Buffer.from([0x7b, 0xff, 0x7d]), reason: /invalid JSON at byte 1/ },
];

const stops: (() => Promise<void>)[] = [];

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, 3);
  // Article 1 and BIG are cached (filled before their documents' first write, at version 0),
  // article 2 is not.
  await fx.redis.hset(articleKey(1), { read_cnt: 1000, like_cnt: 7, collect_cnt: 2, v: 0 });
  await fx.redis.hset(articleKey(BIG), { read_cnt: 5, like_cnt: 0, collect_cnt: 0, v: 0 });
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
  for (const aid of ["1", "2", BIG]) await fx.redis.del(articleKey(aid)); // one by one: a cluster refuses keys of several slots
  await fx.close();
});

test("valid reads are counted exactly, the cache follows, invalid messages become dead letters", async () => {
  const log = createLogger(config, "test");
  await startPipeline(config, log, stops);

  // Interleave invalid messages among the valid ones, spread over the partitions.
  const all: { value: string | Buffer | null; partition: number }[] = [];
  let inv = 0;
  valid.forEach((v, i) => {
    all.push({ value: v.value, partition: i % 3 });
    if (i % 50 === 25 && inv < invalid.length)
      all.push({ value: invalid[inv++]?.value ?? null, partition: i % 3 });
  });
  while (inv < invalid.length) all.push({ value: invalid[inv++]?.value ?? null, partition: 2 });
  const producer = producerFor(config);
  await producer.connect();
  await sendRaw(producer, config.KAFKA_TOPIC, all);
  await producer.disconnect();

  const expected = new Map<string, number>();
  for (const v of valid) expected.set(v.aid, (expected.get(v.aid) ?? 0) + 1);
  await until("all valid reads counted", async () =>
    (await fx.totalReads()) >= valid.length ? true : undefined,
  );
  // Give any duplicate a chance to show before asserting exactness.
  await sleep(500);
  assert.deepEqual(Object.fromEntries(await fx.readCounts()), Object.fromEntries(expected));

  const doc = await fx.db
    .collection(COLLECTION)
    .findOne({ biz_id: Long.fromString(BIG) }, { promoteLongs: false });
  assert.ok(doc);
  assert.equal(doc.biz, "article");
  assert.ok(doc.biz_id instanceof Long);
  assert.equal(doc.biz_id.toString(), BIG);
  assert.equal(String(doc.like_cnt), "0");
  assert.equal(String(doc.collect_cnt), "0");
  assert.ok(Number(String(doc.ctime)) > 1.7e12 && Number(String(doc.utime)) >= Number(String(doc.ctime)));

  assert.equal(await fx.redis.hget(articleKey(1), "read_cnt"), String(1000 + 300));
  assert.equal(await fx.redis.hget(articleKey(1), "like_cnt"), "7");
  assert.equal(await fx.redis.hget(articleKey(BIG), "read_cnt"), String(5 + 57));
  assert.equal(await fx.redis.exists(articleKey(2)), 0, "a missing cache key stays missing");

  const dead = new Queue<DeadLetterData>(config.DEAD_LETTER_QUEUE, {
    connection: fx.redis,
    prefix: config.QUEUE_PREFIX,
  });
  try {
    const failed = await until("all dead letters failed", async () => {
      const jobs = await dead.getFailed(0, 100);
      return jobs.length >= invalid.length ? jobs : undefined;
    });
    assert.equal(failed.length, invalid.length);
    for (const want of invalid) {
      const raw =
        want.value === null ? null : Buffer.isBuffer(want.value) ? want.value.toString("base64") : want.value;
      const job = failed.find((j) => j.data.value === raw);
      assert.ok(job, `dead letter for ${String(raw)}`);
      assert.match(job.data.reason, want.reason);
      assert.match(job.failedReason, want.reason);
      assert.equal(job.data.topic, config.KAFKA_TOPIC);
      assert.match(job.data.offset, /^\d+$/);
      assert.match(job.data.timestamp, /^\d+$/);
      if (Buffer.isBuffer(want.value)) assert.equal(job.data.encoding, "base64");
    }
  } finally {
    await dead.close();
  }

  // Every partition's committed offset is its end: nothing is left to redeliver.
  await untilCommittedToEnd(config);
});
