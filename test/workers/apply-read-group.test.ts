// applyReadGroup on the in-memory store (support/memory-store.ts): the paths between its reads
// and writes that the real-server tests (apply-read-group.int.test.ts) reach only by timing:
// conflict rounds, guessed and remembered states, refused documents, the ledger's check, dead
// letters counted out of order, and what the cache is told.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UnrecoverableError } from "bullmq";
import { partitionKey } from "../../src/counting/plan-increments.js";
import { deadLetterId } from "../../src/queue/dead-letter.js";
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
  store.docs.set("8", { readCnt: 0, v: "x", marks: new Map(), deadLetters: [] });
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

test("a dead letter counted after a retry is not counted again when its message comes back as an event", async () => {
  const store = new MemoryStore();
  const states = new ArticleStateCache(100);
  await applyReadGroup({ store, cache: new RecordingCache(), states }, [job(0, 0n, [1])]);
  store.touch("1", deadLetterId({ topic: TOPIC, partition: 0, offset: "2", timestamp: "1002" }));
  const { outcome } = await applyReadGroup({ store, cache: new RecordingCache(), states }, [
    job(0, 1n, [1, 1, 1]),
  ]);
  assert.equal(outcome.added, 2, "offsets 1 and 3");
  assert.equal(store.readCnt("1"), 4);
});
