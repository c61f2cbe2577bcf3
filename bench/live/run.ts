// One `bench:live` run: the idle window (unless skipped), then each rate, every measurement on
// its own fresh pipeline and topic; JSON lines and markdown tables on stdout; the section of
// docs/benchmarks.md. Everything the run created (topics, groups, databases, queues) is removed,
// also when it fails or is interrupted (Ctrl-C).
import { cpus, totalmem } from "node:os";
import { relative, resolve } from "node:path";
import type { Admin } from "kafkajs";
import { compareCounts, groupStats, parsePrometheus, parsePrometheusSeries } from "../peers/measure.js";
import {
  deleteKeysMatching,
  openServices,
  ROOT,
  readCounts,
  type Services,
  serviceConfig,
  totalReads,
} from "../peers/services.js";
import { commitNote, writeSection } from "../shared/cli.js";
import { histogramFromSamples, summarizeLatency } from "./histogram.js";
import { LAG_METRIC, type LagSample, lagSlope, lagVerdict, secondHalf, sumMetric } from "./lag.js";
import type { LiveOptions } from "./options.js";
import {
  log,
  type PipelineNames,
  pipelineNames,
  type RunningPipeline,
  removePipeline,
  scrape,
  sleep,
  startPipeline,
} from "./pipeline.js";
import { type ClockTicks, clockTicksPerSecond, percentOfOneCore, readCpuTicks } from "./procstat.js";
import { produceOpenLoop } from "./producer.js";
import {
  emptyRateResult,
  formatInt,
  type IdleResult,
  idleTable,
  jsonLine,
  type RateResult,
  rateTable,
  renderSection,
  replaceSection,
  saturationSummary,
} from "./report.js";
import { totalEvents } from "./schedule.js";

const LATENCY_METRIC = "interactive_end_to_end_latency_seconds";
const READS_ADDED_METRIC = "interactive_reads_added_total";
const IDLE_SETTLE_MS = 5000;
const LAG_INTERVAL_MS = 2000;
const DRAIN_POLL_MS = 500;
/** After the count is reached, how long to wait for the worker's metrics to show every read. */
const METRICS_SETTLE_MS = 10_000;

interface Context {
  run: string;
  options: LiveOptions;
  services: Services;
  admin: Admin;
  signal: AbortSignal;
  clock: ClockTicks;
  /** Pipelines created and not yet removed (the safety net at the end removes them). */
  open: Set<PipelineNames>;
}

class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted");
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Throws when the run was interrupted or the pipeline broke. */
function check(ctx: Context, p: RunningPipeline): void {
  if (ctx.signal.aborted) throw new Interrupted();
  const failure = p.failure();
  if (failure !== undefined) throw new Error(failure);
}

