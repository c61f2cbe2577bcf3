// Prometheus metrics of each process (prom-client). Names start with `interactive_`.

import type { Queue } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * How often the event-loop delay is sampled (nodejs_eventloop_lag_*), in ms. prom-client's default,
 * 10 ms, wakes an idle process 100 times a second for that alone; at 100 ms a stall longer than
 * that still shows, and an idle process wakes ten times a second for it.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export function createRegistry(process: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}

const JOB_STATES = ["waiting", "active", "delayed", "completed", "failed", "prioritized"] as const;

/** Jobs per queue and state, read from Redis when scraped. */
export function queueGauges(registry: Registry, queues: Queue[]): void {
  new Gauge({
    name: "interactive_queue_jobs",
    help: "Jobs in each BullMQ queue, by state",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      for (const q of queues) {
        const counts = await q.getJobCounts(...JOB_STATES);
        for (const state of JOB_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
      }
    },
  });
}

export interface IngestorMetrics {
  consumed: Counter<"result">;
  committed: Counter<"partition">;
  skipped: Counter<"partition" | "cause">;
}

/** The ingestor's gauges, read from their sources when scraped. */
export function ingestorGauges(
  registry: Registry,
  sources: {
    /** Partitions held back, per cause. */
    heldBack: () => ReadonlyMap<string, number>;
    openJobs: () => number;
    lag: () => Promise<{ partition: number; lag: number }[]>;
  },
): void {
  new Gauge({
    name: "interactive_partitions_held_back",
    help:
      "Partitions of this ingestor held back, by cause: job-failed, job-vanished, job-range, job-data, " +
      "log-replaced, positioning, watcher-stopped (see docs/reliability.md)",
    labelNames: ["cause"],
    registers: [registry],
    collect() {
      for (const [cause, n] of sources.heldBack()) this.set({ cause }, n);
    },
  });
  new Gauge({
    name: "interactive_open_jobs",
    help: "Partitions of this ingestor with a job submitted and not yet completed",
    registers: [registry],
    collect() {
      this.set(sources.openJobs());
    },
  });
  new Gauge({
    name: "interactive_consumer_lag",
    help: "Messages between the group's committed offset and the partition's end",
    labelNames: ["partition"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { partition, lag } of await sources.lag()) this.set({ partition: String(partition) }, lag);
    },
  });
}

export function ingestorMetrics(registry: Registry): IngestorMetrics {
  return {
    consumed: new Counter({
      name: "interactive_events_consumed_total",
      help: "Kafka messages consumed, by result (valid or dead_letter)",
      labelNames: ["result"],
      registers: [registry],
    }),
    committed: new Counter({
      name: "interactive_offsets_committed_total",
      help: "Offset commits after an applied range, by partition",
      labelNames: ["partition"],
      registers: [registry],
    }),
    skipped: new Counter({
      name: "interactive_messages_skipped_total",
      help:
        "Messages this group will never read, by partition and cause: retention (removed before " +
        "they were read) or start-at-end (a partition without a position, KAFKA_FROM_BEGINNING=false)",
      labelNames: ["partition", "cause"],
      registers: [registry],
    }),
  };
}

export interface WorkerMetrics {
  groupJobs: Histogram;
  groupEvents: Histogram;
  flushSeconds: Histogram;
  latencySeconds: Histogram;
  readsAdded: Counter;
  cacheIncremented: Counter;
  cacheInvalidated: Counter;
  mongoCommands: Counter<"op">;
  mongoDocuments: Counter<"op">;
}

export function workerMetrics(registry: Registry): WorkerMetrics {
  return {
    groupJobs: new Histogram({
      name: "interactive_group_jobs",
      help: "Jobs per applied group",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
    groupEvents: new Histogram({
      name: "interactive_group_events",
      help: "Events per applied group",
      buckets: [10, 100, 1000, 5000, 10_000, 50_000, 100_000],
      registers: [registry],
    }),
    flushSeconds: new Histogram({
      name: "interactive_group_flush_seconds",
      help: "Time to apply one group (MongoDB read and write, cache update)",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    latencySeconds: new Histogram({
      name: "interactive_end_to_end_latency_seconds",
      help: "Kafka message timestamp to MongoDB write acknowledged (earliest message of each job)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    readsAdded: new Counter({
      name: "interactive_reads_added_total",
      help: "Reads added to read_cnt in MongoDB",
      registers: [registry],
    }),
    cacheIncremented: new Counter({
      name: "interactive_cache_increments_total",
      help: "Cached keys incremented",
      registers: [registry],
    }),
    mongoCommands: new Counter({
      name: "interactive_mongo_commands_total",
      help: "MongoDB commands (round trips) the pipeline sent, by op: read, write, ledger_read, ledger_write",
      labelNames: ["op"],
      registers: [registry],
    }),
    mongoDocuments: new Counter({
      name: "interactive_mongo_documents_total",
      help: "MongoDB documents the pipeline's commands named (looked up or written), by op",
      labelNames: ["op"],
      registers: [registry],
    }),
    cacheInvalidated: new Counter({
      name: "interactive_cache_invalidations_total",
      help: "Cached keys deleted because they held an older version of their document than the write (or none)",
      registers: [registry],
    }),
  };
}
