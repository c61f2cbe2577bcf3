// applyReadGroup on the in-memory store (support/memory-store.ts): the paths between its reads
// and writes that the real-server tests (apply-read-group.int.test.ts) reach only by timing:
// conflict rounds, guessed and remembered states, refused documents, the ledger's check, what a
// range's first job decides about its dead letters, and what the cache is told.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UnrecoverableError } from "bullmq";
import { messageOffsetKey, partitionKey } from "../../src/counting/plan-increments.js";
import { ReadJobBuilder, type ReadJobData } from "../../src/queue/read-job.js";
import { RejectedDocumentsError } from "../../src/store/interactives.js";
import { applyReadGroup } from "../../workers/apply-read-group.js";
import { ArticleStateCache } from "../../workers/article-state-cache.js";
import { MemoryStore, RecordingCache } from "../support/memory-store.js";

const TOPIC = "reads";

function job(partition: number, first: bigint, aids: readonly number[], sentAt = 1_000): ReadJobData {
  const b = new ReadJobBuilder(TOPIC, partition);
  for (const [i, aid] of aids.entries()) b.addEvent(first + BigInt(i), BigInt(aid), sentAt + i);
  return b.build();
}

test("new articles are written without a read; a remembered one too; every event once", async () => {
  const store = new MemoryStore();
  const cache = new RecordingCache();
  const states = new ArticleStateCache(100);
  await applyReadGroup({ store, cache, states }, [job(0, 0n, [1, 2, 1])]);
  await applyReadGroup({ store, cache, states }, [job(0, 3n, [1, 2])]);
  assert.deepEqual(store.reads, [], "no read: guessed absent, then remembered");
  assert.deepEqual([store.readCnt("1"), store.readCnt("2")], [3, 2]);
  // The cache is told each write with the version it started from.
  assert.deepEqual(
    cache.writes.map((w) => [w.key, w.version, w.delta]),
    [
      ["interactive:article:1", 0, 2],
      ["interactive:article:2", 0, 1],
      ["interactive:article:1", 1, 1],
      ["interactive:article:2", 1, 1],
    ],
  );
});

test("a document another writer changed meanwhile: the write conflicts, is read, planned again, exact", async () => {
  const store = new MemoryStore();
  const states = new ArticleStateCache(100);
  const cache = new RecordingCache();
  await applyReadGroup({ store, cache, states }, [job(0, 0n, [1, 1])]);
  // Another worker applies the next range of the partition, then this one gets the same range
  // again with more (its remembered version is stale).
  const other = new ArticleStateCache(100);
  await applyReadGroup({ store, cache, states: other }, [job(0, 2n, [1, 1])]);
  store.reads.length = 0;
  const { outcome } = await applyReadGroup({ store, cache, states }, [job(0, 2n, [1, 1, 1])]);
  assert.equal(outcome.added, 1, "offsets 2 and 3 were applied by the other; 4 is new");
  assert.equal(store.readCnt("1"), 5);
  assert.deepEqual(store.reads, ["1"], "read once, after the conflict");
});

test("a document that keeps changing is refused after ten rounds, failing only its jobs", async () => {
  const store = new MemoryStore();
  store.beforeWrite = () => store.touch("1");
  const busy = job(0, 0n, [1, 2]);
  const calm = job(1, 0n, [2, 3]);
  const { failed } = await applyReadGroup({ store, cache: new RecordingCache() }, [busy, calm]);
  assert.ok(failed.get(busy) instanceof RejectedDocumentsError);
  assert.match(String(failed.get(busy)?.message), /article 1: its document kept changing for 10 rounds/);
  assert.ok(!failed.has(calm));
  assert.equal(store.readCnt("2"), 2);
  assert.equal(store.readCnt("3"), 1);
});