/** Creates the topic, starts the pipeline, waits for /readyz, runs `fn`; always stops and removes it. */
async function withPipeline<T>(
  ctx: Context,
  label: string,
  fn: (p: RunningPipeline) => Promise<T>,
): Promise<T> {
  const names = pipelineNames(ctx.run, label);
  ctx.open.add(names);
  let pipeline: RunningPipeline | undefined;
  try {
    await ctx.admin.createTopics({
      topics: [{ topic: names.topic, numPartitions: ctx.options.partitions }],
      waitForLeaders: true,
    });
    pipeline = await startPipeline(names);
    log(
      `${label}: topic ${names.topic}; ingestor pid ${pipeline.ingestor.pid} (port ${pipeline.ingestor.port}), ` +
        `worker pid ${pipeline.worker.pid} (port ${pipeline.worker.port}); waiting for /readyz`,
    );
    const t0 = performance.now();
    await pipeline.ready(ctx.signal);
    log(`${label}: both ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return await fn(pipeline);
  } finally {
    await pipeline?.stop().catch((err: unknown) => log(`${label}: stopping: ${message(err)}`));
    await removePipeline(ctx.services, ctx.admin, names);
    ctx.open.delete(names);
  }
}

async function measureIdle(ctx: Context, idleSeconds: number): Promise<IdleResult> {
  const result: IdleResult = {
    kind: "idle",
    seconds: 0,
    settleSeconds: IDLE_SETTLE_MS / 1000,
    clockTicksPerSecond: ctx.clock.perSecond,
    clockTicksAssumed: ctx.clock.assumed,
    ingestor: null,
    worker: null,
    both: null,
    failure: null,
  };
  try {
    await withPipeline(ctx, "idle", async (p) => {
      await sleep(IDLE_SETTLE_MS, ctx.signal);
      check(ctx, p);
      log(`idle: measuring CPU for ${idleSeconds} s`);
      const pids = [p.ingestor.pid, p.worker.pid];
      const t0 = performance.now();
      const before = readCpuTicks(pids);
      const end = t0 + idleSeconds * 1000;
      for (let now = t0; now < end; now = performance.now()) {
        check(ctx, p);
        await sleep(Math.min(500, end - now), ctx.signal);
      }
      check(ctx, p);
      const after = readCpuTicks(pids);
      const wall = (performance.now() - t0) / 1000;
      const tick = ctx.clock.perSecond;
      const figures = (i: number) => {
        const ticks = (after[i] ?? 0) - (before[i] ?? 0);
        return {
          pid: pids[i] ?? 0,
          cpuSeconds: ticks / tick,
          percentOfOneCore: Math.round(percentOfOneCore(ticks, tick, wall) * 1000) / 1000,
        };
      };
      result.seconds = Math.round(wall * 100) / 100;
      result.ingestor = figures(0);
      result.worker = figures(1);
      const both = result.ingestor.cpuSeconds + result.worker.cpuSeconds;
      result.both = {
        cpuSeconds: both,
        percentOfOneCore: Math.round((both / wall) * 100 * 1000) / 1000,
      };
    });
  } catch (err) {
    result.failure = message(err);
  }
  return result;
}

/** Samples the ingestor's summed consumer lag every LAG_INTERVAL_MS. */
class LagSampler {
  readonly samples: LagSample[] = [];
  errors = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private t0 = 0;

  constructor(private readonly port: number) {}

  start(t0: number): void {
    this.t0 = t0;
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.sample().finally(() => {
        this.busy = false;
      });
    }, LAG_INTERVAL_MS);
  }

  /** One scrape; records and returns the summed lag, or undefined when the scrape failed. */
  async sample(): Promise<number | undefined> {
    const t = (performance.now() - this.t0) / 1000;
    try {
      const lag = sumMetric(await scrape(this.port), LAG_METRIC);
      if (lag !== undefined) this.samples.push({ t: Math.round(t * 100) / 100, lag });
      return lag;
    } catch {
      this.errors++;
      return undefined;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function measureRate(ctx: Context, index: number, rate: number): Promise<RateResult> {
  const { options } = ctx;
  const result = emptyRateResult(rate, options.seconds);
  const label = `r${index + 1}-${rate}`;
  try {
    await withPipeline(ctx, label, async (p) => {
      const pids = [p.ingestor.pid, p.worker.pid];
      const lag = new LagSampler(p.ingestor.port);
      let cpuBefore: number[] = [];
      const planned = totalEvents(rate, options.seconds);
      log(`${label}: producing ${formatInt(rate)}/s for ${options.seconds} s (${formatInt(planned)} events)`);
      let produced: Awaited<ReturnType<typeof produceOpenLoop>>;
      try {
        produced = await produceOpenLoop(
          ctx.services.kafka,
          {
            topic: p.names.topic,
            partitions: options.partitions,
            rate,
            seconds: options.seconds,
            articles: options.articles,
            skew: options.skew,
            seed: options.seed,
            maxInFlight: options.maxInFlight,
            tickMs: options.tickMs,
          },
          ctx.signal,
          (startedAt) => {
            cpuBefore = readCpuTicks(pids);
            lag.start(startedAt);
          },
        );
      } finally {
        lag.stop();
      }
      const cpuAfter = readCpuTicks(pids);
      const loadWall = (performance.now() - produced.startedAt) / 1000;
      const percent = (i: number) =>
        Math.round(
          percentOfOneCore((cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0), ctx.clock.perSecond, loadWall) * 10,
        ) / 10;
      result.cpu = {
        seconds: Math.round(loadWall * 100) / 100,
        ingestorPercent: percent(0),
        workerPercent: percent(1),
      };
      result.producer = {
        planned: produced.planned,
        acked: produced.acked,
        failed: produced.failed,
        firstError: produced.firstError,
        seconds: produced.seconds,
        achievedRate: produced.achievedRate,
        maxLateMs: produced.maxLateMs,
        maxOwed: produced.maxOwed,
        maxInFlightSeen: produced.maxInFlightSeen,
        ackTailMs: produced.ackTailMs,
        fellBehind: produced.fellBehind,
      };
      log(
        `${label}: produced ${formatInt(produced.acked)} in ${produced.seconds.toFixed(1)} s ` +
          `(${formatInt(produced.achievedRate)}/s, max ${produced.maxLateMs} ms late` +
          `${produced.failed > 0 ? `, ${formatInt(produced.failed)} in failed sends: ${produced.firstError}` : ""})`,
      );
      check(ctx, p);

      // The lag when the producer stopped: a few tries, the scrape may time out under load.
      let atEnd: number | undefined;
      for (let i = 0; i < 3 && atEnd === undefined; i++) atEnd = await lag.sample();
      // The final sample was taken just after the last acknowledgement: let it count as the end.
      const slope = lagSlope(secondHalf(lag.samples, produced.seconds + 1));
      result.lag = {
        atEnd: atEnd ?? null,
        verdict: lagVerdict(atEnd, rate),
        slopePerSecond: slope === undefined ? null : Math.round(slope),
        samples: lag.samples,
      };
      log(
        `${label}: lag ${result.lag.verdict.text}` +
          ` (${lag.samples.length} samples${lag.errors > 0 ? `, ${lag.errors} failed scrapes` : ""})`,
      );

      const offsets = await ctx.admin.fetchTopicOffsets(p.names.topic).catch((err: unknown) => {
        log(`${label}: reading the topic's offsets: ${message(err)}`);
        return undefined;
      });
      const inTopic = offsets?.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
      result.inTopic = inTopic ?? null;
      const target = inTopic ?? produced.acked;

      // Drain: until every message in the topic is counted in MongoDB.
      const db = ctx.services.poll.db(p.names.db);
      const deadline = produced.endedAt + options.drainTimeoutS * 1000;
      let nextLog = performance.now() + 10_000;
      for (;;) {
        result.counted = await totalReads(db).catch((err: unknown) => {
          log(`${label}: polling MongoDB: ${message(err)}`);
          return result.counted;
        });
        const now = performance.now();
        result.drainSeconds = Math.round(((now - produced.endedAt) / 1000) * 100) / 100;
        if (result.counted >= target) break;
        check(ctx, p);
        if (now > deadline) {
          result.drainTimedOut = true;
          break;
        }
        if (now > nextLog) {
          log(`${label}: draining, ${formatInt(result.counted)} of ${formatInt(target)} counted`);
          nextLog = now + 10_000;
        }
        await sleep(DRAIN_POLL_MS, ctx.signal);
      }
      log(
        `${label}: ${result.drainTimedOut ? "timed out" : "counted"} ${formatInt(result.counted)} of ` +
          `${formatInt(target)}, ${result.drainSeconds} s after the producer stopped`,
      );

      // The worker records a group's latencies in the same step as its reads added: once the
      // counter shows every read, the histogram holds every job.
      let text = "";
      const settle = performance.now() + METRICS_SETTLE_MS;
      for (;;) {
        text = await scrape(p.worker.port).catch((err: unknown) => {
          log(`${label}: scraping the worker: ${message(err)}`);
          return text;
        });
        if ((sumMetric(text, READS_ADDED_METRIC) ?? 0) >= result.counted || performance.now() > settle) break;
        await sleep(250, ctx.signal);
      }
      const samples = parsePrometheusSeries(text);
      const histogram = histogramFromSamples(samples, LATENCY_METRIC);
      result.latency = histogram === undefined ? null : summarizeLatency(histogram);
      result.groups = groupStats(parsePrometheus(text)) ?? null;
      result.failedJobs = samples
        .filter(
          (s) =>
            s.name === "interactive_queue_jobs" &&
            (s.labels.queue === p.names.deadQueue || s.labels.state === "failed"),
        )
        .reduce((n, s) => n + s.value, 0);

      const counts = compareCounts(produced.expected, await readCounts(db));
      result.exact = { articles: counts.articles, off: counts.off, examples: counts.examples };
      if (produced.interrupted) throw new Interrupted();
    });
  } catch (err) {
    result.failure = message(err);
  }
  return result;
}

