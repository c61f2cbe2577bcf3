// The pipeline's state as a person looks at it (`npm run status`, and the dashboard's status
// page at /status): per partition its owner, lag, open job, and whether it is held back, why
// (one HoldCause, as every report names it) and what to do; the queues; the dead letters by
// reason; the workers and their last group. Partition states come from the ingestors' own
// reports (status/process-reports.ts); a failed job is read from Redis, which holds it whatever
// ingestor reports it.
import type { Admin } from "kafkajs";
import type { Config } from "../config.js";
import { type HoldCause, type PartitionState, WHAT_TO_DO } from "../ingestor/partition-status.js";
import { consumerLag, type PartitionLag } from "../kafka/consumer-lag.js";
import type { DeadLetterQueue, ReadQueue } from "../queue/queues.js";
import type { RedisClient } from "../redis/connection.js";
import { type GroupReport, type ProcessReport, readReports } from "./process-reports.js";

const STATES = ["waiting", "active", "delayed", "failed", "completed"] as const;
/** Dead letters grouped by reason: the newest this many, read by name (never their values). */
const DEAD_LETTERS_GROUPED = 500;

interface PartitionRow {
  partition: number;
  /** From the broker: what is left to count, the group's committed offset, the log's end. */
  lag?: PartitionLag;
  /** The ingestor it is assigned to (its report's id); absent when no running ingestor has it. */
  owner?: string;
  /** reading: no job open now; unassigned: no ingestor reports it. */
  state: PartitionState | "reading" | "unassigned";
  job?: { id: string; name: string; state: string; attempts: number };
  cause?: HoldCause;
  reason?: string;
  whatToDo?: string;
}

export interface Status {
  at: number;
  queues: { name: string; counts: Record<string, number> }[];
  /** Why the broker's lag is missing, when it is. */
  lagError?: string;
  partitions: PartitionRow[];
  deadLetters: {
    total: number;
    /** How many of the newest are grouped by reason. */
    grouped: number;
    /** Among the newest `grouped`, by reason (numbers in it shown as N). */
    byReason: { reason: string; count: number }[];
    /** The newest few, by name: `p<partition> <offset>: <reason>`. */
    newest: string[];
  };
  ingestors: { id: string; partitions: number[] }[];
  workers: { id: string; lastGroup?: GroupReport }[];
}

interface OpenJob {
  partition: number;
  id: string;
  name: string;
  state: string;
  attempts: number;
  failedReason?: string;
}

/**
 * Joins the broker's lag, the open jobs and the ingestors' reports into one row per partition. A
 * partition an ingestor reports is as it says (its open job included); one no ingestor reports
 * (none running, or its owner gone) is held back by a failed job of it in Redis.
 */
export function partitionRows(
  lag: readonly PartitionLag[],
  jobs: readonly OpenJob[],
  reports: readonly ProcessReport[],
): PartitionRow[] {
  const partitions = new Set([...lag.map((l) => l.partition), ...jobs.map((j) => j.partition)]);
  const ingestors = reports.flatMap((r) => (r.kind === "ingestor" ? [r] : []));
  for (const r of ingestors) for (const p of r.assigned) partitions.add(p);
  return [...partitions]
    .sort((a, b) => a - b)
    .map((partition) => {
      // The latest report wins: after a rebalance an old owner's may linger a few seconds.
      const owner = ingestors.filter((r) => r.assigned.includes(partition)).sort((a, b) => b.at - a.at)[0];
      const reported = owner?.partitions.find((p) => p.partition === partition);
      const job = owner
        ? jobs.find((j) => j.partition === partition && j.id === reported?.jobId)
        : jobs.find((j) => j.partition === partition && j.state === "failed");
      const lagOf = lag.find((l) => l.partition === partition);
      const row: PartitionRow = {
        partition,
        ...(lagOf ? { lag: lagOf } : {}),
        ...(owner ? { owner: owner.id } : {}),
        state: reported?.state ?? (owner ? "reading" : "unassigned"),
        ...(job ? { job: { id: job.id, name: job.name, state: job.state, attempts: job.attempts } } : {}),
        ...(reported?.cause ? { cause: reported.cause } : {}),
        ...(reported?.reason ? { reason: reported.reason } : {}),
      };
      if (!owner && job?.state === "failed") {
        row.state = "held-back";
        row.cause = "job-failed";
        row.reason = job.failedReason ?? "";
      }
      if (row.cause !== undefined) row.whatToDo = WHAT_TO_DO[row.cause];
      return row;
    });
}

