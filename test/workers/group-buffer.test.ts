import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { GroupBuffer } from "../../workers/group-buffer.js";

test("a group flushes when it holds maxItems", async () => {
  const flushed: number[][] = [];
  const buf = new GroupBuffer<number>(
    { maxItems: 3, maxWeight: 1000, maxWaitMs: 10_000, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
  );
  await Promise.all([buf.add(1, 1), buf.add(2, 1), buf.add(3, 1)]);
  assert.deepEqual(flushed, [[1, 2, 3]]);
});

test("a group flushes when its weight reaches maxWeight", async () => {
  const flushed: number[][] = [];
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 10, maxWaitMs: 10_000, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
  );
  await Promise.all([buf.add(1, 4), buf.add(2, 6)]);
  assert.deepEqual(flushed, [[1, 2]]);
});

test("a group that does not fill flushes after maxWaitMs", async () => {
  const flushed: number[][] = [];
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 30, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
  );
  const started = Date.now();
  await buf.add(1, 1);
  assert.deepEqual(flushed, [[1]]);
  assert.ok(Date.now() - started >= 25);
});

test("a failed flush rejects every item of its group with the error, and only that group", async () => {
  let calls = 0;
  const buf = new GroupBuffer<number>(
    { maxItems: 2, maxWeight: 1000, maxWaitMs: 10_000, maxInFlight: 2 },
    async () => {
      calls++;
      if (calls === 1) throw new Error("boom");
      return { result: undefined };
    },
  );
  const first = [buf.add(1, 1), buf.add(2, 1)];
  const second = [buf.add(3, 1), buf.add(4, 1)];
  const results = await Promise.allSettled([...first, ...second]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["rejected", "rejected", "fulfilled", "fulfilled"],
  );
});

test("a flush can fail single items; the others of the group succeed", async () => {
  const buf = new GroupBuffer<number>(
    { maxItems: 3, maxWeight: 1000, maxWaitMs: 10_000, maxInFlight: 1 },
    async () => {
      return { result: undefined, failed: new Map([[2, new Error("item 2 is bad")]]) };
    },
  );
  const results = await Promise.allSettled([buf.add(1, 1), buf.add(2, 1), buf.add(3, 1)]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /item 2 is bad/);
});

test("while maxInFlight groups flush, the next group keeps filling and flushes when a slot frees", async () => {
  const flushed: number[][] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 5, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      if (flushed.length === 1) await gate;
      return { result: undefined };
    },
  );
  const a = buf.add(1, 1);
  await sleep(20); // group [1] is flushing and blocked
  const rest = [buf.add(2, 1), buf.add(3, 1)];
  await sleep(20); // past maxWaitMs, but no slot: 2 and 3 wait together
  assert.deepEqual(flushed, [[1]]);
  buf.add(4, 1);
  release();
  await Promise.all([a, ...rest]);
  assert.deepEqual(flushed, [[1], [2, 3, 4]]);
});

test("drain flushes what is collected and waits for it", async () => {
  const flushed: number[][] = [];
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 60_000, maxInFlight: 1 },
    async (g) => {
      await sleep(10);
      flushed.push(g);
      return { result: undefined };
    },
  );
  const pending = buf.add(1, 1);
  await buf.drain();
  assert.deepEqual(flushed, [[1]]);
  await pending;
});

test("an item under a key the buffer holds (parked or flushing) is not added again: it gets the held one's outcome", async () => {
  const flushed: string[][] = [];
  const buf = new GroupBuffer<string>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 10, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
  );
  const first = buf.add("job-a", 1, "a");
  const again = buf.add("job-a again", 1, "a");
  await Promise.all([first, again]);
  await buf.add("job-a later", 1, "a");
  assert.deepEqual(flushed, [["job-a"], ["job-a later"]], "the second add was not applied");
});

test("every add() of a group resolves with that group's result, a held key's twin too", async () => {
  let groups = 0;
  const buf = new GroupBuffer<string, string>(
    { maxItems: 2, maxWeight: 1000, maxWaitMs: 1000, maxInFlight: 1 },
    async (g) => ({ result: `group ${++groups}: ${g.join(",")}` }),
  );
  const a = buf.add("a", 1, "ka");
  const twin = buf.add("a again", 1, "ka");
  const b = buf.add("b", 1, "kb");
  const c = buf.add("c", 1, "kc");
  buf.flushNow();
  assert.deepEqual(await Promise.all([a, twin, b, c]), [
    "group 1: a,b",
    "group 1: a,b",
    "group 1: a,b",
    "group 2: c",
  ]);
});

/** Expects item `awaited` while it has not come; holds `holdMs`; records what it missed. */
function expecting(awaited: number, holdMs: number) {
  const missed: number[][] = [];
  return {
    missed,
    expected: {
      more: (group: readonly number[]) => !group.includes(awaited),
      holdMs: () => holdMs,
      missed: (group: readonly number[]) => void missed.push([...group]),
    },
  };
}

test("a group due by time waits for the items expected, and flushes as soon as they came", async () => {
  const flushed: number[][] = [];
  const { expected, missed } = expecting(2, 5_000);
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 10, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
    expected,
  );
  const started = Date.now();
  const first = buf.add(1, 1);
  await sleep(100);
  assert.deepEqual(flushed, [], "held past maxWaitMs");
  await Promise.all([first, buf.add(2, 1)]);
  assert.deepEqual(flushed, [[1, 2]]);
  assert.ok(Date.now() - started < 2_000, "not held to the end once the item came");
  assert.deepEqual(missed, []);
});

test("a hold ends after holdMs, telling what was missed; a full group never holds", async () => {
  const flushed: number[][] = [];
  const { expected, missed } = expecting(99, 60);
  const buf = new GroupBuffer<number>(
    { maxItems: 3, maxWeight: 1000, maxWaitMs: 10, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
    expected,
  );
  const started = Date.now();
  await buf.add(1, 1);
  assert.ok(Date.now() - started >= 60, "held for holdMs");
  assert.deepEqual(missed, [[1]]);
  await Promise.all([buf.add(2, 1), buf.add(3, 1), buf.add(4, 1)]);
  assert.deepEqual(flushed, [[1], [2, 3, 4]]);
});

test("a group that became due while a flush ran holds once the slot frees, not before", async () => {
  const flushed: number[][] = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const { expected } = expecting(3, 5_000);
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 10, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      if (flushed.length === 1) await gate;
      return { result: undefined };
    },
    { ...expected, more: (g: readonly number[]) => g.includes(2) && !g.includes(3) },
  );
  const first = buf.add(1, 1);
  await sleep(30);
  const second = buf.add(2, 1);
  await sleep(30);
  release();
  await first;
  await sleep(30);
  assert.deepEqual(flushed, [[1]], "the second group holds for 3 after the first flush");
  await Promise.all([second, buf.add(3, 1)]);
  assert.deepEqual(flushed, [[1], [2, 3]]);
});

test("a group that is complete flushes at once, without waiting out maxWaitMs", async () => {
  const flushed: number[][] = [];
  const buf = new GroupBuffer<number>(
    { maxItems: 100, maxWeight: 1000, maxWaitMs: 5_000, maxInFlight: 1 },
    async (g) => {
      flushed.push(g);
      return { result: undefined };
    },
    { more: () => false, holdMs: () => 0, complete: (g) => g.length === 2 },
  );
  const started = Date.now();
  await Promise.all([buf.add(1, 1), buf.add(2, 1)]);
  assert.ok(Date.now() - started < 1_000, `flushed after ${Date.now() - started} ms`);
  assert.deepEqual(flushed, [[1, 2]]);
});