test("a refused document fails the jobs holding it; their other articles are written and skipped on retry", async () => {
  const store = new MemoryStore();
  store.refuse.set("7", "document article:7 refused (code 11000): dup key on biz_biz_id");
  store.docs.set("8", { readCnt: 0, v: "x", marks: new Map() });
  const bad = job(0, 0n, [7, 9]);
  const badVersion = job(1, 0n, [8]);
  const good = job(2, 0n, [9]);
  const { failed } = await applyReadGroup({ store, cache: new RecordingCache() }, [bad, badVersion, good]);
  assert.match(String(failed.get(bad)?.message), /article:7 refused/);
  assert.match(String(failed.get(badVersion)?.message), /v is "x"/);
  assert.ok(!failed.has(good));
  assert.equal(store.readCnt("9"), 2);
  // The retry, once the document is fixed, adds only what is missing.
  store.refuse.clear();
  const again = await applyReadGroup({ store, cache: new RecordingCache() }, [bad]);
  assert.equal(again.outcome.added, 1);
  assert.deepEqual([store.readCnt("7"), store.readCnt("9")], [1, 2]);
});

test("the ledger tells a replay from a re-created topic: the replay adds nothing, the new log fails for good", async () => {
  const store = new MemoryStore();
  const cache = new RecordingCache();
  const old = job(0, 0n, [1, 2], 1_000);
  await applyReadGroup({ store, cache }, [old]);
  assert.deepEqual(store.ledger.get(partitionKey(TOPIC, 0)), { through: 1n, maxTimestamp: 1_001 });
  const replay = await applyReadGroup({ store, cache }, [old]);
  assert.deepEqual([replay.failed.size, replay.outcome.added], [0, 0]);
  const reborn = job(0, 0n, [1, 3], 5_000);
  const { failed } = await applyReadGroup({ store, cache }, [reborn]);
  assert.ok(failed.get(reborn) instanceof UnrecoverableError);
  assert.equal(store.readCnt("3"), undefined, "nothing of the new log counted as a replay");
});

/** A job of messages from `first` on: an article id each, or "dead" for a dead letter. */
function mixedJob(first: bigint, messages: readonly (number | "dead")[]): ReadJobData {
  const b = new ReadJobBuilder(TOPIC, 0);
  for (const [i, m] of messages.entries()) {
    if (m === "dead") b.addDeadLetter(first + BigInt(i), 1_000 + i);
    else b.addEvent(first + BigInt(i), BigInt(m), 1_000 + i);
  }
  return b.build();
}

test("a range's first job decides what is a dead letter; a replay read otherwise keeps it", async () => {
  const P0 = partitionKey(TOPIC, 0);
  // An ingestor with a strict MAX_MESSAGE_BYTES left offset 1 (article 2's read) to the
  // dead-letter queue; the job records it.
  const store = new MemoryStore();
  await applyReadGroup({ store, cache: new RecordingCache() }, [mixedJob(0n, [1, "dead"])]);
  assert.deepEqual([...store.deadLetterOffsets], [messageOffsetKey(P0, 1n)]);
  // The range read again by a laxer ingestor: offset 1 is no event (the dead letter counts it).
  const replay = await applyReadGroup({ store, cache: new RecordingCache() }, [mixedJob(0n, [1, 2])]);
  assert.equal(replay.outcome.added, 0);
  assert.equal(store.readCnt("2"), undefined);

  // The other way round: the lax job came first and counted offset 1 as an event; a strict
  // replay records no dead letter, so the dead letter is never counted.
  const other = new MemoryStore();
  await applyReadGroup({ store: other, cache: new RecordingCache() }, [mixedJob(0n, [1, 2])]);
  await applyReadGroup({ store: other, cache: new RecordingCache() }, [mixedJob(0n, [1, "dead"])]);
  assert.deepEqual([...other.deadLetterOffsets], []);
  assert.deepEqual([other.readCnt("1"), other.readCnt("2")], [1, 1]);
});

test("a job of only dead letters records them and moves the ledger with their timestamps", async () => {
  const store = new MemoryStore();
  await applyReadGroup({ store, cache: new RecordingCache() }, [mixedJob(0n, ["dead", "dead"])]);
  assert.deepEqual(store.ledger.get(partitionKey(TOPIC, 0)), { through: 1n, maxTimestamp: 1_001 });
  assert.equal(store.deadLetterOffsets.size, 2);
  // The same range read as events (a laxer ingestor) is a replay, not a re-created log's.
  const { failed, outcome } = await applyReadGroup({ store, cache: new RecordingCache() }, [
    mixedJob(0n, [1, 2]),
  ]);
  assert.deepEqual([failed.size, outcome.added], [0, 0]);
});
