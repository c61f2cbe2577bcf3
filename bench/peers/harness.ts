// Runs one design against the backlog and measures it: fill the hot cache keys, take the Redis
// baseline, start the design, wait until it drained the backlog (or failed, timed out or was
// interrupted), take its MongoDB figures, stop it, check every count, clean up its data. Progress
// comes from each design's own counters or from Kafka, never from the MongoDB it is measured on:
// polling that server loads what is measured.
import type { Redis } from "ioredis";
import { compareCounts } from "./measure.js";
import type { DesignName } from "./options.js";
import type { DesignResult, ExactCheck } from "./report.js";
import {
  cacheKeysOff,
  type DesignContext,
  deleteKeys,
  fillCacheKeys,
  log,
  RedisMemorySampler,
  readCounts,
  totalReads,
} from "./services.js";

export interface MongoFigures {
  docOpsPer1k: number | null;
  roundTripsPer1k: number | null;
  note: string | null;
}

/** A design that is running. */
interface Started {
  /** Events done so far: from the design's own counters, or Kafka (never the measured MongoDB). */
  progress: () => number | Promise<number>;
  /** When the last event was done (performance.now()), for designs that know it exactly. */
  finishedAt?: () => number | undefined;
  /** The exact-count check of a design that writes nothing. */
  exact?: () => ExactCheck;
  /** A problem that ends the design (a child process exited), checked while waiting. */
  failure?: () => string | undefined;
  errors: () => number;
  /** Its MongoDB figures over the drain, for `counted` events. */
  mongo: (counted: number) => Promise<MongoFigures>;
  details?: () => Promise<Record<string, number | string>>;
  stop: () => Promise<void>;
}

interface Prepared {
  /** Starts the design; the drain time runs from the call. */
  start(): Promise<Started>;
  /** Closes its clients and removes its queues; runs whatever happened. */
  cleanup(): Promise<void>;
}

export interface Design {
  name: DesignName;
  /** Writes MongoDB: gets an exact count check and a dropped db. */
  writes: boolean;
  /** Follows the cache as the Go service does: gets filled hot keys, checked at the end. */
  cache: boolean;
  /** Sets up what is not timed (clients, indexes). */
  prepare(ctx: DesignContext): Promise<Prepared>;
}

const POLL_MS = 20;
const HOT_TTL_EXTRA_S = 3600;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Drain {
  endedAt: number;
  counted: number;
  timedOut: boolean;
  failure: string | null;
}

async function waitDrained(ctx: DesignContext, started: Started, t0: number, signal: AbortSignal) {
  const count = ctx.options.count;
  const deadline = t0 + ctx.options.timeoutS * 1000;
  let nextLog = performance.now() + 10_000;
  let counted = 0;
  for (;;) {
    // A failed poll (Kafka busy) is tried again at the next one.
    counted = await Promise.resolve(started.progress()).catch((err: unknown) => {
      log(`${ctx.names.design}: progress: ${String(err)}`);
      return counted;
    });
    const now = performance.now();
    const end = (extra: Partial<Drain>): Drain => ({
      endedAt: now,
      counted,
      timedOut: false,
      failure: null,
      ...extra,
    });
    if (counted >= count) return end({ endedAt: started.finishedAt?.() ?? now });
    const failure = started.failure?.();
    if (failure !== undefined) return end({ failure });
    if (signal.aborted) return end({ failure: "interrupted" });
    if (now > deadline) return end({ timedOut: true });
    if (now > nextLog) {
      const secs = (now - t0) / 1000;
      log(`${ctx.names.design}: ${counted.toLocaleString("en-US")} after ${secs.toFixed(0)} s`);
      nextLog = now + 10_000;
    }
    await sleep(POLL_MS);
  }
}

async function exactCheck(ctx: DesignContext, started: Started): Promise<ExactCheck> {
  if (started.exact) return started.exact();
  const actual = await readCounts(ctx.services.poll.db(ctx.names.db));
  const check = compareCounts(ctx.backlog.plan.expected, actual);
  return { kind: "articles", ...check };
}

export async function runDesign(
  design: Design,
  ctx: DesignContext,
  signal: AbortSignal,
): Promise<DesignResult> {
  const { services, options, names } = ctx;
  const redis: Redis = services.redis;
  log(`${design.name}: preparing`);
  const hotKeys = design.cache
    ? await fillCacheKeys(redis, names.prefix, ctx.backlog.hot, options.timeoutS + HOT_TTL_EXTRA_S)
    : [];
  if (design.cache && hotKeys.length < ctx.backlog.hot.length) {
    log(
      `${design.name}: ${ctx.backlog.hot.length - hotKeys.length} hot cache keys existed already; left alone`,
    );
  }
  const sampler = new RedisMemorySampler(services.config.REDIS_URL);
  let prepared: Prepared | undefined;
  let started: Started | undefined;
  try {
    prepared = await design.prepare(ctx);
    await sampler.start();
    log(`${design.name}: started`);
    const t0 = performance.now();
    const running = await prepared.start();
    started = running;
    const drain = await waitDrained(ctx, running, t0, signal);
    const redisPeakBytes = sampler.stop();
    const drainSeconds = (drain.endedAt - t0) / 1000;
    const mongo = await running.mongo(Math.max(1, drain.counted));
    const details = (await running.details?.()) ?? {};
    const errors = running.errors();
    started = undefined;
    await running.stop();
    const exact = await exactCheck(ctx, running);
    const counted = exact.kind === "parsed" ? exact.parsed : await totalReads(services.poll.db(names.db));
    const cache = design.cache
      ? { keys: hotKeys.length, ...(await cacheKeysOff(redis, hotKeys, ctx.backlog.plan.expected)) }
      : null;
    return {
      design: design.name,
      events: options.count,
      counted,
      drainSeconds: Math.round(drainSeconds * 100) / 100,
      eventsPerSecond:
        drainSeconds > 0 ? Math.round(Math.min(drain.counted, options.count) / drainSeconds) : 0,
      timedOut: drain.timedOut,
      failure: drain.failure,
      mongoDocOpsPer1k: mongo.docOpsPer1k,
      mongoRoundTripsPer1k: mongo.roundTripsPer1k,
      mongoNote: mongo.note,
      redisPeakBytes,
      exact,
      cache,
      errors,
      details,
    };
  } finally {
    sampler.close();
    if (started) await started.stop().catch((err: unknown) => log(`${design.name}: stop: ${String(err)}`));
    await prepared?.cleanup().catch((err: unknown) => log(`${design.name}: cleanup: ${String(err)}`));
    if (design.writes) {
      const warn = (what: string) => (err: unknown) => log(`${design.name}: ${what}: ${String(err)}`);
      await services.poll
        .db(names.db)
        .dropDatabase()
        .catch(warn(`dropping database ${names.db}`));
      await deleteKeys(
        redis,
        hotKeys.map(([key]) => key),
      ).catch(warn("deleting the cache keys"));
    }
  }
}
