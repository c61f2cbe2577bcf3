// Live latency and idle cost (`npm run bench:live`): a fresh pipeline (ingestor and worker
// processes, default settings: bench/lib/children.ts) per measurement. Idle: the CPU time both
// use with no events. Live: an open-loop producer at each fixed rate (bench/live/producer.ts);
// end-to-end latency from the worker's own histogram, consumer lag while producing, drain time,
// CPU and an exact count. Prints the results as JSON; unless --no-write, writes them beside
// docs/benchmarks.md and renders them into it. Everything a measurement created (topic, group,
// queues, database) is removed, also when it fails or is interrupted.

import { type Pipeline, type PipelineNames, startPipeline } from "./lib/children.js";
import { every, interruptible, logger, main, parseFlags, sleep, UsageError } from "./lib/cli.js";
import * as measure from "./lib/measure.js";
import { blankIdle, blankRate, type IdleResult, publish, type RateResult } from "./lib/render.js";
import * as svc from "./lib/services.js";
import { BEHIND_THRESHOLD_MS, produceOpenLoop } from "./live/producer.js";

const USAGE = `usage: npm run bench:live -- [--rates 2000,10000] [--seconds 60] [--articles 100000]
    [--skew 1.1] [--partitions 6] [--idle-seconds 60 | --skip-idle] [--out docs/benchmarks.md | --no-write]
    [--drain-timeout-s 600] [--max-in-flight 64] [--tick-ms 10] [--seed 42]`;
const IDLE_SETTLE_MS = 5000;
/** After every read is counted, how long to wait for the worker's metrics to show them all. */
const METRICS_SETTLE_MS = 10_000;
const log = logger("live");

function parseOptions(argv: readonly string[]) {
  const own = { rates: "2000,10000", seconds: "60", "idle-seconds": "60", "drain-timeout-s": "600" };
  const flags = parseFlags(argv, { ...own, "max-in-flight": "64", "tick-ms": "10" }, ["skip-idle"]);
  if (flags.given("skip-idle") && flags.given("idle-seconds")) {
    throw new UsageError("--idle-seconds and --skip-idle exclude each other");
  }
  return {
    ...flags.common,
    rates: flags.list("rates", "events/s").map((r) => flags.int("rates", 1, 1_000_000, r)),
    seconds: flags.int("seconds", 1, 24 * 3600),
    idleSeconds: flags.given("skip-idle") ? null : flags.int("idle-seconds", 1, 24 * 3600),
    drainTimeoutS: flags.int("drain-timeout-s", 1, 7 * 86_400),
    maxInFlight: flags.int("max-in-flight", 1, 10_000),
    tickMs: flags.int("tick-ms", 1, 1000),
  };
}

interface Context {
  run: string;
  options: ReturnType<typeof parseOptions>;
  services: svc.Services;
  signal: AbortSignal;
  ticksPerSecond: number;
}

/** Throws when the run was interrupted or the pipeline broke. */
function check(ctx: Context, p: Pipeline): void {
  const failure = ctx.signal.aborted ? "interrupted" : p.failure();
  if (failure !== undefined) throw new Error(failure);
}

