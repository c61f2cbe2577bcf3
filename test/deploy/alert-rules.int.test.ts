// The Prometheus files in deploy/prometheus, checked by promtool: the alert rules parse, both
// configurations (local and docker compose) are valid and load the rules, and the rules' unit
// tests (alerts.test.yml: each alert fires when it should, with its labels and annotations, and
// stays quiet otherwise) pass. promtool comes with Debian's prometheus package, which
// scripts/test.sh installs. Without it the tests are skipped, except under CI (CI set), where
// they fail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DIR = "deploy/prometheus";

interface Run {
  status: number | null;
  output: string;
  missing: boolean;
}

function promtool(...args: string[]): Run {
  const r = spawnSync("promtool", args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  const output = [r.stdout, r.stderr, r.error?.message].filter((s) => s !== undefined && s !== "").join("\n");
  return { status: r.status, output, missing };
}

const installed = !promtool("--version").missing;
const underCi = (process.env.CI ?? "") !== "";
const skip =
  installed || underCi
    ? false
    : "promtool is not installed (apt-get install prometheus, or run scripts/test.sh); under CI this fails";

function assertPasses(args: string[]): void {
  const r = promtool(...args);
  assert.ok(!r.missing, "promtool is not installed (scripts/test.sh installs Debian's prometheus)");
  assert.equal(r.status, 0, `promtool ${args.join(" ")} exited with ${r.status}:\n${r.output}`);
}

test("the alert rules parse (promtool check rules)", { skip }, () => {
  assertPasses(["check", "rules", `${DIR}/alerts.yml`]);
});

test("the local and the docker compose configuration are valid (promtool check config)", { skip }, () => {
  assertPasses(["check", "config", `${DIR}/prometheus.yml`]);
  assertPasses(["check", "config", `${DIR}/prometheus.compose.yml`]);
});

test("the alert rules' unit tests pass (promtool test rules)", { skip }, () => {
  assertPasses(["test", "rules", `${DIR}/alerts.test.yml`]);
});
