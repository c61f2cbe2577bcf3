// `pipeline`: this project as it runs: `npm run ingestor` and `npm run worker` as child processes,
// with default settings. Only what makes the run its own differs: topic, consumer group, queue
// names, database; plus quiet logs and free ports for /metrics. Settings inherited from this
// shell are dropped, so the defaults are what is measured.
import type { ChildProcess } from "node:child_process";
import type { MongoClient } from "mongodb";
import {
  PIPELINE_ENTRIES,
  type PipelineRole,
  pipelineSetup,
  spawnPipelineProcess,
  stopChild,
} from "../children.js";
import type { Design, MongoFigures } from "../harness.js";
import {
  groupStats,
  parsePrometheus,
  parsePrometheusSeries,
  per1k,
  type ServerCounters,
  serverCounters,
  serverOpsBetween,
} from "../measure.js";
import { deleteKeysMatching, log } from "../services.js";

async function readServerCounters(client: MongoClient): Promise<ServerCounters> {
  try {
    return serverCounters(await client.db("admin").command({ serverStatus: 1 }));
  } catch {
    return {};
  }
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET /metrics on port ${port}: HTTP ${res.status}`);
  return res.text();
}

export const pipeline: Design = {
  name: "pipeline",
  cache: true,
  writes: true,
  async prepare(ctx) {
    const { names, services } = ctx;
    const { ports, env, dropped, graceMs, queuePrefix } = await pipelineSetup({
      ...names,
      topic: ctx.backlog.topic,
    });
    if (dropped.length > 0) log(`pipeline: ignoring settings from the environment: ${dropped.join(", ")}`);
    const children: ChildProcess[] = [];
    let stopping = false;
    let closeAdmin = async () => {};
    return {
      async start() {
        const before = await readServerCounters(services.poll);
        let failure: string | undefined;
        for (const name of Object.keys(PIPELINE_ENTRIES) as PipelineRole[]) {
          const child = spawnPipelineProcess(name, env);
          child.on("error", (err) => {
            failure ??= `the ${name} process: ${err.message}`;
          });
          child.on("exit", (code, signal) => {
            if (!stopping) failure ??= `the ${name} process exited (${signal ?? `code ${code}`})`;
          });
          children.push(child);
        }
        let metrics = "";
        // Progress: the group's committed offsets (a range is committed once applied), from Kafka.
        const admin = services.kafka.admin();
        await admin.connect();
        closeAdmin = () => admin.disconnect();
        return {
          progress: async () => {
            const [offsets] = await admin.fetchOffsets({ groupId: names.group, topics: [ctx.backlog.topic] });
            return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
          },
          failure: () => failure,
          errors: () => {
            // Jobs that failed for good and dead letters, as the worker's queue gauges saw them.
            let n = 0;
            for (const s of parsePrometheusSeries(metrics)) {
              if (s.name !== "interactive_queue_jobs") continue;
              if (s.labels.queue === names.deadQueue || s.labels.state === "failed") n += s.value;
            }
            return n;
          },
          async mongo(counted): Promise<MongoFigures> {
            const after = await readServerCounters(services.poll);
            metrics = await scrape(ports.worker).catch((err: unknown) => {
              log(`pipeline: ${String(err)}`);
              return "";
            });
            return pipelineMongoFigures(before, after, counted, metrics);
          },
          async details() {
            const stats = groupStats(parsePrometheus(metrics));
            return {
              ...(stats ?? {}),
              ...(dropped.length > 0 ? { environmentSettingsIgnored: dropped.join(",") } : {}),
            };
          },
          async stop() {
            stopping = true;
            await Promise.all(children.map((c) => stopChild(c, graceMs)));
            await closeAdmin();
          },
        };
      },
      async cleanup() {
        stopping = true;
        await Promise.all(children.map((c) => stopChild(c, graceMs)));
        await closeAdmin().catch(() => undefined);
        for (const queue of [names.queue, names.deadQueue]) {
          await deleteKeysMatching(services.redis, `${queuePrefix}:${queue}:*`);
        }
      },
    };
  },
};

/**
 * The pipeline's MongoDB work happens in other processes: from the server's counters when it
 * has them; else the document writes from the worker's distinct articles per group, if exposed;
 * else n/a, saying why.
 */
/** Sums of the worker's interactive_mongo_{documents,commands}_total over every op, if exposed. */
function workerMongoCounters(
  metrics: ReadonlyMap<string, number>,
): { documents: number; commands: number } | undefined {
  let documents: number | undefined;
  let commands: number | undefined;
  for (const [name, value] of metrics) {
    if (name.startsWith("interactive_mongo_documents_total")) documents = (documents ?? 0) + value;
    if (name.startsWith("interactive_mongo_commands_total")) commands = (commands ?? 0) + value;
  }
  return documents === undefined || commands === undefined ? undefined : { documents, commands };
}

export function pipelineMongoFigures(
  before: ServerCounters,
  after: ServerCounters,
  counted: number,
  metricsText: string,
): MongoFigures {
  const server = serverOpsBetween(before, after);
  if (server.documentOps !== null || server.roundTrips !== null) {
    return {
      docOpsPer1k: server.documentOps === null ? null : per1k(server.documentOps, counted),
      roundTripsPer1k: server.roundTrips === null ? null : per1k(server.roundTrips, counted),
      note: server.note,
    };
  }
  const noServer = "this MongoDB server's serverStatus reports no operation counters (mongo-java-server)";
  const metrics = parsePrometheus(metricsText);
  const stats = groupStats(metrics);
  const own = workerMongoCounters(metrics);
  if (own !== undefined) {
    const groupsNote = stats
      ? ` (${stats.groups.toLocaleString("en-US")} groups; per group on average ${stats.jobsPerGroup} jobs, ` +
        `${stats.eventsPerGroup.toLocaleString("en-US")} events, ${stats.flushSecondsMean} s to apply)`
      : "";
    return {
      docOpsPer1k: per1k(own.documents, counted),
      roundTripsPer1k: per1k(own.commands, counted),
      note:
        `from the worker's own counters (interactive_mongo_documents_total, interactive_mongo_commands_total: ` +
        `reads, writes and the partition ledger), since ${noServer}${groupsNote}`,
    };
  }
  const groups = stats
    ? ` (${stats.groups.toLocaleString("en-US")} groups; per group on average ${stats.jobsPerGroup} jobs, ` +
      `${stats.eventsPerGroup.toLocaleString("en-US")} events, ${stats.flushSecondsMean} s to apply)`
    : "";
  if (stats?.articlesSum !== undefined) {
    return {
      docOpsPer1k: per1k(stats.articlesSum, counted),
      roundTripsPer1k: null,
      note:
        `${noServer}; doc ops are the document writes only, one per distinct article per group from ` +
        `the worker's interactive_group_articles, without the reads before them; round trips are not exposed${groups}`,
    };
  }
  return {
    docOpsPer1k: null,
    roundTripsPer1k: null,
    note:
      `n/a: ${noServer}, and the worker's /metrics expose jobs and events per group ` +
      `(interactive_group_jobs, interactive_group_events) but not the distinct articles per group ` +
      `that would give the document writes${groups}`,
  };
}
