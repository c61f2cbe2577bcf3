import assert from "node:assert/strict";
import { test } from "node:test";
import {
  dueBy,
  latenessMs,
  nextTickAt,
  planSends,
  ratePerSecond,
  scheduledEndMs,
  scheduledOffsetMs,
  totalEvents,
} from "../../bench/live/schedule.js";

test("events in a run: rate x seconds", () => {
  assert.equal(totalEvents(2000, 60), 120_000);
  assert.equal(totalEvents(10_000, 60), 600_000);
  assert.equal(totalEvents(3, 0.5), 2);
});

test("event i is scheduled i / rate seconds after the start; the last one ends the period", () => {
  assert.equal(scheduledOffsetMs(0, 2000), 0);
  assert.equal(scheduledOffsetMs(20, 2000), 10);
  assert.equal(scheduledOffsetMs(100, 10_000), 10);
  assert.equal(scheduledEndMs(120_000, 2000), 59_999.5);
  assert.equal(scheduledEndMs(1, 5), 0);
});

test("due: every event scheduled at or before the elapsed time, capped at the total", () => {
  assert.equal(dueBy(-1, 2000, 100), 0);
  assert.equal(dueBy(0, 2000, 100), 1);
  assert.equal(dueBy(0.4, 2000, 100), 1);
  assert.equal(dueBy(0.5, 2000, 100), 2);
  // Every 10 ms tick at 2,000/s adds 20 events; at 10,000/s, 100.
  assert.equal(dueBy(10, 2000, 1e9), 21);
  assert.equal(dueBy(20, 2000, 1e9), 41);
  assert.equal(dueBy(10, 10_000, 1e9), 101);
  assert.equal(dueBy(9.999, 10_000, 1e9), 100);
  assert.equal(dueBy(60_000, 2000, 120_000), 120_000);
  assert.equal(dueBy(1e9, 2000, 120_000), 120_000);
});

test("due at the exact scheduled time, whatever the float rounding", () => {
  for (const rate of [1, 3, 7, 997, 2000, 3333, 10_000, 123_457, 1_000_000]) {
    for (const i of [1, 2, 3, 10, 99, 1001, 33_333, 599_999, 59_999_999]) {
      const at = scheduledOffsetMs(i, rate);
      assert.equal(dueBy(at, rate, Number.MAX_SAFE_INTEGER), i + 1, `rate ${rate}, event ${i}`);
    }
  }
});

test("due never decreases and reaches each count once", () => {
  let last = 0;
  for (let t = 0; t <= 1000; t += 0.37) {
    const d = dueBy(t, 777, 10_000);
    assert.ok(d >= last);
    last = d;
  }
  // The loop stopped just short of 1 s: event 777 (due at 1000.0 ms) not yet.
  assert.equal(last, 777);
  assert.equal(dueBy(1000, 777, 10_000), 778);
});

test("ticks: the next boundary strictly after now", () => {
  assert.equal(nextTickAt(0, 10), 10);
  assert.equal(nextTickAt(9.99, 10), 10);
  assert.equal(nextTickAt(10, 10), 20);
  assert.equal(nextTickAt(25.5, 10), 30);
  assert.equal(nextTickAt(3, 1), 4);
});

test("sends: cut into batches, as many as free in-flight slots allow", () => {
  assert.deepEqual(planSends(250, 0, 64, 100), [100, 100, 50]);
  assert.deepEqual(planSends(1000, 62, 64, 100), [100, 100]);
  assert.deepEqual(planSends(20, 0, 64, 5000), [20]);
  assert.deepEqual(planSends(0, 0, 64, 100), []);
  assert.deepEqual(planSends(-5, 0, 64, 100), []);
  assert.deepEqual(planSends(5, 64, 64, 100), []);
  assert.deepEqual(planSends(5, 70, 64, 100), []);
});

test("an open loop over a run: the due counts per tick add up to the total", () => {
  // 10 ms ticks, 2,000/s for 1 s, no cap: 1 event at 0, then 20 per tick, the last tick short.
  const total = totalEvents(2000, 1);
  let handed = 0;
  const perTick: number[] = [];
  for (let t = 0; handed < total; t = nextTickAt(t, 10)) {
    const sends = planSends(dueBy(t, 2000, total) - handed, 0, 64, 5000);
    const n = sends.reduce((a, b) => a + b, 0);
    perTick.push(n);
    handed += n;
  }
  assert.equal(handed, 2000);
  assert.equal(perTick[0], 1);
  assert.ok(perTick.slice(1, -1).every((n) => n === 20));
  assert.equal(perTick[perTick.length - 1], 19);
  assert.equal(perTick.length, 101);
});

test("achieved rate and lateness", () => {
  assert.equal(ratePerSecond(120_000, 60), 2000);
  assert.equal(ratePerSecond(120_000, 60.5), 1983);
  assert.equal(ratePerSecond(5, 0), 0);
  assert.equal(latenessMs(20, 2000, 10), 0);
  assert.equal(latenessMs(20, 2000, 35), 25);
  assert.equal(latenessMs(20, 2000, 5), 0);
});
