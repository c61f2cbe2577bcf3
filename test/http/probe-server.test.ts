// The probe app (src/http/probe-server.ts) served with inject(): no socket, no service. The
// dependency checks are stubs the app's DependencyWatch asks once at the start (then every 2 s,
// later than these tests last): /readyz answers what they said, with the process's details either
// way, and /metrics carries the same answer as interactive_ready.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { Check } from "../../src/http/dependency-watch.js";
import { buildProbeApp } from "../../src/http/probe-server.js";

const log = pino({ level: "silent" });
const details = () => ({ heldBack: [{ partition: 3, cause: "failed job" }] });

async function probeApp(
  dependencies: Record<string, Check>,
): Promise<{ app: FastifyInstance; registry: Registry }> {
  const registry = new Registry();
  const app = await buildProbeApp({ log, registry, dependencies, details });
  // The first answers of the stub checks are in once the promises already settled have run on.
  await new Promise(setImmediate);
  return { app, registry };
}

const ping = async () => "PONG";

test("/healthz answers 200 whatever the dependencies say", async () => {
  const { app } = await probeApp({ redis: () => Promise.reject(new Error("ECONNREFUSED")) });
  try {
    const res = await app.inject({ method: "GET", url: "/healthz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ok" });
    assert.equal(app.server.listening, false, "built, not listening");
  } finally {
    await app.close();
  }
});

test("/readyz answers 200 with the details when every dependency answers", async () => {
  const { app } = await probeApp({ redis: ping, mongodb: ping });
  try {
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ready", ...details() });
  } finally {
    await app.close();
  }
});

test("/readyz answers 503 naming the dependency that failed and why, with the details", async () => {
  const { app } = await probeApp({
    redis: ping,
    mongodb: () => Promise.reject(new Error("connection refused")),
    // A check that throws instead of rejecting counts the same.
    kafka: () => {
      throw new Error("no brokers");
    },
  });
  try {
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    const body = res.json<{ status: string; error: string; heldBack: unknown }>();
    assert.equal(body.status, "not ready");
    assert.match(body.error, /^mongodb: connection refused \(for \d+ s\); kafka: no brokers \(for \d+ s\)$/);
    assert.deepEqual(body.heldBack, details().heldBack);
  } finally {
    await app.close();
  }
});

test("/readyz answers 503 for a dependency that has not answered yet", async () => {
  const { app } = await probeApp({ redis: ping, mongodb: () => new Promise(() => {}) });
  try {
    const res = await app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.match(res.json<{ error: string }>().error, /^mongodb: not checked yet/);
  } finally {
    await app.close();
  }
});

test("/metrics answers Prometheus text with interactive_ready and each dependency's state", async () => {
  for (const [mongodb, ready] of [
    [ping, 1],
    [() => Promise.reject(new Error("down")), 0],
  ] as const) {
    const { app, registry } = await probeApp({ redis: ping, mongodb });
    try {
      const res = await app.inject({ method: "GET", url: "/metrics" });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers["content-type"], registry.contentType);
      assert.match(res.body, /^# TYPE interactive_ready gauge$/m);
      assert.match(res.body, new RegExp(`^interactive_ready ${ready}$`, "m"));
      assert.match(res.body, /^interactive_dependency_up\{dependency="redis"\} 1$/m);
      assert.match(
        res.body,
        new RegExp(`^interactive_dependency_up\\{dependency="mongodb"\\} ${ready}$`, "m"),
      );
    } finally {
      await app.close();
    }
  }
});

test("the setup's hooks and routes are in place before the probe routes, on one app", async () => {
  const registry = new Registry();
  const app = await buildProbeApp({
    log,
    registry,
    dependencies: { redis: ping },
    setup: async (a) => {
      a.addHook("onRequest", async (_req, reply) => {
        reply.header("x-setup", "ran");
      });
      a.get("/status", async () => ({ page: "status" }));
    },
  });
  try {
    for (const url of ["/status", "/healthz", "/readyz", "/metrics"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.headers["x-setup"], "ran", url);
    }
    assert.deepEqual((await app.inject({ method: "GET", url: "/status" })).json(), { page: "status" });
  } finally {
    await app.close();
  }
});

test("a setup that fails fails the build", async () => {
  await assert.rejects(
    buildProbeApp({
      log,
      registry: new Registry(),
      dependencies: { redis: ping },
      setup: async () => {
        throw new Error("bad setup");
      },
    }),
    /^Error: bad setup$/,
  );
});
