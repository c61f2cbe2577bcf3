// The log under a partition changes: the topic deleted and re-created (before or while jobs are
// in flight), messages removed by retention before they were read, and a log truncated under a
// running pipeline (as an unclean leader election does). As in every file of
// test/faults/,
// the real ingestor and worker processes (default settings unless a case says otherwise) count
// reads while faults are injected, then every article's total in MongoDB must be exact and every
// cache key that exists must hold exactly its document (support/case.ts). Each case records its
// recovery time: from the end of the fault until every read produced so far is counted
// (test-artifacts/fault-recovery.json; docs/reliability.md quotes a run).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, truncateSync } from "node:fs";
import { after, test } from "node:test";
import type { Config } from "../../src/config.js";
import { ARTICLES, PARTITIONS, servicePid, services, withCase, writeRecoveries } from "../support/case.js";
import { kafkaFor, ROOT, until, untilCommittedToEnd, waitForLog } from "../support/pipeline.js";

after(writeRecoveries);

async function recreateTopic(config: Config): Promise<void> {
  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [config.KAFKA_TOPIC] });
    await until("topic gone", async () =>
      (await admin.listTopics()).includes(config.KAFKA_TOPIC) ? undefined : true,
    );
    await until(
      "topic re-created",
      async () => {
        await admin.createTopics({
          topics: [{ topic: config.KAFKA_TOPIC, numPartitions: PARTITIONS }],
          waitForLeaders: true,
        });
        const meta = await admin.fetchTopicMetadata({ topics: [config.KAFKA_TOPIC] });
        return meta.topics[0]?.partitions.length === PARTITIONS ? true : undefined;
      },
      30_000,
      500,
    );
  } finally {
    await admin.disconnect();
  }
}

test("topic deleted and re-created: held back with a reason, then counted once after a new incarnation", {
  timeout: 400_000,
}, async () => {
  await withCase("topic re-created", {}, async (c) => {
    let worker = await c.running("worker");
    let ingestor = await c.running("ingestor");
    await c.produce(2000, 200, 10);
    await c.waitCounted(c.produced);
    await Promise.all([c.stop(ingestor), c.stop(worker)]);

    await recreateTopic(c.config);
    const before = await c.counted();
    c.aidBase = 1000;
    await c.produce(2000, 200, 10);

    // The same processes and settings: nothing of the new topic may count as a replay.
    worker = await c.running("worker");
    ingestor = await c.running("ingestor");
    await waitForLog(ingestor, /partition held back/, 60_000);
    assert.match(ingestor.output(), /re-created or replaced\?/);
    assert.equal(await c.counted(), before, "nothing counted while held back");

    // The operator gives the topic a new incarnation and restarts the processes.
    await Promise.all([c.stop(ingestor), c.stop(worker)]);
    const fresh = { KAFKA_TOPIC_INCARNATION: "2" };
    worker = await c.running("worker", fresh);
    ingestor = await c.running("ingestor", fresh);
    await c.recovered();
  });
});

test("topic re-created while every partition has a job in flight: the old position is not used on the new log", {
  timeout: 400_000,
}, async () => {
  await withCase("topic re-created mid-job", {}, async (c) => {
    let ingestor = await c.running("ingestor");
    await c.produce(1000, 250, 0);
    const work = c.queue();
    try {
      await c.jobPerPartitionWaits(work);
      // Deleting the topic deletes the old log's reads not yet in a job: only the jobs in flight
      // still hold old reads, and those must be counted.
      const inFlight = await work.getWaiting();
      c.expected.clear();
      c.produced = 0;
      for (const job of inFlight) {
        for (const [aid, deltas] of Object.entries(job.data.articles)) {
          c.expected.set(aid, (c.expected.get(aid) ?? 0) + deltas.length);
          c.produced += deltas.length;
        }
      }
      const oldReads = c.produced;
      await recreateTopic(c.config);
      c.aidBase = 2000;
      await c.produce(2000, 250, 0); // the new log is longer than the old positions
      let worker = await c.running("worker"); // the old jobs complete now, on the old log's reads
      await c.waitCounted(oldReads);
      // Whatever path the ingestor takes (its commit lands on the new log, or it restarts), the
      // new log's reads are never taken for ones already read.
      await until(
        "held back",
        async () => {
          if (ingestor.proc.exitCode !== null) ingestor = c.start("ingestor");
          return /partition held back/.test(ingestor.output()) ? true : undefined;
        },
        90_000,
      );
      assert.match(ingestor.output(), /re-created or replaced\?/);
      assert.equal(await c.counted(), oldReads, "only the old log's reads in flight");

      await Promise.all([c.stop(ingestor), c.stop(worker)]);
      const fresh = { KAFKA_TOPIC_INCARNATION: "2" };
      worker = await c.running("worker", fresh);
      ingestor = await c.running("ingestor", fresh);
      await c.recovered();
      // A job of the old incarnation handed to the new worker (say one still waiting from before
      // the switch) is refused, not counted again under the new marks.
      const [done] = await work.getCompleted(0, 10);
      const stale = inFlight[0];
      assert.ok(done !== undefined && stale !== undefined);
      const again = await work.add("stale", stale.data);
      await until("refused", async () => ((await again.getState()) === "failed" ? true : undefined));
      assert.match(String((await work.getJob(again.id ?? ""))?.failedReason), /incarnation/);
    } finally {
      await work.close();
    }
  });
});

