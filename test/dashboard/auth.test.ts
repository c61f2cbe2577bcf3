// The dashboard's access rules on the app the dashboard serves, without a socket or a service:
// buildProbeApp with startDashboard's dashboardSetup (the auth hook of src/dashboard/auth.ts, then
// Bull Board with its read-only mode and its refusal of job data edits), on stand-in queues, with
// stand-ins for the status page and the read API (which need Kafka, Redis and MongoDB to answer).
// Which credentials are accepted, which paths stay open, that spelling a path another way never
// opens it, and what read-only mode refuses.
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { test } from "node:test";
import Fastify, { type FastifyInstance, type HTTPMethods } from "fastify";
import { pino } from "pino";
import { Registry } from "prom-client";
import { DashboardAuthError, dashboardCredentials, installAuth } from "../../src/dashboard/auth.js";
import { dashboardSetup } from "../../src/dashboard/dashboard.js";
import { buildProbeApp } from "../../src/http/probe-server.js";
import type { DeadLetterQueue, ReadQueue } from "../../src/queue/queues.js";

const USER = { DASHBOARD_USER: "ops", DASHBOARD_PASSWORD: "correct horse" };
const TOKEN = { DASHBOARD_TOKEN: "t0ken-t0ken-t0ken-1" };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const BASIC = basic("ops", "correct horse");
const BEARER = "Bearer t0ken-t0ken-t0ken-1";
const CHALLENGE = 'Basic realm="interactive dashboard"';
const log = pino({ level: "silent" });

/**
 * A queue Bull Board takes for a BullMQ one (BullMQAdapter accepts an object whose
 * metaValues.version names bullmq), with no Redis behind it: Bull Board asks it its name and
 * options, and an action that reaches it is recorded (pause) or fails (any other).
 */
function standInQueue<Q extends ReadQueue | DeadLetterQueue>(name: string, reached: string[]): Q {
  const queue = {
    name,
    opts: {},
    metaValues: { version: "bullmq:stand-in" },
    pause: async () => {
      reached.push(`pause ${name}`);
    },
  };
  return queue as unknown as Q;
}

interface DashboardApp {
  app: FastifyInstance;
  /** The actions that reached a queue. */
  reached: string[];
}

async function dashboardApp(
  credentials: Partial<typeof USER & typeof TOKEN>,
  readOnlyMode = false,
): Promise<DashboardApp> {
  const reached: string[] = [];
  const app = await buildProbeApp({
    log,
    registry: new Registry(),
    dependencies: { redis: async () => "PONG" },
    setup: dashboardSetup(
      {
        credentials: dashboardCredentials({ DASHBOARD_HOST: "0.0.0.0", ...credentials }),
        queues: { work: standInQueue("reads", reached), dead: standInQueue("dead", reached) },
        readOnlyMode,
        log,
      },
      (a) => {
        for (const path of ["/status", "/status.json", "/api/interactive/:biz/:bizId"])
          a.get(path, async () => ({ standIn: true }));
      },
    ),
  });
  await new Promise(setImmediate); // the dependency check's first answer is in
  return { app, reached };
}

function send(
  app: FastifyInstance,
  method: HTTPMethods,
  url: string,
  authorization?: string,
  body: object = {},
) {
  return app.inject({
    method,
    url,
    ...(authorization ? { headers: { authorization } } : {}),
    ...(method === "GET" ? {} : { payload: body }),
  });
}

/**
 * A request as a client sends it over a connection, its path byte for byte, through an in-memory
 * stream the app's HTTP server takes for a socket (no port). inject() cannot: it resolves dot
 * segments (/a/../b, /./a, %2e%2e) as a browser does before the app sees the path.
 */
function overTheWire(app: FastifyInstance, path: string, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const answer: Buffer[] = [];
    const connection = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        answer.push(chunk);
        done();
      },
      final(done) {
        done();
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(Buffer.concat(answer).toString("latin1"));
        if (status?.[1] === undefined) reject(new Error(`no status line for ${path}`));
        else resolve(Number(status[1]));
      },
    });
    connection.on("error", reject);
    app.server.emit("connection", connection);
    connection.push(
      `GET ${path} HTTP/1.1\r\nHost: dashboard\r\n${authorization ? `Authorization: ${authorization}\r\n` : ""}Connection: close\r\n\r\n`,
    );
  });
}

