// `npm start` (after scripts/start.sh started the local services): runs one ingestor, one
// worker and the dashboard as child processes, each line of their output prefixed with its
// name; Ctrl-C (or SIGTERM) stops them all in order. If one exits on its own, the rest are
// stopped too and the exit code says so: a half-running pipeline is not left behind.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { configOrExit } from "./run-process.js";

const root = new URL("../../", import.meta.url).pathname;
const processes = [
  { name: "worker", entry: "workers/main.ts" },
  { name: "ingestor", entry: "src/main/ingestor.ts" },
  { name: "dashboard", entry: "src/main/dashboard.ts" },
];

configOrExit("start"); // fail here, once, rather than in every child

const width = Math.max(...processes.map((p) => p.name.length));
const pretty = process.stdout.isTTY === true && process.env.LOG_PRETTY === undefined;
const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;

function prefix(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WritableStream): void {
  const tag = `[${name.padEnd(width)}] `;
  createInterface({ input: stream }).on("line", (line) => out.write(`${tag}${line}\n`));
}

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  // The ingestor first: it waits for its open jobs, which need the worker. Then the rest.
  const ingestor = children.get("ingestor");
  const rest = () => {
    for (const name of ["dashboard", "worker"]) children.get(name)?.kill("SIGTERM");
  };
  if (ingestor === undefined) rest();
  else {
    ingestor.once("exit", rest);
    ingestor.kill("SIGTERM");
  }
}

for (const p of processes) {
  const child = spawn(process.execPath, ["--import", "tsx", p.entry], {
    cwd: root,
    env: { ...process.env, ...(pretty ? { LOG_PRETTY: "true" } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.set(p.name, child);
  if (child.stdout) prefix(p.name, child.stdout, process.stdout);
  if (child.stderr) prefix(p.name, child.stderr, process.stderr);
  child.on("exit", (code, signal) => {
    children.delete(p.name);
    if (!stopping) {
      process.stderr.write(`[start] ${p.name} exited (${signal ?? code}); stopping the others\n`);
      stopAll(1);
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));
