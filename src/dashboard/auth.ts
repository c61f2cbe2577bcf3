// Bull Board has no auth of its own, and dashboard access is Redis access. Credentials come
// from configuration: basic auth (DASHBOARD_USER + DASHBOARD_PASSWORD) or a bearer token
// (DASHBOARD_TOKEN). Bound to anything but loopback, the dashboard refuses to start without.
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config.js";

type AuthConfig = Pick<
  Config,
  "DASHBOARD_HOST" | "DASHBOARD_USER" | "DASHBOARD_PASSWORD" | "DASHBOARD_TOKEN"
>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Paths a load balancer or orchestrator probes without credentials. */
const OPEN_PATHS = new Set(["/healthz", "/readyz"]);

function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

export class DashboardAuthError extends Error {}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Credentials {
  basic?: string;
  bearer?: string;
}

/** The accepted Authorization headers; throws when the host needs credentials and has none. */
export function dashboardCredentials(config: AuthConfig): Credentials {
  const basic =
    config.DASHBOARD_USER !== undefined && config.DASHBOARD_PASSWORD !== undefined
      ? `Basic ${Buffer.from(`${config.DASHBOARD_USER}:${config.DASHBOARD_PASSWORD}`).toString("base64")}`
      : undefined;
  const bearer = config.DASHBOARD_TOKEN !== undefined ? `Bearer ${config.DASHBOARD_TOKEN}` : undefined;
  if (basic === undefined && bearer === undefined) {
    if (!isLoopback(config.DASHBOARD_HOST)) {
      throw new DashboardAuthError(
        `DASHBOARD_HOST is ${config.DASHBOARD_HOST}, not loopback: set DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_TOKEN`,
      );
    }
  }
  return { basic, bearer };
}

/** Adds the credential check to every route but the probes, when there are credentials. */
export function installAuth(
  app: FastifyInstance,
  { basic, bearer }: Credentials,
): "basic" | "token" | "none" {
  if (basic === undefined && bearer === undefined) return "none";
  app.addHook("onRequest", async (req, reply) => {
    if (OPEN_PATHS.has(req.url.split("?")[0] ?? "")) return;
    const given = req.headers.authorization ?? "";
    if ((basic !== undefined && same(given, basic)) || (bearer !== undefined && same(given, bearer))) return;
    if (basic !== undefined) reply.header("www-authenticate", 'Basic realm="interactive dashboard"');
    return reply.code(401).send({ error: "credentials required" });
  });
  return basic !== undefined ? "basic" : "token";
}