test("bound beyond loopback, credentials are required; on loopback none", () => {
  assert.throws(() => dashboardCredentials({ DASHBOARD_HOST: "0.0.0.0" }), DashboardAuthError);
  assert.throws(
    () => dashboardCredentials({ DASHBOARD_HOST: "10.1.2.3", DASHBOARD_USER: "ops" }),
    DashboardAuthError,
  );
  for (const host of ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
    assert.deepEqual(dashboardCredentials({ DASHBOARD_HOST: host }), { basic: undefined, bearer: undefined });
  const none = Fastify();
  assert.equal(installAuth(none, { basic: undefined, bearer: undefined }), "none");
});

/** Every route the dashboard serves behind its credentials, and what it answers with them. */
const PROTECTED = [
  ["GET", "/", 302],
  ["GET", "/queues", 200],
  ["GET", "/status", 200],
  ["GET", "/status.json", 200],
  ["GET", "/api/interactive/article/42", 200],
  ["GET", "/metrics", 200],
  ["PUT", "/queues/api/queues/reads/pause", 200],
] as const;

test("basic auth and a bearer token each open every route; wrong or missing credentials get 401", async () => {
  const { app, reached } = await dashboardApp({ ...USER, ...TOKEN });
  try {
    for (const [method, url, status] of PROTECTED) {
      assert.equal((await send(app, method, url, BASIC)).statusCode, status, `${method} ${url} basic`);
      assert.equal((await send(app, method, url, BEARER)).statusCode, status, `${method} ${url} token`);
      const missing = await send(app, method, url);
      assert.equal(missing.statusCode, 401, `${method} ${url} without credentials`);
      assert.equal(missing.headers["www-authenticate"], CHALLENGE);
      assert.deepEqual(missing.json(), { error: "credentials required" });
      for (const wrong of [
        basic("ops", "wrong"),
        basic("root", "correct horse"),
        basic("ops", ""),
        "Bearer nope",
        `${BEARER} `,
        "t0ken-t0ken-t0ken-1",
        BEARER.toLowerCase(),
        `${BASIC}x`,
        "",
      ]) {
        const res = await send(app, method, url, wrong);
        assert.equal(res.statusCode, 401, `${method} ${url} with ${JSON.stringify(wrong)}`);
      }
    }
    assert.deepEqual(reached, ["pause reads", "pause reads"], "only the two authorized pauses");
  } finally {
    await app.close();
  }
});

test("with a token only, basic auth is refused and no basic challenge is sent", async () => {
  const { app } = await dashboardApp(TOKEN);
  try {
    const res = await send(app, "GET", "/metrics", BASIC);
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers["www-authenticate"], undefined);
    assert.equal((await send(app, "GET", "/metrics", BEARER)).statusCode, 200);
  } finally {
    await app.close();
  }
});

test("only /healthz and /readyz are open, with their own answers; /metrics is not", async () => {
  const { app } = await dashboardApp(TOKEN);
  try {
    const healthz = await send(app, "GET", "/healthz");
    assert.equal(healthz.statusCode, 200);
    assert.deepEqual(healthz.json(), { status: "ok" });
    const readyz = await send(app, "GET", "/readyz");
    assert.equal(readyz.statusCode, 200);
    assert.deepEqual(readyz.json(), { status: "ready" });
    assert.equal((await send(app, "GET", "/healthz?verbose=1")).statusCode, 200);
    // The probes' answers are the same with credentials, and with wrong ones (not looked at).
    assert.equal((await send(app, "GET", "/readyz", BEARER)).statusCode, 200);
    assert.equal((await send(app, "GET", "/readyz", "Bearer nope")).statusCode, 200);
    // Prometheus scrapes the dashboard with its credentials: queue sizes are not for anyone.
    assert.equal((await send(app, "GET", "/metrics")).statusCode, 401);
  } finally {
    await app.close();
  }
});

test("a path spelled another way is refused without credentials, wherever it is routed", async () => {
  const { app, reached } = await dashboardApp(TOKEN);
  try {
    // [method, url, what it answers with credentials]: 200 when the spelling reaches a route (so
    // its 401 is the auth's doing), 404 when it reaches none.
    for (const [method, url, withCredentials] of [
      // Encoded: routed to the route the decoded path names.
      ["GET", "/%71ueues", 200],
      ["GET", "/%73tatus", 200],
      ["GET", "/%6detrics", 200],
      ["GET", "/api/interactive/%61rticle/42", 200],
      ["PUT", "/queues/api/queues/reads/%70ause", 200],
      ["GET", "/%68ealthz", 200], // routed to the probe, but not spelled as one: not open
      ["GET", "/%72eadyz", 200],
      // Dot segments, as inject() resolves them.
      ["GET", "/healthz/../metrics", 200],
      ["GET", "/readyz/../status", 200],
      ["GET", "/./queues", 200],
      ["GET", "/healthz/%2e%2e/queues", 200],
      ["PUT", "/queues/api/queues/dead/../reads/pause", 200],
      // Doubled slashes: no route.
      ["GET", "//queues", 404],
      ["GET", "//metrics", 404],
      ["GET", "//healthz", 404],
      ["GET", "/healthz//", 404],
      ["PUT", "/queues//api/queues/reads/pause", 404],
      // A probe's name elsewhere in the URL.
      ["GET", "/metrics?/healthz", 200],
      ["GET", "/status#/healthz", 200],
      ["GET", "/healthz/", 404],
      ["GET", "/HEALTHZ", 404],
      ["GET", "/healthz%3F", 404],
    ] as const) {
      const refused = await send(app, method, url);
      assert.equal(refused.statusCode, 401, `${method} ${url} without credentials`);
      assert.deepEqual(reached, [], `${method} ${url} reached a queue without credentials`);
      assert.equal((await send(app, method, url, BEARER)).statusCode, withCredentials, `${method} ${url}`);
      reached.length = 0;
    }
  } finally {
    await app.close();
  }
});

