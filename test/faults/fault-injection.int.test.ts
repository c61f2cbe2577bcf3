// The fault-injection suite: the real ingestor and worker processes (default settings unless a
// case says otherwise) count reads while faults are injected into them and into the services,
// then every article's total in MongoDB must be exact. Each case records its recovery time: from
// the end of the fault until every read produced so far is counted. They are written to
// test-artifacts/fault-recovery.json (docs/reliability.md quotes a run).
//
// MongoDB is stopped with SIGTERM, never -9: the test server (mongo-java-server on H2) loses
// acknowledged writes on kill -9, which real MongoDB with journaled writes does not.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, test } from "node:test";
import type { Config } from "../../src/config.js";
import { readJobName } from "../../src/queue/read-job.js";
import { ARTICLES, type Case, PARTITIONS, recoveries, services, sleep, withCase } from "../support/case.js";
import { kafkaFor, ROOT, until, waitForLog } from "../support/pipeline.js";

after(() => {
  const file = `${ROOT}test-artifacts/fault-recovery.json`;
  let previous: Record<string, number> = {};
  try {
    previous = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    previous = {};
  }
  writeFileSync(file, `${JSON.stringify({ ...previous, ...recoveries }, null, 2)}\n`);
  for (const [name, ms] of Object.entries(recoveries)) process.stdout.write(`# recovery ${name}: ${ms} ms\n`);
});

/** Resolves once the work queue has active jobs (a worker holds them): the moment to kill it. */
async function jobsActive(c: Case): Promise<void> {
  const work = c.queue();
  try {
    await until(
      "a worker holds jobs",
      async () => ((await work.getActiveCount()) > 0 ? true : undefined),
      60_000,
      10,
    );
  } finally {
    await work.close();
  }
}

test("kill -9 of the worker, at start and while it holds jobs", { timeout: 300_000 }, async () => {
  await withCase("worker kill -9", {}, async (c) => {
    await c.running("ingestor");
    let worker = c.start("worker");
    const producing = c.produce(4000);
    await sleep(300);
    await c.kill9(worker); // while it starts
    worker = c.start("worker");
    await c.waitCounted(1000);
    await jobsActive(c);
    await c.kill9(worker); // holding jobs: they return to the queue when their lock expires
    worker = c.start("worker");
    await producing;
    await c.recovered();
  });
});

test("kill -9 of the ingestor: another takes its partitions within 15 s", { timeout: 300_000 }, async () => {
  await withCase("ingestor kill -9", {}, async (c) => {
    await c.running("worker");
    const victim = await c.running("ingestor");
    const survivor = await c.running("ingestor");
    const producing = c.produce(3000);
    await c.waitCounted(800);
    await c.kill9(victim);
    const killedAt = Date.now();
    await producing;
    await c.waitCounted(c.produced, 60_000);
    recoveries["ingestor kill -9 (partitions flow again)"] = Date.now() - killedAt;
    assert.match(survivor.output(), /joined consumer group/);
    await c.recovered();
  });
});

test("kill -9 of ingestor and worker together, then restart", { timeout: 300_000 }, async () => {
  await withCase("ingestor + worker kill -9", {}, async (c) => {
    let worker = await c.running("worker");
    let ingestor = await c.running("ingestor");
    const producing = c.produce(4000);
    await c.waitCounted(1000);
    await Promise.all([c.kill9(ingestor), c.kill9(worker)]);
    worker = c.start("worker");
    ingestor = c.start("ingestor");
    await producing;
    await c.recovered();
  });
});

test("Redis killed with -9 and restarted 3 s later", { timeout: 300_000 }, async () => {
  await withCase("redis kill -9", {}, async (c) => {
    await c.running("worker");
    await c.running("ingestor");
    const producing = c.produce(4000);
    await c.waitCounted(1000);
    const pid = Number(readFileSync(`${ROOT}.local/run/redis.pid`, "utf8"));
    process.kill(pid, "SIGKILL");
    await sleep(3000);
    await services("up", "redis");
    await producing;
    await c.recovered();
  });
});

