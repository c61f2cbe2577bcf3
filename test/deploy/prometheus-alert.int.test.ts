// The alert rules on a real Prometheus (Debian's, which scripts/test.sh installs) scraping the
// real ingestor, worker and dashboard processes: a worker made to fail every job (it counts
// another life of the topic, so each job fails for good) holds the partitions back, and
// InteractivePartitionHeldBack fires; every process answers and is ready, so the alerts about
// them stay quiet.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { testConfig } from "../support/env.js";
import {
  type Child,
  createTopic,
  Fixture,
  freePort,
  producerFor,
  ROOT,
  sendRaw,
  startChild,
  until,
  waitForLog,
} from "../support/pipeline.js";

interface Alert {
  labels: Record<string, string>;
  state: "pending" | "firing";
}

const ports = { ingestor: 0, worker: 0, dashboard: 0, prometheus: 0 };
const config = testConfig({ JOB_ATTEMPTS: "1", GROUP_MAX_WAIT_MS: "5" });
const fx = new Fixture(config);
const children: Child[] = [];
let prometheus: ChildProcess | undefined;
let prometheusLog = "";
const dir = mkdtempSync(join(tmpdir(), "interactive-prometheus-"));
const runs = (() => {
  const r = spawn("prometheus", ["--version"], { stdio: "ignore" });
  return new Promise<boolean>((resolve) => {
    r.on("error", () => resolve(false));
    r.on("exit", (code) => resolve(code === 0));
  });
})();

before(async () => {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  await fx.mongo.connect();
  await createTopic(config, 2);
});

after(async () => {
  prometheus?.kill("SIGTERM");
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
  await fx.close();
  rmSync(dir, { recursive: true, force: true });
});

async function alerts(): Promise<Alert[]> {
  const res = await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/alerts`);
  const body = (await res.json()) as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

test("a real Prometheus fires InteractivePartitionHeldBack for partitions whose jobs failed", {
  timeout: 240_000,
  skip: (await runs) || process.env.CI ? false : "prometheus is not installed (scripts/test.sh installs it)",
}, async () => {
  const http = {
    INGESTOR_HTTP_PORT: String(ports.ingestor),
    WORKER_HTTP_PORT: String(ports.worker),
    DASHBOARD_PORT: String(ports.dashboard),
  };
  const target = (job: string, port: number) =>
    `  - job_name: ${job}\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n`;
  writeFileSync(
    join(dir, "prometheus.yml"),
    "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" +
      `rule_files:\n  - ${join(ROOT, "deploy/prometheus/alerts.yml")}\n` +
      "scrape_configs:\n" +
      target("interactive-ingestor", ports.ingestor) +
      target("interactive-worker", ports.worker) +
      target("interactive-dashboard", ports.dashboard),
  );
  prometheus = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  prometheus.stderr?.on("data", (d: Buffer) => {
    prometheusLog += d.toString();
  });

  // The worker counts another life of the topic: it fails every job for good.
  const worker = startChild("worker", config, { ...http, KAFKA_TOPIC_INCARNATION: "other" });
  const ingestor = startChild("ingestor", config, http);
  const dashboard = startChild("dashboard", config, http);
  children.push(worker, ingestor, dashboard);
  await waitForLog(ingestor, /ingestor running/);
  const producer = producerFor(config);
  await producer.connect();
  await sendRaw(
    producer,
    config.KAFKA_TOPIC,
    Array.from({ length: 50 }, (_, i) => ({
      value: encodeReadEvent(BigInt(1 + (i % 5)), 1n),
      partition: i % 2,
    })),
  );
  await producer.disconnect();
  await waitForLog(ingestor, /partition held back/, 60_000);

  // The rule waits a minute (for: 1m) before firing; scrapes and evaluations every second.
  const firing = await until(
    "InteractivePartitionHeldBack firing",
    async () => {
      const found = (await alerts()).find((a) => a.labels.alertname === "InteractivePartitionHeldBack");
      return found?.state === "firing" ? found : undefined;
    },
    150_000,
    2000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nprometheus:\n${prometheusLog.split("\n").slice(-10).join("\n")}`);
  });
  assert.equal(firing.labels.job, "interactive-ingestor");
  assert.equal(firing.labels.severity, "critical");
  const names = new Set((await alerts()).map((a) => a.labels.alertname));
  for (const quiet of [
    "InteractiveProcessDown",
    "InteractiveNoProcessUp",
    "InteractiveProcessNotReady",
    "InteractiveDependencyNotAnswering",
  ]) {
    assert.ok(!names.has(quiet), `${quiet} stays quiet while every process answers`);
  }
});