/** Creates the topic, starts the pipeline, waits for /readyz, runs `fn`; always stops and removes it all. */
async function withPipeline(
  ctx: Context,
  label: string,
  fn: (p: Pipeline, names: PipelineNames) => Promise<void>,
) {
  const name = `${ctx.run}-${label}`;
  const names = {
    topic: name,
    group: name,
    queue: `${name}-work`,
    deadQueue: `${name}-dead`,
    db: name.replace(/-/g, "_"),
  };
  const { admin } = ctx.services;
  let pipeline: Pipeline | undefined;
  try {
    await svc.createTopic(admin, name, ctx.options.partitions);
    pipeline = await startPipeline(names, log);
    log(`${label}: ingestor pid ${pipeline.pids.ingestor}, worker pid ${pipeline.pids.worker}`);
    const t0 = performance.now();
    await pipeline.ready(ctx.signal);
    log(`${label}: both ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await fn(pipeline, names);
  } finally {
    await pipeline?.stop().catch((err: unknown) => log(`${label}: stopping: ${String(err)}`));
    const { db, queue, deadQueue, group, topic } = names;
    await svc.removeRun(ctx.services, { db, queues: [queue, deadQueue], groups: [group], topic }, log);
  }
}

/** CPU seconds for `ticks`, and percent of one core over `wall` seconds to `digits` decimals. */
function cpu(ctx: Context, ticks: number, wall: number, digits: number) {
  const cpuSeconds = ticks / ctx.ticksPerSecond;
  return { cpuSeconds, percent: Math.round((cpuSeconds / wall) * 100 * 10 ** digits) / 10 ** digits };
}

async function measureIdle(ctx: Context, idleSeconds: number): Promise<IdleResult> {
  const result = blankIdle(IDLE_SETTLE_MS / 1000);
  await withPipeline(ctx, "idle", async (p) => {
    await sleep(IDLE_SETTLE_MS, ctx.signal);
    check(ctx, p);
    log(`idle: measuring CPU for ${idleSeconds} s; nothing scrapes the processes meanwhile`);
    const pids = [p.pids.ingestor, p.pids.worker];
    const t0 = performance.now();
    const before = measure.readCpuTicks(pids);
    for (let now = t0; now < t0 + idleSeconds * 1000; now = performance.now()) {
      check(ctx, p);
      await sleep(Math.min(500, t0 + idleSeconds * 1000 - now), ctx.signal);
    }
    check(ctx, p);
    const after = measure.readCpuTicks(pids);
    const wall = (performance.now() - t0) / 1000;
    const [ingestor, worker] = [0, 1].map((i) => {
      const { cpuSeconds, percent } = cpu(ctx, (after[i] ?? 0) - (before[i] ?? 0), wall, 3);
      return { pid: pids[i] ?? 0, cpuSeconds, percentOfOneCore: percent };
    });
    const both = (ingestor?.cpuSeconds ?? 0) + (worker?.cpuSeconds ?? 0);
    const bothCpu = { cpuSeconds: both, percentOfOneCore: Math.round((both / wall) * 100 * 1000) / 1000 };
    Object.assign(result, { seconds: Math.round(wall * 100) / 100, ingestor, worker, both: bothCpu });
  }).catch((err: unknown) => {
    result.failure = err instanceof Error ? err.message : String(err);
  });
  return result;
}

async function measureRate(ctx: Context, label: string, rate: number): Promise<RateResult> {
  const { options, services } = ctx;
  const result = blankRate(rate);
  await withPipeline(ctx, label, async (p, names) => {
    const pids = [p.pids.ingestor, p.pids.worker];
    const samples: measure.LagSample[] = [];
    let [scrapesFailed, t0, cpuBefore] = [0, 0, [0, 0]];
    // One scrape of the ingestor's consumer lag (committed offset to end), summed over partitions.
    const sampleLag = async () => {
      const t = Math.round(((performance.now() - t0) / 1000) * 100) / 100;
      try {
        const lagNow = measure.sumMetric(
          measure.parsePrometheus(await p.scrape("ingestor")),
          "interactive_consumer_lag",
        );
        if (lagNow !== undefined) samples.push({ t, lag: lagNow });
        return lagNow;
      } catch {
        scrapesFailed++;
        return undefined;
      }
    };
    let stopSampling = () => {};
    log(`${label}: producing ${rate}/s for ${options.seconds} s`);
    const spec = { ...options, topic: names.topic, rate };
    const produced = await produceOpenLoop(services.kafka, spec, ctx.signal, (startedAt) => {
      cpuBefore = measure.readCpuTicks(pids);
      t0 = startedAt;
      stopSampling = every(2000, sampleLag);
    }).finally(() => stopSampling());
    const cpuAfter = measure.readCpuTicks(pids);
    const wall = (performance.now() - produced.startedAt) / 1000;
    const percent = (i: number) => cpu(ctx, (cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0), wall, 1).percent;
    result.cpu = {
      seconds: Math.round(wall * 100) / 100,
      ingestorPercent: percent(0),
      workerPercent: percent(1),
    };
    const f = produced.figures;
    result.producer = f;
    log(`${label}: produced ${f.acked} in ${f.seconds} s, max ${f.maxLateMs} ms late, ${f.failed} failed`);
    check(ctx, p);

    // The lag when the producer stopped: a few tries, the scrape may time out under load.
    let atEnd: number | undefined;
    for (let i = 0; i < 3 && atEnd === undefined; i++) atEnd = await sampleLag();
    // The last sample was taken just after the last acknowledgement: it counts as the end.
    const slope = measure.lagSlope(samples, f.seconds + 1);
    const slopePerSecond = slope === undefined ? null : Math.round(slope);
    result.lag = { atEnd: atEnd ?? null, verdict: measure.lagVerdict(atEnd, rate), slopePerSecond, samples };
    log(`${label}: lag ${result.lag.verdict.text} (${samples.length} samples, ${scrapesFailed} failed)`);

    result.inTopic = await svc.messagesIn(services.admin, names.topic).catch(() => null);
    const target = result.inTopic ?? f.acked;
    // Drain: until the group's committed offsets, asked of Kafka every 500 ms, cover the topic (a
    // range is committed once applied). Nothing polls the MongoDB being measured.
    let applied = 0;
    for (;;) {
      applied = await svc.committed(services.admin, names.group, names.topic).catch(() => applied);
      const now = performance.now();
      result.drainSeconds = Math.round(((now - produced.endedAt) / 1000) * 100) / 100;
      if (applied >= target) break;
      check(ctx, p);
      result.drainTimedOut = now > produced.endedAt + options.drainTimeoutS * 1000;
      if (result.drainTimedOut) break;
      await sleep(500, ctx.signal);
    }
    log(`${label}: ${applied} of ${target} applied, ${result.drainSeconds} s after producing`);

    // The worker records a group's latencies in the same step as its reads added: once the
    // counter shows every read, the histogram holds every job.
    let metrics: measure.PrometheusSample[] = [];
    for (const settle = performance.now() + METRICS_SETTLE_MS; ; await sleep(250, ctx.signal)) {
      metrics = await p.scrape("worker").then(measure.parsePrometheus, () => metrics);
      const added = measure.sumMetric(metrics, "interactive_reads_added_total") ?? 0;
      if (added >= applied || performance.now() > settle) break;
    }
    result.latency = measure.latencySummary(metrics, "interactive_end_to_end_latency_seconds") ?? null;
    result.groups = { ...measure.groupStats(metrics) };
    result.failedJobs = measure.failedJobs(metrics, names.deadQueue);
    const counts = await svc.readCounts(services.poll.db(names.db));
    result.counted = svc.sumOf(counts);
    result.exact = measure.compareCounts(produced.expected, counts);
    if (produced.interrupted) throw new Error("interrupted");
  }).catch((err: unknown) => {
    result.failure = err instanceof Error ? err.message : String(err);
  });
  return result;
}

await main("bench:live", USAGE, async (argv, command) => {
  const options = parseOptions(argv);
  const info = svc.runInfo(command);
  const run = `live-${Date.now().toString(36)}`;
  const services = await svc.openServices("bench-live");
  const { signal, off } = interruptible(log);
  const clockTicks = measure.clockTicks();
  if (clockTicks.assumed) log("getconf CLK_TCK failed: assuming 100 clock ticks per second");
  const ctx: Context = { run, options, services, signal, ticksPerSecond: clockTicks.perSecond };
  try {
    const idle = options.idleSeconds === null ? null : await measureIdle(ctx, options.idleSeconds);
    if (idle?.failure) log(`idle: failed: ${idle.failure}`);
    const rates: RateResult[] = [];
    for (const [i, rate] of options.rates.entries()) {
      if (signal.aborted) break;
      rates.push(await measureRate(ctx, `r${i + 1}-${rate}`, rate));
      if (rates[i]?.failure) log(`${rate}/s: failed: ${rates[i]?.failure}`);
    }
    // What the section states of how the run was made: every option but what it measured and where it wrote.
    const { rates: _, idleSeconds, out, write, ...rest } = options;
    const settings = { ...rest, behindThresholdMs: BEHIND_THRESHOLD_MS };
    const report = { kind: "live" as const, ...info, settings, clockTicks, idle, rates };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (signal.aborted) log("interrupted: docs not written");
    else if (options.write) await publish(report, options.out, log);
    const failed = rates.some((r) => r.failure !== null) || (idle?.failure ?? null) !== null;
    return signal.aborted ? 130 : failed ? 1 : 0;
  } finally {
    off();
    // A safety net: each measurement removed its own queues already.
    await svc.deleteKeysMatching(services.redis, `${services.config.QUEUE_PREFIX}:${run}-*`).catch(() => {});
    await services.close();
  }
});
