// `npm run status` (and the status page) read real queues, the real broker and the processes'
// reports: lag per partition, held-back partitions (a failed job, or an ingestor's own cause),
// dead letters by reason, workers.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { UnrecoverableError, Worker } from "bullmq";
import { deadLetterJobName } from "../../src/queue/dead-letter.js";
import { openQueues } from "../../src/queue/queues.js";
import { ReadJobBuilder, readJobId } from "../../src/queue/read-job.js";
import { blockingConnection } from "../../src/redis/connection.js";
import { collectStatus, formatStatus } from "../../src/status/collect-status.js";
import { readReports, startReporting } from "../../src/status/process-reports.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { testConfig } from "../support/env.js";
import { createTopic, Fixture, kafkaFor, producerFor, sendRaw, until } from "../support/pipeline.js";

const config = testConfig();
const fx = new Fixture(config);

before(async () => {
  await fx.mongo.connect();
  await createTopic(config, 2);
});

after(() => fx.close());

test("status shows queue counts, lag per partition, held-back partitions and dead letters", async () => {
  const producer = producerFor(config);
  await producer.connect();
  await sendRaw(producer, config.KAFKA_TOPIC, [
    { value: encodeReadEvent(1n, 1n), partition: 0 },
    { value: encodeReadEvent(1n, 2n), partition: 0 },
    { value: encodeReadEvent(1n, 3n), partition: 1 },
  ]);
  await producer.disconnect();

  const { work, dead } = openQueues({ ...config, JOB_ATTEMPTS: 1 }, fx.redis);
  const b = new ReadJobBuilder(config.KAFKA_TOPIC, 1);
  b.addEvent(0n, 1n, Date.now());
  await work.add("p1 0-0 (1 events)", b.build(), { jobId: readJobId(b.build()) });
  const letter = {
    topic: config.KAFKA_TOPIC,
    partition: 0,
    offset: "7",
    timestamp: "0",
    value: "nope",
    encoding: "utf8" as const,
    size: 4,
    truncated: false,
    reason: "invalid JSON at byte 1",
  };
  await dead.add(deadLetterJobName(letter), letter);
  const connection = blockingConnection(config);
  const failing = [work.name, dead.name].map(
    (name) =>
      new Worker(
        name,
        async () => {
          throw new UnrecoverableError("MongoDB said no");
        },
        { connection, prefix: config.QUEUE_PREFIX },
      ),
  );
  await until("both failed", async () =>
    (await work.getFailedCount()) === 1 && (await dead.getFailedCount()) === 1 ? true : undefined,
  );
  await Promise.all(failing.map((w) => w.close()));
  connection.disconnect();

  const admin = kafkaFor(config).admin();
  await admin.connect();
  try {
    // An ingestor reports partition 0 held back for its log (partition 1 is nobody's: its failed
    // job holds it back); a worker reports its last group.
    const stopIngestorReport = startReporting(fx.redis, config, () => ({
      kind: "ingestor",
      assigned: [0],
      partitions: [{ partition: 0, state: "held-back", cause: "log-replaced", reason: "the log ends at 3" }],
    }));
    const stopWorkerReport = startReporting(fx.redis, config, () => ({
      kind: "worker",
      lastGroup: { agoMs: 1000, jobs: 2, events: 9, added: 9, ms: 12 },
    }));
    await until("both reports", async () =>
      (await readReports(fx.redis, config)).length === 2 ? true : undefined,
    );
    const status = await collectStatus(config, { work, dead, redis: fx.redis }, admin);
    await Promise.all([stopIngestorReport(), stopWorkerReport()]);
    assert.deepEqual(
      status.partitions.map((p) => [p.partition, p.lag?.lag, p.state, p.cause]),
      [
        [0, 2, "held-back", "log-replaced"],
        [1, 1, "held-back", "job-failed"],
      ],
    );
    assert.equal(status.partitions[1]?.job?.state, "failed");
    assert.match(status.partitions[1]?.whatToDo ?? "", /retry the job in Bull Board/);
    assert.deepEqual(status.deadLetters.byReason, [{ reason: "invalid JSON at byte N", count: 1 }]);
    assert.deepEqual(status.deadLetters.newest, ["p0 7: invalid JSON at byte 1"]);
    assert.equal(status.workers[0]?.lastGroup?.events, 9);
    const text = formatStatus(status);
    assert.match(
      text,
      /partition {3}1 {2}lag 1 .* held-back .*\n {6}held back: job-failed: MongoDB said no\n {6}to do: fix/,
    );
    assert.match(text, /held back: log-replaced: the log ends at 3/);
    assert.match(
      text,
      /Dead letters: 1; .*\n +1 {2}invalid JSON at byte N\n {2}newest:\n {4}p0 7: invalid JSON/,
    );
    assert.match(text, /total lag 3; held back 2/);
    assert.deepEqual(await readReports(fx.redis, config), [], "a stopped process's report is gone");
  } finally {
    await admin.disconnect();
    await work.close();
    await dead.close();
  }
});