test("Redis FLUSHALL mid-stream, and while every partition has a job waiting", {
  timeout: 300_000,
}, async () => {
  await withCase("redis flushall", {}, async (c) => {
    let worker = await c.running("worker");
    const ingestor = await c.running("ingestor");
    const producing = c.produce(4000);
    await c.waitCounted(1000);
    await c.fx.redis.flushall();
    await producing;
    await c.recovered("redis flushall mid-stream");
    // Now with jobs surely open: no worker, so each partition's job waits when Redis forgets it.
    await c.stop(worker);
    await c.produce(1000, 250, 0);
    const work = c.queue();
    try {
      await c.jobPerPartitionWaits(work);
    } finally {
      await work.close();
    }
    await c.fx.redis.flushall();
    await waitForLog(ingestor, /job vanished from Redis; adding it again/);
    worker = await c.running("worker");
    await c.recovered();
  });
});

test("MongoDB stopped for 30 s (jobs in backoff) with Redis restarted during the outage", {
  timeout: 400_000,
  skip: process.env.MONGO_URL ? "needs the local MongoDB-compatible server to stop it" : false,
}, async () => {
  await withCase("mongo down 30 s + redis restart", {}, async (c) => {
    await c.running("worker");
    await c.running("ingestor");
    const producing = c.produce(3000);
    await c.waitCounted(800);
    await services("down", "mongo");
    await sleep(10_000);
    const pid = Number(readFileSync(`${ROOT}.local/run/redis.pid`, "utf8"));
    process.kill(pid, "SIGKILL");
    await sleep(2000);
    await services("up", "redis");
    await producing;
    await sleep(18_000);
    await services("up", "mongo");
    await c.recovered();
  });
});

test("Kafka broker restarted", {
  timeout: 400_000,
  skip: process.env.KAFKA_BROKERS ? "needs the local broker to restart it" : false,
}, async () => {
  await withCase("kafka restart", {}, async (c) => {
    await c.running("worker");
    await c.running("ingestor");
    await c.produce(2500);
    await c.waitCounted(500);
    await services("down", "kafka");
    await sleep(2000);
    await services("up", "kafka");
    await c.produce(1500);
    await c.recovered();
  });
});

test("rebalance while a job is in flight; the new owner fetches other batch sizes", {
  timeout: 300_000,
}, async () => {
  await withCase("rebalance mid-job", {}, async (c) => {
    const first = await c.running("ingestor");
    await c.produce(2000, 200, 20);
    // No worker yet: every partition has a job in flight, waiting.
    const work = c.queue();
    try {
      await c.jobPerPartitionWaits(work);
    } finally {
      await work.close();
    }
    const second = c.start("ingestor", { JOB_MAX_EVENTS: "70", KAFKA_MAX_BYTES_PER_PARTITION: "4096" });
    await waitForLog(second, /joined consumer group/, 60_000);
    await c.running("worker");
    const producing = c.produce(2000);
    await c.waitCounted(2500);
    await c.kill9(first); // its partitions move to the second, mid-job
    await producing;
    await c.recovered();
  });
});

test("a completed job duplicated by hand, and waiting jobs duplicated, count nothing twice", {
  timeout: 300_000,
}, async () => {
  await withCase("duplicate jobs", {}, async (c) => {
    const ingestor = await c.running("ingestor");
    let worker = await c.running("worker");
    await c.produce(1500, 150, 20);
    await c.waitCounted(c.produced);
    await c.stop(worker);
    await c.produce(1500, 150, 20);
    const work = c.queue();
    try {
      await c.jobPerPartitionWaits(work);
      // Bull Board's "Duplicate": the same name and data under a new id.
      const completed = await work.getCompleted(0, 3);
      const waiting = await work.getWaiting();
      assert.ok(completed.length > 0 && waiting.length > 0);
      for (const job of [...completed, ...waiting]) await work.add(readJobName(job.data), job.data);
      worker = await c.running("worker");
      await c.recovered();
      assert.ok(!/partition held back/.test(ingestor.output()));
    } finally {
      await work.close();
    }
  });
});

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
