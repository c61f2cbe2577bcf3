import assert from "node:assert/strict";
import { test } from "node:test";
import { UnrecoverableError } from "bullmq";
import { ReadJobBuilder, readJobId, validateReadJobData } from "../../src/queue/read-job.js";

test("job ids name the first message: topic life, partition, offset and timestamp; no ':', not all digits", () => {
  const first = {
    topic: "article_read_event",
    partition: 3,
    firstOffset: "1200",
    originTimestamp: 1700000000000,
  };
  const id = readJobId(first);
  assert.equal(id, "article_read_event-p3-o1200-t1700000000000");
  assert.doesNotMatch(id, /:/);
  // A re-created topic's message at the same offset was sent later: another id.
  assert.notEqual(readJobId({ ...first, originTimestamp: 1700000000001 }), id);
  // A new incarnation of the topic: another id too.
  assert.equal(readJobId({ ...first, incarnation: "2" }), "article_read_event@2-p3-o1200-t1700000000000");
});

test("the builder keeps a contiguous range, invalid offsets included, events per article", () => {
  const b = new ReadJobBuilder("t", 2);
  b.addEvent(10n, 7n, 1000);
  b.addDeadLetter(11n, 5000); // an invalid message inside the range
  b.addEvent(12n, 9007199254740993n, 900);
  b.addEvent(13n, 7n, 1100);
  const data = b.build();
  assert.deepEqual(data, {
    topic: "t",
    partition: 2,
    firstOffset: "10",
    lastOffset: "13",
    events: 3,
    articles: { "7": [0, 3], "9007199254740993": [2] },
    earliestEventTimestamp: 900,
    maxTimestamp: 5000,
    originTimestamp: 1000,
    lastTimestamp: 1100,
    deadLetters: [1],
  });
  assert.equal(validateReadJobData(JSON.parse(JSON.stringify(data))).events, 3);
});

test("offsets must ascend", () => {
  const b = new ReadJobBuilder("t", 0);
  b.addDeadLetter(5n, 0);
  assert.throws(() => b.addEvent(5n, 1n, 0), /does not ascend/);
});

test("malformed job data fails at once, without retries", () => {
  const good = {
    topic: "t",
    partition: 0,
    firstOffset: "0",
    lastOffset: "2",
    events: 2,
    articles: { "1": [0, 2] },
    earliestEventTimestamp: 0,
  };
  const cases: [unknown, RegExp][] = [
    [null, /not an object/],
    [{ ...good, partition: -1 }, /partition/],
    [{ ...good, firstOffset: "1.5" }, /firstOffset/],
    [{ ...good, lastOffset: "99999999999999999999" }, /lastOffset/],
    [{ ...good, articles: { "0": [0] }, events: 1 }, /article id 0/],
    [{ ...good, articles: { x: [0] }, events: 1 }, /article id x/],
    [{ ...good, articles: { "1": [2, 0] } }, /offsets of article 1/],
    [{ ...good, articles: { "1": [0, 3] } }, /offsets of article 1/],
    [{ ...good, events: 5 }, /events is 5 but articles hold 2/],
  ];
  for (const [data, why] of cases) {
    assert.throws(
      () => validateReadJobData(data),
      (err: unknown) => err instanceof UnrecoverableError && why.test(err.message),
      `expected ${why} for ${JSON.stringify(data)}`,
    );
  }
});

test("a backlog or partition count that is not a count is dropped, not failed: it only guides grouping", () => {
  const b = new ReadJobBuilder("t", 0);
  b.addEvent(0n, 1n, 0);
  const good = b.build();
  for (const backlog of [-1, "7", 1.5])
    assert.equal(validateReadJobData({ ...good, backlog }).backlog, undefined, `backlog ${backlog}`);
  for (const partitions of [0, "6", 2.5])
    assert.equal(
      validateReadJobData({ ...good, partitions }).partitions,
      undefined,
      `partitions ${partitions}`,
    );
  assert.equal(validateReadJobData({ ...good, backlog: 7 }).backlog, 7);
  assert.equal(validateReadJobData({ ...good, backlog: 0, partitions: 6 }).partitions, 6);
});

test("a job of an earlier release, whose earliest event time is named firstTimestamp, is read", () => {
  const earlier = {
    topic: "t",
    partition: 0,
    firstOffset: "0",
    lastOffset: "0",
    events: 1,
    articles: { "1": [0] },
    firstTimestamp: 42,
    originTimestamp: 40,
  };
  const data = validateReadJobData(earlier);
  assert.equal(data.earliestEventTimestamp, 42);
  assert.equal(data.originTimestamp, 40, "the first message's time keeps its name");
  assert.throws(() => validateReadJobData({ ...earlier, firstTimestamp: "x" }), /earliestEventTimestamp/);
});
