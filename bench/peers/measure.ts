// Pure bookkeeping of the measurements: MongoDB commands seen by a monitored client, the
// MongoDB server's own counters, Prometheus text, and the exact-count comparison.

/** The data commands: each is one round trip to the server. */
const DATA_COMMANDS = new Set(["update", "insert", "delete", "find", "aggregate", "getMore"]);

export interface MongoOpsCount {
  /** Data commands sent (update, insert, delete, find, aggregate, getMore). */
  roundTrips: number;
  /** Statements in them: update/insert/delete array lengths, plus documents finds returned. */
  documentOps: number;
}

function arrayLength(v: unknown): number {
  return Array.isArray(v) ? v.length : 1;
}

function field(v: unknown, key: string): unknown {
  return typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}

/**
 * Counts what a MongoClient with `monitorCommands: true` sends: feed it the client's
 * commandStarted and commandSucceeded events.
 */
export class MongoCommandCounter {
  private counts: MongoOpsCount = { roundTrips: 0, documentOps: 0 };

  started(e: { commandName: string; command: unknown }): void {
    if (!DATA_COMMANDS.has(e.commandName)) return;
    this.counts.roundTrips++;
    if (e.commandName === "update") this.counts.documentOps += arrayLength(field(e.command, "updates"));
    else if (e.commandName === "insert")
      this.counts.documentOps += arrayLength(field(e.command, "documents"));
    else if (e.commandName === "delete") this.counts.documentOps += arrayLength(field(e.command, "deletes"));
  }

  succeeded(e: { commandName: string; reply: unknown }): void {
    if (!["find", "aggregate", "getMore"].includes(e.commandName)) return;
    const cursor = field(e.reply, "cursor");
    const batch = field(cursor, "firstBatch") ?? field(cursor, "nextBatch");
    if (Array.isArray(batch)) this.counts.documentOps += batch.length;
  }

  reset(): void {
    this.counts = { roundTrips: 0, documentOps: 0 };
  }

  snapshot(): MongoOpsCount {
    return { ...this.counts };
  }
}

/** Per 1,000 events, rounded to one decimal. */
export function per1k(n: number, events: number): number {
  return Math.round((n / events) * 10_000) / 10;
}

/** The counters of MongoDB's serverStatus this benchmark can use (absent ones undefined). */
export interface ServerCounters {
  /** metrics.commands.<name>.total of the data commands, summed. */
  commands?: number;
  /** metrics.document: inserted + updated + deleted + returned. */
  documents?: number;
  /** opcounters insert + update + delete + query + getmore (each update statement counts). */
  opcounters?: number;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  // BSON Long and friends
  if (typeof v === "object" && v !== null && "toNumber" in v && typeof v.toNumber === "function") {
    const n: unknown = v.toNumber();
    return typeof n === "number" ? n : undefined;
  }
  return undefined;
}

function sumOf(obj: unknown, keys: readonly string[], pick: (v: unknown) => unknown = (v) => v) {
  if (typeof obj !== "object" || obj === null) return undefined;
  let total = 0;
  let any = false;
  for (const key of keys) {
    const n = num(pick(field(obj, key)));
    if (n !== undefined) {
      total += n;
      any = true;
    }
  }
  return any ? total : undefined;
}

/** Reads the counters from a serverStatus reply (mongo-java-server has none of them). */
export function serverCounters(status: unknown): ServerCounters {
  const metrics = field(status, "metrics");
  const out: ServerCounters = {};
  const commands = sumOf(field(metrics, "commands"), [...DATA_COMMANDS], (c) => field(c, "total"));
  if (commands !== undefined) out.commands = commands;
  const documents = sumOf(field(metrics, "document"), ["inserted", "updated", "deleted", "returned"]);
  if (documents !== undefined) out.documents = documents;
  const ops = sumOf(field(status, "opcounters"), ["insert", "update", "delete", "query", "getmore"]);
  if (ops !== undefined) out.opcounters = ops;
  return out;
}

export interface ServerOps {
  roundTrips: number | null;
  documentOps: number | null;
  note: string;
}

/**
 * What the server did between two serverStatus replies (the benchmark itself sends nothing to
 * it while a design drains). Server-wide: any other client's work is included.
 */
export function serverOpsBetween(before: ServerCounters, after: ServerCounters): ServerOps {
  const delta = (k: keyof ServerCounters) => {
    const a = after[k];
    const b = before[k];
    return a === undefined || b === undefined ? null : Math.max(0, a - b);
  };
  const roundTrips = delta("commands");
  let documentOps = delta("documents");
  let note = "MongoDB serverStatus (metrics.commands, metrics.document), server-wide";
  if (documentOps === null) {
    documentOps = delta("opcounters");
    note = "MongoDB serverStatus opcounters (each find counted once, not per document), server-wide";
  }
  return { roundTrips, documentOps, note };
}

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and unparsable lines skipped). */
export function parsePrometheusSeries(text: string): PrometheusSample[] {
  const out: PrometheusSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] !== undefined)
        labels[l[1]] = (l[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sums the samples of each metric name over all its label sets. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parsePrometheusSeries(text)) out.set(s.name, (out.get(s.name) ?? 0) + s.value);
  return out;
}

export interface GroupStats {
  groups: number;
  jobsPerGroup: number;
  eventsPerGroup: number;
  flushSecondsMean: number;
  /** Sum of distinct articles per group, if the worker exposes it. */
  articlesSum?: number;
}

/** The worker's group histograms (interactive_group_*), or undefined when it has none. */
export function groupStats(metrics: ReadonlyMap<string, number>): GroupStats | undefined {
  const groups = metrics.get("interactive_group_jobs_count");
  if (groups === undefined || groups === 0) return undefined;
  const mean = (name: string) => Math.round(((metrics.get(name) ?? 0) / groups) * 100) / 100;
  const stats: GroupStats = {
    groups,
    jobsPerGroup: mean("interactive_group_jobs_sum"),
    eventsPerGroup: mean("interactive_group_events_sum"),
    flushSecondsMean: mean("interactive_group_flush_seconds_sum"),
  };
  const articles = metrics.get("interactive_group_articles_sum");
  if (articles !== undefined) stats.articlesSum = articles;
  return stats;
}

export interface CountCheck {
  /** Articles in either map. */
  articles: number;
  /** Articles whose count differs (absent counts as 0). */
  off: number;
  /** Up to five of them, "<id>: expected X, got Y". */
  examples: string[];
}

export function compareCounts(
  expected: ReadonlyMap<string, number>,
  actual: ReadonlyMap<string, number>,
): CountCheck {
  const ids = new Set([...expected.keys(), ...actual.keys()]);
  let off = 0;
  const examples: string[] = [];
  for (const id of ids) {
    const want = expected.get(id) ?? 0;
    const got = actual.get(id) ?? 0;
    if (want === got) continue;
    off++;
    if (examples.length < 5) examples.push(`${id}: expected ${want}, got ${got}`);
  }
  return { articles: ids.size, off, examples };
}
