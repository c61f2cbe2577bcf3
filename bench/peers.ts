// Side-by-side benchmark (`npm run bench:peers`): one backlog of ReadEvents in the Go producer's
// format, drained in turn by the read+parse ceiling, the oracle (the limit the issue set: each
// distinct article written once), the Go service's per-message path, naive BullMQ and this pipeline
// (bench/peers/designs.ts); events/s, MongoDB operations, Redis peak memory and exact counts for
// each. Prints the results as JSON; unless --no-write, writes them beside docs/benchmarks.md and
// renders them into it with a chart. Everything the run created is removed, also when it fails
// or is interrupted.
import { Redis } from "ioredis";
import { encodeReadEvent } from "../src/tools/read-event-producer.js";
import { every, interruptible, logger, main, parseFlags, sleep, UsageError } from "./lib/cli.js";
import { compareCounts } from "./lib/measure.js";
import { blankDesign, DESIGNS, type DesignName, publish, withRatios } from "./lib/render.js";
import * as svc from "./lib/services.js";
import { planBacklog } from "./lib/zipf.js";
import { cacheKeyOf, DESIGN_RUNS, type Design, type DesignContext } from "./peers/designs.js";

const USAGE = `usage: npm run bench:peers -- [--count 1000000] [--articles 100000] [--skew 1.1]
    [--partitions 6] [--designs ceiling,oracle,seed,naive,pipeline] [--out docs/benchmarks.md | --no-write]
    [--timeout-s 1800] [--seed 42]`;
/** The hottest articles, whose cache keys are filled before each design that follows the cache. */
const HOT_KEYS = 1000;
const log = logger("peers");

function parseOptions(argv: readonly string[]) {
  const flags = parseFlags(argv, { count: "1000000", designs: DESIGNS.join(","), "timeout-s": "1800" });
  const designs = flags.list("designs", DESIGNS.join(", "));
  if (designs.some((d) => !(DESIGNS as readonly string[]).includes(d))) {
    throw new UsageError(
      `--designs: expected a comma list of ${DESIGNS.join(", ")}, got ${JSON.stringify(flags.str("designs"))}`,
    );
  }
  const [count, timeoutS] = [flags.int("count", 1, 100_000_000), flags.int("timeout-s", 1, 7 * 86_400)];
  return { ...flags.common, count, designs: [...new Set(designs as DesignName[])], timeoutS };
}

/**
 * Fills the hot articles' cache hashes as the Go read path would for a missing row (all counters
 * 0, version 0: the one before a first write), with a TTL past the design's timeout. A key that
 * exists already is left alone (it is someone else's); returns the keys created, with their article.
 */
async function fillCacheKeys(redis: Redis, prefix: string, aids: readonly string[], ttlSeconds: number) {
  const keys = aids.map((aid): [string, string] => [cacheKeyOf(prefix, aid), aid]);
  const exists = (await keys.reduce((p, [key]) => p.exists(key), redis.pipeline()).exec()) ?? [];
  const missing = keys.filter((_, i) => exists[i]?.[1] === 0);
  const fill = redis.pipeline();
  for (const [key] of missing)
    fill.hset(key, { read_cnt: 0, like_cnt: 0, collect_cnt: 0, v: 0 }).expire(key, ttlSeconds);
  await fill.exec();
  return missing;
}

/**
 * The filled keys whose read_cnt is not the article's count (off), and those gone (dropped: the
 * pipeline deletes a hash it cannot bring exactly to the document's version; reads fill it again).
 */
async function checkCacheKeys(redis: Redis, keys: [string, string][], expected: ReadonlyMap<string, number>) {
  const values = (await keys.reduce((p, [key]) => p.hget(key, "read_cnt"), redis.pipeline()).exec()) ?? [];
  let [off, dropped] = [0, 0];
  keys.forEach(([, aid], i) => {
    const value = values[i]?.[1];
    if (typeof value !== "string") dropped++;
    else if (Number(value) !== (expected.get(aid) ?? 0)) off++;
  });
  return { keys: keys.length, off, dropped };
}

/**
 * Runs one design: fill the hot cache keys, take the Redis baseline (then sample `used_memory`
 * every 200 ms), start the design, wait until its own count of events done reaches the backlog
 * (or it failed, timed out or was interrupted), take its figures, stop it, check every count,
 * remove its data.
 */
