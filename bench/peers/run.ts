// One `bench:peers` run: plan and produce the backlog, run each design on it in turn, report,
// and remove everything the run created (databases, topic, groups, Redis keys), also when it
// fails or is interrupted.
import { cpus, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { commitNote, writeSection } from "../shared/cli.js";
import { createTopic, produceBacklog } from "./backlog.js";
import { CHART_DESCRIPTIONS, renderChartSvg, writeChartPng } from "./chart.js";
import { ceiling } from "./designs/ceiling.js";
import { naive } from "./designs/naive.js";
import { oracle } from "./designs/oracle.js";
import { pipeline } from "./designs/pipeline.js";
import { seed } from "./designs/seed.js";
import { type Design, runDesign } from "./harness.js";
import type { DesignName, PeersOptions } from "./options.js";
import {
  type DesignResult,
  formatInt,
  jsonLine,
  markdownTable,
  type RatedResult,
  renderSection,
  replaceSection,
  withRatios,
} from "./report.js";
import {
  type Backlog,
  deleteKeysMatching,
  designNames,
  log,
  openServices,
  ROOT,
  serviceConfig,
} from "./services.js";
import { planBacklog } from "./zipf.js";

const IMPLEMENTATIONS: Record<DesignName, Design> = { ceiling, oracle, seed, naive, pipeline };
const HOT_KEYS = 1000;
const chartFile = (count: number) => `benchmarks-peers-${count}.png`;

function failedResult(design: DesignName, events: number, err: unknown): DesignResult {
  return {
    design,
    events,
    counted: 0,
    drainSeconds: 0,
    eventsPerSecond: 0,
    timedOut: false,
    failure: err instanceof Error ? err.message : String(err),
    mongoDocOpsPer1k: null,
    mongoRoundTripsPer1k: null,
    mongoNote: null,
    redisPeakBytes: 0,
    exact: { kind: "articles", articles: 0, off: 0, examples: [] },
    cache: null,
    errors: 0,
    details: {},
  };
}

async function writeReport(
  options: PeersOptions,
  command: string,
  backlog: Backlog,
  results: RatedResult[],
): Promise<void> {
  const out = resolve(options.out);
  const png = join(dirname(out), chartFile(options.count));
  const b = {
    count: options.count,
    articles: options.articles,
    skew: options.skew,
    partitions: options.partitions,
    distinct: backlog.plan.expected.size,
    seed: options.seed,
    hotKeys: backlog.hot.length,
  };
  let image: { link: string } | { missing: string };
  try {
    const svg = renderChartSvg(results, {
      title: `events/s draining the same backlog of ${formatInt(b.count)} ReadEvents`,
      subtitle:
        `${b.skew === 0 ? "even round robin" : `Zipf s=${b.skew}`} over ${formatInt(b.articles)} articles ` +
        `(${formatInt(b.distinct)} distinct), ${b.partitions} partitions, ${new Date().toISOString().slice(0, 10)}`,
      descriptions: CHART_DESCRIPTIONS,
    });
    await writeChartPng(svg, png);
    image = { link: relative(dirname(out), png) };
    log(`chart: ${relative(process.cwd(), png)}`);
  } catch (err) {
    image = {
      missing: `rendering it failed (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
    };
    log(`chart not written: ${String(err)}`);
  }
  const section = renderSection({
    date: new Date().toISOString().slice(0, 10),
    command,
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
    commit: commitNote(ROOT),
    backlog: b,
    results,
    image,
  });
  writeSection(out, section, (doc, text) => replaceSection(doc, text, options.count));
  log(`wrote the peers section of ${relative(process.cwd(), out)}`);
}

export async function runPeers(options: PeersOptions, command: string): Promise<RatedResult[]> {
  const run = `peers-${Date.now().toString(36)}`;
  const services = await openServices(serviceConfig());
  const admin = services.kafka.admin();
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    log("interrupted: stopping the current design and cleaning up (Ctrl-C again to exit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSigint);
  let topicCreated = false;
  const results: DesignResult[] = [];
  try {
    await admin.connect();
    log(
      `planning ${formatInt(options.count)} events over ${formatInt(options.articles)} articles, ` +
        `skew ${options.skew}, PRNG seed ${options.seed}`,
    );
    const plan = planBacklog(options.count, options.articles, options.skew, options.seed);
    const backlog: Backlog = { topic: run, plan, hot: plan.hottest(HOT_KEYS) };
    log(`backlog: ${formatInt(plan.expected.size)} distinct articles; topic ${run}`);
    await createTopic(admin, run, options.partitions);
    topicCreated = true;
    const produceSeconds = await produceBacklog(
      services.kafka,
      admin,
      run,
      options.partitions,
      plan,
      abort.signal,
    );
    log(`produced in ${produceSeconds.toFixed(1)} s`);

    for (const name of options.designs) {
      if (abort.signal.aborted) break;
      const ctx = { options, services, backlog, names: designNames(run, name) };
      const result = await runDesign(IMPLEMENTATIONS[name], ctx, abort.signal).catch((err: unknown) => {
        log(`${name}: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return failedResult(name, options.count, err);
      });
      results.push(result);
      log(
        `${name}: ${formatInt(result.eventsPerSecond)} events/s, drain ${result.drainSeconds} s` +
          (result.exact.kind === "articles" ? `, ${result.exact.off} articles off` : ""),
      );
    }

    const rated = withRatios(results);
    const runFields = {
      run,
      articles: options.articles,
      skew: options.skew,
      partitions: options.partitions,
      seed: options.seed,
      distinctArticles: plan.expected.size,
      produceSeconds: Math.round(produceSeconds * 10) / 10,
    };
    for (const r of rated) process.stdout.write(`${jsonLine(r, runFields)}\n`);
    process.stdout.write(`\n${markdownTable(rated)}\n`);
    if (abort.signal.aborted) log("interrupted: docs not written");
    else if (options.write) await writeReport(options, command, backlog, rated);
    return rated;
  } finally {
    process.off("SIGINT", onSigint);
    const groups = options.designs.map((d) => designNames(run, d).group);
    await admin.deleteGroups(groups).catch(() => {});
    // A safety net: each design removed its keys already (cache keys, queues).
    for (const pattern of [`${run}:*`, `${services.config.QUEUE_PREFIX}:${run}-*`]) {
      await deleteKeysMatching(services.redis, pattern).catch(() => 0);
    }
    if (topicCreated) {
      await admin
        .deleteTopics({ topics: [run] })
        .catch((err: unknown) => log(`could not delete topic ${run}: ${String(err)}`));
    }
    await admin.disconnect();
    await services.close();
  }
}
