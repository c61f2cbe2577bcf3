// The results of one `bench:peers` run: per design a JSON line, a markdown table, and the
// section of docs/benchmarks.md between the peers markers. Pure: no I/O here.

import { replaceMarked, sectionHeading } from "../shared/cli.js";
import type { DesignName } from "./options.js";

export type ExactCheck =
  /** Designs that write MongoDB: every article's read_cnt against the backlog's exact count. */
  | { kind: "articles"; articles: number; off: number; examples: string[] }
  /** The ceiling writes nothing: it checks it parsed every event (and the sum of their Aids). */
  | { kind: "parsed"; parsed: number; checksumOk: boolean };

export interface DesignResult {
  design: DesignName;
  events: number;
  /** Reads counted in MongoDB (events parsed, for the ceiling) when the design was stopped. */
  counted: number;
  drainSeconds: number;
  eventsPerSecond: number;
  timedOut: boolean;
  /** Why the design stopped before draining, if it did. */
  failure: string | null;
  mongoDocOpsPer1k: number | null;
  mongoRoundTripsPer1k: number | null;
  /** Where the MongoDB figures come from, or why there are none. */
  mongoNote: string | null;
  redisPeakBytes: number;
  exact: ExactCheck;
  /** The pre-filled hot cache keys: how many, how many hold another count, how many are gone. */
  cache: { keys: number; off: number; dropped?: number } | null;
  /** Events the design reported as failed (parse errors, failed writes, failed jobs). */
  errors: number;
  details: Record<string, number | string>;
}

export interface RatedResult extends DesignResult {
  /** events/s divided by the seed path's, when the seed design ran. */
  vsSeed: number | null;
  /** events/s as a share of the oracle's (the limit), when the oracle ran. */
  ofLimit: number | null;
}

export const DESCRIPTIONS: Record<DesignName, string> = {
  ceiling: "kafkajs eachBatch read + JSON.parse only, no writes",
  oracle: "the limit: whole backlog summed in memory, each distinct article written once",
  seed: "the Go service's per-message path: Lua + 1 updateOne per event",
  naive: "naive BullMQ: 1 job per event, Lua + updateOne per job",
  pipeline: "this project: ingestor + worker processes, default settings",
};

export function withRatios(results: readonly DesignResult[]): RatedResult[] {
  const seed = results.find((r) => r.design === "seed" && r.eventsPerSecond > 0);
  const oracle = results.find((r) => r.design === "oracle" && r.eventsPerSecond > 0);
  return results.map((r) => ({
    ...r,
    vsSeed: seed ? Math.round((r.eventsPerSecond / seed.eventsPerSecond) * 100) / 100 : null,
    ofLimit:
      oracle && r.design !== "ceiling"
        ? Math.round((r.eventsPerSecond / oracle.eventsPerSecond) * 100) / 100
        : null,
  }));
}

