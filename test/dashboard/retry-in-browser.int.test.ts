// A person retries a failed job in Bull Board, in a real browser (Debian's chromium driven by
// playwright-core): the status page shows the job's partition held back, why and what to do,
// with a link to the job; after the retry the job is applied once, the held-back reads follow,
// the status page shows the partition reading again, and the read API shows the new count.
// Screenshots are saved in test-artifacts/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Long } from "mongodb";
import type { Browser } from "playwright-core";
import { type Dashboard, startDashboard } from "../../src/dashboard/dashboard.js";
import { createLogger } from "../../src/logger.js";
import type { ReadJobData } from "../../src/queue/read-job.js";
import { COLLECTION } from "../../src/store/interactives.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { articleKey } from "../support/cache.js";
import { launchChromium } from "../support/chromium.js";
import { testConfig } from "../support/env.js";
import { startPipeline } from "../support/in-process.js";
import { createTopic, Fixture, producerFor, ROOT, sendRaw, until } from "../support/pipeline.js";

const ARTIFACTS = `${ROOT}test-artifacts`;
const config = testConfig({
  JOB_ATTEMPTS: "2",
  JOB_BACKOFF_MS: "20",
  GROUP_MAX_WAIT_MS: "50",
  SHUTDOWN_TIMEOUT_MS: "3000",
});
const fx = new Fixture(config);
const stops: (() => Promise<void>)[] = [];
let browser: Browser | undefined;

const cacheKeys = [articleKey(777), articleKey(778)];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  await fx.redis.del(...cacheKeys); // the cache is shared: no value from an earlier run
  await fx.mongo.connect();
  await createTopic(config, 2);
});

after(async () => {
  await browser?.close();
  for (const stop of stops.reverse()) await stop();
  await fx.redis.del(...cacheKeys);
  await fx.close();
});

async function readCnt(dashboard: Dashboard, aid: number): Promise<number> {
  const res = await fetch(`${dashboard.url}/api/interactive/article/${aid}`);
  const body = (await res.json()) as { readCnt: number };
  return body.readCnt;
}

