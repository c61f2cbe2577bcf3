// What a partition of an ingestor is doing, and why it is held back: one value per cause that
// every report (log line, gauge label, /readyz, npm run status) shows the same way.

/**
 * waiting: the job is queued, running or backing off; held-back: the partition waits, for a
 * person or for Kafka (see HoldCause); committing: completed, its offset being committed.
 */
export type PartitionState = "waiting" | "held-back" | "committing";

/**
 * Why a partition is held back, the one value every report (log line, the
 * interactive_partitions_held_back gauge's label, /readyz, status) shows:
 * - job-failed: its job failed all its attempts; retry it in the dashboard;
 * - job-vanished: its job keeps vanishing from Redis (evicted, flushed, KEEP_COMPLETED_* too low);
 * - job-range: its job completed having applied another range than its data (data edited?);
 *   retry it;
 * - job-data: its job's data, written by hand, names another partition or first message than
 *   its id, or no range; remove the job (a retry would apply it), its ingestor adds it again;
 * - log-replaced: the log is not the one its position came from (topic re-created or replaced);
 * - positioning: its position cannot be read (Kafka's admin calls fail); retried by itself;
 * - watcher-stopped: a bug stopped the watch of its job; restart the ingestor.
 */
export const HOLD_CAUSES = [
  "job-failed",
  "job-vanished",
  "job-range",
  "job-data",
  "log-replaced",
  "positioning",
  "watcher-stopped",
] as const;
export type HoldCause = (typeof HOLD_CAUSES)[number];

/** What an operator does about each cause: one text for every report that shows it. */
export const WHAT_TO_DO: Record<HoldCause, string> = {
  "job-failed": "fix what its error names, then retry the job in Bull Board",
  "job-vanished": "Redis is losing keys: check maxmemory-policy noeviction and KEEP_COMPLETED_*",
  "job-range": "the job's data was changed: retry the job in Bull Board",
  "job-data":
    "the job's data names another range than its id: remove the job in Bull Board (do not retry it); its ingestor adds it again from the range it read",
  "log-replaced":
    "read the reason: a log truncated (unclean leader election) reads on by itself once newer " +
    "messages arrive; a topic re-created or replaced needs a new KAFKA_TOPIC_INCARNATION " +
    "(docs/reliability.md), which would count a truncated log's survivors again",
  positioning: "Kafka's admin calls fail: it retries by itself; check the brokers",
  "watcher-stopped": "a bug stopped the job's watch: restart the ingestor",
};

export interface PartitionStatus {
  partition: number;
  state: PartitionState;
  /** The partition's open job, when it has one. */
  jobId?: string;
  /** Why the partition is held back, and what was seen. */
  cause?: HoldCause;
  reason?: string;
}
