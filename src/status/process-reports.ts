// What each ingestor and worker process is doing, as the status page and `npm run status` show
// it: every process rewrites its own field of one Redis hash beside the work queue
// (`<QUEUE_PREFIX>:<WORK_QUEUE>:processes`) every REPORT_EVERY_MS, stamped with Redis's clock (the
// readers judge age by the same clock, whatever the hosts' clocks say). A field older than
// STALE_AFTER_MS belongs to a process gone (killed, paused, cut off) and is left out; one older
// than FORGET_AFTER_MS is removed. One key: one slot on a Redis Cluster; a small JSON per process.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Config } from "../config.js";
import type { PartitionStatus } from "../ingestor/partition-status.js";
import type { RedisClient } from "../redis/connection.js";

const REPORT_EVERY_MS = 5_000;
const STALE_AFTER_MS = 30_000;
const FORGET_AFTER_MS = 600_000;

/** Redis's clock, in Unix ms. */
async function redisNow(redis: RedisClient): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

export interface IngestorReport {
  kind: "ingestor";
  /** The partitions assigned to it. */
  assigned: number[];
  /** Its partitions with an open job or held back without one (see PartitionStatus). */
  partitions: PartitionStatus[];
}

/** The last group a worker applied. */
export interface GroupReport {
  /** How long before the report was written it was applied (the worker's own clock). */
  agoMs: number;
  jobs: number;
  events: number;
  /** Reads added to MongoDB (fewer than events when some were applied before). */
  added: number;
  ms: number;
}

export interface WorkerReport {
  kind: "worker";
  lastGroup?: GroupReport;
}

/**
 * A process's report as read back: its id (host:pid:tag), when it was written (Redis's clock)
 * and how long ago that was when read.
 */
export type ProcessReport = (IngestorReport | WorkerReport) & { id: string; at: number; ageMs?: number };

type ReportsConfig = Pick<Config, "QUEUE_PREFIX" | "WORK_QUEUE">;

function reportsKey(config: ReportsConfig): string {
  return `${config.QUEUE_PREFIX}:${config.WORK_QUEUE}:processes`;
}

/**
 * Writes `report()` now and every REPORT_EVERY_MS; returns the function that stops and removes
 * it (at a clean stop: the process is gone at once, not 30 s later). Errors are left to the
 * next round: the reports are for people, the pipeline never reads them.
 */
export function startReporting(
  redis: RedisClient,
  config: ReportsConfig,
  report: () => IngestorReport | WorkerReport,
): () => Promise<void> {
  const id = `${hostname()}:${process.pid}:${randomBytes(2).toString("hex")}`;
  const key = reportsKey(config);
  const write = () =>
    redisNow(redis)
      .then((at) =>
        redis
          .multi()
          .hset(key, id, JSON.stringify({ ...report(), id, at }))
          .pexpire(key, FORGET_AFTER_MS)
          .exec(),
      )
      .catch(() => undefined);
  void write();
  const timer = setInterval(write, REPORT_EVERY_MS).unref();
  return async () => {
    clearInterval(timer);
    await redis.hdel(key, id).catch(() => undefined);
  };
}

/** The reports of the processes running now, ingestors first, each kind by id. */
export async function readReports(redis: RedisClient, config: ReportsConfig): Promise<ProcessReport[]> {
  const key = reportsKey(config);
  const [now, fields] = await Promise.all([redisNow(redis), redis.hgetall(key)]);
  const live: ProcessReport[] = [];
  const stale: string[] = [];
  for (const [field, json] of Object.entries(fields)) {
    let report: ProcessReport | undefined;
    try {
      report = JSON.parse(json) as ProcessReport;
    } catch {
      report = undefined;
    }
    const age =
      report === undefined || typeof report.at !== "number" ? Number.POSITIVE_INFINITY : now - report.at;
    if (age > FORGET_AFTER_MS) stale.push(field);
    else if (report !== undefined && age <= STALE_AFTER_MS) live.push({ ...report, ageMs: Math.max(0, age) });
  }
  if (stale.length > 0) await redis.hdel(key, ...stale).catch(() => undefined);
  return live.sort((a, b) => (a.kind === b.kind ? a.id.localeCompare(b.id) : a.kind === "ingestor" ? -1 : 1));
}
