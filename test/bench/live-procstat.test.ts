import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import {
  cpuTicks,
  parseClockTicks,
  parseProcStat,
  percentOfOneCore,
  readProcStat,
  ticksToSeconds,
} from "../../bench/live/procstat.js";

// Fields 4.. numbered so that field n holds n - 3 ... except utime (14), stime (15), cutime
// (16), cstime (17), which hold 250, 30, 7, 9.
const rest = Array.from({ length: 50 }, (_, i) => {
  const field = i + 4;
  return { 14: 250, 15: 30, 16: 7, 17: 9 }[field] ?? field * 1000;
});
const line = (comm: string) => `4242 (${comm}) S ${rest.join(" ")}\n`;

test("utime and stime are fields 14 and 15", () => {
  const s = parseProcStat(line("node"));
  assert.equal(s.pid, 4242);
  assert.equal(s.comm, "node");
  assert.equal(s.state, "S");
  assert.equal(s.utime, 250);
  assert.equal(s.stime, 30);
  assert.equal(s.cutime, 7);
  assert.equal(s.cstime, 9);
  assert.equal(cpuTicks(s), 280);
});

test("a command name with spaces and parentheses does not shift the fields", () => {
  const s = parseProcStat(line("node (tsx) ) x"));
  assert.equal(s.comm, "node (tsx) ) x");
  assert.equal(s.utime, 250);
  assert.equal(s.stime, 30);
});

test("a real line as the kernel writes it", () => {
  const real =
    "30049 (cat) R 30045 30045 29440 0 -1 4194304 101 0 0 0 12 3 0 0 20 0 1 0 388752 3133440 395 " +
    "18446744073709551615 94741334777856 94741334797737 140723182362864 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  const s = parseProcStat(real);
  assert.equal(s.pid, 30049);
  assert.equal(s.comm, "cat");
  assert.equal(s.utime, 12);
  assert.equal(s.stime, 3);
});

test("anything else is refused", () => {
  assert.throws(() => parseProcStat(""), /not a \/proc/);
  assert.throws(() => parseProcStat("12 (node"), /not a \/proc/);
  assert.throws(() => parseProcStat("12 (node) S 1 2 3"), /field 14/);
  assert.throws(() => parseProcStat(line("node").replace(" 250 ", " x ")), /field 14/);
});

test("percent of one core: CPU seconds over wall seconds", () => {
  assert.equal(ticksToSeconds(650, 100), 6.5);
  assert.equal(percentOfOneCore(6000, 100, 60), 100);
  assert.ok(Math.abs(percentOfOneCore(39, 100, 60) - 0.65) < 1e-12);
  // Two busy threads: more than one core.
  assert.equal(percentOfOneCore(12_000, 100, 60), 200);
  assert.equal(percentOfOneCore(0, 100, 60), 0);
  assert.throws(() => percentOfOneCore(1, 100, 0), RangeError);
});

test("getconf CLK_TCK output", () => {
  assert.equal(parseClockTicks("100\n"), 100);
  assert.equal(parseClockTicks(" 250 "), 250);
  assert.equal(parseClockTicks("0"), undefined);
  assert.equal(parseClockTicks("undefined"), undefined);
  assert.equal(parseClockTicks(""), undefined);
});

test("this process's own /proc/<pid>/stat parses", { skip: !existsSync("/proc/self/stat") }, () => {
  const s = readProcStat(process.pid);
  assert.equal(s.pid, process.pid);
  assert.ok(cpuTicks(s) >= 0);
});
