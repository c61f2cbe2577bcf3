// CPU time of a process from Linux's /proc/<pid>/stat: utime + stime in clock ticks, over all
// of its threads (a `node --import tsx` process's loader thread included). The parsing and the
// arithmetic are pure; readProcCpu and clockTicksPerSecond touch the system.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  /** The command name, without its parentheses (it may itself hold spaces and parentheses). */
  comm: string;
  state: string;
  /** User-mode CPU time, clock ticks (field 14). */
  utime: number;
  /** Kernel-mode CPU time, clock ticks (field 15). */
  stime: number;
  /** Waited-for children's times (fields 16 and 17), not counted in cpuTicks. */
  cutime: number;
  cstime: number;
}

/** Parses the one line of /proc/<pid>/stat; throws on anything else. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf("(");
  // comm may contain ")": the last one closes it.
  const close = text.lastIndexOf(")");
  if (open < 1 || close < open)
    throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const pid = Number(text.slice(0, open).trim());
  // Fields from 3 (state) on; index 0 here is field 3.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number): number => {
    const raw = rest[n - 3];
    const value = Number(raw);
    if (raw === undefined || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`/proc/<pid>/stat: field ${n} is ${JSON.stringify(raw)}, expected a count of ticks`);
    }
    return value;
  };
  if (!Number.isSafeInteger(pid))
    throw new Error(`/proc/<pid>/stat: bad pid ${JSON.stringify(text.slice(0, open))}`);
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? "",
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/** The process's own CPU time (user + system), clock ticks. */
export function cpuTicks(s: ProcStat): number {
  return s.utime + s.stime;
}

/** CPU time in seconds for a number of clock ticks. */
export function ticksToSeconds(ticks: number, ticksPerSecond: number): number {
  return ticks / ticksPerSecond;
}

/** Percent of one core: CPU seconds over wall seconds x 100 (may exceed 100 on several cores). */
export function percentOfOneCore(ticks: number, ticksPerSecond: number, wallSeconds: number): number {
  if (!(wallSeconds > 0))
    throw new RangeError(`percentOfOneCore: wall time must be positive, got ${wallSeconds}`);
  return (ticksToSeconds(ticks, ticksPerSecond) / wallSeconds) * 100;
}

/** The output of `getconf CLK_TCK`, or undefined when it is not a positive integer. */
export function parseClockTicks(output: string): number | undefined {
  const text = output.trim();
  const n = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export interface ClockTicks {
  perSecond: number;
  /** True when getconf could not be asked and 100 (Linux's USER_HZ) was assumed. */
  assumed: boolean;
}

export function clockTicksPerSecond(): ClockTicks {
  try {
    const n = parseClockTicks(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5000 }));
    if (n !== undefined) return { perSecond: n, assumed: false };
  } catch {
    // no getconf: fall through
  }
  return { perSecond: 100, assumed: true };
}

export function readProcStat(pid: number): ProcStat {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** CPU ticks of each pid now (one read of /proc each). */
export function readCpuTicks(pids: readonly number[]): number[] {
  return pids.map((pid) => cpuTicks(readProcStat(pid)));
}