export async function collectStatus(
  config: Pick<Config, "KAFKA_TOPIC" | "KAFKA_GROUP_ID" | "QUEUE_PREFIX" | "WORK_QUEUE">,
  queues: { work: ReadQueue; dead: DeadLetterQueue; redis: RedisClient },
  admin: Admin,
): Promise<Status> {
  const { work, dead, redis } = queues;
  const [workCounts, deadCounts, open, deadIds, lag, reports] = await Promise.all([
    work.getJobCounts(...STATES),
    dead.getJobCounts(...STATES),
    work.getJobs(["waiting", "active", "delayed", "failed"], 0, 999),
    dead.getRanges(["failed"], 0, DEAD_LETTERS_GROUPED - 1),
    consumerLag(admin, config.KAFKA_TOPIC, config.KAFKA_GROUP_ID).catch((err: unknown) => ({
      error: err instanceof Error ? err.message : String(err),
    })),
    readReports(redis, config),
  ]);
  const jobs: OpenJob[] = await Promise.all(
    open.map(async (j) => ({
      partition: j.data?.partition ?? -1,
      id: j.id ?? "",
      name: j.name,
      state: await j.getState(),
      attempts: j.attemptsMade,
      ...(j.failedReason ? { failedReason: j.failedReason.split("\n")[0] ?? "" } : {}),
    })),
  );
  // A dead letter keeps up to 1 MiB of its message: only names are read.
  // One pipeline (one slot on a cluster: the queue's keys share its prefix's hash tag).
  const names = redis.pipeline();
  for (const id of deadIds) names.hget(dead.toKey(id), "name");
  const deadNames = ((await names.exec()) ?? []).flatMap(([, n]) => (typeof n === "string" ? [n] : []));
  const byReason = new Map<string, number>();
  for (const name of deadNames) {
    const at = name.indexOf(": ");
    const reason = (at < 0 ? name : name.slice(at + 2)).replace(/\d+/g, "N");
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  return {
    at: Date.now(),
    queues: [
      { name: work.name, counts: workCounts },
      { name: dead.name, counts: deadCounts },
    ],
    ...("error" in lag ? { lagError: lag.error } : {}),
    partitions: partitionRows("error" in lag ? [] : lag, jobs, reports),
    deadLetters: {
      total: deadCounts.failed ?? 0,
      byReason: [...byReason]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      grouped: DEAD_LETTERS_GROUPED,
      newest: deadNames.slice(0, 5),
    },
    ingestors: reports.flatMap((r) => (r.kind === "ingestor" ? [{ id: r.id, partitions: r.assigned }] : [])),
    // A group's age: before its report was written (the worker's clock), plus the report's age.
    workers: reports.flatMap((r) => {
      if (r.kind !== "worker") return [];
      const g = r.lastGroup;
      return [{ id: r.id, ...(g ? { lastGroup: { ...g, agoMs: g.agoMs + (r.ageMs ?? 0) } } : {}) }];
    }),
  };
}

export function formatStatus(s: Status): string {
  const lines: string[] = [];
  lines.push("Queues");
  for (const q of s.queues) {
    lines.push(`  ${q.name.padEnd(28)} ${STATES.map((st) => `${st} ${q.counts[st] ?? 0}`).join("  ")}`);
  }
  lines.push("", "Partitions (lag: messages not yet committed)");
  if (s.lagError !== undefined) lines.push(`  lag unavailable: ${s.lagError}`);
  for (const p of s.partitions) {
    const lag = p.lag ? `lag ${p.lag.lag} (committed ${p.lag.committed}, end ${p.lag.end})` : "lag ?";
    const job = p.job ? `  job ${p.job.name} ${p.job.state}` : "";
    lines.push(
      `  partition ${String(p.partition).padStart(3)}  ${lag}  ${p.state}  owner ${p.owner ?? "-"}${job}`,
    );
    if (p.cause !== undefined)
      lines.push(`      held back: ${p.cause}: ${p.reason ?? ""}\n      to do: ${p.whatToDo}`);
  }
  const total = s.partitions.reduce((n, p) => n + (p.lag?.lag ?? 0), 0);
  lines.push(`  total lag ${total}; held back ${s.partitions.filter((p) => p.cause !== undefined).length}`);
  lines.push(
    "",
    `Dead letters: ${s.deadLetters.total}; by reason, among the newest ${s.deadLetters.grouped}:`,
  );
  for (const d of s.deadLetters.byReason) lines.push(`  ${String(d.count).padStart(6)}  ${d.reason}`);
  if (s.deadLetters.newest.length > 0)
    lines.push("  newest:", ...s.deadLetters.newest.map((n) => `    ${n}`));
  lines.push("", `Workers: ${s.workers.length}`);
  for (const w of s.workers) {
    const g = w.lastGroup;
    lines.push(
      `  ${w.id}  ${
        g
          ? `last group ${Math.round(g.agoMs / 1000)} s ago: ${g.jobs} jobs, ${g.events} events, ${g.added} added, ${g.ms} ms`
          : "no group yet"
      }`,
    );
  }
  return `${lines.join("\n")}\n`;
}
