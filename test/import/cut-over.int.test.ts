// The switch from the Go consumer, as the README's runbook does it: the topic holds reads, the
// group's committed offsets sit mid-topic (where a gracefully stopped Go consumer left them), the
// Go service's MySQL counts are imported, then the real ingestor and worker start and more reads
// arrive. Every article must end at exactly: imported base + reads at offsets >= the committed one.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Document, Long } from "mongodb";
import { importFromMysql } from "../../src/import/import-mysql.js";
import { parseImportArgs } from "../../src/import/import-options.js";
import { createLogger } from "../../src/logger.js";
import { COLLECTION } from "../../src/store/interactives.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { testConfig } from "../support/env.js";
import { MysqlFixture } from "../support/mysql.js";
import {
  type Child,
  createTopic,
  Fixture,
  kafkaFor,
  producerFor,
  sendRaw,
  startChild,
  until,
  untilCommittedToEnd,
  waitForLog,
} from "../support/pipeline.js";

const config = testConfig({ JOB_MAX_EVENTS: "50", GROUP_MAX_WAIT_MS: "5", SHUTDOWN_TIMEOUT_MS: "5000" });
const fx = new Fixture(config);
const children: Child[] = [];
let my: MysqlFixture | undefined;

const PARTITIONS = 3;
const BIG = "9007199254740993"; // 2^53 + 1
const ARTICLES = ["1", "2", "3", BIG, "5"];
/** What the Go consumer counted into MySQL (article 5 has no row: it was never read before). */
const BASE: Record<string, number> = { "1": 1000, "2": 0, "3": 42, [BIG]: 7 };
/** Where the stopped Go consumer's group left each partition. */
const COMMITTED = [70, 135, 200];
/** The article of each message, per partition, in offset order. */
const topicLog: string[][] = Array.from({ length: PARTITIONS }, () => []);

async function produce(count: number): Promise<void> {
  const producer = producerFor(config);
  await producer.connect();
  try {
    const batch: { value: string; partition: number }[] = [];
    for (let i = 0; i < count; i++) {
      const partition = i % PARTITIONS;
      const aid = ARTICLES[(i * 3 + Math.floor(i / 7)) % ARTICLES.length] as string;
      topicLog[partition]?.push(aid);
      batch.push({ value: encodeReadEvent(BigInt(aid), BigInt(i)), partition });
    }
    await sendRaw(producer, config.KAFKA_TOPIC, batch);
  } finally {
    await producer.disconnect();
  }
}

/** read_cnt by _id, for the biz "article". */
async function articleCounts(): Promise<Record<string, number>> {
  const docs = await fx.db
    .collection(COLLECTION)
    .find({ biz: "article" }, { projection: { read_cnt: 1 }, promoteLongs: false })
    .toArray();
  return Object.fromEntries(docs.map((d) => [String(d._id), Number(String(d.read_cnt))]));
}

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, PARTITIONS);
  my = await MysqlFixture.create();
});

after(async () => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
  await my?.close();
  await fx.close();
});

test("cut-over: imported base + the reads from the committed offsets on, exactly", {
  timeout: 240_000,
}, async () => {
  assert.ok(my);
  // 1. The topic as the Go consumer saw it: 600 reads, 200 per partition.
  await produce(600);
  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(config.KAFKA_TOPIC);
    for (const e of ends)
      assert.equal(Number(e.high), topicLog[e.partition]?.length, `partition ${e.partition} end`);

    // 2. The committed offsets a gracefully stopped Go consumer leaves: mid-topic, one at the end.
    await admin.setOffsets({
      groupId: config.KAFKA_GROUP_ID,
      topic: config.KAFKA_TOPIC,
      partitions: COMMITTED.map((offset, partition) => ({ partition, offset: String(offset) })),
    });
    const [committed] = await admin.fetchOffsets({
      groupId: config.KAFKA_GROUP_ID,
      topics: [config.KAFKA_TOPIC],
    });
    assert.deepEqual(
      committed?.partitions.map((p) => [p.partition, p.offset]).sort(),
      COMMITTED.map((o, p) => [p, String(o)]),
    );
  } finally {
    await admin.disconnect();
  }

  // 3. The Go service's counts, imported. The video row shares article 1's biz_id: another document.
  await my.insert([
    ...Object.entries(BASE).map(([aid, reads]) => ({
      biz_id: aid,
      biz: "article",
      read_cnt: String(reads),
      like_cnt: "3",
      collect_cnt: "1",
      ctime: "1700000000000",
      utime: "1700000001000",
    })),
    {
      biz_id: "1",
      biz: "video",
      read_cnt: "99",
      like_cnt: "0",
      collect_cnt: "0",
      ctime: "1700000000000",
      utime: "1700000001000",
    },
  ]);
  const summary = await importFromMysql(parseImportArgs(["--url", my.url], {}), {
    config,
    log: createLogger(config, "import"),
  });
  assert.equal(summary.documentsWritten, 5);
  assert.equal(summary.skipped, 0);

  // 4. The pipeline takes over the group, from its committed offsets.
  const worker = startChild("worker", config);
  children.push(worker);
  const ingestor = startChild("ingestor", config);
  children.push(ingestor);
  await waitForLog(ingestor, /ingestor running/);

  // 5. Reads keep arriving.
  await produce(300);

  const expected: Record<string, number> = {};
  for (const aid of ARTICLES) {
    let n = BASE[aid] ?? 0;
    topicLog.forEach((aids, partition) => {
      n += aids.slice(COMMITTED[partition]).filter((a) => a === aid).length;
    });
    expected[`article:${aid}`] = n;
  }
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  await until(
    `read_cnt to reach ${total} over the articles`,
    async () => {
      const sum = Object.values(await articleCounts()).reduce((a, b) => a + b, 0);
      return sum >= total ? true : undefined;
    },
    120_000,
  );
  // Every partition's committed offset reaches its end: nothing is left that could still count.
  await untilCommittedToEnd(config);
  await sleep(1000); // room for a duplicate to show
  assert.deepEqual(await articleCounts(), expected);

  // The imported like/collect counts and the other biz are carried over untouched.
  const one = await fx.db
    .collection(COLLECTION)
    .findOne({ _id: "article:1" } as Document, { promoteLongs: false });
  assert.ok(one?.like_cnt instanceof Long);
  assert.equal(String(one.like_cnt), "3");
  assert.equal(String(one.collect_cnt), "1");
  const video = await fx.db
    .collection(COLLECTION)
    .findOne({ _id: "video:1" } as Document, { promoteLongs: false });
  assert.equal(String(video?.read_cnt), "99");

  // The pipeline stops cleanly, as it would for the next deploy.
  worker.proc.kill("SIGTERM");
  ingestor.proc.kill("SIGTERM");
  assert.equal(await ingestor.exited, 0);
  assert.equal(await worker.exited, 0);
});