test("over the wire, a dot segment reaches the app as sent: refused without credentials, routed nowhere", async () => {
  const { app } = await dashboardApp(TOKEN);
  try {
    assert.equal(await overTheWire(app, "/healthz"), 200);
    assert.equal(await overTheWire(app, "/metrics"), 401);
    assert.equal(await overTheWire(app, "/metrics", BEARER), 200);
    for (const path of [
      "/healthz/../metrics",
      "/readyz/../status",
      "/./healthz",
      "/healthz/./",
      "/healthz/%2e%2e/metrics",
      "/healthz/..%2fmetrics",
      "/status/../healthz",
    ]) {
      assert.equal(await overTheWire(app, path), 401, `${path} without credentials`);
      assert.equal(await overTheWire(app, path, BEARER), 404, `${path} with credentials`);
    }
  } finally {
    await app.close();
  }
});

/** Bull Board's actions on a queue or a job, which read-only mode refuses, each with a valid body. */
const ACTIONS: readonly (readonly [HTTPMethods, string, object?])[] = [
  ["PUT", "pause"],
  ["PUT", "resume"],
  ["PUT", "retry/failed"],
  ["PUT", "retry/completed"],
  ["PUT", "promote"],
  ["PUT", "clean/completed"],
  ["PUT", "empty"],
  ["PUT", "obliterate"],
  ["POST", "add", { name: "n", data: {} }],
  ["PUT", "concurrency", { concurrency: 1 }],
  ["PUT", "rate-limit", { max: 1, duration: 1000 }],
  ["PUT", "rate-limit/release"],
  ["PUT", "7/retry"],
  ["PUT", "7/promote"],
  ["PUT", "7/clean"],
  ["PATCH", "7/delay", { runAt: Date.now() + 60_000 }],
  ["PATCH", "7/priority", { priority: 1 }],
  ["PUT", "7/remove-unprocessed-children"],
  ["PUT", "job-schedulers/hourly/remove"],
  ["PUT", "job-schedulers/hourly/run"],
  ["PATCH", "job-schedulers/hourly", { every: 60_000 }],
];

test("read-only: the board shows the queues, every action answers 405 and none reaches a queue", async () => {
  const { app, reached } = await dashboardApp(TOKEN, true);
  try {
    assert.equal((await send(app, "GET", "/queues", BEARER)).statusCode, 200);
    for (const queue of ["reads", "dead"]) {
      for (const [method, action, body] of ACTIONS) {
        const url = `/queues/api/queues/${queue}/${action}`;
        const res = await send(app, method, url, BEARER, body);
        assert.equal(res.statusCode, 405, `${method} ${url}`);
        assert.deepEqual(res.json(), { error: { key: "ERRORS.QUEUE_READ_ONLY" } });
        // Credentials come first: read-only mode opens nothing.
        const refused = await send(app, method, url, undefined, body);
        assert.equal(refused.statusCode, 401, `${method} ${url} without credentials`);
      }
    }
    // Pause-all passes read-only queues by.
    assert.equal((await send(app, "PUT", "/queues/api/queues/pause", BEARER)).statusCode, 200);
    assert.deepEqual(reached, []);
  } finally {
    await app.close();
  }
});

test("not read-only, an action reaches its queue", async () => {
  const { app, reached } = await dashboardApp(TOKEN, false);
  try {
    assert.equal((await send(app, "PUT", "/queues/api/queues/dead/pause", BEARER)).statusCode, 200);
    assert.deepEqual(reached, ["pause dead"]);
  } finally {
    await app.close();
  }
});

test("a job's data is never editable, read-only or not, however the route is spelled", async () => {
  for (const readOnly of [false, true]) {
    const { app, reached } = await dashboardApp(TOKEN, readOnly);
    try {
      for (const url of [
        "/queues/api/queues/reads/7/update-data",
        "/queues/api/queues/dead/7/update-data",
        "/queues/api/queues/reads/7/update%2Ddata",
        "/queues/api/queues/reads/7/%75pdate-data",
        "/queues/api/queues/dead/../reads/7/update-data",
      ]) {
        const res = await send(app, "PATCH", url, BEARER);
        assert.equal(res.statusCode, 403, `${url} read-only ${readOnly}`);
        assert.match(res.json<{ error: string }>().error, /job data cannot be edited/);
        assert.equal((await send(app, "PATCH", url)).statusCode, 401, `${url} without credentials`);
      }
      assert.deepEqual(reached, []);
    } finally {
      await app.close();
    }
  }
});
