// The small HTTP server every process runs: GET /healthz (the process is alive), GET /readyz
// (its dependencies answer), GET /metrics (Prometheus text format). The dashboard adds its
// own routes to the same server.
import Fastify, { type FastifyInstance } from "fastify";
import { Gauge, type Registry } from "prom-client";
import type { Logger } from "../logger.js";

export interface ProbeServerOptions {
  host: string;
  port: number;
  log: Logger;
  registry: Registry;
  /** Throws (or rejects) when a dependency does not answer; the message is shown. */
  ready: () => Promise<void>;
  /** Runs before the probe routes are added (auth hooks, extra routes). */
  setup?: (app: FastifyInstance) => Promise<void>;
}

export async function startProbeServer(o: ProbeServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  // Readiness as a metric too, so that an alert can see a process that answers scrapes but whose
  // dependencies do not (an ingestor out of its consumer group, Redis or MongoDB away).
  new Gauge({
    name: "interactive_ready",
    help: "1 when every dependency of this process answers (what GET /readyz checks), else 0",
    registers: [o.registry],
    async collect() {
      try {
        await o.ready();
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });
  if (o.setup) await o.setup(app);
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await o.ready();
      return { status: "ready" };
    } catch (err) {
      return reply
        .code(503)
        .send({ status: "not ready", error: err instanceof Error ? err.message : String(err) });
    }
  });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", o.registry.contentType);
    return o.registry.metrics();
  });
  await app.listen({ host: o.host, port: o.port });
  const address = app.server.address();
  o.log.info(
    { address: typeof address === "object" && address ? `${address.address}:${address.port}` : address },
    "http server listening",
  );
  return app;
}

/** A readiness check: every named dependency answers, each within 2 s. */
export function allAnswer(checks: Record<string, () => Promise<unknown>>): () => Promise<void> {
  return async () => {
    for (const [name, check] of Object.entries(checks)) await within(2000, name, check());
  };
}

/** Rejects after `ms` unless the promise settles first, so a hung dependency reads as not ready. */
export function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