function writeReport(
  options: LiveOptions,
  command: string,
  idle: IdleResult | null,
  rates: RateResult[],
): void {
  const out = resolve(options.out);
  const section = renderSection({
    date: new Date().toISOString().slice(0, 10),
    command,
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
    commit: commitNote(ROOT),
    articles: options.articles,
    skew: options.skew,
    partitions: options.partitions,
    seed: options.seed,
    seconds: options.seconds,
    maxInFlight: options.maxInFlight,
    tickMs: options.tickMs,
    drainTimeoutS: options.drainTimeoutS,
    idle,
    idleSeconds: options.idleSeconds,
    rates,
  });
  writeSection(out, section, replaceSection);
  log(`wrote the live section of ${relative(process.cwd(), out)}`);
}

export interface LiveResults {
  idle: IdleResult | null;
  rates: RateResult[];
  interrupted: boolean;
}

export async function runLive(options: LiveOptions, command: string): Promise<LiveResults> {
  const run = `live-${Date.now().toString(36)}`;
  const services = await openServices(serviceConfig());
  const admin = services.kafka.admin();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      log(
        `${signal} again: exiting at once (children killed; topics, groups, databases of ${run}-* may remain)`,
      );
      process.exit(130);
    }
    log(`${signal}: stopping the current measurement and cleaning up (again to exit at once)`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const ctx: Context = {
    run,
    options,
    services,
    admin,
    signal: abort.signal,
    clock: clockTicksPerSecond(),
    open: new Set(),
  };
  let idle: IdleResult | null = null;
  const rates: RateResult[] = [];
  try {
    await admin.connect();
    if (ctx.clock.assumed) log("getconf CLK_TCK failed: assuming 100 clock ticks per second");
    const runFields = {
      run,
      articles: options.articles,
      skew: options.skew,
      partitions: options.partitions,
      seed: options.seed,
    };
    if (options.idleSeconds !== null) {
      idle = await measureIdle(ctx, options.idleSeconds);
      process.stdout.write(`${jsonLine(idle, runFields)}\n`);
      if (idle.failure !== null) log(`idle: failed: ${idle.failure}`);
    }
    for (const [i, rate] of options.rates.entries()) {
      if (abort.signal.aborted) break;
      const result = await measureRate(ctx, i, rate);
      rates.push(result);
      process.stdout.write(`${jsonLine(result, runFields)}\n`);
      if (result.failure !== null) log(`${formatInt(rate)}/s: failed: ${result.failure}`);
    }
    if (idle !== null) process.stdout.write(`\nIdle cost:\n\n${idleTable(idle)}\n`);
    if (rates.length > 0) {
      process.stdout.write(`\nLive latency:\n\n${rateTable(rates)}\n`);
      const summary = saturationSummary(rates);
      if (summary.length > 0) process.stdout.write(`\n${summary.join("\n")}\n`);
    }
    if (abort.signal.aborted) log("interrupted: docs not written");
    else if (options.write) writeReport(options, command, idle, rates);
    return { idle, rates, interrupted: abort.signal.aborted };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // A safety net: each measurement removed its own already.
    for (const names of ctx.open) await removePipeline(services, admin, names).catch(() => {});
    await deleteKeysMatching(services.redis, `${services.config.QUEUE_PREFIX}:${run}-*`).catch(() => 0);
    await admin.disconnect().catch(() => {});
    await services.close();
  }
}
