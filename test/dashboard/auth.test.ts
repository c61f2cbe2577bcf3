// The dashboard's access rules (src/dashboard/auth.ts) on a bare Fastify app with inject(): no
// socket, no Redis. Which credentials are accepted, which paths stay open, and that spelling a
// path another way never opens it.
import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { DashboardAuthError, dashboardCredentials, installAuth } from "../../src/dashboard/auth.js";

const USER = { DASHBOARD_USER: "ops", DASHBOARD_PASSWORD: "correct horse" };
const TOKEN = { DASHBOARD_TOKEN: "t0ken-t0ken-t0ken-1" };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function app(config: Partial<typeof USER & typeof TOKEN>): Promise<FastifyInstance> {
  const a = Fastify();
  installAuth(a, dashboardCredentials({ DASHBOARD_HOST: "0.0.0.0", ...config }));
  for (const path of ["/healthz", "/readyz", "/metrics", "/queues/api/queues", "/api/interactive/:biz/:id"])
    a.get(path, async () => ({ ok: true }));
  await a.ready();
  return a;
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

test("basic auth and a bearer token are each accepted; anything else is refused with 401", async () => {
  const a = await app({ ...USER, ...TOKEN });
  try {
    const get = (url: string, authorization?: string) =>
      a.inject({ method: "GET", url, ...(authorization ? { headers: { authorization } } : {}) });
    for (const url of ["/queues/api/queues", "/api/interactive/article/42", "/metrics"]) {
      assert.equal((await get(url, basic("ops", "correct horse"))).statusCode, 200, url);
      assert.equal((await get(url, "Bearer t0ken-t0ken-t0ken-1")).statusCode, 200, url);
      const missing = await get(url);
      assert.equal(missing.statusCode, 401, url);
      assert.equal(missing.headers["www-authenticate"], 'Basic realm="interactive dashboard"');
      for (const wrong of [
        basic("ops", "wrong"),
        basic("root", "correct horse"),
        "Bearer nope",
        "Bearer t0ken-t0ken-t0ken-1 ",
        "t0ken-t0ken-t0ken-1",
        `${basic("ops", "correct horse")}x`,
      ]) {
        assert.equal((await get(url, wrong)).statusCode, 401, `${url} with ${wrong}`);
      }
    }
  } finally {
    await a.close();
  }
});

test("only the probes are open, however a path is spelled", async () => {
  const a = await app(TOKEN);
  try {
    const status = async (url: string) => (await a.inject({ method: "GET", url })).statusCode;
    assert.equal(await status("/healthz"), 200);
    assert.equal(await status("/readyz"), 200);
    assert.equal(await status("/healthz?verbose=1"), 200);
    for (const url of [
      "/%68ealthz", // an encoded probe path is not taken for the probe
      "/healthz/../queues/api/queues",
      "/queues/api/queues?/healthz",
      "//healthz",
      "/HEALTHZ",
      "/queues/api/queues#/healthz",
    ]) {
      assert.equal(await status(url), 401, url);
    }
  } finally {
    await a.close();
  }
});

test("with a token only, basic auth is refused and no basic challenge is sent", async () => {
  const a = await app(TOKEN);
  try {
    const res = await a.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: basic("ops", "correct horse") },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers["www-authenticate"], undefined);
  } finally {
    await a.close();
  }
});
