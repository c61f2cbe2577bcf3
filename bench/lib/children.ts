// The pipeline's own processes in a benchmark: `src/main/ingestor.ts` and `workers/main.ts`,
// started as the integration tests start them (test/support/pipeline.ts: `node --import tsx
// <entry>` from this node binary, so each pid is the node process itself). Every setting is the
// default, set explicitly, so that none from this shell leaks in; only the run's own names, a
// quiet log level and free HTTP ports differ. Their logs go to this process's stderr.
import { setTimeout as delay } from "node:timers/promises";
import { type Child, freePort, startChild } from "../../test/support/pipeline.js";
import { sleep } from "./cli.js";
import { SERVICE_VARIABLES, serviceConfig } from "./services.js";

/** A run's own topic, consumer group, queue names and database. */
export type PipelineNames = Record<"topic" | "group" | "queue" | "deadQueue" | "db", string>;
type Role = "ingestor" | "worker";
export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

const READY_TIMEOUT_MS = 180_000;

/** Every child started and not seen to exit: killed when this process exits, whatever happens. */
const running = new Set<Child>();
process.on("exit", () => {
  for (const child of running) child.proc.kill("SIGKILL");
});

async function get(port: number, path: string, timeoutMs = 10_000): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
}

/** Starts the worker, then the ingestor, on the run's (existing) topic. */
export async function startPipeline(names: PipelineNames, log: (m: string) => void) {
  const ports: Record<Role, number> = { worker: await freePort(), ingestor: await freePort() };
  const config = serviceConfig({
    KAFKA_TOPIC: names.topic,
    KAFKA_GROUP_ID: names.group,
    WORK_QUEUE: names.queue,
    DEAD_LETTER_QUEUE: names.deadQueue,
    MONGO_DB: names.db,
    INGESTOR_HTTP_PORT: String(ports.ingestor),
    WORKER_HTTP_PORT: String(ports.worker),
  });
  const overridden = Object.keys(config).filter((k) => k in process.env && !SERVICE_VARIABLES.includes(k));
  if (overridden.length > 0)
    log(`pipeline: settings from the environment overridden: ${overridden.join(", ")}`);
  const graceMs = config.SHUTDOWN_TIMEOUT_MS + 10_000;
  let stopping = false;
  let failure: string | undefined;
  const children = (["worker", "ingestor"] as const).map((role) => {
    const child = startChild(role, config, { LOG_LEVEL: "warn" });
    running.add(child);
    for (const stream of [child.proc.stdout, child.proc.stderr]) {
      stream?.on("data", (d: Buffer) => process.stderr.write(d));
    }
    child.proc.on("error", (err) => {
      failure ??= `the ${role} process: ${err.message}`;
    });
    void child.exited.then((code) => {
      running.delete(child);
      if (!stopping) failure ??= `the ${role} process exited (${child.proc.signalCode ?? `code ${code}`})`;
    });
    return { role, child };
  });
  const pid = (role: Role) => children.find((c) => c.role === role)?.child.proc.pid ?? 0;
  const exitedWithin = (child: Child, ms: number) =>
    Promise.race([child.exited.then(() => true), delay(ms, false, { ref: false })]);
  return {
    pids: { ingestor: pid("ingestor"), worker: pid("worker") },
    /** Why the pipeline is broken (a process exited), if it is. */
    failure: () => failure,
    /** Resolves once both answer GET /readyz with 200; throws on a failure, timeout or abort. */
    async ready(signal: AbortSignal) {
      const deadline = performance.now() + READY_TIMEOUT_MS;
      const pending = new Set<Role>(["ingestor", "worker"]);
      let last = "";
      while (pending.size > 0) {
        if (failure !== undefined) throw new Error(failure);
        if (signal.aborted) throw new Error("interrupted");
        if (performance.now() > deadline) {
          throw new Error(`not ready in ${READY_TIMEOUT_MS / 1000} s: ${[...pending].join(", ")} (${last})`);
        }
        for (const role of [...pending]) {
          try {
            const res = await get(ports[role], "/readyz", 2000);
            last = `${role}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
            if (res.status === 200) pending.delete(role);
          } catch (err) {
            last = `${role}: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
        if (pending.size > 0) await sleep(250, signal);
      }
    },
    async scrape(role: Role) {
      const res = await get(ports[role], "/metrics");
      if (!res.ok) throw new Error(`GET /metrics of the ${role}: HTTP ${res.status}`);
      return res.text();
    },
    /** SIGTERM, then SIGKILL after the processes' own shutdown limit (plus slack). */
    async stop() {
      stopping = true;
      await Promise.all(
        children.map(async ({ child }) => {
          const { proc } = child;
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          proc.kill("SIGTERM");
          if (!(await exitedWithin(child, graceMs))) {
            log(`pid ${proc.pid} did not stop within ${graceMs} ms: SIGKILL`);
            proc.kill("SIGKILL");
            await exitedWithin(child, 5000);
          }
        }),
      );
    },
  };
}
