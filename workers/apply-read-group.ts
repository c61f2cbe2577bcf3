// Applies one group of read jobs: check each job against its partition's ledger, aggregate per
// article, read the stored per-partition marks, write MongoDB (one unordered bulk: compare-and-set
// `$inc` upserts, inserts of new documents), then the Redis cache (one round trip: each cached
// hash that holds the version a write started from is brought to the next; an older one is
// dropped), then move the ledger.
//
// A whole-group failure (MongoDB or Redis away) throws. A failure that belongs to some jobs only
// (their partition's offsets restarted, a document MongoDB refused) is returned per job, so the
// other jobs of the group complete and only the partitions at fault are held back.
import { UnrecoverableError } from "bullmq";
import type { ReadCache } from "../src/cache/read-cache.js";
import { cacheKey } from "../src/cache/read-cache.js";
import {
  type ArticlePlan,
  aggregateGroup,
  jobPartitionKey,
  planIncrements,
  type StoredState,
} from "../src/counting/plan-increments.js";
import { NEW_INCARNATION_STEPS } from "../src/queue/message-id.js";
import type { ReadJobData } from "../src/queue/read-job.js";
import {
  type InteractiveStore,
  type LedgerEntry,
  RejectedDocumentsError,
} from "../src/store/interactives.js";
import type { ArticleStateCache } from "./article-state-cache.js";

export const BIZ = "article";
const MAX_CONFLICT_ROUNDS = 10;

export interface GroupOutcome {
  jobs: number;
  events: number;
  articles: number;
  /** Events added to read_cnt now (fewer than `events` when some were applied before). */
  added: number;
  cacheIncremented: number;
  cacheInvalidated: number;
  /**
   * Per partition key of the jobs applied in full: the ledger's max_ts once they were (the
   * latest Kafka timestamp among all messages ever applied from that partition in its life). The
   * ingestor commits it with the job (ingestor/plan-position.ts, LastApplied.maxTimestamp).
   */
  ledgerMaxTimestamps: ReadonlyMap<string, number>;
}

export interface GroupResult {
  outcome: GroupOutcome;
  /** Jobs that failed on their own, with the error each fails with. The others are applied. */
  failed: Map<ReadJobData, Error>;
}

/**
 * What a group needs of MongoDB (InteractiveStore; test/support/memory-store.ts models it in
 * memory, compare-and-set included, for the unit tests).
 */
export type ArticleStore = Pick<
  InteractiveStore,
  | "readLedger"
  | "readState"
  | "applyPlans"
  | "advanceLedger"
  | "readDeadLetterOffsets"
  | "recordDeadLetterOffsets"
>;

/** What a group needs of the cache (ReadCache). */
export type CacheFollower = Pick<ReadCache, "applyWrites">;

