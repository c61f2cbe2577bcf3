// Running the pipeline's own processes from a benchmark: free ports, an environment that keeps
// only the service locations from this shell (so defaults are what is measured), and stopping.
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { loadConfig } from "../../src/config.js";
import { SERVICE_VARIABLES } from "./services.js";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** This shell's environment without any pipeline setting but the service locations. */
export function childEnvironment(own: Record<string, string>): { env: NodeJS.ProcessEnv; dropped: string[] } {
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

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Whether the child exited within `ms`. */
export function exited(child: ChildProcess, ms: number): Promise<boolean> {
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
