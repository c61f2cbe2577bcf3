import assert from "node:assert/strict";
import { test } from "node:test";
import { Long } from "mongodb";
import { pipelineMongoFigures } from "../../bench/peers/designs/pipeline.js";
import {
  compareCounts,
  groupStats,
  MongoCommandCounter,
  parsePrometheus,
  parsePrometheusSeries,
  per1k,
  serverCounters,
  serverOpsBetween,
} from "../../bench/peers/measure.js";

test("the command counter counts data commands and their statements", () => {
  const c = new MongoCommandCounter();
  c.started({ commandName: "update", command: { update: "interactives", updates: [{}] } });
  c.started({ commandName: "update", command: { update: "interactives", updates: [{}, {}, {}] } });
  c.started({ commandName: "insert", command: { insert: "x", documents: [{}, {}] } });
  c.started({ commandName: "find", command: { find: "x", filter: {} } });
  c.succeeded({ commandName: "find", reply: { cursor: { firstBatch: [{}, {}, {}, {}], id: 0 } } });
  c.started({ commandName: "getMore", command: { getMore: 1 } });
  c.succeeded({ commandName: "getMore", reply: { cursor: { nextBatch: [{}] } } });
  c.started({ commandName: "createIndexes", command: {} });
  c.started({ commandName: "hello", command: {} });
  c.succeeded({ commandName: "update", reply: { n: 1 } });
  assert.deepEqual(c.snapshot(), { roundTrips: 5, documentOps: 1 + 3 + 2 + 4 + 1 });
  c.reset();
  assert.deepEqual(c.snapshot(), { roundTrips: 0, documentOps: 0 });
});

test("per 1,000 events, one decimal", () => {
  assert.equal(per1k(1_000_000, 1_000_000), 1000);
  assert.equal(per1k(212_345, 1_000_000), 212.3);
  assert.equal(per1k(0, 5), 0);
});

const realStatus = (updates: number, docs: number, extra = 0) => ({
  opcounters: { insert: 0, query: 2, update: Long.fromNumber(updates), delete: 0, getmore: 0, command: 100 },
  metrics: {
    commands: {
      update: { failed: 0, total: Long.fromNumber(updates / 10) },
      find: { failed: 0, total: 5 },
      aggregate: { failed: 0, total: 20 + extra },
      serverStatus: { failed: 0, total: 99 },
    },
    document: { inserted: 0, updated: docs, deleted: 0, returned: 7 + extra },
  },
});

test("server counters: the delta between two replies", () => {
  const before = serverCounters(realStatus(1000, 1000));
  const after = serverCounters(realStatus(5000, 5000, 3));
  assert.deepEqual(before, { commands: 100 + 5 + 20, documents: 1007, opcounters: 1002 });
  const ops = serverOpsBetween(before, after);
  assert.equal(ops.roundTrips, 403);
  assert.equal(ops.documentOps, 4003);
  assert.match(ops.note, /serverStatus/);
  // Only opcounters (older servers): documents from them.
  const onlyOps = serverOpsBetween({ opcounters: 10 }, { opcounters: 110 });
  assert.equal(onlyOps.documentOps, 100);
  assert.equal(onlyOps.roundTrips, null);
  assert.match(onlyOps.note, /opcounters/);
});

test("mongo-java-server's serverStatus has no counters: nothing to compute from it", () => {
  const status = { host: "h", version: "3.6.0", uptime: 12, connections: { current: 3 }, ok: 1 };
  assert.deepEqual(serverCounters(status), {});
  assert.deepEqual(serverCounters(undefined), {});
  const ops = serverOpsBetween({}, {});
  assert.equal(ops.roundTrips, null);
  assert.equal(ops.documentOps, null);
});

const workerMetrics = `# HELP interactive_group_jobs Jobs per applied group
# TYPE interactive_group_jobs histogram
interactive_group_jobs_bucket{le="1",process="worker"} 2
interactive_group_jobs_bucket{le="+Inf",process="worker"} 10
interactive_group_jobs_sum{process="worker"} 34
interactive_group_jobs_count{process="worker"} 10
interactive_group_events_sum{process="worker"} 170000
interactive_group_events_count{process="worker"} 10
interactive_group_flush_seconds_sum{process="worker"} 15.5
interactive_queue_jobs{queue="w",state="failed",process="worker"} 1
interactive_queue_jobs{queue="d",state="waiting",process="worker"} 2
interactive_queue_jobs{queue="w",state="completed",process="worker"} 100
odd_metric{msg="a \\"quoted\\" value, with } inside"} 4
not a metric line
`;

test("Prometheus text: samples with labels; sums per name", () => {
  const series = parsePrometheusSeries(workerMetrics);
  assert.deepEqual(
    series.find((s) => s.name === "interactive_group_jobs_bucket"),
    { name: "interactive_group_jobs_bucket", labels: { le: "1", process: "worker" }, value: 2 },
  );
  assert.deepEqual(series.find((s) => s.name === "odd_metric")?.labels, {
    msg: 'a "quoted" value, with } inside',
  });
  const sums = parsePrometheus(workerMetrics);
  assert.equal(sums.get("interactive_queue_jobs"), 103);
  assert.equal(sums.get("interactive_group_jobs_sum"), 34);
  assert.equal(sums.has("not"), false);
});

test("group stats from the worker's histograms", () => {
  assert.deepEqual(groupStats(parsePrometheus(workerMetrics)), {
    groups: 10,
    jobsPerGroup: 3.4,
    eventsPerGroup: 17_000,
    flushSecondsMean: 1.55,
  });
  assert.equal(groupStats(new Map()), undefined);
  const withArticles = parsePrometheus(`${workerMetrics}interactive_group_articles_sum 42000\n`);
  assert.equal(groupStats(withArticles)?.articlesSum, 42_000);
});

test("pipeline figures: server counters, else writes from distinct articles per group, else n/a", () => {
  const fromServer = pipelineMongoFigures(
    serverCounters(realStatus(1000, 1000)),
    serverCounters(realStatus(5000, 5000, 3)),
    200_000,
    workerMetrics,
  );
  assert.equal(fromServer.docOpsPer1k, 20);
  assert.equal(fromServer.roundTripsPer1k, 2);

  const writes = pipelineMongoFigures(
    {},
    {},
    170_000,
    `${workerMetrics}interactive_group_articles_sum 42500\n`,
  );
  assert.equal(writes.docOpsPer1k, 250);
  assert.equal(writes.roundTripsPer1k, null);
  assert.match(writes.note ?? "", /writes only/);

  const none = pipelineMongoFigures({}, {}, 170_000, workerMetrics);
  assert.equal(none.docOpsPer1k, null);
  assert.equal(none.roundTripsPer1k, null);
  assert.match(none.note ?? "", /^n\/a: .*no operation counters.*distinct articles per group/);
  assert.match(none.note ?? "", /10 groups; per group on average 3.4 jobs, 17,000 events, 1.55 s/);
});

test("the exact-count check compares every article, absent as 0", () => {
  const expected = new Map([
    ["1", 5],
    ["2", 3],
    ["3", 1],
  ]);
  assert.deepEqual(compareCounts(expected, new Map(expected)), { articles: 3, off: 0, examples: [] });
  const check = compareCounts(
    expected,
    new Map([
      ["1", 5],
      ["2", 4],
      ["9", 1],
    ]),
  );
  assert.equal(check.articles, 4);
  assert.equal(check.off, 3);
  assert.deepEqual(check.examples.sort(), [
    "2: expected 3, got 4",
    "3: expected 1, got 0",
    "9: expected 0, got 1",
  ]);
});
