// One fresh pipeline for one measurement: a new topic, then `src/main/ingestor.ts` and
// `workers/main.ts` as child processes (`node --import tsx <entry>`, spawned from this node
// binary directly, so each child's pid is the node process itself), with default settings;
// only what makes the run its own differs (topic, group, queues, database, log level, HTTP
// ports). Waits until both answer /readyz with 200; stops them and removes what they made.
import type { ChildProcess } from "node:child_process";
import type { Admin } from "kafkajs";
import { type PipelineRole, pipelineSetup, spawnPipelineProcess, stopChild } from "../peers/children.js";
import { deleteKeysMatching, type Services } from "../peers/services.js";

type Role = PipelineRole;

const READY_TIMEOUT_MS = 180_000;
const READY_POLL_MS = 250;

export function log(message: string): void {
  process.stderr.write(`[live ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export interface PipelineNames {
  topic: string;
  group: string;
  queue: string;
  deadQueue: string;
  db: string;
}

export function pipelineNames(run: string, label: string): PipelineNames {
  const name = `${run}-${label}`;
  return {
    topic: name,
    group: name,
    queue: `${name}-work`,
    deadQueue: `${name}-dead`,
    db: name.replace(/-/g, "_"),
  };
}

/** Every child this process started and has not seen exit: killed on exit whatever happens. */
const liveChildren = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

async function httpGet(port: number, path: string, timeoutMs = 10_000): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
}

export async function scrape(port: number): Promise<string> {
  const res = await httpGet(port, "/metrics");
  if (!res.ok) throw new Error(`GET /metrics on port ${port}: HTTP ${res.status}`);
  return res.text();
}

interface PipelineChild {
  role: Role;
  pid: number;
  port: number;
}

export interface RunningPipeline {
  names: PipelineNames;
  ingestor: PipelineChild;
  worker: PipelineChild;
  /** Settings found in this shell's environment and not passed on. */
  dropped: string[];
  /** Why the pipeline is broken (a child exited), if it is. */
  failure(): string | undefined;
  /** Resolves once both answer GET /readyz with 200; throws on a failure, timeout or abort. */
  ready(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** Spawns the ingestor and the worker on the (existing) topic named by `names`. */
export async function startPipeline(names: PipelineNames): Promise<RunningPipeline> {
  const { ports, env, dropped, graceMs } = await pipelineSetup(names);
  if (dropped.length > 0) log(`ignoring pipeline settings from the environment: ${dropped.join(", ")}`);
  let stopping = false;
  let failure: string | undefined;
  const children: ChildProcess[] = [];
  const stop = async () => {
    stopping = true;
    await Promise.all(children.map((c) => stopChild(c, graceMs, log)));
  };
  const spawnOne = (role: Role): PipelineChild => {
    const child = spawnPipelineProcess(role, env);
    liveChildren.add(child);
    children.push(child);
    child.on("error", (err) => {
      failure ??= `the ${role} process: ${err.message}`;
    });
    child.on("exit", (code, signal) => {
      liveChildren.delete(child);
      if (!stopping) failure ??= `the ${role} process exited (${signal ?? `code ${code}`})`;
    });
    if (child.pid === undefined) throw new Error(`could not start the ${role} process`);
    return { role, pid: child.pid, port: ports[role] };
  };
  let worker: PipelineChild;
  let ingestor: PipelineChild;
  try {
    worker = spawnOne("worker");
    ingestor = spawnOne("ingestor");
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    names,
    ingestor,
    worker,
    dropped,
    failure: () => failure,
    async ready(signal) {
      const deadline = performance.now() + READY_TIMEOUT_MS;
      const pending = new Set<Role>(["ingestor", "worker"]);
      let last = "";
      while (pending.size > 0) {
        if (failure !== undefined) throw new Error(failure);
        if (signal.aborted) throw new Error("interrupted");
        if (performance.now() > deadline) {
          throw new Error(
            `not ready after ${READY_TIMEOUT_MS / 1000} s: ${[...pending].join(", ")} (${last})`,
          );
        }
        for (const role of [...pending]) {
          try {
            const res = await httpGet(ports[role], "/readyz", 2000);
            if (res.status === 200) {
              pending.delete(role);
              await res.body?.cancel();
            } else last = `${role}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
          } catch (err) {
            last = `${role}: ${err instanceof Error ? err.message : String(err)}`;
          }
        }
        if (pending.size > 0) await sleep(READY_POLL_MS, signal);
      }
    },
    stop,
  };
}

/** Removes what one pipeline made: its database, queue keys, consumer group and topic. */
export async function removePipeline(services: Services, admin: Admin, names: PipelineNames): Promise<void> {
  const warn = (what: string) => (err: unknown) => log(`cleanup: ${what}: ${String(err)}`);
  await services.poll
    .db(names.db)
    .dropDatabase()
    .catch(warn(`dropping database ${names.db}`));
  for (const queue of [names.queue, names.deadQueue]) {
    await deleteKeysMatching(services.redis, `${services.config.QUEUE_PREFIX}:${queue}:*`).catch(
      warn(`deleting queue ${queue}`),
    );
  }
  await admin.deleteGroups([names.group]).catch(warn(`deleting group ${names.group}`));
  await admin.deleteTopics({ topics: [names.topic] }).catch(warn(`deleting topic ${names.topic}`));
}
