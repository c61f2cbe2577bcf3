import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { servicePid, services, withCase, writeRecoveries } from "../support/case.js";
import { waitForLog } from "../support/pipeline.js";

after(writeRecoveries);

test("Redis killed with -9 and restarted 3 s later", { timeout: 300_000 }, async () => {
  await withCase("redis kill -9", {}, async (c) => {
    await c.running("worker");
    await c.running("ingestor");
    const producing = c.produce(4000);
    await c.waitCounted(1000);
    const pid = servicePid("redis");
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
    const pid = servicePid("redis");
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