export interface ApplyDeps {
  store: ArticleStore;
  cache: CacheFollower;
  /** What this worker last wrote per article; without it, every round reads first. */
  states?: ArticleStateCache;
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The offset of a job's first valid event. */
function firstEventOffset(job: ReadJobData): bigint {
  let min: number | undefined;
  for (const deltas of Object.values(job.articles)) {
    const d = deltas[0];
    if (d !== undefined && (min === undefined || d < min)) min = d;
  }
  return BigInt(job.firstOffset) + BigInt(min ?? 0);
}

/**
 * A partition's offsets restarted (the topic was deleted and re-created, or replaced by a
 * mirror): the job's events sit at offsets the ledger says were applied, yet every one of them
 * is newer than every event ever applied from the partition. So they were not applied: counting
 * them as replays would drop them in silence. The job fails for good and holds its partition
 * back until an operator gives the topic a new incarnation.
 *
 * Sound against replays: the ledger moves only after a job's events are in MongoDB and before
 * the job completes, and jobs of a partition complete in order, so every event at or below
 * `through` has a timestamp at or below `maxTimestamp`; a true replay has at least one such.
 */
function restartReason(job: ReadJobData, entry: LedgerEntry | undefined): string | undefined {
  if (entry === undefined || job.events === 0) return undefined;
  const first = firstEventOffset(job);
  if (first > entry.through || job.earliestEventTimestamp <= entry.maxTimestamp) return undefined;
  const key = jobPartitionKey(job);
  return (
    `offsets of ${key} restarted (topic re-created or replaced?): offset ${first} was applied ` +
    `before (ledger through ${entry.through}), yet this job's events (from ${iso(job.earliestEventTimestamp)}) ` +
    `are all newer than any applied (up to ${iso(entry.maxTimestamp)}). Nothing of this job was ` +
    `counted. ${NEW_INCARNATION_STEPS}`
  );
}

export async function applyReadGroup(deps: ApplyDeps, jobs: readonly ReadJobData[]): Promise<GroupResult> {
  const now = deps.now ?? Date.now;
  const failed = new Map<ReadJobData, Error>();

  const ledger = await deps.store.readLedger([...new Set(jobs.map(jobPartitionKey))]);
  for (const job of jobs) {
    const restarted = restartReason(job, ledger.get(jobPartitionKey(job)));
    if (restarted !== undefined) failed.set(job, new UnrecoverableError(restarted));
  }
  const live = jobs.filter((j) => !failed.has(j));

  // A range applied before (a replay) keeps what its first job made of each message: one that
  // job left to the dead-letter queue is no event now, whatever this job's ingestor read it as.
  const replayed = live.flatMap((job) => {
    const through = ledger.get(jobPartitionKey(job))?.through;
    const first = BigInt(job.firstOffset);
    if (through === undefined || first > through) return [];
    const last = BigInt(job.lastOffset);
    return [{ key: jobPartitionKey(job), first, last: last < through ? last : through }];
  });
  const leftToDeadLetters = await deps.store.readDeadLetterOffsets(replayed);
  const events = aggregateGroup(live, leftToDeadLetters);
  const applied: ArticlePlan[] = [];
  const rejected = new Map<string, string>();
  const known = deps.states;
  let todo = [...events.keys()];
  let guesses = 0;
  let wrongGuesses = 0;
  for (let round = 0; todo.length > 0; round++) {
    if (round === MAX_CONFLICT_ROUNDS) {
      for (const aid of todo)
        rejected.set(aid, `article ${aid}: its document kept changing for ${round} rounds`);
      break;
    }
    // First round: plan from what this worker last wrote, with no read. An article it has not
    // written is planned as a new document (inserted) when such guesses have been mostly right
    // lately; a wrong plan of either kind only collides (the document exists, or its version
    // differs) and the article is read and planned again in the next round.
    const states = new Map<string, StoredState>();
    let toRead = todo;
    if (round === 0 && known !== undefined) {
      const guessAbsent = known.absentGuessesPay();
      toRead = [];
      for (const aid of todo) {
        const state = known.get(aid);
        if (state !== undefined) states.set(aid, state);
        else if (guessAbsent) guesses++;
        else toRead.push(aid);
      }
    }
    if (toRead.length > 0) {
      const read = await deps.store.readState(BIZ, toRead);
      for (const [aid, state] of read.states) states.set(aid, state);
      for (const [aid, why] of read.invalid) rejected.set(aid, why);
    }
    const subset = new Map(
      todo.filter((aid) => !rejected.has(aid)).map((aid) => [aid, events.get(aid) ?? new Map()]),
    );
    const plans = planIncrements(subset, states);
    const result = await deps.store.applyPlans(BIZ, plans, now());
    for (const [aid, why] of result.rejected) rejected.set(aid, why);
    for (const plan of plans) {
      if (result.conflicts.has(plan.aid) || result.rejected.has(plan.aid)) {
        known?.forget(plan.aid);
        if (round === 0 && !states.has(plan.aid)) wrongGuesses++;
        continue;
      }
      applied.push(plan);
      if (known === undefined) continue;
      const before = states.get(plan.aid);
      if (plan.delta === 0) {
        if (before !== undefined) known.set(plan.aid, before);
        continue;
      }
      const marks = new Map(before?.marks ?? []);
      for (const [key, mark] of plan.nextMarks) marks.set(key, mark);
      known.set(plan.aid, { version: (plan.expectedVersion ?? 0) + 1, marks });
    }
    // A conflict means another writer changed the document since we read it: re-read, re-plan.
    todo = [...result.conflicts];
  }
  known?.recordGuesses(guesses, wrongGuesses);

  // Each article written moved its document from the version its plan expected to the next one;
  // the cache follows exactly that write. An article found applied already (a replay) was not
  // written: its document is at the version read or later, and a hash older than that is dropped
  // (its writer died between MongoDB and the cache). See cache/incr-if-current.lua.
  const followed = await deps.cache.applyWrites(
    applied.map((plan) => ({
      key: cacheKey(BIZ, plan.aid),
      version: plan.expectedVersion ?? 0,
      delta: plan.delta,
    })),
  );

  // A job with a refused article fails (and is retried); its other articles are written, and
  // their marks make the retry skip them.
  if (rejected.size > 0) {
    for (const job of live) {
      const mine = new Map<string, string>();
      for (const aid of Object.keys(job.articles)) {
        const why = rejected.get(aid);
        if (why !== undefined) mine.set(aid, why);
      }
      if (mine.size > 0) failed.set(job, new RejectedDocumentsError(mine));
    }
  }

  // For the jobs applied in full, before they complete: first the messages their ranges left to
  // the dead-letter queue, where the range is applied for the first time (above the ledger; a
  // replay keeps what its first job decided), then the ledger (see restartReason). A dead letter
  // is counted only when its message is recorded here (workers/dead-letter-worker.ts).
  const done = live.filter((job) => !failed.has(job));
  await deps.store.recordDeadLetterOffsets(
    done.flatMap((job) => {
      const through = ledger.get(jobPartitionKey(job))?.through ?? -1n;
      const first = BigInt(job.firstOffset);
      const offsets = (job.deadLetters ?? []).map((d) => first + BigInt(d)).filter((o) => o > through);
      return offsets.length > 0 ? [{ key: jobPartitionKey(job), offsets }] : [];
    }),
  );
  const advance = new Map<string, LedgerEntry>();
  for (const job of done) {
    if (job.maxTimestamp === undefined) continue;
    const key = jobPartitionKey(job);
    const before = advance.get(key);
    const through = BigInt(job.lastOffset);
    advance.set(key, {
      through: before === undefined || through > before.through ? through : before.through,
      maxTimestamp: Math.max(before?.maxTimestamp ?? job.maxTimestamp, job.maxTimestamp),
    });
  }
  await deps.store.advanceLedger(advance, now());
  // Also for a job that did not move the ledger (its data names no timestamps): what it holds.
  const ledgerMaxTimestamps = new Map<string, number>();
  for (const job of done) {
    const key = jobPartitionKey(job);
    const times = [ledger.get(key)?.maxTimestamp, advance.get(key)?.maxTimestamp].filter(
      (t): t is number => t !== undefined,
    );
    if (times.length > 0) ledgerMaxTimestamps.set(key, Math.max(...times));
  }

  return {
    outcome: {
      jobs: jobs.length,
      events: jobs.reduce((n, j) => n + j.events, 0),
      articles: events.size,
      added: applied.reduce((n, p) => n + p.delta, 0),
      cacheIncremented: followed.incremented,
      cacheInvalidated: followed.dropped,
      ledgerMaxTimestamps,
    },
    failed,
  };
}
