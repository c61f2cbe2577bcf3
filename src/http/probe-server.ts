// The small HTTP server every process runs: GET /healthz (the process is alive), GET /readyz
// (its dependencies answer, as the process's DependencyWatch last saw them), GET /metrics
// (Prometheus text format). The dashboard adds its own routes to the same server.
// Building the app and listening are apart so that tests can serve the app with inject(): the
// routes and hooks (the dashboard's auth among them) run exactly as built, without a socket.
import Fastify, { type FastifyInstance } from "fastify";
import { Gauge, type Registry } from "prom-client";
import type { Logger } from "../logger.js";
import { type Check, DependencyWatch } from "./dependency-watch.js";

export interface ProbeAppOptions {
  log: Logger;
  registry: Registry;
  /** The services the process needs, each with its check (see DependencyWatch). */
  dependencies: Readonly<Record<string, Check>>;
  /** More of the process's state for /readyz's answer (it does not decide readiness). */
  details?: () => Record<string, unknown>;
  /** Runs before the probe routes are added (auth hooks, extra routes). */
  setup?: (app: FastifyInstance) => Promise<void>;
}

export interface ProbeServerOptions extends ProbeAppOptions {
  host: string;
  port: number;
}

/**
 * The probe app with its routes, the setup's and the watch on the dependencies, ready but not
 * listening. The watch starts asking at once and stops when the app closes.
 */
export async function buildProbeApp(o: ProbeAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const watch = new DependencyWatch(o.dependencies, o.log, o.registry);
  app.addHook("onClose", async () => watch.stop());
  // Readiness as a metric too, so that an alert can see a process that answers scrapes but whose
  // dependencies do not (an ingestor out of its consumer group, Redis or MongoDB away).
  new Gauge({
    name: "interactive_ready",
    help: "1 when every dependency of this process answers (what GET /readyz says), else 0",
    registers: [o.registry],
    async collect() {
      try {
        await watch.ready();
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });
  try {
    if (o.setup) await o.setup(app);
    app.get("/healthz", async () => ({ status: "ok" }));
    app.get("/readyz", async (_req, reply) => {
      const details = o.details?.() ?? {};
      try {
        await watch.ready();
        return { status: "ready", ...details };
      } catch (err) {
        return reply
          .code(503)
          .send({ status: "not ready", error: err instanceof Error ? err.message : String(err), ...details });
      }
    });
    app.get("/metrics", async (_req, reply) => {
      reply.header("content-type", o.registry.contentType);
      return o.registry.metrics();
    });
    await app.ready();
  } catch (err) {
    // No app to close for the caller: the watch would go on asking the dependencies.
    watch.stop();
    throw err;
  }
  return app;
}

/** buildProbeApp, listening on host:port; closed again when it cannot listen (a port in use). */
export async function startProbeServer(o: ProbeServerOptions): Promise<FastifyInstance> {
  const app = await buildProbeApp(o);
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  o.log.info(
    { address: typeof address === "object" && address ? `${address.address}:${address.port}` : address },
    "http server listening",
  );
  return app;
}