test("a failed job retried through Bull Board in a browser is applied once and its partition resumes", async () => {
  // A document MongoDB cannot increment (read_cnt is text): every attempt for article 777 fails.
  await fx.db.collection(COLLECTION).insertOne({
    _id: "article:777" as never,
    biz: "article",
    biz_id: Long.fromNumber(777),
    read_cnt: "corrupted",
    like_cnt: Long.ZERO,
    collect_cnt: Long.ZERO,
    v: 1,
  });
  const log = createLogger(config, "test");
  await startPipeline(config, log, stops);
  const dashboard = await startDashboard(config, log);
  stops.push(() => dashboard.stop());

  const producer = producerFor(config);
  await producer.connect();
  stops.push(() => producer.disconnect());
  const send = (aid: number, n: number, partition: number) =>
    sendRaw(
      producer,
      config.KAFKA_TOPIC,
      Array.from({ length: n }, (_, i) => ({ value: encodeReadEvent(BigInt(aid), BigInt(i)), partition })),
    );
  await send(777, 5, 0);
  await send(778, 3, 1);

  const work = new Queue<ReadJobData>(config.WORK_QUEUE, {
    connection: fx.redis,
    prefix: config.QUEUE_PREFIX,
  });
  stops.push(() => work.close());
  const [failed] = await until("the job of partition 0 failed all attempts", async () => {
    const jobs = await work.getFailed();
    return jobs.length > 0 ? jobs : undefined;
  });
  // Only that job: article 778 shared its group but not its fate.
  assert.equal(await work.getFailedCount(), 1);
  assert.ok(failed);
  assert.equal(failed.attemptsMade, 2);
  assert.match(failed.failedReason, /Cannot apply \$inc/);
  await until("partition 1 counted", async () => ((await readCnt(dashboard, 778)) === 3 ? true : undefined));

  // Later reads of partition 0 wait in Kafka while its job is failed.
  await send(777, 2, 0);
  await sleep(1000);
  assert.equal(
    await work.getJobCounts("waiting", "active").then((c) => (c.waiting ?? 0) + (c.active ?? 0)),
    0,
  );

  // The operator repairs the document, then retries the job in the dashboard.
  await fx.db
    .collection(COLLECTION)
    .updateOne({ _id: "article:777" as never }, { $set: { read_cnt: Long.fromNumber(100) } });

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The status page: partition 0 held back by its failed job, with the reason, what to do, the
  // ingestor that owns it, and a link to the job in Bull Board.
  const status = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  await status.goto(`${dashboard.url}/status`);
  const row0 = status.locator('#partitions tr[data-partition="0"]');
  await row0.locator(".state", { hasText: "held-back" }).waitFor({ timeout: 15_000 });
  assert.match((await row0.locator(".cause").textContent()) ?? "", /^job-failed: .*Cannot apply \$inc/);
  assert.match((await row0.locator(".todo").textContent()) ?? "", /retry the job in Bull Board/);
  assert.equal(
    await row0.locator("a").getAttribute("href"),
    `queues/queue/${config.WORK_QUEUE}/${encodeURIComponent(failed.id as string)}`,
  );
  assert.notEqual(await row0.locator("td").nth(3).textContent(), "none", "its owner, an ingestor");
  assert.equal(await status.locator('#partitions tr[data-partition="1"] .state').textContent(), "reading");
  await status.screenshot({ path: `${ARTIFACTS}/status-page-held-back.png`, fullPage: true });

  await page.goto(`${dashboard.url}/queues/queue/${config.WORK_QUEUE}?status=failed`);
  // The card shows partition, range and event count in the job's name, and its error.
  // The job's card: the innermost element holding its id, its name and its buttons.
  const card = page
    .locator("div", { hasText: failed.id as string })
    .filter({ hasText: failed.name })
    .filter({ has: page.locator("button") })
    .last();
  await card.waitFor({ timeout: 15_000 });
  assert.match(failed.name, /^p0 \d+-\d+ \(5 events\)$/);
  await page
    .getByText(/Cannot apply \$inc/)
    .first()
    .waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/dashboard-failed-job.png` });

  // Bull Board's per-job Retry is an icon button whose tooltip says "Retry".
  const buttons = card.locator("button");
  let clicked = false;
  for (let i = 0; i < (await buttons.count()) && !clicked; i++) {
    await buttons.nth(i).hover();
    const tooltip = page.getByText("Retry", { exact: true }).first();
    if (
      await tooltip.waitFor({ state: "attached", timeout: 1500 }).then(
        () => true,
        () => false,
      )
    ) {
      await buttons.nth(i).click();
      clicked = true;
    }
  }
  assert.ok(clicked, "found the Retry button of the failed job");
  await page.getByRole("button", { name: "Confirm" }).click();

  await until("the retried job completed", async () =>
    (await work.getJobState(failed.id as string)) === "completed" ? true : undefined,
  );
  // Its 5 reads once, then the 2 that waited behind it. (MongoDB is the truth; the read API
  // is asked once everything settled, because a cache fill racing an increment may lag until
  // its TTL, as in the Go service.)
  await until("held-back reads counted", async () =>
    (await fx.readCounts()).get("777") === 107 ? true : undefined,
  );
  assert.equal(await readCnt(dashboard, 777), 107);
  await page.goto(`${dashboard.url}/queues/queue/${config.WORK_QUEUE}?status=completed`);
  await page.getByText(failed.name).first().waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/dashboard-retry.png` });
  // The status page, refreshed by itself: partition 0 reads on.
  await row0.locator(".state", { hasText: "reading" }).waitFor({ timeout: 15_000 });
  assert.equal(await row0.locator(".cause").textContent(), "");
  await status.screenshot({ path: `${ARTIFACTS}/status-page-after-retry.png`, fullPage: true });
  assert.equal(await work.getFailedCount(), 0);
  const counts = await fx.readCounts();
  assert.equal(counts.get("777"), 107);
  assert.equal(counts.get("778"), 3);
});