async function runDesign(design: Design, ctx: DesignContext, timeoutS: number, signal: AbortSignal) {
  const { services, names, plan } = ctx;
  const [name, count] = [names.design, plan.aids.length];
  const result = blankDesign(name, count);
  const hot = plan.hottest(HOT_KEYS);
  const hotKeys = design.cache ? await fillCacheKeys(services.redis, names.prefix, hot, timeoutS + 3600) : [];
  if (hotKeys.length < hot.length && design.cache)
    log(`${name}: ${hot.length - hotKeys.length} hot cache keys existed; left alone`);
  const memory = new Redis(services.config.REDIS_URL);
  const warn = (what: string) => (err: unknown) => log(`${name}: ${what}: ${String(err)}`);
  let running: Awaited<ReturnType<Design["prepare"]>> | undefined;
  let stopSampling = () => {};
  try {
    running = await design.prepare(ctx);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await memory.info("memory"))?.[1] ?? 0);
    const baseline = await usedMemory();
    let peak = baseline;
    stopSampling = every(200, async () => {
      peak = Math.max(peak, await usedMemory());
    });
    log(`${name}: started`);
    const t0 = performance.now();
    await running.start();
    let [done, nextLog, endedAt] = [0, t0 + 10_000, 0];
    for (;;) {
      // A failed poll (Kafka busy) is tried again at the next one.
      done = await Promise.resolve(running.progress()).catch((err: unknown) => {
        log(`${name}: progress: ${String(err)}`);
        return done;
      });
      endedAt = performance.now();
      const failure = running.failure?.() ?? (signal.aborted ? "interrupted" : null);
      if (done >= count) {
        endedAt = running.finishedAt?.() ?? endedAt;
        break;
      }
      if (failure !== null || endedAt > t0 + timeoutS * 1000) {
        Object.assign(result, { failure, timedOut: failure === null });
        break;
      }
      if (endedAt > nextLog) {
        log(`${name}: ${done.toLocaleString("en-US")} after ${((endedAt - t0) / 1000).toFixed(0)} s`);
        nextLog = endedAt + 10_000;
      }
      await sleep(20);
    }
    stopSampling();
    result.redisPeakBytes = peak - baseline;
    const drainSeconds = (endedAt - t0) / 1000;
    result.drainSeconds = Math.round(drainSeconds * 100) / 100;
    result.eventsPerSecond = drainSeconds > 0 ? Math.round(Math.min(done, count) / drainSeconds) : 0;
    const { exact, ...figures } = await running.figures(Math.max(1, done));
    Object.assign(result, figures);
    await running.stop();
    if (exact?.kind === "parsed") Object.assign(result, { exact, counted: exact.parsed });
    else {
      const counts = await svc.readCounts(services.poll.db(names.db));
      Object.assign(result, {
        exact: { kind: "articles", ...compareCounts(plan.expected, counts) },
        counted: svc.sumOf(counts),
      });
    }
    if (design.cache) result.cache = await checkCacheKeys(services.redis, hotKeys, plan.expected);
  } catch (err) {
    log(`${name}: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    result.failure = err instanceof Error ? err.message : String(err);
  } finally {
    stopSampling();
    memory.disconnect();
    await running?.stop().catch(warn("stop"));
    if (design.writes) {
      await svc.removeRun(services, { db: names.db }, log);
      const keys = hotKeys.map(([key]) => key);
      for (let i = 0; i < keys.length; i += 1000)
        await services.redis.unlink(...keys.slice(i, i + 1000)).catch(warn("deleting the cache keys"));
    }
  }
  log(`${name}: ${result.eventsPerSecond.toLocaleString("en-US")} events/s, drain ${result.drainSeconds} s`);
  return result;
}

await main("bench:peers", USAGE, async (argv, command) => {
  const options = parseOptions(argv);
  const info = svc.runInfo(command);
  const run = `peers-${Date.now().toString(36)}`;
  const services = await svc.openServices("bench-peers");
  const { admin } = services;
  const { signal, off } = interruptible(log);
  let topicCreated = false;
  try {
    const plan = planBacklog(options.count, options.articles, options.skew, options.seed);
    log(`backlog: ${plan.expected.size} distinct articles; topic ${run}`);
    await svc.createTopic(admin, run, options.partitions);
    topicCreated = true;
    // The backlog: round robin over the partitions, no key, 10,000 events per send.
    const producer = svc.producerOf(services.kafka);
    await producer.connect();
    try {
      for (let sent = 0; sent < options.count; ) {
        if (signal.aborted) throw new Error("interrupted while producing the backlog");
        const messages = Array.from({ length: Math.min(10_000, options.count - sent) }, (_, j) => ({
          partition: (sent + j) % options.partitions,
          value: encodeReadEvent(BigInt(plan.aids[sent + j] ?? 0), BigInt(sent + j + 1)),
        }));
        await producer.send({ topic: run, messages, acks: -1 });
        sent += messages.length;
        if (sent % 100_000 === 0 || sent === options.count) log(`produced ${sent} of ${options.count}`);
      }
    } finally {
      await producer.disconnect();
    }
    const inTopic = await svc.messagesIn(admin, run);
    if (inTopic !== options.count)
      throw new Error(`topic ${run} holds ${inTopic} messages, expected ${options.count}`);

    const results = [];
    for (const design of options.designs) {
      if (signal.aborted) break;
      const [topic, group, db] = [run, `${run}-${design}`, `${run}-${design}`.replace(/-/g, "_")];
      // The pipeline's worker writes the project's own keys `interactive:article:<id>`.
      const prefix = design === "pipeline" ? "" : `${run}:${design}:`;
      const names = { design, topic, group, db, prefix, queue: `${group}-work`, deadQueue: `${group}-dead` };
      const ctx = { services, plan, partitions: options.partitions, names, log };
      results.push(await runDesign(DESIGN_RUNS[design], ctx, options.timeoutS, signal));
    }
    const { count, articles, skew, partitions, seed } = options;
    const backlog = { count, articles, skew, partitions, seed, distinct: plan.expected.size };
    const report = {
      kind: "peers" as const,
      ...info,
      backlog,
      hotKeys: Math.min(HOT_KEYS, plan.expected.size),
      results: withRatios(results),
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (signal.aborted) log("interrupted: docs not written");
    else if (options.write) await publish(report, options.out, log);
    return signal.aborted ? 130 : 0;
  } finally {
    off();
    const groups = options.designs.map((d) => `${run}-${d}`);
    await svc.removeRun(services, { groups, ...(topicCreated ? { topic: run } : {}) }, log);
    // A safety net: each design removed its keys already (cache keys, queues).
    for (const pattern of [`${run}:*`, `${services.config.QUEUE_PREFIX}:${run}-*`]) {
      await svc.deleteKeysMatching(services.redis, pattern).catch(() => {});
    }
    await services.close();
  }
});
