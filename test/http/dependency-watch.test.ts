// The dependency watch on checks that answer, refuse, and hang: a hang shows within the timeout,
// in ready(), in one log line and in interactive_dependency_up, and clears once it answers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { Registry } from "prom-client";
import { DependencyWatch } from "../../src/http/dependency-watch.js";

type Line = { msg: string; dependency?: string; downMs?: number };

function logged(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

async function upGauge(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric("interactive_dependency_up")?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.dependency), v.value]));
}

test("a hung dependency is reported within the timeout, once in the log, and clears when it answers", async () => {
  const { log, lines } = logged();
  const registry = new Registry();
  let hung = false;
  let release = () => {};
  let calls = 0;
  const watch = new DependencyWatch(
    {
      fine: async () => "pong",
      flaky: () => {
        calls++;
        if (!hung) return Promise.resolve("pong");
        return new Promise((resolve) => {
          release = () => resolve("pong");
        });
      },
    },
    log,
    registry,
    { intervalMs: 20, timeoutMs: 100, startupGraceMs: 0 },
  );
  try {
    await sleep(50);
    await watch.ready();
    assert.deepEqual(await upGauge(registry), { fine: 1, flaky: 1 });

    hung = true;
    await sleep(250);
    await assert.rejects(watch.ready(), /^Error: flaky: did not answer within 100 ms \(for \d+ s\)$/);
    assert.deepEqual(await upGauge(registry), { fine: 1, flaky: 0 });
    const callsWhileHung = calls;
    await sleep(100);
    assert.equal(calls, callsWhileHung, "a hung dependency is not asked again while its check is out");
    assert.deepEqual(
      lines.map((l) => [l.msg, l.dependency]),
      [["dependency not answering", "flaky"]],
    );

    hung = false;
    release();
    await sleep(50);
    await watch.ready();
    const downMs = lines[1]?.downMs ?? 0;
    assert.ok(downMs >= 200, `down for ${downMs} ms`);
    assert.deepEqual(
      lines.map((l) => [l.msg, l.dependency]),
      [
        ["dependency not answering", "flaky"],
        ["dependency answers again", "flaky"],
      ],
    );
  } finally {
    watch.stop();
  }
});

test("a refusing dependency is reported with its error; none is ready before its first answer; the start is not logged as an outage", async () => {
  const { log, lines } = logged();
  const watch = new DependencyWatch(
    {
      refusing: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
      },
      slow: () => sleep(60),
    },
    log,
    new Registry(),
    { intervalMs: 20, timeoutMs: 1000, startupGraceMs: 60_000 },
  );
  try {
    await assert.rejects(watch.ready(), /slow: not checked yet/);
    await sleep(120);
    await assert.rejects(
      watch.ready(),
      /^Error: refusing: connect ECONNREFUSED 127\.0\.0\.1:6379 \(for \d+ s\)$/,
    );
    assert.deepEqual(lines, [], "within the start's grace period nothing is logged");
  } finally {
    watch.stop();
  }
});