test("messages removed by retention while the ingestor is down are counted as lost, the rest exactly", {
  timeout: 300_000,
}, async () => {
  await withCase("retention removed unread messages", {}, async (c) => {
    await c.running("worker");
    let ingestor = await c.running("ingestor");
    await c.produce(400, 100, 0);
    await c.waitCounted(c.produced);
    await c.stop(ingestor); // commits what it applied
    const firstUnread = c.produced;
    await c.produce(400, 100, 0);
    // Retention (here: deleteRecords, which moves the log start the same way) removes all but the
    // last 20 messages of partition 0, none of which the group read.
    const admin = kafkaFor(c.config).admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(c.config.KAFKA_TOPIC);
    const end0 = BigInt(ends.find((o) => o.partition === 0)?.high ?? "0");
    await admin.deleteTopicRecords({
      topic: c.config.KAFKA_TOPIC,
      partitions: [{ partition: 0, offset: (end0 - 20n).toString() }],
    });
    await admin.disconnect();
    // The reads removed: partition 0's unread messages (n % 4 === 0) but its last 20.
    const unreadOn0 = [];
    for (let n = firstUnread; n < c.produced; n++) if (n % PARTITIONS === 0) unreadOn0.push(n);
    const removed = unreadOn0.slice(0, -20);
    for (const n of removed) {
      const aid = String(c.aidBase + ((n * 7) % ARTICLES));
      c.expected.set(aid, (c.expected.get(aid) ?? 0) - 1);
    }
    c.produced -= removed.length;
    ingestor = c.start("ingestor");
    await c.waitCounted(c.produced);
    const lost = /"partition":0,"from":"\d+","to":"\d+","lost":"(\d+)"/.exec(ingestor.output());
    assert.equal(lost?.[1], String(removed.length), "the ingestor says how many were lost, and where");
    await c.recovered();
  });
});

/**
 * Cuts a partition's log (the local broker stopped) at the first record batch from `offset` on,
 * as an unclean leader election leaves it: the index files go, so the broker rebuilds them from
 * what is left. Returns the new end of the log.
 */
function truncateLog(dir: string, offset: bigint): bigint {
  const segment = readdirSync(dir).find((f) => f.endsWith(".log"));
  assert.ok(segment, `a log segment in ${dir}`);
  const bytes = readFileSync(`${dir}/${segment}`);
  let at = 0;
  while (at + 12 <= bytes.length && bytes.readBigInt64BE(at) < offset) at += 12 + bytes.readInt32BE(at + 8);
  assert.ok(at < bytes.length, "messages after the cut");
  const end = bytes.readBigInt64BE(at);
  truncateSync(`${dir}/${segment}`, at);
  for (const f of readdirSync(dir))
    if (/\.(index|timeindex|snapshot)$/.test(f)) rmSync(`${dir}/${f}`, { force: true });
  return end;
}

test("log truncated under the running pipeline (unclean leader election): survivors once, new reads counted", {
  timeout: 300_000,
  skip: process.env.KAFKA_BROKERS ? "needs the local broker to cut its log" : false,
}, async () => {
  await withCase("log truncated", {}, async (c) => {
    await c.running("worker");
    const ingestor = await c.running("ingestor");
    await c.produce(1200, 40, 0);
    await c.waitCounted(c.produced);
    // Everything applied is committed, up to each partition's end.
    const ends = await untilCommittedToEnd(c.config);
    // The broker dies; partition 0 comes back with the second half of its log gone. Every read
    // of the old log was counted; the reads produced from now on land at offsets used before.
    const kafka = servicePid("kafka");
    process.kill(kafka, "SIGKILL");
    await until("kafka gone", async () => {
      try {
        process.kill(kafka, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const end0 = BigInt(ends.find((e) => e.partition === 0)?.high ?? "0");
    const cut = truncateLog(`${ROOT}.local/kafka/data/${c.config.KAFKA_TOPIC}-0`, end0 / 2n);
    assert.ok(cut > 0n && cut < end0);
    await services("up", "kafka");
    await c.produce(200, 200, 0);
    await waitForLog(ingestor, /log was truncated/, 120_000);
    await c.recovered();
  });
});