/** The design's result as one JSON line, after the run's own fields (backlog, seed, ...). */
export function jsonLine(r: RatedResult, run: Record<string, string | number> = {}): string {
  return JSON.stringify({ ...run, ...r });
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function formatRatio(r: number | null): string {
  if (r === null) return "-";
  if (r >= 100) return `${formatInt(r)}x`;
  if (r >= 10) return `${r.toFixed(1)}x`;
  return `${r.toFixed(2)}x`;
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function formatPer1k(n: number | null): string {
  return n === null ? "n/a" : n.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

function eventsCell(r: RatedResult): string {
  const eps = `**${formatInt(r.eventsPerSecond)}**`;
  if (r.failure !== null) return `${eps} (failed after ${r.drainSeconds.toFixed(1)} s)`;
  if (!r.timedOut) return eps;
  const pct = Math.floor((r.counted / r.events) * 100);
  return `${eps} (timed out after ${r.drainSeconds.toFixed(0)} s, ${pct}% counted)`;
}

export function exactCell(r: DesignResult): string {
  const e = r.exact;
  let text: string;
  if (e.kind === "parsed") {
    text =
      `n/a (no writes); parsed ${formatInt(e.parsed)} of ${formatInt(r.events)}, ` +
      `Aid checksum ${e.checksumOk ? "ok" : "WRONG"}`;
  } else if (e.off === 0 && r.counted === r.events) {
    text = `exact (${formatInt(e.articles)} articles)`;
  } else {
    text = `**${formatInt(e.off)} of ${formatInt(e.articles)} articles off** (total ${formatInt(r.counted)})`;
  }
  if (r.cache !== null) {
    const dropped = r.cache.dropped ?? 0;
    text +=
      r.cache.off > 0
        ? `; **${r.cache.off} of ${r.cache.keys} cache keys off**`
        : dropped > 0
          ? `; cache exact, ${dropped} of ${r.cache.keys} keys dropped (filled again by reads)`
          : "; cache exact";
  }
  return text;
}

export function markdownTable(results: readonly RatedResult[]): string {
  const rows = [
    "| design | what runs | events/s | of the limit | vs seed | drain | MongoDB doc ops / 1k events | MongoDB round trips / 1k events | Redis peak | exact count |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const share = r.ofLimit === null ? "-" : `${Math.round(r.ofLimit * 100)}%`;
    rows.push(
      `| \`${r.design}\` | ${DESCRIPTIONS[r.design]} | ${eventsCell(r)} | ${share} | ${formatRatio(r.vsSeed)} | ` +
        `${r.drainSeconds.toFixed(1)} s | ${formatPer1k(r.mongoDocOpsPer1k)} | ` +
        `${formatPer1k(r.mongoRoundTripsPer1k)} | ${formatMiB(r.redisPeakBytes)} | ${exactCell(r)} |`,
    );
  }
  return rows.join("\n");
}

/** Each backlog size has its own section (and chart) in the document. */
function markers(count: number): [string, string] {
  return [`<!-- peers:${count}:start -->`, `<!-- peers:${count}:end -->`];
}

export interface SectionInfo {
  date: string;
  command: string;
  /** e.g. "2 cores, 24 GB". */
  machine: string;
  /** e.g. "15d6561 (with uncommitted changes)", or null when unknown. */
  commit: string | null;
  backlog: {
    count: number;
    articles: number;
    skew: number;
    partitions: number;
    distinct: number;
    seed: number;
    hotKeys: number;
  };
  results: readonly RatedResult[];
  /** Link to the chart, relative to the document; or why there is none. */
  image: { link: string } | { missing: string };
}

function distribution(b: SectionInfo["backlog"]): string {
  return b.skew === 0
    ? `even round robin over articles 1..${formatInt(b.articles)}`
    : `Zipf s=${b.skew} over articles 1..${formatInt(b.articles)} (PRNG seed ${b.seed})`;
}

/** What exactly each design runs, for the docs. */
const DESIGN_NOTES: [DesignName, string][] = [
  [
    "ceiling",
    "a kafkajs consumer (eachBatch, default fetch sizes, all partitions at once) that " +
      "`JSON.parse`s every value and writes nothing; in the benchmark process.",
  ],
  [
    "oracle",
    "the limit of any exact counter on this MongoDB: a kafkajs consumer reads the whole backlog and " +
      "sums per article in memory, then writes each distinct article once, " +
      "`updateOne({biz, biz_id}, {$inc: {read_cnt: n}, $setOnInsert: {...}}, {upsert: true})` in " +
      "unordered bulks of 5,000 on the unique (biz, biz_id) index; no cache, no marks, no versions. " +
      "Its doc ops per 1k events are the distinct-articles minimum.",
  ],
  [
    "seed",
    "the Go service's handler: a kafkajs consumer with eachMessage (one event at a time per " +
      "partition, all partitions at once, offsets auto-committed every second as sarama does); per " +
      "event `go-incr-if-present.lua` on the article's one cache key, then one " +
      "`updateOne({biz, biz_id}, {$inc: {read_cnt: 1}, $set: {utime}, $setOnInsert: {...}}, {upsert: true})` " +
      "on a collection with a unique index on (biz, biz_id), as the Go table (an upsert that loses " +
      "the insert race for a new article is retried, as MySQL and MongoDB 4.2+ do by themselves); " +
      "in the benchmark process.",
  ],
  [
    "naive",
    "a kafkajs consumer that `addBulk`s one BullMQ job per event per Kafka batch " +
      "(removeOnComplete), and a BullMQ Worker at concurrency 50 running the same Lua + `updateOne` " +
      "per job; in the benchmark process.",
  ],
  [
    "pipeline",
    "`node --import tsx src/main/ingestor.ts` and `node --import tsx workers/main.ts` as child " +
      "processes with default settings (only topic, group, queue names, database, log level and " +
      "HTTP ports are set); its cache keys are the project's own `interactive:article:<id>`.",
  ],
];

export function renderSection(info: SectionInfo): string {
  const b = info.backlog;
  const notes = info.results
    .filter((r) => r.mongoNote !== null)
    .map((r) => `- \`${r.design}\` MongoDB figures: ${r.mongoNote}`);
  const failures = info.results
    .filter((r) => r.failure !== null)
    .map((r) => `- \`${r.design}\` failed: ${r.failure}`);
  const measured = info.results.flatMap((r) => {
    const d = r.details;
    if (typeof d.eventsPerSecondFromFirstBatch === "number") {
      return [
        `- \`${r.design}\` from its first batch (without connecting and joining the group, ` +
          `${d.secondsToFirstBatch ?? "?"} s): ${formatInt(d.eventsPerSecondFromFirstBatch)} events/s.`,
      ];
    }
    if (typeof d.groups === "number" && r.mongoNote?.includes("groups;") !== true) {
      return [
        `- \`${r.design}\` worker groups: ${formatInt(d.groups)}; per group on average ` +
          `${d.jobsPerGroup} jobs, ${d.eventsPerGroup} events, ${d.flushSecondsMean} s to apply.`,
      ];
    }
    return [];
  });
  const errors = info.results
    .filter((r) => r.errors > 0)
    .map((r) => `- \`${r.design}\`: ${formatInt(r.errors)} events or jobs failed (see its JSON line)`);
  const image =
    "link" in info.image
      ? `![events/s per design, same backlog](${info.image.link})`
      : `(No chart: ${info.image.missing}.)`;
  const [start, end] = markers(b.count);
  return [
    start,
    ...sectionHeading(
      `## Side by side with the designs it replaces, ${formatInt(b.count)} events (\`npm run bench:peers\`)`,
      info,
    ),
    "",
    `One backlog of ${formatInt(b.count)} ReadEvents in the Go producer's format (no key, round robin ` +
      `over ${b.partitions} partitions), ${distribution(b)}: **${formatInt(b.distinct)} distinct ` +
      "articles**. Each design drains that same topic with its own consumer group, one after the " +
      "other, into its own MongoDB database and Redis keys; before each design that writes, the " +
      `cache keys of the ${formatInt(b.hotKeys)} hottest articles are filled (all counters 0) so ` +
      "the Lua script has work to do.",
    "",
    ...DESIGN_NOTES.filter(([d]) => info.results.some((r) => r.design === d)).map(
      ([d, text]) => `- \`${d}\`: ${text}`,
    ),
    "",
    markdownTable(info.results),
    "",
    image,
    "",
    "- events/s: backlog size / drain time, from the design's start (consumers created, processes " +
      "spawned) until the design's own count of events done reached it (`ceiling`: parsed; `oracle`: " +
      "in bulks acknowledged; `seed`: written; `naive`: jobs finished; `pipeline`: the group's " +
      "committed offsets, asked of Kafka, since a range is committed once applied). Nothing polls " +
      "the MongoDB being measured. Of the limit: events/s over the `oracle`'s. vs seed: over the " +
      "`seed` design's.",
    "- MongoDB round trips: data commands (update, insert, delete, find, aggregate, getMore) sent; " +
      "doc ops: their statements (updates, inserts, deletes) plus documents finds returned. Counted by " +
      "a monitored MongoClient in the benchmark process for `seed` and `naive`.",
    "- Redis peak: `used_memory` sampled every 200 ms, peak minus the value just before the design " +
      "(after the cache keys were filled). Exact count: every article's `read_cnt` against the " +
      "backlog's count; cache: every filled key's `read_cnt` against it (a key the pipeline dropped, " +
      "because a later write's version reached it first, is counted apart: the read path fills it).",
    ...measured,
    ...notes,
    ...failures,
    ...errors,
    end,
  ].join("\n");
}

/** Replaces this backlog size's section of the document (between its markers), or appends it. */
export function replaceSection(doc: string, section: string, count: number): string {
  const [start, end] = markers(count);
  return replaceMarked(doc, section, start, end);
}
