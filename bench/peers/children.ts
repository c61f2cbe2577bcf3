// Running the pipeline's own processes from a benchmark: free ports, an environment that keeps
// only the service locations from this shell (so defaults are what is measured), and stopping.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { loadConfig } from "../../src/config.js";
import { ROOT, SERVICE_VARIABLES } from "./services.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** This shell's environment without any pipeline setting but the service locations. */
function childEnvironment(own: Record<string, string>): { env: NodeJS.ProcessEnv; dropped: string[] } {
  const settings = new Set(Object.keys(loadConfig({})));
  for (const key of SERVICE_VARIABLES) settings.delete(key);
  const env: NodeJS.ProcessEnv = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(process.env)) {
    if (settings.has(key) && !(key in own)) dropped.push(key);
    else env[key] = value;
  }
  return { env: { ...env, ...own }, dropped };
}

/** The pipeline's two processes, in the order they start (the worker first, for the first jobs). */
export const PIPELINE_ENTRIES = { worker: "workers/main.ts", ingestor: "src/main/ingestor.ts" } as const;
export type PipelineRole = keyof typeof PIPELINE_ENTRIES;

export interface PipelineSetup {
  /** Each process's HTTP port (/metrics, /readyz). */
  ports: Record<PipelineRole, number>;
  env: NodeJS.ProcessEnv;
  /** Pipeline settings found in this shell's environment and not passed on. */
  dropped: string[];
  /** How long a process may take to stop after SIGTERM: its own shutdown limit plus slack. */
  graceMs: number;
  /** The processes' BullMQ key prefix (the default: it is not passed on). */
  queuePrefix: string;
}

/** What one benchmark run of the pipeline needs: default settings, its own names, free ports. */
export async function pipelineSetup(names: {
  topic: string;
  group: string;
  queue: string;
  deadQueue: string;
  db: string;
}): Promise<PipelineSetup> {
  const ports = { worker: await freePort(), ingestor: await freePort() };
  const { env, dropped } = childEnvironment({
    KAFKA_TOPIC: names.topic,
    KAFKA_GROUP_ID: names.group,
    WORK_QUEUE: names.queue,
    DEAD_LETTER_QUEUE: names.deadQueue,
    MONGO_DB: names.db,
    LOG_LEVEL: "warn",
    LOG_PRETTY: "false",
    INGESTOR_HTTP_PORT: String(ports.ingestor),
    WORKER_HTTP_PORT: String(ports.worker),
  });
  const defaults = loadConfig({});
  return {
    ports,
    env,
    dropped,
    graceMs: defaults.SHUTDOWN_TIMEOUT_MS + 10_000,
    queuePrefix: defaults.QUEUE_PREFIX,
  };
}

/**
 * Starts one of the pipeline's processes (`node --import tsx <entry>` from this node binary, so
 * its pid is the node process itself). Its logs go to stderr: stdout carries only the results.
 */
export function spawnPipelineProcess(role: PipelineRole, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", PIPELINE_ENTRIES[role]], {
    cwd: ROOT,
    env,
    stdio: ["ignore", 2, 2],
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Whether the child exited within `ms`. */
function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL after the processes' own shutdown limit (plus slack). */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
  log?: (m: string) => void,
): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return;
  child.kill("SIGTERM");
  if (!(await exited(child, graceMs))) {
    log?.(`pid ${child.pid} did not stop within ${graceMs} ms: SIGKILL`);
    child.kill("SIGKILL");
    await exited(child, 5000);
  }
}
