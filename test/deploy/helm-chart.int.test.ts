// The Helm chart (deploy/helm/interactive-read-counter) and docker-compose.yml, validated without a
// cluster or a Docker engine by deploy/helm/validate/check.sh: helm lint and template on each
// values file, every rendered object decoded strictly into its Go type (k8s.io/api, KEDA,
// prometheus-operator), promtool on the PrometheusRule's groups, compose-go on the compose file.
// The other tests prove that each checker refuses what it should: a misspelled field, an unknown
// kind, a bad KEDA trigger, a broken rule, chart values that cannot work.
//
// helm and the decoder are built from deploy/helm/validate/go.mod into .local/bin by scripts/test.sh
// before the tests (a cold build takes minutes, longer than a test file may). Without them the
// tests are skipped, except under CI (CI set), where they fail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = join(ROOT, ".local/bin");
const CHART = "deploy/helm/interactive-read-counter";
const built = existsSync(join(BIN, "helm")) && existsSync(join(BIN, "validate"));
const skip =
  built || (process.env.CI ?? "") !== ""
    ? false
    : "helm and validate are not built (bash deploy/helm/validate/check.sh tools, or scripts/test.sh); under CI this fails";
const dir = mkdtempSync(join(tmpdir(), "interactive-helm-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  output: string;
}

function run(command: string, args: string[], input?: string): Run {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", input, timeout: 240_000 });
  const output = [r.stdout, r.stderr, r.error?.message].filter((s) => s !== undefined && s !== "").join("\n");
  return { status: r.status, output };
}

function assertBuilt(): void {
  assert.ok(built, "helm and validate are not in .local/bin: scripts/test.sh builds them before the tests");
}

test("the chart on every values file and docker-compose.yml pass the offline checks", { skip }, () => {
  assertBuilt();
  const r = run("bash", ["deploy/helm/validate/check.sh"]);
  assert.equal(r.status, 0, `check.sh exited with ${r.status}:\n${r.output}`);
});

const deployment = (containerField: string, kind = "Deployment") => `# Source: test/deployment.yaml
apiVersion: apps/v1
kind: ${kind}
metadata: { name: worker, labels: { app: worker } }
spec:
  selector: { matchLabels: { app: worker } }
  template:
    metadata: { labels: { app: worker } }
    spec:
      containers:
        - name: worker
          image: interactive-read-counter:test
          ${containerField}
`;

const scaledObject = (metadata: string) => `${deployment("imagePullPolicy: IfNotPresent")}---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: worker }
spec:
  scaleTargetRef: { name: worker }
  triggers:
    - type: prometheus
      metadata: { serverAddress: "http://prometheus:9090", query: "sum(x)", ${metadata} }
`;

test("the decoder accepts a well-formed stream and refuses misspelled fields, unknown kinds and bad triggers", {
  skip,
}, () => {
  assertBuilt();
  const validate = join(BIN, "validate");
  const good = run(validate, ["manifests"], deployment("imagePullPolicy: IfNotPresent"));
  assert.equal(good.status, 0, good.output);
  const bad: [string, string, RegExp][] = [
    ["a misspelled field", deployment("imagePullPolcy: IfNotPresent"), /unknown field.*imagePullPolcy/],
    ["a miscased field", deployment("ImagePullPolicy: IfNotPresent"), /unknown field.*ImagePullPolicy/],
    ["a duplicate field", deployment("image: again:1"), /duplicate field|already set/],
    ["an unknown kind", deployment("imagePullPolicy: IfNotPresent", "Deploymnet"), /no kind "Deploymnet"/],
    ["a misspelled trigger key", scaledObject('treshold: "100"'), /treshold/],
    ["a threshold that is no number", scaledObject('threshold: "lots"'), /threshold/],
  ];
  for (const [what, yaml, message] of bad) {
    const r = run(validate, ["manifests"], yaml);
    assert.equal(r.status, 1, `${what}: expected exit 1, got ${r.status}:\n${r.output}`);
    assert.match(r.output, message, what);
  }
});

test("promtool refuses a broken rule", { skip }, () => {
  const rules = join(dir, "broken.yml");
  writeFileSync(
    rules,
    "groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: sum(rate(x[5m])\n",
  );
  const r = run("promtool", ["check", "rules", rules]);
  assert.notEqual(r.status, 0, `promtool accepted a broken rule:\n${r.output}`);
});

test("the chart refuses values that cannot work", { skip }, () => {
  assertBuilt();
  const cases: [string, string[], RegExp][] = [
    [
      "more ingestors than partitions",
      ["ingestor.replicas=7", "kafka.partitions=6"],
      /exceeds kafka.partitions/,
    ],
    ["a Redis Cluster without a hash-tag prefix", ["redis.cluster=true"], /hash tag/],
    ["a secret in the ConfigMap", ["config.MONGO_URL=mongodb://x"], /belong in the Secret/],
    ["a dashboard without auth", ["dashboard.auth=none"], /basic or token/],
  ];
  for (const [what, sets, message] of cases) {
    const r = run(join(BIN, "helm"), ["template", "reads", CHART, ...sets.flatMap((s) => ["--set", s])]);
    assert.notEqual(r.status, 0, `${what}: rendered anyway`);
    assert.match(r.output, message, what);
  }
});
