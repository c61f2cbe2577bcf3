// What `npm run status` shows: queue counts, consumer lag per partition, the partitions held back
// by a job that failed all its attempts (cause job-failed: what Redis holds; the other causes live
// in the ingestors, on their /readyz and interactive_partitions_held_back{cause}) and the latest
// dead letters.
import type { Admin } from "kafkajs";
import type { Config } from "../config.js";
import type { HoldCause } from "../ingestor/partition-status.js";
import { consumerLag, type PartitionLag } from "../kafka/consumer-lag.js";
import type { DeadLetterQueue, ReadQueue } from "../queue/queues.js";

const STATES = ["waiting", "active", "delayed", "failed", "completed"] as const;

interface HeldBack {
  partition: number;
  cause: HoldCause;
  range: string;
  jobId: string;
  attempts: number;
  failedAt: number | undefined;
  reason: string;
}

export interface Status {
  queues: { name: string; counts: Record<string, number> }[];
  lag: PartitionLag[] | { error: string };
  heldBack: HeldBack[];
  deadLetters: { total: number; latest: { partition: number; offset: string; reason: string }[] };
}

export async function collectStatus(
  config: Pick<Config, "KAFKA_TOPIC" | "KAFKA_GROUP_ID">,
  work: ReadQueue,
  dead: DeadLetterQueue,
  admin: Admin,
): Promise<Status> {
  const [workCounts, deadCounts, failed, latestDead, lag] = await Promise.all([
    work.getJobCounts(...STATES),
    dead.getJobCounts(...STATES),
    work.getFailed(0, 999),
    dead.getFailed(0, 9),
    consumerLag(admin, config.KAFKA_TOPIC, config.KAFKA_GROUP_ID).catch((err: unknown) => ({
      error: err instanceof Error ? err.message : String(err),
    })),
  ]);
  return {
    queues: [
      { name: work.name, counts: workCounts },
      { name: dead.name, counts: deadCounts },
    ],
    lag: "error" in lag ? lag : lag.sort((a, b) => a.partition - b.partition),
    heldBack: failed
      .map((j) => ({
        partition: j.data?.partition ?? -1,
        cause: "job-failed" as const,
        range: `${j.data?.firstOffset ?? "?"}-${j.data?.lastOffset ?? "?"}`,
        jobId: j.id ?? "",
        attempts: j.attemptsMade,
        failedAt: j.finishedOn,
        reason: (j.failedReason ?? "").split("\n")[0] ?? "",
      }))
      .sort((a, b) => a.partition - b.partition),
    deadLetters: {
      total: deadCounts.failed ?? 0,
      latest: latestDead.map((j) => ({
        partition: j.data.partition,
        offset: j.data.offset,
        reason: j.data.reason,
      })),
    },
  };
}

export function formatStatus(s: Status, now = Date.now()): string {
  const lines: string[] = [];
  lines.push("Queues");
  for (const q of s.queues) {
    lines.push(`  ${q.name.padEnd(28)} ${STATES.map((st) => `${st} ${q.counts[st] ?? 0}`).join("  ")}`);
  }
  lines.push("", "Consumer lag (messages not yet committed)");
  if ("error" in s.lag) lines.push(`  unavailable: ${s.lag.error}`);
  else {
    for (const p of s.lag)
      lines.push(
        `  partition ${String(p.partition).padStart(3)}  lag ${p.lag}  (committed ${p.committed}, end ${p.end})`,
      );
    lines.push(`  total lag ${s.lag.reduce((n, p) => n + p.lag, 0)}`);
  }
  lines.push(
    "",
    `Held back by a failed job (retry it in the dashboard): ${s.heldBack.length}` +
      " (other causes: each ingestor's /readyz and interactive_partitions_held_back{cause})",
  );
  for (const h of s.heldBack) {
    const ago = h.failedAt ? `${Math.round((now - h.failedAt) / 1000)} s ago` : "";
    lines.push(
      `  partition ${h.partition}  ${h.cause}  offsets ${h.range}  attempts ${h.attempts}  failed ${ago}  ${h.reason}`,
    );
  }
  lines.push("", `Dead letters: ${s.deadLetters.total}`);
  for (const d of s.deadLetters.latest)
    lines.push(`  partition ${d.partition} offset ${d.offset}: ${d.reason}`);
  return `${lines.join("\n")}\n`;
}
